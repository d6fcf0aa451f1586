/**
 * Hostile sources against `outlast/proofs` and `outlast/execute`: well-formed, correctly hashed
 * answers that are wrong. Each test states what a proven answer must be; "proven" must mean
 * checked.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import type { ProverContext } from '../../src/core/prover.ts'
import { createTrustStore } from '../../src/core/trust.ts'
import { execute } from '../../src/execute/index.ts'
import { createOutlast, http, type Source } from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { computeBlockHash, type RpcBlockHeader } from '../../src/verify/block.ts'
import { computeReceiptsRoot, type RpcReceipt } from '../../src/verify/receipts.ts'
import { CHAIN_ID, sleep, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, mined, startLab } from '../lab/index.ts'
import { deployAnswer, PING_INIT } from '../workload.ts'
import { EMPTY_CANCUN, emptyStateContext, hostile, labSources } from './hostile.ts'

type Hex = `0x${string}`
const HONEST = threeDomains.map((s) => s.name)
/** A refusal, kept as the outcome: an error is never a wrong answer. */
const asError = (error: unknown): Error =>
  error instanceof Error ? error : new Error(String(error))
type Block = Record<string, unknown> & { hash: Hex; number: Hex; timestamp: Hex }
type Log = Record<string, unknown> & { blockHash: Hex; blockTimestamp?: unknown }
type Receipt = Record<string, unknown> & { blockHash: Hex; transactionHash: Hex; logs: Log[] }

describe('execute: the block context is the one the header’s hash fixes', () => {
  /** A Cancun header over an empty state, on a chain @ethereumjs/common does not know. */
  const hash = computeBlockHash(EMPTY_CANCUN as unknown as RpcBlockHeader)
  /**
   * Init code returning whether a CALL to 0x0b with no input succeeds: an empty account before
   * Prague (1), EIP-2537's BLS12-381 G1ADD refusing an empty input from Prague on (0).
   */
  const CALLS_0X0B = '0x60006000600060006000600b5af160005260206000f3'

  it('a null requestsHash padded into a Cancun header (its hash unchanged) does not make the call run under Prague or Osaka', async () => {
    const params = [{ data: CALLS_0X0B }, { blockHash: hash }]
    const honest = await execute().answer(
      'eth_call',
      params,
      emptyStateContext({ ...EMPTY_CANCUN, hash }, 7_777),
    )
    assert.equal(honest, `0x${'1'.padStart(64, '0')}`, 'under Cancun, 0x0b is an empty account')
    const padded = await execute().answer(
      'eth_call',
      params,
      emptyStateContext({ ...EMPTY_CANCUN, requestsHash: null, hash }, 7_777),
    )
    assert.equal(padded, honest, 'the call under the fork the hashed header fields give')
  })
})

