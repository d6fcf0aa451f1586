/**
 * Review of fb686bc (sync sends: the broadcast of an eth_sendRawTransactionSync gets the deadline
 * min(request deadline, send timeout + REFUSAL_GRACE 1 s)) and 5270876 (head.ts `#settle`: a lone
 * head whose every backer is cut off as lying gives way to the confirmed head). Real anvil behind
 * the lab's proxies, a hostile source in its own domain (`liar-host`). Each finding was first an
 * `it.fails('correct behaviour: …')`; `Held: …` are attacks that failed.
 *
 * Fixed the same stop (the tests renamed "Fixed: …"): 1-4 by sending a sync send to the nodes as
 * eth_sendRawTransaction (handlers/send.ts `sendToAll`: they answer at once, outlast awaits the
 * receipt itself; routes are read for eth_sendRawTransaction, so a private route that names it is
 * the sync send's route too); 5 by falling back, still unconfirmed, only to the confirmed head
 * itself where a source stands (headChoice.ts `accepts`, `disowned`), never re-confirming it.
 *
 * Found:
 * 1. (high, regression of fb686bc) A pending transaction reported refused. Nodes that have
 *    EIP-7966 themselves (anvil, geth, reth) hold their answer to eth_sendRawTransactionSync
 *    until the transaction is mined (outlast sends them no timeout, so they wait their own
 *    default). Three domains: aws and gcp honest, each its own node (`ownNode`), the liar
 *    answering "insufficient funds" at once; timeout 1 s; the block comes at 4 s. The broadcast
 *    is cut at 2 s with both honest attempts in flight (silent), so the liar's refusal is the
 *    only word: the caller gets the liar's -32000 "insufficient funds" at ~2.05 s for a
 *    transaction two honest domains hold and mine 2 s later. Expected: code 4 naming the hash.
 *    Before fb686bc the broadcast waited to the deadline and heard both acceptances (the
 *    receipt). The same through viem's `sendRawTransactionSync` action over `outlast/viem`:
 *    viem gets InvalidInputRpcError (the liar's words), not the code 4 its own
 *    sendTransactionSync reads as "sent: keep the nonce, wait for the receipt".
 *    "correct behaviour: a 1 s sync send that two honest domains hold…", "…viem's
 *    sendRawTransactionSync…".
 * 2. (medium-high, no liar needed) The same with two honest domains and no liar: "All sources
 *    failed for eth_sendRawTransaction" (code 4900) at ~2.05 s for a transaction that is out and
 *    mined at 4 s. Any sync send whose timeout is shorter than inclusion takes, to EIP-7966
 *    nodes, reads as a failed send. "correct behaviour: with no liar at all…".
 * 3. (medium-low) The cut send attempt is charged to the honest node: its attempt aborted by
 *    the broadcast's AbortSignal.timeout is a `timeout` failure (sourcePool.ts `failureOf`:
 *    "no answer within the poll's time limit"), failures 1, errorRate 0.09, each such send.
 *    "correct behaviour: an honest node that holds its sync answer…".
 * 4. (high, privacy; not new in fb686bc, found beside it) A sync send skips the private route
 *    and goes to every public source. handlers/send.ts `sendToAll` filters `routed` by
 *    `serves(route, 'eth_sendRawTransactionSync')`: a private route whose include names
 *    `eth_sendRawTransaction` (as the README says to write one) does not serve the Sync method,
 *    so `privateRoutes` is empty and `to(routed)` sends the transaction to aws and gcp (the
 *    protect route is not even asked). "correct behaviour: a sync send with a private route…".
 * 5. (medium, 5270876) The fall-back shows an old confirmed height as the confirmed head. aws and
 *    gcp agree on #3; aws goes out; gcp, the last domain standing, carries the real chain to #7
 *    (lone, `degraded`); one header of gcp's does not hash (a backend glitch; a liar in gcp's
 *    place does it on purpose) and gcp is cut off; the chain bursts to #47; aws comes back at
 *    #47, not accepted yet (past reach(), its burst's timestamps ahead of the clock). Its
 *    candidate is not accepted and the lone #7's only backer is cut off: the tracker settles on
 *    `backersOf(confirmedHead)`, whose `domains` is the trust quorum, so #3 becomes the head
 *    *confirmed*: eth_blockNumber goes 7/degraded → 3/`head` (the label of "a height two
 *    domains confirmed"), status `headConfirmed: true`, for as long as aws is unaccepted (the
 *    whole 4 s observed), while every node is at #47. Before 5270876 the head stayed #7
 *    (degraded). "correct behaviour: when the last domain standing…".
 *
 * Held (asserted below):
 * - Nodes without EIP-7966 (the plain send answered at once), three domains, the liar refusing
 *   at once: a 1 s sync send mined at 4 s is code 4 naming the hash (~1.1 s), the honest nodes
 *   not charged; a 1 ms timeout (a number) the same.
 * - `privateTransactions: 'fallback'` with the private route (the liar) refusing a plain send:
 *   the public domains take it, the hash comes back.
 *
 * Read, not tested:
 * - How long a liar holds an outcome: its instant refusal beside ONE honest acceptance is held
 *   to the timeout (by design of fix 1) and then returned when the transaction is not mined by
 *   then (two domains cannot tell who lies: the broadcast's documented rule). Its "sent" beside
 *   an honest node that refuses slower than timeout + 1 s is code 4 at timeout + 1 s ("silence
 *   contradicts nothing": as before fb686bc, by the grace timer).
 * - The fallback's broadcast (`privateTransactions: 'fallback'`) gets the same `deadline` as the
 *   private one: a private route silent to timeout + 1 s leaves the public broadcast an
 *   already-expired signal ("no answer before the deadline"): an error for a transaction that
 *   went nowhere, not a wrong answer.
 * - A liar cannot make an honest source `lyingUntil` by its own answers as far as read here:
 *   head headers are checked per source (`#remember`, walks fetch from the same source), a
 *   receipt refuted (`includes`) needs a hashed body holding another transaction at the index;
 *   so finding 5 needs the backer's own fault, or a liar that stood in as the last domain with
 *   real heads.
 */
