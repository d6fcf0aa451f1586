/**
 * The fan-out's behaviour on a fake clock: sources that answer (or not) at set times, every
 * timer of the fan-out (hedge, re-check, re-ask, deadline) driven by the test. No network.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { fakeClock } from '../../test/fakeClock.ts'
import {
  DeadlineError,
  ProviderRpcError,
  QuorumError,
  RpcResponseError,
  SourceError,
} from '../shared/errors.ts'
import type { Source } from '../shared/types.ts'
import { type FanOutContext, type FanOutRequest, type FanOutResult, fanOut } from './fanOut.ts'
import { createSourceState, type SourceState } from './sourceState.ts'

/** One attempt's outcome: an answer or an error `after` ms, or nothing at all. */
type Reply = { after: number; result?: unknown; error?: unknown } | 'silent'

type Plan = { domain: string; replies: Reply[]; latency?: number }

/**
 * Sources named as in `plans`, each answering its successive attempts with its replies (the
 * last one repeated); a context that records what the fan-out did to them.
 */
function lab(plans: Record<string, Plan>, hedge = { min: 10, max: 2_000, initial: 400 }) {
  const time = fakeClock()
  const states = new Map<string, SourceState>()
  for (const [name, plan] of Object.entries(plans)) {
    const source: Source = {
      config: { name, kind: 'cloud', domain: plan.domain, weight: 1, label: name },
      request: () => Promise.reject(new Error('not used')),
    }
    const s = createSourceState(source)
    if (plan.latency !== undefined) s.latency.add(plan.latency)
    states.set(name, s)
  }
  const asked: [string, number][] = []
  const aborted: string[] = []
  const penalized: [string, string, string][] = []
  const disagreements: { source: string; answer: string }[][] = []
  let withdrawn = 0
  let budget = Number.POSITIVE_INFINITY
  const count = new Map<string, number>()

  const attempt = (s: SourceState, _m: string, _p: unknown[], signal: AbortSignal) => {
    const n = count.get(s.name) ?? 0
    count.set(s.name, n + 1)
    asked.push([s.name, time.elapsed()])
    const replies = plans[s.name]!.replies
    const reply = replies[Math.min(n, replies.length - 1)]!
    return new Promise<unknown>((resolve, reject) => {
      signal.addEventListener('abort', () => {
        aborted.push(s.name)
        reject(new SourceError(s.name, 'aborted', 'attempt cancelled'))
      })
      if (reply === 'silent') return
      time.clock.setTimeout(() => {
        if (signal.aborted) return
        s.lastAnswerAt = time.clock.now() // as the source pool records an answer
        if (reply.error !== undefined) reject(reply.error)
        else resolve(reply.result)
      }, reply.after)
    })
  }
  const ctx: FanOutContext = {
    attempt,
    clock: time.clock,
    hedge,
    budget: {
      deposit() {},
      tryWithdraw: () => {
        if (budget <= 0) return false
        budget--
        withdrawn++
        return true
      },
    },
    onDisagreement: (_method, answers) => disagreements.push(answers),
    penalize: (s, e) => penalized.push([s.name, e.kind, e.shortMessage]),
  }
  const request = (over: Partial<FanOutRequest> = {}): FanOutRequest => ({
    method: 'eth_getBalance',
    params: [],
    candidates: [...states.values()],
    need: { sources: 2, domains: 2 },
    degrade: false,
    deadline: time.start + 10_000,
    ...over,
  })
  /** Starts a fan-out; its outcome is recorded when it settles (no unhandled rejection). */
  const run = (over: Partial<FanOutRequest> = {}) => {
    const outcome: { result?: FanOutResult; error?: unknown; at?: number } = {}
    const promise = fanOut(ctx, request(over)).then(
      (result) => {
        outcome.result = result
        outcome.at = time.elapsed()
      },
      (error: unknown) => {
        outcome.error = error
        outcome.at = time.elapsed()
      },
    )
    return { outcome, promise }
  }
  return {
    time,
    ctx,
    state: (name: string) => states.get(name)!,
    run,
    asked,
    /** When each attempt at `name` was sent, in ms since the start. */
    askedAt: (name: string) => asked.filter(([n]) => n === name).map(([, at]) => at),
    aborted,
    penalized,
    disagreements,
    withdrawn: () => withdrawn,
    setBudget: (n: number) => {
      budget = n
    },
  }
}

