/**
 * Property-based fuzzing of malformed source responses (issue 5, item 4). In-process `node:http`
 * servers on 127.0.0.1 answer every request with bytes fast-check chooses: invalid JSON, wrong
 * shapes, wrong or duplicate ids, bad hex, wrong types, missing fields, error objects of every
 * shape, oversized and truncated bodies, HTML, binary, stalls, and batch answers of the wrong
 * length or order. They go through the real `http` source and the real engine, and:
 *
 * - nothing crashes (no unhandled rejection or uncaught exception),
 * - nothing outlives its deadline (plus a small margin),
 * - a malformed answer is never returned as valid: with only malformed sources the request
 *   rejects; with one honest source among them, the answer is the honest one.
 *
 * The honest source is a tiny in-process server over a fixed mainnet state (a real Prague block
 * as the head, one of its transactions) rather than anvil: what is fuzzed here is parsing and
 * the engine, and an in-process server keeps hundreds of runs within seconds.
 *
 * Inputs that reach a bug found here are gated out of the properties (see `Gates` in
 * fuzz/replies.ts) and reproduced, minimally, by the `todo` tests at the end of this file.
 * `OUTLAST_FUZZ_SCALE=10` runs ten times as many cases.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, it } from 'vitest'
import {
  AllSourcesFailedError,
  BaseError,
  http,
  RpcResponseError,
  SourceError,
} from '../src/index.ts'
import {
  CALLS,
  EXPECTED,
  type FuzzMethod,
  HEAD_BLOCK,
  HEAD_HASH,
  HEAD_NUMBER,
  LATER_BLOCK,
  METHODS,
  TX,
} from './fuzz/chain.ts'
import {
  client,
  crashRecorder,
  type Endpoint,
  MAX_BYTES,
  type Outcome,
  outcome,
  type SourcePlan,
  script,
  show,
  sourcePlan,
  targetCalls,
} from './fuzz/harness.ts'
import { answering, honest, jsonReply, render, type Verdict, verdicts } from './fuzz/render.ts'
import { type Gates, NO_GATES, type Reply, reply } from './fuzz/replies.ts'
import { type Call, type FuzzServer, type Handler, startFuzzServer } from './fuzz/server.ts'

fc.configureGlobal({ includeErrorInReport: true })

const SCALE = Number(process.env.OUTLAST_FUZZ_SCALE ?? 1) || 1
const runs = (n: number) => Math.max(1, Math.round(n * SCALE))

/** Allowed lateness past a deadline: timers, sockets and a busy (shared) 2-core machine. */
const MARGIN = 250
/**
 * The http source's own timeout in the source-only properties: long enough that a busy machine
 * does not turn a prompt answer into a timeout, short enough that stalls stay cheap.
 */
const SOURCE_TIMEOUT = 400
/** Malformed sources' own timeout next to an honest source (which gets the whole deadline). */
const MALFORMED_TIMEOUT = 150
/** The engine's deadline when only malformed sources answer; their own timeout is far longer. */
const DEADLINE = 600

const crashes = crashRecorder()
const servers: FuzzServer[] = []
let honestServer: FuzzServer

beforeAll(async () => {
  crashes.install()
  for (let i = 0; i < 3; i++) servers.push(await startFuzzServer(honest))
  honestServer = await startFuzzServer(honest)
})

afterAll(async () => {
  crashes.uninstall()
  await Promise.all([...servers, honestServer].map((s) => s.close()))
})

const releaseAll = () => {
  for (const s of servers) s.release()
}

/** Fails if an unhandled rejection or uncaught exception was seen since `mark`. */
const noCrashSince = (mark: number) =>
  assert.deepEqual(
    crashes.seen.slice(mark).map((e) => (e instanceof Error ? e.stack : String(e))),
    [],
    'unhandled rejection or uncaught exception',
  )

// ---------------------------------------------------------------------------------------------
// The http source alone
// ---------------------------------------------------------------------------------------------

/** Calls for the source alone: every method the engine sends, with its usual params. */
const sourceCalls = fc.constantFrom<[string, readonly unknown[]]>(
  ...(Object.entries(CALLS) as [string, readonly unknown[]][]),
  ['eth_chainId', []],
  ['eth_getBlockByNumber', ['latest', false]],
)