import assert from 'node:assert/strict'
import { BaseError, createWalletClient, keccak256 } from 'viem'
import { sendRawTransactionSync } from 'viem/actions'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { outlast } from '../../src/adapters/viem.ts'
import { createOutlast, http, RpcResponseError, type Source } from '../../src/index.ts'
import { CHAIN_ID, transfers } from '../helpers.ts'
import type { Lab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'
import { honestOf, startLiarLab } from './proxiedLiar.ts'
import { insufficient, type Rpc, sendSync, warm } from './syncSends.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLiarLab()
})
afterAll(() => lab.stop())

const honest = (names: string[]) => labSources(lab, names)
const inner = () => http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' })
const liar = (rewrite: Parameters<typeof hostile>[1]): Source => hostile(inner(), rewrite)
const { sign, nonceNext } = transfers(() => lab.anvil)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Automine off, one block `at` ms from now; `run` the send; then the chain back to automine. */
async function minedLater<T>(at: number, run: () => Promise<T>): Promise<T> {
  await lab.anvil.rpc('evm_setAutomine', [false])
  const miner = setTimeout(() => void lab.anvil.rpc('evm_mine').catch(() => {}), at)
  try {
    return await run()
  } finally {
    clearTimeout(miner)
    await lab.anvil.rpc('evm_setAutomine', [true])
    await lab.anvil.rpc('evm_mine')
  }
}

/**
 * An honest node of its own with EIP-7966: it holds its sync answer until the transaction is
 * mined (as anvil and geth do). The lab's domains share one anvil, whose second sync send of a
 * transaction is "already known" at once; a node of its own would hold that one too.
 */
const ownNode = (s: Source): Source =>
  hostile(s, async (method, params, answer) => {
    if (method !== 'eth_sendRawTransactionSync') return answer()
    try {
      return await answer()
    } catch (error) {
      if (!/already (known|imported)/i.test(String((error as Error).message))) throw error
      const hash = keccak256(params[0] as `0x${string}`)
      for (;;) {
        const r = await lab.anvil.rpc('eth_getTransactionReceipt', [hash])
        if (r) return r
        await sleep(50)
      }
    }
  })

/** The liar: "insufficient funds" at once, and it knows no such transaction or receipt. */
const refuser = () =>
  liar(async (method, _p, answer) => {
    if (method.startsWith('eth_sendRawTransaction')) throw insufficient()
    if (method === 'eth_getTransactionByHash' || method === 'eth_getTransactionReceipt') return null
    return answer()
  })

/** Sent, not mined by the timeout: EIP-7966's code 4 naming the hash (or, later, the receipt). */
function assertSent(out: Awaited<ReturnType<typeof sendSync>>, hash: string) {
  const { result, error, took } = out
  if (result) return assert.equal(result.transactionHash, hash)
  assert.equal(error?.code, 4, `told ${error?.code} "${error?.message}" after ${took} ms`)
  assert.equal(String(error?.data).toLowerCase(), hash)
}