const answer = (after: number, result: unknown): Reply => ({ after, result })
const failure = (after: number, source: string, why = 'HTTP 503'): Reply => ({
  after,
  error: new SourceError(source, 'http', why),
})

describe('fanOut on a fake clock', () => {
  it('an answer that stands alone settles at once; the others are cancelled, not blamed', async () => {
    const l = lab({
      a: { domain: 'A', replies: [answer(30, 'proven')] },
      b: { domain: 'B', replies: ['silent'] },
    })
    const { outcome } = l.run({ standsAlone: () => true })
    await l.time.to(30)
    assert.equal(outcome.at, 30)
    assert.deepEqual(outcome.result, {
      value: 'proven',
      error: undefined,
      sources: ['a'],
      domains: ['A'],
      degraded: false,
      attempts: 2,
    })
    assert.deepEqual(l.aborted, ['b'])
    assert.deepEqual(l.penalized, [])
    assert.equal(l.time.armed(), 0, 'every timer cleared')
  })

  it('a quorum of two: settles when the second domain agrees, not before', async () => {
    const l = lab({
      a: { domain: 'A', replies: [answer(30, '0x1')] },
      b: { domain: 'B', replies: [answer(50, '0x1')] },
      c: { domain: 'C', replies: [answer(10, '0x1')] },
    })
    const { outcome } = l.run()
    await l.time.to(49)
    assert.equal(outcome.at, undefined)
    await l.time.to(50)
    assert.equal(outcome.at, 50)
    assert.deepEqual(outcome.result?.sources, ['a', 'b'])
    assert.deepEqual(outcome.result?.domains, ['A', 'B'])
    assert.equal(outcome.result?.degraded, false)
    assert.deepEqual(l.askedAt('c'), [], 'the third domain was never needed')
    assert.equal(l.time.armed(), 0)
  })

  it('hedges once the attempt passes its expected latency, not before, paid from the budget', async () => {
    const l = lab({
      a: { domain: 'A', replies: ['silent'], latency: 100 }, // expected: 1.5 × the EWMA = 150 ms
      b: { domain: 'B', replies: [answer(20, '0x1')] },
    })
    const { outcome } = l.run({ need: { sources: 1, domains: 1 } })
    await l.time.to(149)
    assert.deepEqual(l.askedAt('b'), [])
    await l.time.to(150)
    assert.deepEqual(l.askedAt('b'), [150])
    assert.equal(l.withdrawn(), 1, 'a speculative hedge is paid from the retry budget')
    await l.time.to(170)
    assert.deepEqual(outcome.result?.sources, ['b'])
    assert.deepEqual(l.aborted, ['a'])
    assert.deepEqual(l.penalized, [], 'a at 170 ms is not yet twice its 150 ms: not slow')
  })

  it('no hedge without budget; a late attempt is still replaced once it is overdue (a failover)', async () => {
    const l = lab({
      a: { domain: 'A', replies: ['silent'], latency: 100 },
      b: { domain: 'B', replies: [answer(20, '0x1')] },
    })
    l.setBudget(0)
    const { outcome } = l.run({ need: { sources: 1, domains: 1 } })
    await l.time.to(300)
    assert.deepEqual(l.askedAt('b'), [], 'the hedge at 150 ms had no budget')
    await l.time.to(301)
    assert.deepEqual(l.askedAt('b'), [301], 'overdue (past 2 × 150 ms): a failover')
    await l.time.to(321)
    assert.deepEqual(outcome.result?.sources, ['b'])
    assert.deepEqual(l.penalized, [['a', 'timeout', 'a: slow: others answered first']])
  })

  it('an error fails over to the next source at once, without the budget', async () => {
    const l = lab({
      a: { domain: 'A', replies: [failure(20, 'a')] },
      b: { domain: 'B', replies: [answer(5, '0x1')] },
    })
    const { outcome } = l.run({ need: { sources: 1, domains: 1 } })
    await l.time.to(20)
    assert.deepEqual(l.askedAt('b'), [20])
    await l.time.to(25)
    assert.deepEqual(outcome.result?.sources, ['b'])
    assert.equal(l.withdrawn(), 0)
  })

  it('a disagreement asks the next source at once; the dissenter is blamed', async () => {
    const l = lab({
      a: { domain: 'A', replies: [answer(10, '0x1')] },
      b: { domain: 'B', replies: [answer(20, '0x2')] },
      c: { domain: 'C', replies: [answer(15, '0x1')] },
    })
    const { outcome } = l.run()
    await l.time.to(20)
    assert.deepEqual(l.askedAt('c'), [20])
    assert.deepEqual(l.disagreements, [
      [
        { source: 'a', domain: 'A', answer: '0x1' },
        { source: 'b', domain: 'B', answer: '0x2' },
      ],
    ])
    await l.time.to(35)
    assert.equal(outcome.result?.value, '0x1')
    assert.deepEqual(outcome.result?.sources, ['a', 'c'])
    assert.deepEqual(l.penalized, [['b', 'body', 'b: eth_getBalance: disagreed with the quorum']])
  })

  it('a "not yet" beside a real answer is asked again 200 ms, then 800 ms later', async () => {
    const receipt = { status: '0x1' }
    const l = lab({
      a: { domain: 'A', replies: [answer(10, receipt)] },
      b: { domain: 'B', replies: [answer(20, null), answer(10, null), answer(10, receipt)] },
    })
    const { outcome } = l.run({ pending: (r) => r === null })
    await l.time.to(1_100)
    assert.deepEqual(l.askedAt('b'), [0, 220, 1_030])
    assert.equal(outcome.at, 1_040)
    assert.deepEqual(outcome.result?.sources, ['a', 'b'])
    assert.equal(outcome.result?.degraded, false)
    assert.deepEqual(l.penalized, [])
  })

  it('a "not yet" that stays: the real answer stands, degraded, once its inclusion checks', async () => {
    const l = lab({
      a: { domain: 'A', replies: [answer(10, { status: '0x1' })] },
      b: { domain: 'B', replies: [answer(20, null)] },
    })
    const checked: unknown[] = []
    const { outcome } = l.run({
      pending: (r) => r === null,
      beatsNotYet: async (r) => {
        checked.push(r)
        return true
      },
    })
    await l.time.to(5_000)
    assert.deepEqual(l.askedAt('b'), [0, 220, 1_040])
    assert.equal(outcome.at, 1_060)
    assert.deepEqual(checked, [{ status: '0x1' }])
    assert.deepEqual(outcome.result?.sources, ['a'])
    assert.equal(outcome.result?.degraded, true)
    assert.deepEqual(l.penalized, [], '"not found" is not a lie')
  })

  it('a real answer beside a "not yet" proven false: its source lied, the "not yet" stands, degraded', async () => {
    const l = lab({
      a: { domain: 'A', replies: [answer(10, { status: '0x1' })] },
      b: { domain: 'B', replies: [answer(20, null)] },
    })
    const { outcome } = l.run({
      degrade: true,
      pending: (r) => r === null,
      beatsNotYet: async () => ({ refuted: 'its block holds another transaction' }),
    })
    await l.time.to(5_000)
    assert.deepEqual(l.askedAt('b'), [0, 220, 1_040])
    assert.equal(outcome.result?.value, null)
    assert.deepEqual(outcome.result?.sources, ['b'])
    assert.equal(outcome.result?.degraded, true)
    assert.deepEqual(l.penalized, [
      ['a', 'body', 'a: eth_getBalance answer rejected: its block holds another transaction'],
    ])
  })

  it('a slow inclusion check: no timer ends the fan-out before its verdict', async () => {
    const l = lab({
      a: { domain: 'A', replies: [answer(10, { status: '0x1' }), answer(10, { status: '0x1' })] },
      b: { domain: 'B', replies: [answer(20, null)] },
    })
    const { outcome } = l.run({
      degrade: true,
      pending: (r) => r === null,
      beatsNotYet: () =>
        new Promise((resolve) =>
          l.time.clock.setTimeout(() => resolve({ refuted: 'not in its block' }), 3_000),
        ),
    })
    await l.time.to(10_000)
    assert.deepEqual(l.askedAt('a'), [0], 'the liar is not asked again while it is checked')
    assert.equal(outcome.result?.value, null)
    assert.equal(outcome.result?.degraded, true)
  })

  for (const included of [true, false])
    it(`a "not yet" whose re-check goes silent: the real answer ${included ? 'stands, degraded, once its inclusion checks' : 'whose inclusion fails is an error'}`, async () => {
      const l = lab({
        a: { domain: 'A', replies: [answer(10, { status: '0x1' })] },
        b: { domain: 'B', replies: [answer(20, null), 'silent'] },
      })
      const checked: unknown[] = []
      const { outcome } = l.run({
        degrade: true,
        pending: (r) => r === null,
        beatsNotYet: async (r) => {
          checked.push(r)
          return included
        },
      })
      await l.time.to(5_000)
      assert.equal(l.askedAt('b').length, 2, 're-checked once, silent since')
      assert.deepEqual(checked, [{ status: '0x1' }])
      if (included) {
        assert.equal(outcome.result?.degraded, true)
        assert.deepEqual(outcome.result?.sources, ['a'])
      } else
        assert.ok(outcome.error instanceof QuorumError, String(outcome.error ?? outcome.result))
    })

  it('a split with no one left to ask is asked once more, 100 ms later', async () => {
    const l = lab({
      a: { domain: 'A', replies: [answer(10, '0x1'), answer(10, '0x2')] },
      b: { domain: 'B', replies: [answer(20, '0x2')] },
    })
    const { outcome } = l.run()
    await l.time.to(200)
    assert.deepEqual(l.askedAt('a'), [0, 120])
    assert.deepEqual(l.askedAt('b'), [0, 120])
    assert.equal(outcome.at, 140)
    assert.equal(outcome.result?.value, '0x2')
    assert.equal(outcome.result?.attempts, 4)
  })

  it('a split that stands after the re-ask is a quorum error', async () => {
    const l = lab({
      a: { domain: 'A', replies: [answer(10, '0x1')] },
      b: { domain: 'B', replies: [answer(20, '0x2')] },
    })
    const { outcome } = l.run()
    await l.time.to(200)
    assert.equal(outcome.at, 140)
    assert.ok(outcome.error instanceof QuorumError)
    assert.equal(l.askedAt('a').length, 2, 'asked once more, not twice')
  })

  it('a split asked again whose other side falls silent is a quorum error, never one side degraded', async () => {
    const l = lab({
      // a is measured slower than b: its answer outpaces b's silence after 200 ms.
      a: { domain: 'A', latency: 50, replies: [answer(10, '0x1')] },
      b: { domain: 'B', latency: 20, replies: [answer(20, '0x2'), 'silent'] },
    })
    const { outcome } = l.run({ degrade: true })
    await l.time.to(1_000)
    assert.deepEqual(l.askedAt('b'), [0, 120])
    assert.equal(outcome.at, 321, 'b given up as outpaced, as before')
    assert.ok(outcome.error instanceof QuorumError, String(outcome.error ?? outcome.result?.value))
    assert.match(outcome.error.message, /b failed: no answer after 201 ms/)
  })

  it('a domain left out of a reduced quorum that answers after all is no quorum alone', async () => {
    // needFor left L out (on probation or silent: a hostile source out just long enough), so one
    // domain answers; L, asked as a hedge once a is late, answers first (reviewOfFlapping).
    const l = lab({
      a: { domain: 'A', latency: 100, replies: [answer(300, '0x1')] },
      l: { domain: 'L', latency: 5, replies: [answer(5, '0x2')] },
    })
    const need = { sources: 1, domains: 1, uncounted: ['L'], full: 2 }
    const { outcome } = l.run({ degrade: true, need })
    await l.time.to(2_000)
    assert.deepEqual(l.askedAt('l')[0], 150, 'l asked as a hedge')
    assert.ok(outcome.error instanceof QuorumError, String(outcome.error ?? outcome.result?.value))
  })

  it('a domain left out that agrees with the one counted makes the answer', async () => {
    const l = lab({
      a: { domain: 'A', latency: 100, replies: [answer(300, '0x1')] },
      l: { domain: 'L', latency: 5, replies: [answer(5, '0x1')] },
    })
    const need = { sources: 1, domains: 1, uncounted: ['L'], full: 2 }
    const { outcome } = l.run({ degrade: true, need })
    await l.time.to(2_000)
    assert.equal(outcome.result?.value, '0x1', String(outcome.error))
    assert.deepEqual(outcome.result?.sources.sort(), ['a', 'l'])
  })

  it('a "not yet" cleared by the re-ask contradicts nothing: the real answer still degrades', async () => {
    const l = lab({
      a: { domain: 'A', latency: 50, replies: [answer(10, '0x1')] },
      // "not yet" at first and on both re-checks, then silent on the re-ask of the split.
      b: {
        domain: 'B',
        latency: 20,
        replies: [answer(20, null), answer(20, null), answer(20, null), 'silent'],
      },
    })
    const { outcome } = l.run({ degrade: true, pending: (r) => r === null })
    await l.time.to(5_000)
    assert.equal(l.askedAt('b').length, 4)
    assert.equal(outcome.result?.degraded, true, String(outcome.error))
    assert.deepEqual(outcome.result?.sources, ['a'])
  })

  it('one answer and the other domain silent from the start: degraded, as before', async () => {
    const l = lab({
      a: { domain: 'A', latency: 50, replies: [answer(10, '0x1')] },
      b: { domain: 'B', latency: 20, replies: ['silent'] },
    })
    const { outcome } = l.run({ degrade: true })
    await l.time.to(1_000)
    assert.equal(outcome.at, 201)
    assert.equal(outcome.result?.degraded, true)
    assert.deepEqual(outcome.result?.sources, ['a'])
  })

  it('a silent attempt is presumed lost after max(1 s, 4 × expected): degraded, long before the deadline', async () => {
    const l = lab({
      a: { domain: 'A', replies: [answer(10, '0x1')] },
      b: { domain: 'B', replies: ['silent'] }, // expected: the initial 400 ms, lost after 1.6 s
    })
    const { outcome } = l.run({ degrade: true })
    await l.time.to(1_600)
    assert.equal(outcome.at, undefined)
    await l.time.to(1_601)
    assert.equal(outcome.at, 1_601)
    assert.equal(outcome.result?.degraded, true)
    assert.deepEqual(outcome.result?.sources, ['a'])
    assert.deepEqual(l.penalized, [['b', 'timeout', 'b: slow: others answered first']])
  })

  it('the same without degrading: a quorum error naming the silent source', async () => {
    const l = lab({
      a: { domain: 'A', replies: [answer(10, '0x1')] },
      b: { domain: 'B', replies: ['silent'], latency: 100 }, // 150 ms expected: lost after 1 s
    })
    const { outcome } = l.run()
    await l.time.to(1_001)
    assert.equal(outcome.at, 1_001)
    assert.ok(outcome.error instanceof QuorumError)
    assert.match(String((outcome.error as Error).message), /b failed: no answer after 1001 ms/)
  })

  it('a silent source is probed first: one that answers the probe is slow, not lost, and is waited for', async () => {
    const l = lab({
      a: { domain: 'A', replies: [answer(10, '0x1')] },
      b: { domain: 'B', replies: [answer(2_500, '0x1')] },
    })
    const probes: [string, number][] = []
    l.ctx.probe = async (s) => {
      probes.push([s.name, l.time.elapsed()])
      s.lastAnswerAt = l.time.clock.now() // it answers something cheap at once
    }
    const { outcome } = l.run({ degrade: true })
    await l.time.to(3_000)
    assert.deepEqual(probes, [['b', 801]], 'probed once, when overdue (2 × 400 ms)')
    assert.equal(outcome.at, 2_500)
    assert.equal(outcome.result?.degraded, false)
  })

  it('a probe that gets no answer either: given up when presumed lost', async () => {
    const l = lab({
      a: { domain: 'A', replies: [answer(10, '0x1')] },
      b: { domain: 'B', replies: ['silent'] },
    })
    l.ctx.probe = () => new Promise((resolve) => l.time.clock.setTimeout(resolve, 300))
    const { outcome } = l.run({ degrade: true })
    await l.time.to(2_000)
    assert.equal(outcome.at, 1_601)
    assert.equal(outcome.result?.degraded, true)
  })

  it('the deadline: a DeadlineError listing who said what; a source silent that long is blamed', async () => {
    const l = lab(
      {
        a: { domain: 'A', replies: [answer(10, '0x1')] },
        b: { domain: 'B', replies: ['silent'] },
      },
      { min: 10, max: 2_000, initial: 100 },
    )
    const { outcome } = l.run({ deadline: l.time.start + 500 })
    await l.time.to(499)
    assert.equal(outcome.at, undefined)
    await l.time.to(500)
    assert.equal(outcome.at, 500)
    const error = outcome.error as DeadlineError
    assert.ok(error instanceof DeadlineError)
    assert.equal(error.silent, false, 'a answered')
    assert.match(error.message, /a \(A\) answered 0x1/)
    assert.match(error.message, /b: no answer after 500 ms/)
    assert.deepEqual(l.penalized, [['b', 'timeout', 'b: silent until the deadline']])
    assert.equal(l.time.armed(), 0)
  })

  it('the deadline also while nothing is in flight (a re-check pending, an inclusion check), and before the first hedge', async () => {
    const receipt = { status: '0x1' }
    const recheck = lab({
      a: { domain: 'A', replies: [answer(10, receipt)] },
      b: { domain: 'B', replies: [answer(20, null)] },
    })
    const waiting = recheck.run({ pending: (r) => r === null, deadline: recheck.time.start + 100 })
    await recheck.time.to(1_000)
    assert.equal(waiting.outcome.at, 100)
    assert.ok(waiting.outcome.error instanceof DeadlineError)
    assert.deepEqual(recheck.askedAt('b'), [0], 'its re-check was not due yet')
    assert.equal(recheck.time.armed(), 0)

    const inclusion = lab({
      a: { domain: 'A', replies: [answer(10, receipt)] },
      b: { domain: 'B', replies: [answer(20, null)] },
    })
    const hanging = inclusion.run({
      pending: (r) => r === null,
      beatsNotYet: () => new Promise<boolean>(() => {}),
      deadline: inclusion.time.start + 1_200,
    })
    await inclusion.time.to(3_000)
    assert.deepEqual(inclusion.askedAt('b'), [0, 220, 1_040])
    assert.equal(hanging.outcome.at, 1_200)
    assert.ok(hanging.outcome.error instanceof DeadlineError)
    assert.equal(inclusion.time.armed(), 0)

    const short = lab(
      { a: { domain: 'A', replies: ['silent'] } },
      { min: 50, max: 2_000, initial: 400 },
    )
    const early = short.run({ need: { sources: 1, domains: 1 }, deadline: short.time.start + 5 })
    await short.time.to(100)
    assert.equal(early.outcome.at, 5)
    assert.ok(early.outcome.error instanceof DeadlineError)
    assert.equal(short.time.armed(), 0)
  })

  it('the reserve is asked, breaker or not, when every candidate failed', async () => {
    const l = lab({
      a: { domain: 'A', replies: [failure(10, 'a')] },
      r: { domain: 'R', replies: [answer(10, '0x1')] },
    })
    const r = l.state('r')
    r.breaker.trip(60_000)
    const { outcome } = l.run({
      candidates: [l.state('a')],
      reserve: [r],
      need: { sources: 1, domains: 1 },
    })
    await l.time.to(10)
    assert.deepEqual(l.askedAt('r'), [10])
    await l.time.to(20)
    assert.deepEqual(outcome.result?.sources, ['r'])
  })

  it('every source fails: AllSourcesFailedError naming each, no reserve left', async () => {
    const l = lab({
      a: { domain: 'A', replies: [failure(10, 'a', 'HTTP 502')] },
      b: { domain: 'B', replies: [failure(20, 'b', 'refused')] },
    })
    const { outcome } = l.run()
    await l.time.to(20)
    const error = outcome.error as Error & { failures: unknown }
    assert.equal(error.name, 'AllSourcesFailedError')
    assert.deepEqual(error.failures, [
      { source: 'a', reason: 'HTTP 502' },
      { source: 'b', reason: 'refused' },
    ])
  })

  it("every source refuses the request itself: the caller's error, with the node's code", async () => {
    const unknown = (source: string) =>
      new RpcResponseError(source, { code: -32601, message: 'the method does not exist' })
    const l = lab({
      a: { domain: 'A', replies: [{ after: 10, error: unknown('a') }] },
      b: { domain: 'B', replies: [{ after: 20, error: unknown('b') }] },
    })
    const { outcome } = l.run({ callersError: (e) => (e as RpcResponseError).code === -32601 })
    await l.time.to(20)
    const error = outcome.error as ProviderRpcError
    assert.ok(error instanceof ProviderRpcError)
    assert.equal(error.code, -32601)
    assert.equal(error.shortMessage, 'JSON-RPC error -32601: the method does not exist')
    assert.deepEqual(l.penalized, [])
  })

  it('a revert every node gives is agreed on like an answer', async () => {
    const revert = (source: string) =>
      new RpcResponseError(source, { code: 3, message: 'execution reverted', data: '0x08c379a0' })
    const l = lab({
      a: { domain: 'A', replies: [{ after: 10, error: revert('a') }] },
      b: { domain: 'B', replies: [{ after: 20, error: revert('b') }] },
    })
    const { outcome } = l.run()
    await l.time.to(20)
    assert.ok(outcome.result?.error instanceof RpcResponseError)
    assert.deepEqual(outcome.result?.sources, ['a', 'b'])
  })

  it("an answer that fails the local check is that source's lie: blamed, and the next one asked", async () => {
    const l = lab({
      a: { domain: 'A', replies: [answer(10, 'garbage')] },
      b: { domain: 'B', replies: [answer(10, '0x1')] },
      c: { domain: 'C', replies: [answer(10, '0x1')] },
    })
    const { outcome } = l.run({ check: (r) => (r === 'garbage' ? 'not a quantity' : undefined) })
    await l.time.to(20)
    assert.deepEqual(l.askedAt('c'), [10])
    assert.deepEqual(outcome.result?.sources, ['b', 'c'])
    assert.deepEqual(l.penalized, [
      ['a', 'body', 'a: eth_getBalance answer rejected: not a quantity'],
    ])
  })

  it('losers are cancelled when it settles; only the overdue ones are blamed', async () => {
    const l = lab({
      a: { domain: 'A', replies: ['silent'], latency: 100 }, // 150 ms expected, overdue at 300
      b: { domain: 'B', replies: [answer(200, '0x1')] }, // asked at 150 (a hedge)
      c: { domain: 'C', replies: ['silent'] }, // asked at 301 (a's failover)
    })
    const { outcome } = l.run({ need: { sources: 1, domains: 1 } })
    await l.time.to(400)
    assert.deepEqual(l.asked, [
      ['a', 0],
      ['b', 150],
      ['c', 301],
    ])
    assert.equal(outcome.at, 350)
    assert.deepEqual(l.aborted.sort(), ['a', 'c'])
    assert.deepEqual(l.penalized, [['a', 'timeout', 'a: slow: others answered first']])
    assert.equal(l.time.armed(), 0)
  })
})
