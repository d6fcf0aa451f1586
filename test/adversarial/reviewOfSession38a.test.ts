/**
 * Review of the transaction send path at 87cf628 (handlers/send.ts `send`, `sendSync`,
 * `sendToAll`; broadcast.ts; shared/route.ts `privateRoute`, `badRoute`; agreedChain.ts
 * `receiptOf`), looking for what reviewOfSession37/37b/37c/37d, reviewOfSyncSends2,
 * broadcastTruth, hostileFeesAndSends and reviewOfQuorum3FeesSends left. Real anvil behind the
 * lab's proxies; a hostile source (`liar`) and, where one is used, the private route (`protect`)
 * are each over the liar proxy in their own domain, wrapped by `hostile`. Findings are
 * `it.fails('correct behaviour: …')` (each failed as a plain `it` with the message quoted);
 * `Held: …` are attacks that failed; `Fixed: …` a finding fixed since (5).
 *
 * Found (1-4 fixed the same stop, their tests renamed "Fixed: …"; 5 in fanOutDecisions.ts and
 * agreedChain.ts `receiptOf`):
 * 1. (high, privacy; also a "failed" verdict for a transaction that went out) A send-like method
 *    outside the policy table skips the private routes. With `privateTransactions: 'strict'` and a
 *    private route (Flashbots Protect) whose include names eth_sendRawTransaction and
 *    eth_sendPrivateTransaction, `eth_sendPrivateTransaction` ({ tx: raw, … }) is classified
 *    `quorum` (policy.ts `classify`: "any method not listed") and asked of every source that
 *    serves it: aws and gcp (no route) were sent the signed transaction; protect took it; the
 *    caller got aws's and gcp's -32601 "Method not found" (two domains' caller's error outvote
 *    protect's hash), i.e. "failed" for a transaction the relay is landing. A hostile public
 *    source gets the transaction to publish or front-run. The same for eth_sendBundle,
 *    mev_sendBundle, eth_sendPrivateRawTransaction (read). Responsible: policy.ts `classify` and
 *    the read path's candidates (`serves`: a source with no route serves everything);
 *    route.ts `privateRoute` knows only the two send methods. Fix: a method outside the table
 *    that a private route names exactly in `include` goes only to the sources that name it (with
 *    'strict' / 'fallback' as for sends), and a method outside the table named `eth_send*` or
 *    `*_send*Bundle*` is refused (4200) while private routes exist and none names it; say so in
 *    the README's routing section. Fixed: a method outside the table that hands transactions on
 *    (route.ts `handsOn`: `*_send*`, `*_cancel*`, `*bundle*`) is `single`, asked only of a source
 *    whose include names it (`names`, read.ts `asks`); none naming it, 4200 before any source is
 *    asked (test/routing.test.ts), with or without private routes; an app's `policies` entry for
 *    it stays the app's rule (src/core/userPolicies.test.ts).
 * 2. (high: a pending transaction reported refused, mined seconds later) Only under
 *    `privateTransactions: 'fallback'`. The private route refuses honestly (its own minimum fee:
 *    -32000 "transaction underpriced"); the public broadcast has aws, which takes the transaction
 *    (mined 4 s later), and the liar, which refuses at once and knows nothing. A 10 s sync send:
 *    observed the liar's -32000 "insufficient funds" after ~0.6 s; expected the receipt (~4 s),
 *    as without the private route (the control below: sendSync awaits the receipt to the timeout
 *    when one domain refuses beside an acceptance, reviewOfSession37 fix 1). sendSync's
 *    `refusing` collects refusals from both broadcasts, the private one and the fallback, so the
 *    private route's refusal counts as a second refusing domain and `refusing.size < 2` fails:
 *    one receipt read, then the refusal. Responsible: handlers/send.ts `sendSync` (`refusing`),
 *    fed by `sendToAll`'s one `heard` callback for both broadcasts. Fix: count only the refusals
 *    of the broadcast whose verdict is returned (clear `refusing` when the fallback starts, e.g.
 *    a `heard` per `to()` call or a "fallback" notice from sendToAll). Fixed: sendToAll
 *    tells `fellBack()`, and sendSync clears the refusals heard before it.
 * 3. (medium: "nonce too low" for a mined transaction; no liar needed) 'strict', a private route
 *    as the README writes one (`include: ['eth_sendRawTransaction', 'eth_chainId']`): the same
 *    signed transaction sent again once mined (a wallet's rebroadcast of a pending
 *    transaction) is the route's -32003 "nonce too low", though without private routes
 *    the same resend is the hash (control below: two domains refuse and hold it). broadcast.ts's
 *    rule "refused by nodes that hold it is sent" asks only the refusing targets
 *    (`#unaccepted` → `knownTo` with `lookup` = eth_getTransactionByHash), and the private
 *    route's own route leaves eth_getTransactionByHash out: the attempt fails at once, nothing
 *    knows it. (A sync resend holds: sendSync's one receipt read after a refusal finds it.)
 *    Responsible: broadcast.ts `Broadcast.#unaccepted` with handlers/send.ts `sendToAll`'s
 *    `lookup`. Fix: with private routes, look a refused transaction up on the public domains
 *    too (its hash only: a transaction that was mined is public; e.g. one agreed
 *    eth_getTransactionReceipt through `engine.request`, as sendSync does): mined, it is the hash.
 *    Fixed: send.ts `minedAlready`: a private routes' refusal is followed by one receipt read
 *    (receiptOf, the hash alone); a receipt that stands (not `degraded`) makes it sent.
 * 4. (medium: a hash no transaction has; no liar needed) A signed transaction with one byte more
 *    at its end: anvil (alloy's decoder, no check for trailing bytes) takes it and mines it under
 *    the hash of its canonical bytes; outlast computes keccak256 of the bytes as sent. Observed
 *    (one anvil behind both domains): aws answered the real hash (its answer "failed": not the
 *    computed hash), gcp "already imported" (known), so the caller got keccak(bytes sent),
 *    `degraded`, from gcp: a hash that is never mined (a sync send would wait for its receipt and
 *    answer code 4, a wallet would speed up or re-sign). With separate nodes every answer names
 *    the other hash: 4900 "All sources failed" for a mined transaction; a liar answering the
 *    computed hash makes its lone acceptance stand. Responsible: broadcast.ts `hashOf` (decodes
 *    only type 3). Fix: decode every envelope (a legacy RLP list, or the type byte and an RLP
 *    list) canonically, with no trailing bytes (rawTransaction.ts `decode` does it for type 3),
 *    and refuse anything else as -32602 before it goes anywhere. Fixed: rawTransaction.ts
 *    `rawTransactionHash` decodes every envelope (legacy, typed, blob) canonically with nothing
 *    after it; broadcast.ts `hashOf` calls it for every send (-32602 naming why). The dead copy
 *    in verify/transaction.ts is removed.
 * 5. (medium-high: a made-up receipt for a pending transaction; needs the other domains to fail
 *    their receipt reads meanwhile: a rate limit, a hiccup) Two domains; aws takes the send but
 *    answers its eth_getTransactionReceipt reads with -32005 "rate limit exceeded"; the liar
 *    serves a made-up receipt (status 0x0, in the real head block at index 0) for the hash. A
 *    10 s sync send, mined 4 s later: observed that made-up receipt after ~30 ms; expected code 4
 *    or the real receipt. Beside a "not found" the same receipt is refuted by the head block's
 *    checked body (madeUpReceipt, hiddenReceipt); beside a failure it is the "last domain
 *    standing" answer, and the check is never run. By reading, the same for a plain
 *    eth_getTransactionReceipt read, and a transaction the honest node refused (the liar's
 *    "sent" holds sendSync's read to the timeout) can so be told mined. Responsible:
 *    fanOutDecisions.ts `whenExhausted` (`degrade` before `checkInclusion` when `!doubted`);
 *    agreedChain.ts `receiptOf` (takes any non-null result: not even its `transactionHash` is
 *    compared with the hash sent; validate.ts checks only "object or null"). Fix: where the
 *    rules have `beatsNotYet`, a lone answer beside failures stands only once its inclusion
 *    checks (`checkInclusion` before `degrade`); receiptOf refuses a receipt naming another hash.
 *    Fixed (the inclusion half): fanOutDecisions.ts `whenExhausted` takes `includes` (the request
 *    has `beatsNotYet`): a lone real answer beside failures goes to `checkInclusion` before it
 *    may degrade, and one the check cannot place is no answer (a re-ask, then a QuorumError);
 *    the made-up receipt is refuted by the head block's body (the liar cut off) and the sync
 *    send ends in code 4. receiptOf's transactionHash check is another change's.
 *
 * Held (asserted below):
 * - 'strict', a private route naming eth_sendRawTransaction only:
 *   eth_sendRawTransactionConditional is refused and reaches no source; viem's
 *   `sendRawTransaction` over `outlast/viem` reaches the private route alone.
 * - Replacements: a replacement the nodes refuse as underpriced (same fees, the first pending),
 *   the liar saying "already known", knowing it by hash (a forged transaction object) and
 *   serving it a receipt in the head block, three domains: a 2 s sync send is the nodes'
 *   "replacement transaction underpriced" (~0.8 s), never code 4 or a receipt.
 * - 'strict', the README's private route, a sync send of a transaction already mined: its
 *   receipt (the route's "nonce too low", then one receipt read).
 * - Controls: finding 2's send without the private route is the receipt; finding 3's resend
 *   without private routes is the hash.
 *
 * Read, not tested:
 * - JSON-RPC batches through the proxy (proxy/jsonRpc.ts `answer`) run each call through
 *   `rpc.request`: a send inside a batch takes the send handler and its routes; the ethers
 *   adapter sends one call per request (`batchMaxCount: 1`).
 * - Blob sends: `hashOf` decodes type 3 canonically (EIP-4844 and EIP-7594 wrappers) and hashes
 *   the body; a liar answering the wrapper's keccak is "failed".
 * - eth_sendTransaction, eth_sendUnsignedTransaction, eth_resend: 4200, never sent.
 * - `policies: { eth_sendRawTransaction: 'single' | 'quorum' }` takes sends out of `sendToAll`,
 *   so private routes are passed by (the app's own override; worth a ConfigError while private
 *   routes exist).
 * - 'fallback' with eth_sendRawTransactionConditional and a private route that does not name it:
 *   "none can take it", so straight to the public sources (37d fix 3's reading of "failed").
 * - A private sync send's receipt reads go to every source: the hash, not the transaction,
 *   reaches the public sources before it is mined.
 */