describe('sync sends to nodes that have EIP-7966 themselves (they hold the answer until mined)', () => {
  it("Fixed: a 1 s sync send that two honest domains hold until it is mined (4 s) is code 4 or its receipt, never the liar's instant refusal", async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [refuser(), ...honest(['aws', 'gcp']).map(ownNode)],
      timeout: 20_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNext())
      const out = await minedLater(4_000, () => sendSync(rpc, [raw, '0x3e8']))
      await sleep(Math.max(0, 5_000 - out.took))
      const mined = await lab.anvil.rpc<{ status: string } | null>('eth_getTransactionReceipt', [
        keccak256(raw),
      ])
      assert.equal(mined?.status, '0x1', 'the honest nodes mined it')
      assertSent(out, keccak256(raw))
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Fixed: with no liar at all, a 1 s sync send two honest domains hold until it is mined (4 s) is code 4 or its receipt, not "all sources failed"', async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: honest(['aws', 'gcp']).map(ownNode),
      timeout: 20_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNext())
      const out = await minedLater(4_000, () => sendSync(rpc, [raw, '0x3e8']))
      assertSent(out, keccak256(raw))
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Fixed: an honest node that holds its sync answer past the send's timeout and a second is not charged a failure (its attempt was cut by outlast, not lost)", async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: honest(['aws', 'gcp']).map(ownNode),
      timeout: 20_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNext())
      await minedLater(4_000, () => sendSync(rpc, [raw, '0x3e8']))
      await sleep(1_000) // the cut attempt's failure is recorded after the answer
      const charged = rpc
        .status()
        .sources.filter((s) => s.failures > 0)
        .map((s) => `${s.name}: ${s.failures} failure(s), "${s.lastError}"`)
      assert.deepEqual(charged, [])
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

/** An honest node without EIP-7966 (most today): "method not found", then the plain send. */
const withoutSync = (s: Source): Source =>
  hostile(s, async (method, _p, answer) => {
    if (method === 'eth_sendRawTransactionSync')
      throw new RpcResponseError(s.config.name, { code: -32601, message: 'method not found' })
    return answer()
  })

