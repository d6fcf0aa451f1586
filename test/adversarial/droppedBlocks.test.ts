/**
 * Blocks the agreed chain dropped are no proof. The liar keeps a block a reorg or a rollback
 * dropped, with its receipts and state proofs (recorded while it was the head: all correctly
 * hashed), and serves them later. The trust store still holds that header (the domains once
 * agreed on it); only the agreed chain as it is now can say it is gone: the head tracker's kept
 * heights, walked down by parent hash when the head jumps (head.ts `descendFrom`), else the
 * domains asked (prove.ts `onAgreedChain`).
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type Source } from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { CHAIN_ID, sleep, threeDomains } from '../helpers.ts'
import { type Lab, startLab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'

type Hex = `0x${string}`
type Block = Record<string, unknown> & {
  hash: Hex
  number: Hex
  transactions: (Record<string, unknown> & { hash: Hex })[]
}
type Receipt = Record<string, unknown> & { blockHash: Hex; transactionHash: Hex }
const HONEST = threeDomains.map((s) => s.name)
const asError = (error: unknown): Error =>
  error instanceof Error ? error : new Error(String(error))

describe('a block the agreed chain dropped, served by a liar that kept it', () => {
  let lab: Lab
  /** anvil's unlocked account `i` (ten of them). */
  let accounts: Hex[] = []
  const acct = (i: number) => accounts[i]!

  beforeAll(async () => {
    lab = await startLab({
      blockTime: 0,
      sources: [...threeDomains, { name: 'liar', domain: 'liar-host', latency: 0 }],
    })
    accounts = await lab.anvil.rpc<Hex[]>('eth_accounts', [])
  })
  afterAll(() => lab?.stop())

  /** Sends a transfer and waits for its receipt; the block it landed in, full. */
  const transfer = async (from: Hex, to: Hex, value = '0x1') => {
    const hash = await lab.anvil.rpc<Hex>('eth_sendTransaction', [{ from, to, value }])
    for (;;) {
      const r = await lab.anvil.rpc<Receipt | null>('eth_getTransactionReceipt', [hash])
      if (r) {
        const block = await lab.anvil.rpc<Block>('eth_getBlockByHash', [r.blockHash, true])
        return { hash, receipt: r, block }
      }
      await sleep(10)
    }
  }

  /** The liar (fastest, own domain) over its lab proxy, its answers passed through `rewrite`. */
  const liar = (rewrite: Parameters<typeof hostile>[1]): Source =>
    hostile(http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' }), rewrite)

  /** The liar and the three honest domains, with proofs. */
  const proven = (source: Source) =>
    createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 100,
      sources: [source, ...labSources(lab, HONEST)],
      prover: proofs(),
    })

  /** Waits until reads at `latest` are pinned to `hash` (3 s at most). */
  const headIs = async (rpc: ReturnType<typeof proven>, hash: string, what: string) => {
    const head = async () =>
      (
        await rpc
          .requestWithMeta({ method: 'eth_getBalance', params: [acct(0), 'latest'] })
          .catch(() => undefined)
      )?.meta.block?.hash
    for (let i = 0; i < 150 && (await head()) !== hash; i++) await sleep(20)
    assert.equal(await head(), hash, what)
  }

  // Rolls the chain back (a same-height reorg): after the tests that need a clean chain.
  it('EIP-1898 requireCanonical: state of a block the agreed chain dropped is no proven answer', async () => {
    const who: Hex = `0x${'b7'.repeat(20)}`
    const recorded = new Map<string, unknown>()
    const source = liar(async (method, params, answer) => {
      if (method === 'eth_getProof') {
        const key = JSON.stringify(params).toLowerCase()
        if (recorded.has(key)) return recorded.get(key)
        const result = await answer()
        recorded.set(key, result)
        return result
      }
      return answer()
    })
    const rpc = proven(source)
    try {
      await rpc.connect()
      const { block: dropped } = await transfer(acct(7), who, '0x777')
      const at = { blockHash: dropped.hash }
      // Agreed (and so trusted) while it is the head; the liar keeps its proof of `who`.
      await headIs(rpc, dropped.hash, 'the block was agreed while it was the head')
      const before = await rpc.requestWithMeta({ method: 'eth_getBalance', params: [who, at] })
      assert.equal(before.meta.consistency, 'proven')
      assert.equal(BigInt(before.result as string), 0x777n)
      // The chain drops it: another block at that height, then one more on top.
      await lab.anvil.rpc('anvil_rollback', [1])
      await lab.anvil.rpc('anvil_dropAllTransactions', []).catch(() => undefined)
      await lab.anvil.rpc('eth_sendTransaction', [
        { from: acct(8), to: `0x${'d1'.repeat(20)}`, value: '0x2' },
      ])
      await lab.anvil.rpc('anvil_mine', ['0x1'])
      const canonical = await lab.anvil.rpc<Block>('eth_getBlockByNumber', [dropped.number, false])
      assert.notEqual(canonical.hash, dropped.hash, 'the block at that height changed')
      const top = await lab.anvil.rpc<Block>('eth_getBlockByNumber', ['latest', false])
      for (let i = 0; i < 150; i++) {
        const r = await rpc
          .requestWithMeta({ method: 'eth_getBalance', params: [who, 'latest'] })
          .catch(() => undefined)
        if (r?.meta.block?.hash === top.hash) break
        await sleep(20)
      }
      const nowBalance = await lab.anvil.rpc<Hex>('eth_getBalance', [who, 'latest'])
      const answer = await rpc
        .requestWithMeta({
          method: 'eth_getBalance',
          params: [who, { blockHash: dropped.hash, requireCanonical: true }],
        })
        .catch(asError)
      assert.ok(
        answer instanceof Error,
        `answered ${answer instanceof Error ? '' : String(answer.result)} (${
          answer instanceof Error ? '' : answer.meta.consistency
        }) for a block that is not canonical (the chain says ${nowBalance} now)`,
      )
    } finally {
      await rpc.close()
    }
  })

  // Rolls the chain back (a same-height reorg), then five blocks on top at once.
  it('a block dropped by a reorg is no proof when the agreed head jumps past the reorg', async () => {
    const first = await transfer(acct(1), `0x${'c4'.repeat(20)}`)
    const dropped = first.block
    const droppedReceipts = await lab.anvil.rpc('eth_getBlockReceipts', [dropped.hash])
    const who: Hex = `0x${'c4'.repeat(20)}`
    const droppedProof = await lab.anvil.rpc('eth_getProof', [who, [], { blockHash: dropped.hash }])
    const droppedTx = await lab.anvil.rpc('eth_getTransactionByHash', [first.hash])
    const source = liar(async (method, params, answer) => {
      if (
        method === 'eth_getProof' &&
        String(params[0]).toLowerCase() === who &&
        (params[2] as { blockHash?: string })?.blockHash === dropped.hash
      )
        return droppedProof
      if (method === 'eth_getBlockByNumber' && params[0] === dropped.number) return dropped
      if (method === 'eth_getBlockByHash' && params[0] === dropped.hash) return dropped
      if (method === 'eth_getBlockReceipts' && params[0] === dropped.hash) return droppedReceipts
      if (method === 'eth_getTransactionReceipt' && params[0] === first.hash) return first.receipt
      if (method === 'eth_getTransactionByHash' && params[0] === first.hash) return droppedTx
      return answer()
    })
    const rpc = proven(source)
    try {
      await rpc.connect()
      await headIs(rpc, dropped.hash, 'the block was agreed while it was the head')
      // An ordinary one-block reorg: another block at that height; then the chain goes on.
      await lab.anvil.rpc('anvil_rollback', [1])
      await lab.anvil.rpc('anvil_dropAllTransactions', []).catch(() => undefined)
      await lab.anvil.rpc('eth_sendTransaction', [
        { from: acct(3), to: `0x${'d2'.repeat(20)}`, value: '0x2' },
      ])
      // The head tracker next sees the new chain a few blocks on (a poll missed, a background
      // tab, a chain with fast blocks): the sibling at that height is never a confirmed head.
      await lab.anvil.rpc('anvil_mine', ['0x5'])
      const top = await lab.anvil.rpc<Block>('eth_getBlockByNumber', ['latest', false])
      await headIs(rpc, top.hash, 'the new chain is agreed')
      assert.equal(await lab.anvil.rpc('eth_getTransactionReceipt', [first.hash]), null)

      const truth = await lab.anvil.rpc<Hex>('eth_getBalance', [who, dropped.number])
      const wrong: string[] = []
      for (const [method, params] of [
        ['eth_getTransactionReceipt', [first.hash]],
        ['eth_getBlockByNumber', [dropped.number, true]],
        ['eth_getTransactionByHash', [first.hash]],
      ] as const) {
        const answer = await rpc.requestWithMeta({ method, params: [...params] }).catch(asError)
        const named = (answer as { result?: { hash?: unknown; blockHash?: unknown } }).result
        if (!(answer instanceof Error) && (named?.blockHash ?? named?.hash) === dropped.hash)
          wrong.push(`${method}: in the dropped block (${answer.meta.consistency})`)
      }
      const balance = await rpc
        .requestWithMeta({ method: 'eth_getBalance', params: [who, dropped.number] })
        .catch(asError)
      if (!(balance instanceof Error) && BigInt(balance.result as Hex) !== BigInt(truth))
        wrong.push(
          `eth_getBalance at ${Number(dropped.number)}: ${String(balance.result)} (${balance.meta.consistency}), the chain says ${truth}`,
        )
      assert.deepEqual(wrong, [], 'the transaction is in no block of the chain')
    } finally {
      await rpc.close()
    }
  })

  // Last: it rolls the chain back to a shorter one.
  it('after the chain rolls back below a block, that dropped block is no proof (receipt, tx, block by number)', async () => {
    const first = await transfer(acct(9), `0x${'c3'.repeat(20)}`)
    const dropped = first.block
    const droppedReceipts = await lab.anvil.rpc('eth_getBlockReceipts', [dropped.hash])
    const droppedTx = await lab.anvil.rpc('eth_getTransactionByHash', [first.hash])
    const n = dropped.number
    const source = liar(async (method, params, answer) => {
      if (method === 'eth_getBlockByNumber' && params[0] === n) return dropped
      if (method === 'eth_getBlockByHash' && params[0] === dropped.hash) return dropped
      if (method === 'eth_getBlockReceipts' && params[0] === dropped.hash) return droppedReceipts
      if (method === 'eth_getTransactionReceipt' && params[0] === first.hash) return first.receipt
      if (method === 'eth_getTransactionByHash' && params[0] === first.hash) return droppedTx
      return answer()
    })
    const rpc = proven(source)
    try {
      await rpc.connect()
      await headIs(rpc, dropped.hash, 'the block was agreed while it was the head')
      // The chain rolls back one block and stays there a while (no block yet at that height).
      await lab.anvil.rpc('anvil_rollback', [1])
      await lab.anvil.rpc('anvil_dropAllTransactions', []).catch(() => undefined)
      const parent = await lab.anvil.rpc<Block>('eth_getBlockByNumber', ['latest', false])
      assert.equal(BigInt(parent.number), BigInt(n) - 1n)
      await headIs(rpc, parent.hash, 'the agreed head moved back')
      assert.equal(await lab.anvil.rpc('eth_getTransactionReceipt', [first.hash]), null)

      const wrong: string[] = []
      for (const [method, params] of [
        ['eth_getTransactionReceipt', [first.hash]],
        ['eth_getTransactionByHash', [first.hash]],
        ['eth_getBlockByNumber', [n, true]],
        ['eth_getTransactionByBlockNumberAndIndex', [n, '0x0']],
      ] as const) {
        const answer = await rpc.requestWithMeta({ method, params: [...params] }).catch(asError)
        if (!(answer instanceof Error) && answer.result !== null)
          wrong.push(`${method}: the dropped block's (${answer.meta.consistency})`)
      }
      assert.deepEqual(wrong, [], 'the chain holds nothing at that height and no such transaction')
    } finally {
      await rpc.close()
    }
  })
})
