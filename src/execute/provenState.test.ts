import assert from 'node:assert/strict'
import { type Account, createAddressFromString, hexToBytes } from '@ethereumjs/util'
import { it } from 'vitest'
import type { Hex } from '../shared/types.ts'
import { EMPTY_CODE_HASH } from '../verify/proof.ts'
import { EMPTY_TRIE_ROOT } from '../verify/trie.ts'
import type { ProvenReads } from './provenReads.ts'
import { provenState } from './provenState.ts'

const A = createAddressFromString('0x00000000000000000000000000000000000000aa')
const slot = (n: number) => hexToBytes(`0x${n.toString(16).padStart(64, '0')}`)

/** Chain state: account A with balance 5 and slot 1 = 7. */
function chain(): ProvenReads & { asked: string[] } {
  const asked: string[] = []
  return {
    asked,
    account: async (a) => {
      asked.push(`account ${a}`)
      return a === A.toString()
        ? { nonce: 1n, balance: 5n, storageHash: EMPTY_TRIE_ROOT, codeHash: EMPTY_CODE_HASH }
        : undefined
    },
    storage: async (a, s) => {
      asked.push(`storage ${a} ${BigInt(s)}`)
      return a === A.toString() && BigInt(s) === 1n ? 7n : 0n
    },
    code: async () => '0x' as Hex,
    prefetch: async () => {},
    failure: undefined,
    counts: { accounts: 0, slots: 0, onDemand: 0 },
  }
}

it('writes stay in memory, checkpoints commit and revert, reads fall through to the chain', async () => {
  const reads = chain()
  const state = provenState(reads)
  assert.equal((await state.getAccount(A))?.balance, 5n)
  assert.deepEqual(await state.getStorage(A, slot(1)), Uint8Array.of(7))

  await state.checkpoint()
  await state.putStorage(A, slot(1), Uint8Array.of(0, 9))
  await state.modifyAccountFields(A, { balance: 6n })
  assert.deepEqual(await state.getStorage(A, slot(1)), Uint8Array.of(9))
  await state.revert()
  assert.deepEqual(await state.getStorage(A, slot(1)), Uint8Array.of(7))
  assert.equal((await state.getAccount(A))?.balance, 5n)

  await state.checkpoint()
  await state.clearStorage(A)
  await state.checkpoint()
  await state.putStorage(A, slot(2), Uint8Array.of(3))
  await state.commit()
  await state.commit()
  assert.deepEqual(await state.getStorage(A, slot(1)), new Uint8Array(0), 'cleared')
  assert.deepEqual(await state.getStorage(A, slot(2)), Uint8Array.of(3))
  assert.deepEqual(await state.originalStorageCache.get(A, slot(1)), Uint8Array.of(7))

  // An account handed out is a copy: changing it changes nothing until it is put.
  const copy = (await state.getAccount(A)) as Account
  copy.balance = 100n
  assert.equal((await state.getAccount(A))?.balance, 5n)

  await state.deleteAccount(A)
  assert.equal(await state.getAccount(A), undefined)
  state.reset()
  assert.equal((await state.getAccount(A))?.balance, 5n)
  assert.deepEqual(await state.getStorage(A, slot(1)), Uint8Array.of(7))
})