/** Scripts server 0 to answer with `r`, keeping the oracle's verdict on each call it gets. */
function scriptOne(r: Reply, gates: Gates): Verdict[] {
  const seen: Verdict[] = []
  servers[0]!.handle((calls: Call | Call[]) => {
    const rendered = render(r, calls, MAX_BYTES, gates)
    seen.push(...verdicts(rendered, calls, MAX_BYTES))
    return rendered
  })
  return seen
}

/** Checks one source outcome against the oracle's verdict for it. */
function judge(o: Outcome, verdict: Verdict | undefined, r: Reply) {
  const context = `reply ${show(r)}; outcome ${o.ok ? show(o.value) : String(o.error)}`
  assert.ok(o.ms <= SOURCE_TIMEOUT + MARGIN, `settled after ${Math.round(o.ms)} ms; ${context}`)
  if (verdict?.ok) {
    assert.ok(o.ok, `a well-formed answer was refused; ${context}`)
    assert.deepEqual(o.value, verdict.result, context)
  } else {
    assert.ok(!o.ok, `a malformed answer was accepted; ${context}`)
    assert.ok(o.error instanceof SourceError, `not a SourceError: ${o.error}; ${context}`)
  }
}

const fuzzedSource = (batch: boolean) =>
  http(servers[0]!.url, {
    name: 'fuzzed',
    timeout: SOURCE_TIMEOUT,
    maxResponseBytes: MAX_BYTES,
    batch,
  })

describe('fuzz: the http source alone', () => {
  it('resolves only with a well-formed result, else rejects with a SourceError, within its timeout', () =>
    fc.assert(
      fc.asyncProperty(
        reply(NO_GATES, { valid: true, hang: 2 }),
        sourceCalls,
        async (r, [method, params]) => {
          const mark = crashes.seen.length
          const seen = scriptOne(r, NO_GATES)
          const o = await outcome(fuzzedSource(false).request({ method, params }))
          servers[0]!.release()
          judge(o, seen[0], r)
          noCrashSince(mark)
        },
      ),
      { numRuns: runs(300) },
    ))

  it('in batch mode, hands each call only its own well-formed answer', () =>
    fc.assert(
      fc.asyncProperty(
        reply(NO_GATES, { valid: true, hang: 2 }),
        fc.array(sourceCalls, { minLength: 1, maxLength: 3 }),
        async (r, calls) => {
          const mark = crashes.seen.length
          const seen = scriptOne(r, NO_GATES)
          const source = fuzzedSource(true)
          // Made in one tick, so they go out as one batch (in this order, so ids ascend).
          const outcomes = await Promise.all(
            calls.map(([method, params]) => outcome(source.request({ method, params }))),
          )
          servers[0]!.release()
          assert.equal(seen.length, calls.length, 'one batch with every call')
          outcomes.forEach((o, i) => {
            judge(o, seen[i], r)
          })
          noCrashSince(mark)
        },
      ),
      { numRuns: runs(150) },
    ))
})

// ---------------------------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------------------------

const method = fc.constantFrom(...METHODS)

/** Each malformed source's plan, scripted on its server for garbling `m`. */
function scriptAll(plans: readonly SourcePlan[], m: FuzzMethod): Endpoint[] {
  return plans.map((p, i) => {
    script(servers[i]!, p, NO_GATES, targetCalls(m))
    return { url: servers[i]!.url, batch: p.batch }
  })
}