describe('sync sends to nodes without EIP-7966 (they answer the plain send at once): held', () => {
  it('Held: three domains, two honest, the liar refusing at once; a 1 s sync send mined at 4 s is code 4 naming the hash (not the refusal), the honest nodes not charged', async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [refuser(), ...honest(['aws', 'gcp']).map(withoutSync)],
      timeout: 20_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNext())
      const out = await minedLater(4_000, () => sendSync(rpc, [raw, '0x3e8']))
      assertSent(out, keccak256(raw))
      assert.ok(out.took < 4_000, `${out.took} ms`)
      await sleep(1_000)
      for (const name of ['aws', 'gcp'])
        assert.equal(rpc.status().sources.find((s) => s.name === name)?.failures, 0, name)
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Held: timeout 1 ms (as a number): code 4 naming the hash within ~2 s, never the liar's refusal", async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [refuser(), ...honest(['aws', 'gcp']).map(withoutSync)],
      timeout: 20_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNext())
      const out = await minedLater(4_000, () => sendSync(rpc, [raw, 1]))
      assertSent(out, keccak256(raw))
      assert.ok(out.took < 4_000, `${out.took} ms`)
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Held: privateTransactions 'fallback', the private route (the liar) refusing a plain send at once: the public domains take it (sent, the hash)", async () => {
    const protect = hostile(
      http(lab.proxy('liar').url, {
        name: 'protect',
        domain: 'liar-host',
        methods: { include: ['eth_sendRawTransaction', 'eth_chainId'] },
      }),
      async (method, _p, answer) => {
        if (method.startsWith('eth_sendRawTransaction')) throw insufficient()
        return answer()
      },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      privateTransactions: 'fallback',
      sources: [...honest(['aws', 'gcp']), protect],
      timeout: 15_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNext())
      const hash = await rpc.request({ method: 'eth_sendRawTransaction', params: [raw] })
      assert.equal(hash, keccak256(raw))
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe('sync sends and private routes', () => {
  it('Fixed: a sync send with a private route (methods.include names eth_sendRawTransaction) goes to the private route alone, never to the public sources', async () => {
    const sends: string[] = []
    const counted = (src: Source) =>
      hostile(src, async (method, _p, answer) => {
        if (method.startsWith('eth_sendRawTransaction')) sends.push(`${src.config.name} ${method}`)
        return answer()
      })
    const protect = counted(
      http(lab.proxy('liar').url, {
        name: 'protect',
        domain: 'liar-host',
        methods: { include: ['eth_sendRawTransaction', 'eth_chainId'] },
      }),
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [...honest(['aws', 'gcp']).map(counted), protect],
      timeout: 15_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNext())
      const { result, error } = await sendSync(rpc, [raw, '0x1388'])
      assert.deepEqual(
        sends.filter((x) => !x.startsWith('protect')),
        [],
        `public sources got the private transaction (the caller got ${result ? 'its receipt' : error?.message}); sends: ${sends.join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe("viem's sendRawTransactionSync over outlast/viem", () => {
  it("Fixed: viem's sendRawTransactionSync (timeout 1 s) over the outlast transport, two honest EIP-7966 domains holding it until mined (4 s), the liar refusing: viem sees EIP-7966's code 4 (it keeps the nonce and waits), not the liar's insufficient funds", async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [refuser(), ...honest(['aws', 'gcp']).map(ownNode)],
      timeout: 20_000,
    })
    await warm(rpc)
    const client = createWalletClient({ transport: outlast(rpc) })
    try {
      const raw = await sign(await nonceNext())
      const out = await minedLater(4_000, () =>
        sendRawTransactionSync(client, { serializedTransaction: raw, timeout: 1_000 }).then(
          (r) => ({ r, e: undefined }),
          (e: unknown) => ({ r: undefined, e }),
        ),
      )
      if (out.r) return assert.equal(out.r.transactionHash, keccak256(raw))
      // As viem's own sendTransactionSync tells a sent transaction from a failed one.
      const timeout =
        out.e instanceof BaseError ? out.e.walk((x) => (x as { code?: unknown })?.code === 4) : null
      assert.ok(timeout, `viem got ${(out.e as Error)?.name}: ${(out.e as BaseError)?.details}`)
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe('head: the lone head falls back to the confirmed head (5270876)', () => {
  const state = (rpc: Rpc, name: string) => rpc.status().sources.find((s) => s.name === name)!
  async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 15_000) {
    const end = Date.now() + ms
    while (!(await fn())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
      await sleep(100)
    }
  }

  /**
   * aws and gcp agree on #3; aws goes out; gcp, the last domain standing, carries the real chain
   * to #7 (lone, `degraded`); then one header of gcp's does not hash (a backend's glitch): gcp is
   * cut off as lying; the chain bursts 40 blocks; aws comes back at its real head, not accepted
   * yet (past reach()). Returns eth_blockNumber's answers as `height/consistency`.
   */
  async function lastStandingCutOff(rpc: Rpc, glitch: () => void) {
    const seen: { n: number; c: string }[] = []
    const bn = () =>
      rpc.requestWithMeta({ method: 'eth_blockNumber' }).then(
        (x) => void seen.push({ n: Number(x.result), c: x.meta.consistency }),
        () => {},
      )
    await warm(rpc)
    await bn()
    await lab.proxy('aws').setMode({ kind: 'refused' })
    for (let i = 0; i < 4; i++) {
      await lab.anvil.rpc('evm_mine')
      await sleep(1_200)
      await bn()
    }
    glitch()
    await lab.anvil.rpc('evm_mine')
    await until('gcp cut off', async () => {
      await bn()
      return state(rpc, 'gcp').condition === 'lying'
    })
    await lab.anvil.rpc('anvil_mine', ['0x28'])
    await lab.proxy('aws').setMode({ kind: 'ok' })
    for (let i = 0; i < 10; i++) {
      await sleep(400)
      await bn()
    }
    return seen
  }

  it('Fixed: when the last domain standing (a real lone head, #7) is cut off and the other domain comes back ahead, eth_blockNumber does not fall back to the old confirmed #3 labelled `head` (confirmed) while every node is at #47', async () => {
    let glitch = false
    const [aws, gcp0] = honestOf(lab, ['aws', 'gcp'])
    const gcp = hostile(gcp0!, async (method, params, answer) => {
      const real = await answer()
      // From the glitch on, every head it sends fails its hash: a one-shot glitch could fall on
      // a block already kept (not hashed again) and go unseen on a loaded machine (CI, once).
      if (glitch && method === 'eth_getBlockByNumber' && params[0] === 'latest' && real)
        return { ...(real as object), gasUsed: '0x1' } // does not hash to its hash
      return real
    })
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [aws!, gcp], pollingInterval: 250 })
    try {
      const seen = await lastStandingCutOff(rpc, () => (glitch = true))
      const shown = (k: number) => Math.max(...seen.slice(0, k).map((x) => x.n))
      const back = seen.findIndex((x, k) => k > 0 && x.c === 'head' && x.n < shown(k))
      const real = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
      assert.equal(
        back,
        -1,
        `eth_blockNumber went ${seen.map((x) => `${x.n}/${x.c}`).join(' ')} (nodes at #${real}); status head #${rpc.status().head?.number}, confirmed ${rpc.status().headConfirmed}`,
      )
    } finally {
      await lab.proxy('aws').setMode({ kind: 'ok' })
      await rpc.close()
    }
  }, 40_000)
})