import assert from 'node:assert/strict'
import { createWalletClient, keccak256 } from 'viem'
import { sendRawTransaction } from 'viem/actions'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { outlast } from '../../src/adapters/viem.ts'
import { createOutlast, RpcResponseError } from '../../src/index.ts'
import { CHAIN_ID, transfers } from '../helpers.ts'
import type { Lab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'
import { startLiarLab } from './proxiedLiar.ts'
import { carrying, type Err, insufficient, overLiar, timed, warm } from './syncSends.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const PLAIN = 'eth_sendRawTransaction'
const SYNC = 'eth_sendRawTransactionSync'

let lab: Lab
beforeAll(async () => {
  lab = await startLiarLab()
})
afterAll(() => lab.stop())

const honest = (names: string[]) => labSources(lab, names)
const { sign, nonceNow, nonceNext } = transfers(() => lab.anvil)

const request = timed
const over = (...a: Parameters<typeof overLiar> extends [Lab, ...infer R] ? R : never) =>
  overLiar(lab, ...a)

describe('send-like methods and private routes', () => {
  it("Fixed: privateTransactions 'strict', a private route (Flashbots Protect) that names eth_sendRawTransaction and eth_sendPrivateTransaction: eth_sendPrivateTransaction's signed transaction never reaches a public source", async () => {
    const seen: string[] = []
    let raw: string | undefined
    const watch = carrying(seen, () => raw)
    const protect = watch(
      over(
        'protect',
        'protect-host',
        async (method, _p, answer) => {
          if (method === 'eth_sendPrivateTransaction') return keccak256(raw as `0x${string}`)
          return answer()
        },
        {
          methods: { include: [PLAIN, 'eth_sendPrivateTransaction', 'eth_chainId'] },
        },
      ),
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [...honest(['aws', 'gcp']).map(watch), protect],
      timeout: 6_000,
    })
    await warm(rpc)
    try {
      raw = await sign(await nonceNext())
      const out = await request(rpc, 'eth_sendPrivateTransaction', [
        { tx: raw, maxBlockNumber: '0x1000', preferences: { fast: true } },
      ])
      const leaked = seen.filter((x) => !x.startsWith('protect'))
      assert.equal(out.result, keccak256(raw as `0x${string}`), 'protect’s own answer')
      assert.deepEqual(
        leaked,
        [],
        `told ${out.error ? `${out.error.code} ${out.error.message}` : String(out.result)}; the signed transaction reached: ${seen.join(', ')}`,
      )
    } finally {
      raw = undefined
      await rpc.close()
    }
  }, 30_000)
})