describe('on the lab', () => {
  let lab: Lab
  let ping: Hex
  let pingTx: Hex
  let pingBlock: Block

  beforeAll(async () => {
    lab = await startLab({
      blockTime: 0,
      sources: [...threeDomains, { name: 'liar', domain: 'liar-host', latency: 0 }],
    })
    ping = await deployAnswer(lab.anvil, PING_INIT)
    pingTx = await lab.anvil.rpc<Hex>('eth_sendTransaction', [
      { from: devAccounts[0].address, to: ping, data: `0x${'07'.padStart(64, '0')}` },
    ])
    for (;;) {
      const r = await lab.anvil.rpc<{ blockHash: Hex } | null>('eth_getTransactionReceipt', [
        pingTx,
      ])
      if (r) {
        pingBlock = await lab.anvil.rpc<Block>('eth_getBlockByHash', [r.blockHash, false])
        break
      }
      await sleep(10)
    }
    await lab.anvil.rpc('anvil_mine', ['0x3'])
  })
  afterAll(() => lab?.stop())

  /** Every lab source (one per domain), each with its answers passed through `rewrite`. */
  const allLying = (rewrite: Parameters<typeof hostile>[1]) =>
    labSources(lab, HONEST).map((s) => hostile(s, rewrite))

  const WRONG_TIME = '0x1'
  /** Each log's `blockTimestamp` (a field nodes add: geth, reth, anvil) set to a wrong one. */
  const retime = (log: Log): Log => ({ ...log, blockTimestamp: WRONG_TIME })
  const retimeAnswers: Parameters<typeof hostile>[1] = async (method, _params, answer) => {
    const result = await answer()
    if (method === 'eth_getLogs') return (result as Log[]).map(retime)
    if (method === 'eth_getBlockReceipts')
      return (result as { logs: Log[] }[]).map((r) => ({ ...r, logs: r.logs.map(retime) }))
    if (method === 'eth_getTransactionReceipt' && result)
      return { ...(result as object), logs: (result as { logs: Log[] }).logs.map(retime) }
    return result
  }

  it('a proven eth_getLogs answer carries each log’s block timestamp, not one a source made up', async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: allLying(retimeAnswers),
      prover: proofs(),
    })
    try {
      await rpc.connect()
      const answer = await rpc
        .requestWithMeta({
          method: 'eth_getLogs',
          params: [{ blockHash: pingBlock.hash, address: ping }],
        })
        .catch(asError)
      if (answer instanceof Error) return // refused: no wrong answer
      const logs = answer.result as Log[]
      assert.ok(logs.length > 0)
      assert.equal(answer.meta.consistency, 'proven')
      for (const log of logs)
        assert.equal(
          BigInt(String(log.blockTimestamp)),
          BigInt(pingBlock.timestamp),
          'a proven log’s blockTimestamp is its block’s',
        )
    } finally {
      await rpc.close()
    }
  })

  it('a proven receipt’s logs carry their block’s timestamp, not one a source made up', async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: allLying(retimeAnswers),
      prover: proofs(),
    })
    try {
      await rpc.connect()
      const answer = await rpc
        .requestWithMeta({ method: 'eth_getTransactionReceipt', params: [pingTx] })
        .catch(asError)
      if (answer instanceof Error) return // refused: no wrong answer
      assert.equal(answer.meta.consistency, 'proven')
      const logs = (answer.result as { logs: Log[] }).logs
      assert.ok(logs.length > 0)
      for (const log of logs)
        assert.equal(
          BigInt(String(log.blockTimestamp)),
          BigInt(pingBlock.timestamp),
          'a proven receipt log’s blockTimestamp is its block’s',
        )
    } finally {
      await rpc.close()
    }
  })

  it('with a light client, liars in every domain proving another block’s state get an error, never their agreed value', async () => {
    const who: Hex = `0x${'be'.repeat(20)}`
    const older = await lab.anvil.rpc<Block>('eth_getBlockByNumber', ['latest', false])
    await lab.anvil.rpc('eth_sendTransaction', [
      { from: devAccounts[1].address, to: who, value: '0x1234' },
    ])
    await lab.anvil.rpc('anvil_mine', ['0x1'])
    const pinned = await lab.anvil.rpc<Block>('eth_getBlockByNumber', ['latest', false])
    const truth = await lab.anvil.rpc<string>('eth_getBalance', [who, { blockHash: pinned.hash }])
    const LIE = '0xdead'
    // Each source proves the state of the older block (a real proof under another root) and
    // says the balance is LIE: the same proof failure in every domain.
    const liars: Source[] = labSources(lab, HONEST).map((inner) => ({
      config: inner.config,
      request: async (body, options) => {
        if (body.method === 'eth_getProof') {
          const [address, keys] = body.params as unknown[]
          return inner.request(
            { ...body, params: [address, keys, { blockHash: older.hash }] },
            options,
          )
        }
        if (body.method === 'eth_getBalance') return LIE
        return inner.request(body, options)
      },
    }))
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: liars,
      prover: proofs(),
      // A light client that verified the pinned block.
      trustedHeader: async (block) =>
        'latest' in block
          ? pinned.hash
          : 'hash' in block && block.hash.toLowerCase() === pinned.hash.toLowerCase()
            ? true
            : undefined,
    })
    try {
      const answer = await rpc
        .requestWithMeta({ method: 'eth_getBalance', params: [who, { blockHash: pinned.hash }] })
        .catch(asError)
      if (answer instanceof Error) return // an error, never a wrong value
      assert.equal(
        answer.result,
        truth,
        `answered ${String(answer.result)} (${answer.meta.consistency}), the truth is ${truth}`,
      )
    } finally {
      await rpc.close()
    }
  })

  /** A transfer, mined: its hash, its receipt and its block (full). */
  const transfer = async (from: Hex, to: Hex) => {
    const hash = await lab.anvil.rpc<Hex>('eth_sendTransaction', [{ from, to, value: '0x1' }])
    const receipt = await mined<Receipt>(lab.anvil, hash)
    const block = await lab.anvil.rpc<Block>('eth_getBlockByHash', [receipt.blockHash, true])
    return { hash, receipt, block }
  }

  for (const [what, added] of [
    // A type-2 receipt has no blob gas; told it paid for blobs, a wallet shows a blob fee.
    ['blob gas on a type-2 receipt', { blobGasUsed: '0x20000', blobGasPrice: '0x3b9aca00' }],
    ['a field no client sends', { l1Fee: '0x5' }],
  ] as const)
    it(`a proven receipt carries only checked fields: not ${what} a source made up`, async () => {
      const { hash, receipt: truth } = await transfer(
        devAccounts[1].address,
        `0x${'a1'.repeat(20)}`,
      )
      const add: Parameters<typeof hostile>[1] = async (method, _params, answer) => {
        const result = await answer()
        if (method === 'eth_getTransactionReceipt' && result) return { ...result, ...added }
        if (method === 'eth_getBlockReceipts' && Array.isArray(result))
          return result.map((r) => ({ ...r, ...added }))
        return result
      }
      const rpc = createOutlast({ chainId: CHAIN_ID, sources: allLying(add), prover: proofs() })
      try {
        await rpc.connect()
        const wrong: string[] = []
        for (const [method, params] of [
          ['eth_getTransactionReceipt', [hash]],
          ['eth_getBlockReceipts', [truth.blockHash]],
        ] as const) {
          const answer = await rpc.requestWithMeta({ method, params: [...params] }).catch(asError)
          if (answer instanceof Error) continue // refused: no wrong answer
          const result = answer.result as Receipt | Receipt[]
          const r = Array.isArray(result) ? result.find((x) => x.transactionHash === hash) : result
          for (const field of Object.keys(added))
            if (r?.[field] !== truth[field])
              wrong.push(`${method} (${answer.meta.consistency}): ${field} = ${String(r?.[field])}`)
        }
        assert.deepEqual(wrong, [], 'fields no proof checked are returned as proven')
      } finally {
        await rpc.close()
      }
    })

  it('a pre-Byzantium receipt (state `root`) gets no `status` a source adds beside it', async () => {
    // A block whose receipts have the pre-Byzantium form, `root` instead of `status`: its
    // receiptsRoot commits to `root` alone. The source adds `status: 0x0` (failed) beside it.
    const { hash, block } = await transfer(devAccounts[1].address, `0x${'a2'.repeat(20)}`)
    const honest = await lab.anvil.rpc<Receipt[]>('eth_getBlockReceipts', [block.hash])
    const root = `0x${'5a'.repeat(32)}`
    const preByzantium = honest.map(({ status: _, ...r }) => ({ ...r, root }))
    const { transactions, hash: _h, ...fields } = block
    const header = {
      ...fields,
      receiptsRoot: await computeReceiptsRoot(preByzantium as unknown as RpcReceipt[]),
    }
    const blockHash = computeBlockHash(header as unknown as RpcBlockHeader)
    const rehash = <T extends object>(o: T) => ({ ...o, blockHash })
    const chainBlock = {
      ...header,
      hash: blockHash,
      transactions: (transactions as object[]).map(rehash),
    }
    const lied = preByzantium.map((r) => ({
      ...rehash(r),
      logs: r.logs.map(rehash),
      status: '0x0',
    }))
    const store = createTrustStore({
      checkpoints: [],
      hook: undefined,
      fetchHeader: async () => null,
    })
    assert.ok(store.add(chainBlock, 'agreed'), 'the header hashes to its hash')
    const ctx: ProverContext = {
      header: undefined,
      trusted: store.resolve,
      chainId: CHAIN_ID,
      call: async (method, params) => {
        if (method === 'eth_getTransactionReceipt')
          return lied.find((r) => r.transactionHash === params[0]) ?? null
        if (method === 'eth_getBlockReceipts') return lied
        if (method === 'eth_getBlockByHash') return chainBlock
        throw new Error(`unexpected ${method}`)
      },
    }
    // Proven, as honest nodes that send a `status` beside the `root` must be; that status dropped.
    for (const [method, params] of [
      ['eth_getTransactionReceipt', [hash]],
      ['eth_getBlockReceipts', [blockHash]],
    ] as const) {
      const answer = await proofs().answer(method, params, ctx)
      const r = (Array.isArray(answer) ? answer[0] : answer) as Receipt
      assert.equal(r.root, root, method)
      assert.equal(
        r.status,
        undefined,
        `${method}: status ${String(r.status)}, which nothing proves`,
      )
    }
  })

  // Last: it rolls the chain back.
  it('after a reorg, proven blocks and receipts are the agreed chain’s, not a dropped block a source still serves', async () => {
    const from = devAccounts[2].address
    const first = await lab.anvil.rpc<Hex>('eth_sendTransaction', [
      { from, to: `0x${'c0'.repeat(20)}`, value: '0x1' },
    ])
    while (!(await lab.anvil.rpc('eth_getTransactionReceipt', [first]))) await sleep(10)
    const dropped = await lab.anvil.rpc<Block>('eth_getBlockByNumber', ['latest', true])
    const droppedReceipt = await lab.anvil.rpc('eth_getTransactionReceipt', [first])
    const droppedReceipts = await lab.anvil.rpc('eth_getBlockReceipts', [dropped.hash])
    const n = dropped.number
    // One source remembers the block the chain dropped (once agreed, so trusted) and serves it:
    // at its height, by its hash, its receipts, the receipt of its transaction.
    const stale = (): Source =>
      hostile(
        http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' }),
        async (method, params, answer) => {
          if (method === 'eth_getBlockByNumber' && params[0] === n && params[1] === true)
            return dropped
          if (method === 'eth_getBlockByHash' && params[0] === dropped.hash && params[1] === true)
            return dropped
          if (method === 'eth_getBlockReceipts' && params[0] === dropped.hash)
            return droppedReceipts
          if (method === 'eth_getTransactionReceipt' && params[0] === first) return droppedReceipt
          return answer()
        },
      )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 100,
      sources: [stale(), ...labSources(lab, HONEST)],
      prover: proofs(),
    })
    const trustedNow = async (hash: Hex) =>
      (
        await rpc
          .requestWithMeta({ method: 'eth_getBalance', params: [from, 'latest'] })
          .catch(() => undefined)
      )?.meta.block?.hash === hash
    try {
      await rpc.connect()
      // The dropped block is agreed (and so trusted) while it is the head.
      for (let i = 0; i < 100; i++) {
        const r = await rpc.requestWithMeta({
          method: 'eth_getBalance',
          params: [from, 'latest'],
        })
        if (r.meta.block?.hash === dropped.hash) break
        await sleep(20)
      }
      assert.ok(await trustedNow(dropped.hash), 'the block was agreed while it was the head')
      // The chain drops it: another block at that height, then one more on top.
      await lab.anvil.rpc('anvil_rollback', [1])
      await lab.anvil.rpc('anvil_dropAllTransactions', []).catch(() => undefined)
      await lab.anvil.rpc('eth_sendTransaction', [
        { from: devAccounts[3].address, to: `0x${'d0'.repeat(20)}`, value: '0x2' },
      ])
      await lab.anvil.rpc('anvil_mine', ['0x1'])
      const canonical = await lab.anvil.rpc<Block>('eth_getBlockByNumber', [n, false])
      assert.notEqual(canonical.hash, dropped.hash, 'the block at that height changed')
      const top = await lab.anvil.rpc<Block>('eth_getBlockByNumber', ['latest', false])
      for (let i = 0; i < 150; i++) {
        const r = await rpc
          .requestWithMeta({ method: 'eth_getBalance', params: [from, 'latest'] })
          .catch(() => undefined) // pinned to the dropped head until the head moves
        if (r?.meta.block?.hash === top.hash) break
        await sleep(20)
      }
      assert.ok(await trustedNow(top.hash), 'the new chain is agreed')
      const block = await rpc
        .requestWithMeta({ method: 'eth_getBlockByNumber', params: [n, true] })
        .catch(asError)
      const wrong: string[] = []
      if (!(block instanceof Error) && (block.result as Block).hash !== canonical.hash)
        wrong.push(
          `eth_getBlockByNumber(${Number(n)}): the dropped block (${block.meta.consistency})`,
        )
      const now = await lab.anvil.rpc<{ blockHash: Hex } | null>('eth_getTransactionReceipt', [
        first,
      ])
      const receipt = await rpc
        .requestWithMeta({ method: 'eth_getTransactionReceipt', params: [first] })
        .catch(asError)
      if (
        !(receipt instanceof Error) &&
        ((receipt.result as { blockHash: Hex } | null)?.blockHash ?? null) !==
          (now?.blockHash ?? null)
      )
        wrong.push(
          `eth_getTransactionReceipt: a receipt in the dropped block (${receipt.meta.consistency}), the chain has ${now?.blockHash ?? 'none'}`,
        )
      assert.deepEqual(wrong, [])
    } finally {
      await rpc.close()
    }
  })
})