describe('fuzz: the engine', () => {
  it('with only malformed sources, rejects with an outlast error before the deadline', () =>
    fc.assert(
      fc.asyncProperty(
        method,
        fc.array(sourcePlan(NO_GATES, 1), { minLength: 3, maxLength: 3 }),
        async (m, plans) => {
          const mark = crashes.seen.length
          // The sources' own timeout is far past the deadline: the engine must keep it alone.
          const rpc = client(scriptAll(plans, m), { timeout: DEADLINE, sourceTimeout: 5_000 })
          const o = await outcome(rpc.request({ method: m, params: [...CALLS[m]] }))
          await rpc.close()
          releaseAll()
          const context = `${m}: ${o.ok ? `answered ${show(o.value)}` : String(o.error).split('\n')[0]}`
          assert.ok(o.ms <= DEADLINE + MARGIN, `settled after ${Math.round(o.ms)} ms; ${context}`)
          assert.ok(!o.ok, `only malformed sources, yet an answer; ${context}`)
          assert.ok(o.error instanceof BaseError, `not an outlast error; ${context}`)
          assert.equal(typeof o.error.code, 'number', context)
          noCrashSince(mark)
        },
      ),
      { numRuns: runs(200) },
    ))

  it('with one honest source among malformed ones, answers what the honest one says', () => {
    const deadline = 1_500
    return fc.assert(
      fc.asyncProperty(
        method,
        fc.array(sourcePlan(NO_GATES, 1), { minLength: 2, maxLength: 2 }),
        fc.nat({ max: 2 }),
        fc.boolean(),
        async (m, plans, at, honestBatch) => {
          const mark = crashes.seen.length
          const endpoints = scriptAll(plans, m)
          endpoints.splice(at, 0, { url: honestServer.url, batch: honestBatch, timeout: deadline })
          // Malformed sources fail within their own timeout, so the engine can settle for the
          // honest answer (one domain left) long before its deadline.
          const rpc = client(endpoints, { timeout: deadline, sourceTimeout: MALFORMED_TIMEOUT })
          const o = await outcome(rpc.request({ method: m, params: [...CALLS[m]] }))
          await rpc.close()
          releaseAll()
          const context = `${m}: ${o.ok ? `answered ${show(o.value)}` : String(o.error)}`
          assert.ok(o.ms <= deadline + MARGIN, `settled after ${Math.round(o.ms)} ms; ${context}`)
          // A well-formed rejection from another domain contradicts one acceptance: "sent" then
          // needs a second domain that knows the transaction (issue: a broadcast is the truth).
          // (The rejections may disagree among themselves: then every source's word is the error.)
          const contradicted =
            m === 'eth_sendRawTransaction' &&
            !o.ok &&
            (o.error instanceof RpcResponseError ||
              (o.error instanceof AllSourcesFailedError &&
                /JSON-RPC error/.test(String(o.error.message))))
          if (!contradicted) {
            assert.ok(o.ok, `one honest source, yet no answer; ${context}`)
            assert.deepEqual(o.value, EXPECTED[m], context)
          }
          noCrashSince(mark)
        },
      ),
      { numRuns: runs(200) },
    )
  })

  it('sanity: the honest server alone answers every fuzzed call as expected', async () => {
    for (const batch of [false, true]) {
      const rpc = client([{ url: honestServer.url, batch }], {
        timeout: 2_000,
        sourceTimeout: 1_000,
      })
      for (const m of METHODS)
        assert.deepEqual(await rpc.request({ method: m, params: [...CALLS[m]] }), EXPECTED[m], m)
      await rpc.close()
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Bugs found by the properties above, each reduced to a minimal input: regression tests now.
// Each starts its own servers: a test that crashes (an unhandled rejection) can leave a request
// running after it ends, and what is left of it must not touch another test's servers.
// ---------------------------------------------------------------------------------------------

/** Runs `fn` against fresh servers answering with `handlers`, then closes them. */
async function withServers<T>(handlers: Handler[], fn: (urls: string[]) => Promise<T>) {
  const own = await Promise.all(handlers.map((h) => startFuzzServer(h)))
  try {
    return await fn(own.map((s) => s.url))
  } finally {
    await Promise.all(own.map((s) => s.close()))
  }
}

/** Asks one source that answers like the honest one except where `result` says. */
function askOne(result: (c: Call) => unknown, m: FuzzMethod): Promise<Outcome> {
  return withServers([answering(result)], async ([url]) => {
    const rpc = client([{ url: url!, batch: false }], { timeout: 1_000, sourceTimeout: 500 })
    const o = await outcome(rpc.request({ method: m, params: [...CALLS[m]] }))
    await rpc.close()
    return o
  })
}

/** Asserts that `m` is refused when the source answers it with `bad`. */
async function refuses(m: FuzzMethod, bad: unknown) {
  const o = await askOne((c) => (c.method === m ? bad : undefined), m)
  assert.ok(!o.ok, `${m} answered with ${show(bad).slice(0, 120)} was accepted`)
}

describe('fuzz: bugs found, fixed, kept as regressions', () => {
  it('a head block whose header is incomplete or garbled does not set the head', {}, async () => {
    for (const head of [
      { number: HEAD_NUMBER, hash: HEAD_HASH },
      { ...HEAD_BLOCK, parentHash: 'zz' },
      // Found by the fuzzer (seed -660004243): the header was kept in lower case before its
      // hash was checked, so a `0X` prefix became `0x` and the garbled head was taken.
      { ...HEAD_BLOCK, extraData: `0X${(HEAD_BLOCK.extraData as string).slice(2)}` },
      { ...HEAD_BLOCK, parentHash: `0X${(HEAD_BLOCK.parentHash as string).slice(2)}` },
    ]) {
      const o = await askOne(
        (c) => (c.method === 'eth_getBlockByNumber' ? head : undefined),
        'eth_blockNumber',
      )
      assert.ok(
        !o.ok,
        `head ${show(head).slice(0, 80)} set eth_blockNumber ${show(o.ok && o.value)}`,
      )
    }
  })

  it('a verified block or transaction with a malformed field outside the hash is refused', {}, async () => {
    await refuses('eth_getTransactionByHash', { ...TX, from: 'zz' })
    await refuses('eth_getTransactionByHash', {
      ...TX,
      blockHash: (TX.blockHash as string).slice(2),
    })
    await refuses('eth_getTransactionByHash', { ...TX, transactionIndex: true })
    await refuses('eth_getBlockByHash', { ...HEAD_BLOCK, size: 'zz' })
  })

  it('a verified block or transaction with leading zeros in a quantity is refused', {}, async () => {
    await refuses('eth_getTransactionByHash', { ...TX, nonce: '0x002c5ce1' })
    await refuses('eth_getBlockByHash', { ...HEAD_BLOCK, gasUsed: '0x00e36e2f' })
  })

  it('a quantity or data with a 0X prefix, or a quantity over 256 bits, is refused', {}, async () => {
    await refuses('eth_getBalance', '0X1bc16d674ec80000')
    await refuses('eth_getBalance', `0x1${'0'.repeat(64)}`)
    await refuses('eth_call', `0X${'00'.repeat(32)}`)
    await refuses('eth_getBlockByHash', {
      ...HEAD_BLOCK,
      extraData: `0X${(HEAD_BLOCK.extraData as string).slice(2)}`,
    })
  })

  it('a batch answer with two items for one id is refused', {}, async () => {
    const duplicate = (calls: Call | Call[]) => {
      const id = (calls as Call[])[0]!.id
      return jsonReply([
        { jsonrpc: '2.0', id, error: { code: -32000, message: 'header not found' } },
        { jsonrpc: '2.0', id, result: '0x1' },
      ])
    }
    const o = await withServers([duplicate], ([url]) =>
      outcome(http(url!, { timeout: 500, batch: true }).request({ method: 'eth_chainId' })),
    )
    assert.ok(!o.ok && o.error instanceof SourceError, `accepted: ${show(o.ok && o.value)}`)
  })

  it('eth_blockNumber settles within the deadline while a source stalls on a head lookup', {}, async () => {
    const stall = { ...jsonReply(null), framing: { kind: 'stall' as const } }
    // s0: honest at the head. s1: valid, at a later real block, stalls when asked for the
    // head's number. s2: right chain, then silent. No two agree, so the tracker fills in.
    const ahead = answering((c) => (c.method === 'eth_getBlockByNumber' ? LATER_BLOCK : undefined))
    const handlers: Handler[] = [
      honest,
      (calls) => {
        const c = calls as Call
        return c.method === 'eth_getBlockByNumber' && c.params[0] !== 'latest' ? stall : ahead(c)
      },
      (calls) => ((calls as Call).method === 'eth_chainId' ? honest(calls) : stall),
    ]
    const timeout = 500
    const o = await withServers(handlers, async (urls) => {
      const endpoints = urls.map((url) => ({ url, batch: false }))
      const rpc = client(endpoints, { timeout, sourceTimeout: 5_000 })
      const o = await outcome(rpc.request({ method: 'eth_blockNumber' }))
      await rpc.close()
      return o
    })
    assert.ok(
      o.ms <= timeout + MARGIN,
      `settled after ${Math.round(o.ms)} ms (deadline ${timeout})`,
    )
  })

  // Last: should it crash again, what it leaves running cannot reach a later test.
  it('a transaction whose hash is not a string is refused, without a crash or a wait for the deadline', {}, async () => {
    const mark = crashes.seen.length
    const o = await askOne(
      (c) => (c.method === 'eth_getTransactionByHash' ? { ...TX, hash: 5 } : undefined),
      'eth_getTransactionByHash',
    )
    noCrashSince(mark)
    assert.ok(!o.ok && o.error instanceof BaseError, 'refused with an outlast error')
    assert.ok(o.ms < 500, `refused at once, not after ${Math.round(o.ms)} ms (deadline 1000)`)
  })
})