describe("sync sends under privateTransactions 'fallback'", () => {
  it("Fixed: 'fallback', the private route refusing honestly (its own minimum fee), the public aws taking the transaction (mined 4 s later) and a public liar refusing at once: a 10 s sync send returns the receipt, as without the private route", async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      privateTransactions: 'fallback',
      sources: [
        over('liar', 'liar-host', async (method, _p, answer) => {
          if (method.startsWith(PLAIN)) throw insufficient()
          if (method === 'eth_getTransactionByHash' || method === 'eth_getTransactionReceipt')
            return null
          return answer()
        }),
        ...honest(['aws']),
        over(
          'protect',
          'protect-host',
          async (method, _p, answer) => {
            if (method.startsWith(PLAIN))
              throw new RpcResponseError('protect', {
                code: -32000,
                message: 'transaction underpriced: priority fee below the relay minimum',
              })
            return answer()
          },
          { methods: { include: [PLAIN, 'eth_chainId'] } },
        ),
      ],
      timeout: 20_000,
    })
    await warm(rpc)
    await lab.anvil.rpc('evm_setAutomine', [false])
    let miner: ReturnType<typeof setTimeout> | undefined
    try {
      const raw = await sign(await nonceNext())
      miner = setTimeout(() => void lab.anvil.rpc('evm_mine').catch(() => {}), 4_000)
      const { result, error, took } = await request(rpc, SYNC, [raw, 10_000])
      await sleep(Math.max(0, 5_000 - took))
      const mined = await lab.anvil.rpc<{ status: string } | null>('eth_getTransactionReceipt', [
        keccak256(raw),
      ])
      assert.equal(mined?.status, '0x1', 'aws took it and anvil mined it')
      assert.equal(error, undefined, `told ${error?.code} "${error?.message}" after ${took} ms`)
      assert.equal((result as { transactionHash?: string }).transactionHash, keccak256(raw))
    } finally {
      clearTimeout(miner)
      await lab.anvil.rpc('evm_setAutomine', [true])
      await lab.anvil.rpc('evm_mine')
      await rpc.close()
    }
  }, 40_000)

  it('Held (control): the same without the private route: the receipt', async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [
        over('liar', 'liar-host', async (method, _p, answer) => {
          if (method.startsWith(PLAIN)) throw insufficient()
          if (method === 'eth_getTransactionByHash' || method === 'eth_getTransactionReceipt')
            return null
          return answer()
        }),
        ...honest(['aws']),
      ],
      timeout: 20_000,
    })
    await warm(rpc)
    await lab.anvil.rpc('evm_setAutomine', [false])
    let miner: ReturnType<typeof setTimeout> | undefined
    try {
      const raw = await sign(await nonceNext())
      miner = setTimeout(() => void lab.anvil.rpc('evm_mine').catch(() => {}), 4_000)
      const { result, error, took } = await request(rpc, SYNC, [raw, 10_000])
      assert.equal(error, undefined, `told ${error?.code} "${error?.message}" after ${took} ms`)
      assert.equal((result as { transactionHash?: string }).transactionHash, keccak256(raw))
    } finally {
      clearTimeout(miner)
      await lab.anvil.rpc('evm_setAutomine', [true])
      await lab.anvil.rpc('evm_mine')
      await rpc.close()
    }
  }, 40_000)
})

