/**
 * State at one trusted block, read from one source and believed only once proven: every account
 * by `eth_getProof` against the header's `stateRoot`, every slot against the account's proven
 * `storageHash`, every code against its proven `codeHash` (the checks of `src/verify/proof.ts`).
 * Reads are fetched on demand and kept, so an execution can ask for anything it touches.
 */
import type { ProverCall } from '../core/prover.ts'
import type { Hex } from '../shared/types.ts'
import { mismatch } from '../verify/errors.ts'
import {
  EMPTY_CODE_HASH,
  type ProvenAccount,
  type RpcProof,
  verifyAccountProof,
  verifyCode,
  verifyStorageProof,
} from '../verify/proof.ts'
import { EMPTY_TRIE_ROOT } from '../verify/trie.ts'

/** Accounts and slots to prove in one go (an access list). */
export type ReadSet = readonly { address: Hex; storageKeys: readonly Hex[] }[]

export type ProvenReads = {
  /** The proven account at `address`; undefined when proven absent. */
  account(address: Hex): Promise<ProvenAccount>
  /** The proven value of a slot (0 when proven absent). */
  storage(address: Hex, slot: Hex): Promise<bigint>
  /** The code of `address`, checked against its proven `codeHash`. */
  code(address: Hex): Promise<Hex>
  /**
   * Proves these accounts and slots at once, in parallel (a hint of what will be read); with
   * `code`, their code too, asked alongside the proof rather than after it.
   */
  prefetch(reads: ReadSet, options?: { code?: boolean }): Promise<void>
  /** The first failed read, if any: an execution that met one must not be believed. */
  readonly failure: unknown
  /** What was proven: accounts, slots, and reads the hint missed (fetched on demand). */
  readonly counts: { accounts: number; slots: number; onDemand: number }
}

export type ReadsOptions = {
  /** The trusted block: its hash pins the reads, its `stateRoot` proves them. */
  block: { hash: Hex; stateRoot: Hex }
  /** Calls the one source this attempt is bound to. */
  call: ProverCall
}

const key = (address: string) => address.toLowerCase() as Hex
/** A slot as the 32-byte key it stands for. */
export const slotKey = (slot: string): Hex => `0x${BigInt(slot).toString(16).padStart(64, '0')}`

export function provenReads({ block, call }: ReadsOptions): ProvenReads {
  const at = { blockHash: block.hash }
  const accounts = new Map<Hex, Promise<ProvenAccount>>()
  const slots = new Map<string, Promise<bigint>>()
  const codes = new Map<Hex, Promise<Hex>>()
  const counts = { accounts: 0, slots: 0, onDemand: 0 }
  let failure: unknown

  /** Keeps the first failure: the EVM may swallow an exception, the caller must not. */
  const watch = <T>(p: Promise<T>): Promise<T> => {
    p.catch((error) => {
      failure ??= error
    })
    return p
  }

  /** One `eth_getProof` for an account and some of its slots; the account is kept if new. */
  const prove = (address: Hex, fresh: readonly Hex[]) => {
    const proof = watch(call('eth_getProof', [address, fresh, at]) as Promise<RpcProof>)
    const account = watch(proof.then((p) => verifyAccountProof(block.stateRoot, address, p)))
    if (!accounts.has(address)) {
      accounts.set(address, account)
      counts.accounts++
    }
    counts.slots += fresh.length
    const slot = (s: Hex) =>
      Promise.all([proof, account]).then(([p, a]) => {
        const items = Array.isArray(p.storageProof) ? p.storageProof : []
        const item = items.find((entry) => isSlot(entry?.key, s))
        if (!item) mismatch('storageProof', `has no entry for slot ${s}`)
        return verifyStorageProof(a?.storageHash ?? EMPTY_TRIE_ROOT, s, item)
      })
    return { account, slot }
  }

  const fetchCode = (address: Hex, account: Promise<ProvenAccount>, early?: Promise<unknown>) => {
    const code = account.then(async (a) => {
      const codeHash = a?.codeHash ?? EMPTY_CODE_HASH
      if (codeHash.toLowerCase() === EMPTY_CODE_HASH) return '0x' as Hex
      const answer = (await (early ?? call('eth_getCode', [address, at]))) as Hex
      verifyCode(codeHash, answer)
      return answer.toLowerCase() as Hex
    })
    codes.set(address, watch(code))
    return code
  }

  const reads: ProvenReads = {
    account(address) {
      const a = key(address)
      let account = accounts.get(a)
      if (!account) {
        counts.onDemand++
        account = prove(a, []).account
      }
      return account
    },
    storage(address, slot) {
      const a = key(address)
      const s = slotKey(slot)
      let value = slots.get(`${a}:${s}`)
      if (!value) {
        counts.onDemand++
        const known = accounts.get(a)
        // A proven account without storage holds only zeros: no need to ask.
        value = known
          ? known.then((acc) => (hasStorage(acc) ? prove(a, [s]).slot(s) : 0n))
          : prove(a, [s]).slot(s)
        slots.set(`${a}:${s}`, watch(value))
      }
      return value
    },
    code(address) {
      const a = key(address)
      return codes.get(a) ?? fetchCode(a, reads.account(a))
    },
    async prefetch(set, { code = true } = {}) {
      const pending: Promise<unknown>[] = []
      for (const { address, storageKeys } of set) {
        const a = key(address)
        const fresh = [...new Set(storageKeys.map(slotKey))].filter((s) => !slots.has(`${a}:${s}`))
        const known = accounts.has(a)
        if (known && fresh.length === 0) continue
        const proved = prove(a, fresh)
        pending.push(proved.account)
        for (const s of fresh) {
          const value = watch(proved.slot(s))
          slots.set(`${a}:${s}`, value)
          pending.push(value)
        }
        if (code && !known && !codes.has(a)) {
          // Code is asked for alongside the proof, and checked once the proof gives its hash.
          const early = call('eth_getCode', [a, at])
          early.catch(() => {})
          pending.push(fetchCode(a, proved.account, early))
        }
      }
      await Promise.all(pending)
    },
    get failure() {
      return failure
    },
    counts,
  }
  return reads
}

const hasStorage = (a: ProvenAccount) =>
  a !== undefined && a.storageHash.toLowerCase() !== EMPTY_TRIE_ROOT

function isSlot(key: unknown, slot: Hex): boolean {
  return typeof key === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(key) && slotKey(key) === slot
}