describe('resends and raw bytes', () => {
  it("Fixed: 'strict', a private route as the README writes it (include eth_sendRawTransaction, eth_chainId): the same signed transaction sent again once mined (a wallet's rebroadcast) is the hash, as it is without private routes, not the route's \"nonce too low\"", async () => {
    const protect = over('protect', 'protect-host', undefined, {
      methods: { include: [PLAIN, 'eth_chainId'] },
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [...honest(['aws', 'gcp']), protect],
      timeout: 6_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNext())
      const first = await request(rpc, PLAIN, [raw])
      assert.equal(first.result, keccak256(raw), `first: ${first.error?.message}`)
      await sleep(300)
      const mined = await lab.anvil.rpc<{ status: string } | null>('eth_getTransactionReceipt', [
        keccak256(raw),
      ])
      assert.equal(mined?.status, '0x1', 'mined')
      const again = await request(rpc, PLAIN, [raw])
      assert.equal(
        again.result,
        keccak256(raw),
        `sent again: told ${again.error?.code} "${again.error?.message}" for a mined transaction`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Held (control): the same without private routes: the hash', async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [...honest(['aws', 'gcp'])],
      timeout: 6_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNext())
      const first = await request(rpc, PLAIN, [raw])
      assert.equal(first.result, keccak256(raw), `first: ${first.error?.message}`)
      await sleep(300)
      const again = await request(rpc, PLAIN, [raw])
      assert.equal(
        again.result,
        keccak256(raw),
        `again: ${again.error?.code} ${again.error?.message}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Fixed: a signed transaction with one byte more at its end (anvil takes it and mines it under the hash of its canonical bytes): refused before it goes anywhere (-32602), or answered with the hash it is mined under; never the keccak of the bytes sent, a hash no transaction has', async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [...honest(['aws', 'gcp'])],
      timeout: 6_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNext())
      const out = await rpc.requestWithMeta({ method: PLAIN, params: [`${raw}00`] }).then(
        (r) => ({ result: r.result, meta: r.meta, error: undefined as Err | undefined }),
        (e: Err) => ({ result: undefined, meta: undefined, error: e }),
      )
      await sleep(300)
      const mined = await lab.anvil.rpc<{ status: string } | null>('eth_getTransactionReceipt', [
        keccak256(raw),
      ])
      const refusedUnsent = out.error?.code === -32602 && mined === null
      assert.ok(
        refusedUnsent || out.result === keccak256(raw),
        `told ${out.error ? `${out.error.code} "${out.error.message}"` : `${String(out.result)} (${out.meta?.consistency}, from ${out.meta?.sources.join(', ')})`}; keccak of the bytes sent ${keccak256(`${raw}00`)}; the node mined ${keccak256(raw)}: ${mined?.status}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe('held', () => {
  it("Held: 'strict', a private route naming eth_sendRawTransaction only: eth_sendRawTransactionConditional and viem's sendRawTransaction (outlast/viem) never reach a public source", async () => {
    const seen: string[] = []
    let raw: string | undefined
    const watch = carrying(seen, () => raw)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [
        ...honest(['aws', 'gcp']).map(watch),
        watch(
          over('protect', 'protect-host', undefined, {
            methods: { include: [PLAIN, 'eth_chainId'] },
          }),
        ),
      ],
      timeout: 6_000,
    })
    await warm(rpc)
    try {
      raw = await sign(await nonceNext())
      const conditional = await request(rpc, 'eth_sendRawTransactionConditional', [raw, {}])
      assert.ok(conditional.error, 'refused: no private route takes it')
      assert.deepEqual(seen, [], `${conditional.error?.message}; reached ${seen.join(', ')}`)
      const client = createWalletClient({ transport: outlast(rpc) })
      const hash = await sendRawTransaction(client, { serializedTransaction: raw as `0x${string}` })
      assert.equal(hash, keccak256(raw as `0x${string}`))
      assert.deepEqual(seen, [`protect ${PLAIN}`])
    } finally {
      raw = undefined
      await rpc.close()
    }
  }, 30_000)

  it('Held: a replacement the nodes refuse as underpriced (same fees, the first still pending), the liar saying "already known", knowing it by hash and serving it a receipt in the head block: a 2 s sync send is the nodes\' refusal, never code 4 or a receipt (three domains)', async () => {
    const { account } = transfers(() => lab.anvil)
    const signValue = (nonce: number, value: bigint) =>
      account.signTransaction({
        chainId: CHAIN_ID,
        type: 'eip1559',
        to: `0x${'22'.repeat(20)}`,
        value,
        nonce,
        gas: 21_000n,
        maxFeePerGas: 20_000_000_000n,
        maxPriorityFeePerGas: 1_000_000_000n,
      })
    let replacement: `0x${string}` | undefined
    const liar = over('liar', 'liar-host', async (method, params, answer) => {
      const h = replacement && keccak256(replacement)
      if (method.startsWith(PLAIN) && params[0] === replacement)
        throw new RpcResponseError('liar', { code: -32000, message: 'already known' })
      if (method === 'eth_getTransactionByHash' && params[0] === h) {
        const any = (await lab.anvil.rpc('eth_getBlockByNumber', ['latest', true])) as {
          transactions: Record<string, unknown>[]
        }
        return { ...(any.transactions[0] ?? {}), hash: h }
      }
      if (method === 'eth_getTransactionReceipt' && params[0] === h) {
        const head = (await lab.anvil.rpc('eth_getBlockByNumber', ['latest', false])) as Record<
          string,
          string
        >
        return {
          transactionHash: h,
          transactionIndex: '0x0',
          blockHash: head.hash,
          blockNumber: head.number,
          from: account.address.toLowerCase(),
          to: `0x${'22'.repeat(20)}`,
          cumulativeGasUsed: '0x5208',
          gasUsed: '0x5208',
          effectiveGasPrice: '0x3b9aca07',
          contractAddress: null,
          logs: [],
          logsBloom: `0x${'00'.repeat(256)}`,
          status: '0x1',
          type: '0x2',
        }
      }
      return answer()
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [liar, ...honest(['aws', 'gcp'])],
      timeout: 15_000,
    })
    await warm(rpc)
    await lab.anvil.rpc('evm_setAutomine', [false])
    try {
      const n = await nonceNow()
      const first = await signValue(n, 1n)
      await lab.anvil.rpc('eth_sendRawTransaction', [first])
      replacement = await signValue(n, 2n)
      const out = await request(rpc, SYNC, [replacement, 2_000])
      assert.match(
        String(out.error?.message),
        /replacement transaction underpriced/,
        `told ${out.error ? `${out.error.code} ${out.error.message}` : `a receipt ${JSON.stringify(out.result)}`}`,
      )
    } finally {
      await lab.anvil.rpc('evm_setAutomine', [true])
      await lab.anvil.rpc('evm_mine')
      await rpc.close()
    }
  }, 30_000)
})

describe('receipts while the other domain fails', () => {
  it('Fixed: a 10 s sync send mined 4 s later, two domains, aws failing its receipt reads (a rate limit) and the liar accepting and serving a made-up receipt in the real head block: never the made-up receipt (a receipt that stands alone is checked against the agreed chain\'s body, as against a "not found")', async () => {
    const { account } = transfers(() => lab.anvil)
    let raw: `0x${string}` | undefined
    const liar = over('liar', 'liar-host', async (method, params, answer) => {
      const h = raw && keccak256(raw)
      if (method === 'eth_getTransactionReceipt' && params[0] === h) {
        const head = (await lab.anvil.rpc('eth_getBlockByNumber', ['latest', false])) as Record<
          string,
          string
        >
        return {
          transactionHash: h,
          transactionIndex: '0x0',
          blockHash: head.hash,
          blockNumber: head.number,
          from: account.address.toLowerCase(),
          to: `0x${'22'.repeat(20)}`,
          cumulativeGasUsed: '0x5208',
          gasUsed: '0x5208',
          effectiveGasPrice: '0x3b9aca07',
          contractAddress: null,
          logs: [],
          logsBloom: `0x${'00'.repeat(256)}`,
          status: '0x0',
          type: '0x2',
        }
      }
      return answer()
    })
    const [aws] = honest(['aws'])
    const limited = hostile(aws!, async (method, _p, answer) => {
      if (method === 'eth_getTransactionReceipt')
        throw new RpcResponseError('aws', { code: -32005, message: 'rate limit exceeded' })
      return answer()
    })
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [liar, limited], timeout: 20_000 })
    await warm(rpc)
    await lab.anvil.rpc('evm_setAutomine', [false])
    let miner: ReturnType<typeof setTimeout> | undefined
    try {
      raw = await sign(await nonceNext())
      miner = setTimeout(() => void lab.anvil.rpc('evm_mine').catch(() => {}), 4_000)
      const out = await request(rpc, SYNC, [raw, 10_000])
      const r = out.result as { status?: string; blockHash?: string } | undefined
      const real = await lab.anvil.rpc<{ blockHash: string } | null>('eth_getTransactionReceipt', [
        keccak256(raw),
      ])
      assert.ok(
        out.error?.code === 4 || (r && r.blockHash === real?.blockHash && r.status === '0x1'),
        `told ${out.error ? `${out.error.code} ${out.error.message}` : `status ${r?.status} in ${r?.blockHash}`} after ${out.took} ms; mined in ${real?.blockHash}`,
      )
    } finally {
      raw = undefined
      clearTimeout(miner)
      await lab.anvil.rpc('evm_setAutomine', [true])
      await lab.anvil.rpc('evm_mine')
      await rpc.close()
    }
  }, 40_000)
})

describe('resends, sync', () => {
  it("Held: 'strict', the README's private route: a sync send of a transaction already mined (the route says \"nonce too low\") is its receipt (sendSync's one receipt read after a refusal)", async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [
        ...honest(['aws', 'gcp']),
        over('protect', 'protect-host', undefined, {
          methods: { include: [PLAIN, 'eth_chainId'] },
        }),
      ],
      timeout: 6_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNext())
      await lab.anvil.rpc('eth_sendRawTransaction', [raw])
      await sleep(300)
      const out = await request(rpc, SYNC, [raw, 3_000])
      assert.equal(
        (out.result as { transactionHash?: string } | undefined)?.transactionHash,
        keccak256(raw),
        `told ${out.error?.code} ${out.error?.message}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})
