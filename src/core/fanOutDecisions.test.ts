/** The fan-out's pure decisions (fanOutDecisions.ts) and its answer tally (tally.ts). */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { RpcResponseError, SourceError } from '../shared/errors.ts'
import {
  allLost,
  type Exhaustion,
  expectationFor,
  hedgeDelay,
  type InFlight,
  lateAttempts,
  pickNext,
  toProbe,
  whenExhausted,
} from './fanOutDecisions.ts'
import { createSourceState, type SourceState } from './sourceState.ts'
import { judge, Tally } from './tally.ts'

const state = (name: string, domain: string): SourceState =>
  createSourceState({
    config: { name, kind: 'cloud', domain, weight: 1, label: name },
    request: () => Promise.reject(new Error('not used')),
  })
const a = state('a', 'A')
const b = state('b', 'B')
const c = state('c', 'C')
const a2 = state('a2', 'A')
const hedge = { min: 10, max: 2_000, initial: 400 }
/** Expected latencies by source, in ms. */
const expect = (ms: Record<string, number>) => (s: SourceState) => ms[s.name] ?? 400
const flight = (s: SourceState, started: number, hedged = false): InFlight => ({
  s,
  started,
  hedged,
})

describe('hedgeDelay', () => {
  it('fires when the first attempt not yet hedged is late', () => {
    const e = expect({ a: 150, b: 300 })
    assert.equal(hedgeDelay([flight(a, 0), flight(b, 0)], e, 0, hedge, 1, 0), 150)
    assert.equal(hedgeDelay([flight(a, 0, true), flight(b, 0)], e, 100, hedge, 1, 100), 200)
  })

  it('once all are hedged: the slowest, backing off, never past hedge.max', () => {
    const e = expect({ a: 150 })
    // Hedged and late: the floor (hedge.min) times the backoff, until a is overdue (300 ms).
    assert.equal(hedgeDelay([flight(a, 0, true)], e, 160, hedge, 4, 160), 40)
    assert.equal(
      hedgeDelay([flight(a, 0, true)], e, 160, hedge, 16, 160),
      141,
      'overdue at 300: 301',
    )
    // Past overdue, the next wake is when it would be presumed lost (1 s floor).
    assert.equal(hedgeDelay([flight(a, 0, true)], e, 400, hedge, 1_024, 400), 601)
    assert.equal(hedgeDelay([flight(a, 0, true)], expect({ a: 1_900 }), 0, hedge, 8, 0), 2_000)
  })

  it('an attempt exactly at a bound (not yet past it) brings the timer back 1 ms later', () => {
    // Two attempts 1 ms apart (two fastest domains gone): woken for the first one's 200 ms
    // (outpaced), the second is at its 200 ms exactly. The next wake is 1 ms on, not the
    // backed-off hedge (160 ms here): a lost second domain cost 364 ms instead of 202.
    const e = expect({ a: 40, b: 70 })
    assert.equal(hedgeDelay([flight(a, 0, true), flight(b, 1, true)], e, 201, hedge, 16, 201), 1)
    // Exactly overdue, exactly presumed lost: the same.
    assert.equal(hedgeDelay([flight(a, 0, true)], e, 80, hedge, 64, 80), 1)
    assert.equal(hedgeDelay([flight(a, 0, true)], e, 1_000, hedge, 1_024, 1_000), 1)
  })

  it('a bound passed after the last decision is acted on at once, one acted on is not again', () => {
    // The timer decided at 201: a (started 0) outpaced at 200, lost; b (started 1) exactly at its
    // 200 ms, not yet. Marking a lost took a millisecond: the schedule is made at 202, past b's
    // bound. It comes back at once, not after the backed-off hedge (the p99 of two fastest
    // domains lost was 366 ms, not 202, in about one run in four).
    const e = expect({ a: 40, b: 70 })
    const both = [flight(a, 0, true), flight(b, 1, true)]
    assert.equal(hedgeDelay(both, e, 202, hedge, 16, 201), 1)
    // Once the timer acted past every bound (at 203): the backed-off hedge again.
    assert.equal(hedgeDelay(both, e, 203, hedge, 16, 203), 160)
    // An answer at 350 reschedules: a's overdue bound (80) was acted on at 201, not again.
    assert.equal(hedgeDelay([flight(a, 0, true)], e, 350, hedge, 1_024, 201), 651)
  })

  it('never below 1 ms or hedge.min', () => {
    assert.equal(hedgeDelay([flight(a, 0)], expect({ a: 0 }), 0, { ...hedge, min: 0 }, 1, 0), 1)
    assert.equal(hedgeDelay([flight(a, 0)], expect({ a: 5 }), 0, { ...hedge, min: 50 }, 1, 0), 11)
  })
})

describe('late, overdue, lost', () => {
  it('a late attempt is a hedge; an overdue one a failover', () => {
    const e = expect({ a: 100, b: 300 })
    const early = lateAttempts([flight(a, 0), flight(b, 0)], e, 99)
    assert.deepEqual(early, { late: [], failover: false })
    const late = lateAttempts([flight(a, 0), flight(b, 0)], e, 150)
    assert.deepEqual(
      late.late.map((x) => x.s.name),
      ['a'],
    )
    assert.equal(late.failover, false)
    assert.equal(lateAttempts([flight(a, 0), flight(b, 0)], e, 201).failover, true)
  })

  it('probes overdue sources silent since their attempt, once each', () => {
    const s = state('s', 'S')
    const e = expect({ s: 100 })
    assert.deepEqual(toProbe([flight(s, 0)], e, 200, new Map()), [], 'not yet overdue')
    assert.deepEqual(toProbe([flight(s, 0), flight(s, 10)], e, 250, new Map()), [s])
    assert.deepEqual(toProbe([flight(s, 0)], e, 250, new Map([[s, false]])), [], 'probed')
    s.lastAnswerAt = 5
    assert.deepEqual(toProbe([flight(s, 0)], e, 250, new Map()), [], 'it answered something')
  })

  it('presumed lost after max(1 s, 4 × expected), once probes came back, with nothing coming', () => {
    const e = expect({ a: 100, b: 400 })
    const inflight = [flight(a, 0), flight(b, 0)]
    assert.equal(allLost(inflight, e, 1_600, undefined, false), false, 'b: 4 × 400 ms')
    assert.equal(allLost(inflight, e, 1_601, undefined, false), true)
    assert.equal(allLost(inflight, e, 1_601, undefined, true), false, 'a re-check is coming')
    const probing = new Map([
      [a, true],
      [b, false],
    ])
    assert.equal(allLost(inflight, e, 1_601, probing, false), false, "b's probe is out")
    probing.set(b, true)
    assert.equal(allLost(inflight, e, 1_601, probing, false), true)
    assert.equal(allLost([flight(a, 0)], e, 1_000, undefined, false), false, 'a: the 1 s floor')
  })
})

describe('pickNext', () => {
  const asked = (over: Partial<Parameters<typeof pickNext>[1]> = {}) => ({
    launched: new Set<SourceState>(),
    force: false,
    inflight: [] as InFlight[],
    tally: new Tally({ sources: 2, domains: 2 }),
    ...over,
  })

  it('the best source of a domain no one covers', () => {
    assert.equal(pickNext([a, a2, b], asked()), a)
    assert.equal(
      pickNext([a, a2, b], asked({ launched: new Set([a]), inflight: [flight(a, 0)] })),
      b,
    )
  })

  it("a second source of a covered domain while the domain's answer is missing or short", () => {
    const launched = new Set([a, b])
    assert.equal(
      pickNext([a, a2, b], asked({ launched, inflight: [flight(a, 0), flight(b, 0)] })),
      a2,
    )
    const tally = new Tally({ sources: 1, domains: 1 })
    tally.add(a, '0x1', '0x1')
    assert.equal(pickNext([a, a2], asked({ launched: new Set([a]), tally })), undefined)
  })

  it('skips open breakers unless forced', () => {
    const down = state('down', 'D')
    down.breaker.trip(60_000)
    assert.equal(pickNext([down], asked()), undefined)
    assert.equal(pickNext([down], asked({ force: true })), down)
  })
})

describe('whenExhausted', () => {
  const group = (value: unknown, error?: RpcResponseError) => ({
    value,
    ...(error ? { error } : {}),
    sources: [a],
    domains: new Set(['A']),
  })
  const base: Exhaustion = {
    groups: [],
    reserve: 0,
    degrade: false,
    pending: (v) => v === null,
    inclusion: false,
    callersErrors: [],
    needDomains: 2,
    failures: 0,
    reasked: false,
    contested: false,
    doubted: false,
    inflight: 0,
    now: 0,
    deadline: 10_000,
  }
  const unknown = new RpcResponseError('a', { code: -32601, message: 'no such method' })

  it('in order: reserve, degrade, inclusion, caller, all failed, re-ask, quorum error', () => {
    const real = group('0x1')
    const notYet = group(null)
    assert.deepEqual(whenExhausted({ ...base, reserve: 1 }), { do: 'askReserve' })
    assert.deepEqual(whenExhausted({ ...base, groups: [real], degrade: true }), {
      do: 'degrade',
      group: real,
    })
    const contested = { ...base, groups: [real], degrade: true, contested: true, reasked: true }
    assert.deepEqual(whenExhausted(contested), { do: 'quorumError' })
    const doubted = { ...base, groups: [real], degrade: true, doubted: true }
    assert.deepEqual(whenExhausted({ ...doubted, inclusion: true }), {
      do: 'checkInclusion',
      group: real,
    })
    assert.deepEqual(whenExhausted({ ...doubted, reasked: true }), { do: 'quorumError' })
    assert.deepEqual(whenExhausted({ ...base, groups: [real, notYet], inclusion: true }), {
      do: 'checkInclusion',
      group: real,
    })
    const fromA = { error: unknown, domain: 'a' }
    assert.deepEqual(whenExhausted({ ...base, callersErrors: [fromA], failures: 1 }), {
      do: 'callersError',
      error: unknown,
    })
    assert.deepEqual(whenExhausted({ ...base, callersErrors: [fromA], failures: 2 }), {
      do: 'allFailed',
    })
    assert.deepEqual(whenExhausted({ ...base, groups: [real, notYet] }), { do: 'reask' })
    assert.deepEqual(whenExhausted({ ...base, groups: [real, notYet], reasked: true }), {
      do: 'quorumError',
    })
  })

  it("a lone real receipt beside node errors is checked (a liar's made-up error split every read); any other answer beside one is a split", () => {
    const receipt = group({ blockHash: '0xb' })
    const made = group(undefined, new RpcResponseError('liar', { code: -32000, message: 'x' }))
    const split = { ...base, groups: [receipt, made], inclusion: true }
    assert.deepEqual(whenExhausted({ ...split, includes: true }), {
      do: 'checkInclusion',
      group: receipt,
    })
    assert.deepEqual(whenExhausted(split), { do: 'reask' })
  })

  it('a lone real answer with an inclusion check (a receipt) beside failures is checked before it stands', () => {
    const receipt = group({ blockHash: '0xb' })
    const lone = { ...base, groups: [receipt], degrade: true, failures: 1, includes: true }
    assert.deepEqual(whenExhausted({ ...lone, inclusion: true }), {
      do: 'checkInclusion',
      group: receipt,
    })
    // Checked and not placed: no answer (a re-ask, then a quorum error), never degraded.
    assert.deepEqual(whenExhausted(lone), { do: 'reask' })
    assert.deepEqual(whenExhausted({ ...lone, reasked: true }), { do: 'quorumError' })
    // "Not found" and a node error are no inclusion matter: they degrade as before.
    for (const g of [group(null), group(undefined, unknown)])
      assert.deepEqual(whenExhausted({ ...lone, groups: [g], inclusion: true }), {
        do: 'degrade',
        group: g,
      })
  })

  it('"no such method" from as many domains as an answer needs outvotes one answer or failure', () => {
    const twoDomains = [
      { error: unknown, domain: 'a' },
      { error: unknown, domain: 'b' },
    ]
    const lone = { ...base, groups: [group('0x1337')], degrade: true, failures: 2 }
    assert.deepEqual(whenExhausted({ ...lone, callersErrors: twoDomains }), {
      do: 'callersError',
      error: unknown,
    })
    assert.deepEqual(whenExhausted({ ...base, callersErrors: twoDomains, failures: 3 }), {
      do: 'callersError',
      error: unknown,
    })
    // One domain twice, or untrusted sources (no domain), are not two domains.
    const oneDomain = [twoDomains[0]!, { error: unknown, domain: 'a' }]
    assert.equal(whenExhausted({ ...lone, callersErrors: oneDomain }).do, 'degrade')
    const untrusted = [twoDomains[0]!, { error: unknown, domain: undefined }]
    assert.equal(whenExhausted({ ...lone, callersErrors: untrusted }).do, 'degrade')
    // Two domains alike outvote a third's other words and data; a lone one's come back
    // without its words or data.
    const evil = new RpcResponseError('liar', { code: -32600, message: 'visit evil', data: '0xd' })
    const mixed = [{ error: evil, domain: 'liar' }, ...twoDomains]
    assert.deepEqual(whenExhausted({ ...base, callersErrors: mixed, failures: 3 }), {
      do: 'callersError',
      error: unknown,
    })
    const tie = [{ error: evil, domain: 'liar' }, twoDomains[0]!]
    const alone = whenExhausted({ ...base, callersErrors: tie, failures: 2 })
    assert.equal(alone.do, 'callersError')
    const e = (alone as { error: RpcResponseError }).error
    assert.equal(e.code, -32600)
    assert.doesNotMatch(e.message, /evil/)
    assert.equal(e.data, undefined)
    // With a quorum of three domains, two say too little.
    assert.equal(
      whenExhausted({ ...lone, callersErrors: twoDomains, needDomains: 3 }).do,
      'degrade',
    )
  })

  it('no re-ask with attempts in flight or the deadline near; a node error is not a lone answer', () => {
    const split = [group('0x1'), group('0x2')]
    assert.equal(whenExhausted({ ...base, groups: split, inflight: 1 }).do, 'quorumError')
    assert.equal(whenExhausted({ ...base, groups: split, now: 9_900 }).do, 'quorumError')
    const revert = new RpcResponseError('a', { code: 3, message: 'execution reverted' })
    const errorBesideNotYet = [group(undefined, revert), group(null)]
    assert.equal(whenExhausted({ ...base, groups: errorBesideNotYet, inclusion: true }).do, 'reask')
  })
})

describe('Tally', () => {
  it('remembers who answered what before a clear: one side of a split is contested', () => {
    const t = new Tally({ sources: 2, domains: 2 })
    t.add(a, 'x', '0x1')
    t.add(b, 'y', '0x2')
    assert.deepEqual(t.clear(), [a, b])
    const x = t.add(a, 'x', '0x1')
    assert.equal(t.contested(x), true, 'B said otherwise and has not answered again')
    t.add(b, 'x', '0x1')
    assert.equal(t.contested(x), false, 'B came round')
    const fresh = new Tally({ sources: 2, domains: 2 })
    assert.equal(fresh.contested(fresh.add(a, 'x', '0x1')), false)
    const notYet = new Tally({ sources: 2, domains: 2 })
    notYet.add(a, 'x', '0x1')
    notYet.add(b, 'null', null)
    notYet.clear()
    const real = notYet.add(a, 'x', '0x1')
    assert.equal(
      notYet.contested(real, (v) => v === null),
      false,
      '"not yet" contradicts nothing',
    )
    assert.equal(notYet.contested(real), true)
  })

  it('agreement needs the sources and the domains', () => {
    const t = new Tally({ sources: 2, domains: 2 })
    assert.equal(t.agreed(t.add(a, 'k', 1)), false)
    assert.equal(t.agreed(t.add(a2, 'k', 1)), false, 'two sources, one domain')
    assert.equal(t.agreed(t.add(b, 'k', 1)), true)
  })

  it('a node error is not a real answer beside "not yet"; a "not yet" can be withdrawn', () => {
    const t = new Tally({ sources: 2, domains: 2 })
    const isNull = (v: unknown) => v === null
    t.add(a, 'error:3', undefined, new RpcResponseError('a', { code: 3, message: 'reverted' }))
    t.add(b, 'null', null)
    assert.equal(t.hasReal(isNull), false)
    t.add(c, '0x1', '0x1')
    assert.equal(t.hasReal(isNull), true)
    assert.deepEqual(t.notYet(isNull), [b])
    t.withdraw(b)
    assert.equal(t.size, 2)
    assert.equal(t.answered('B'), false)
  })

  it('the contradicting sources, "not found" left out, the winner in the tally or not', () => {
    const t = new Tally({ sources: 2, domains: 2 })
    const winner = t.add(a, '0x1', '0x1')
    t.add(b, '0x2', '0x2')
    t.add(c, 'null', null)
    assert.deepEqual(t.contradicting(winner, new Set()), [b])
    const alone = { value: '0x3', sources: [a2], domains: new Set(['A']) }
    assert.deepEqual(t.contradicting(alone, new Set()), [a, b])
    // A node behind whose "unknown block" is "not yet" contradicts no one.
    assert.deepEqual(t.contradicting(alone, new Set([b])), [a])
  })
})

describe('judge', () => {
  const rules = { method: 'eth_call' }

  it('answers by their key, node errors agreed on, failures with their reason', () => {
    assert.deepEqual(judge(rules, a, '0xAB', undefined), { kind: 'answer', key: '"0xab"' })
    assert.deepEqual(judge({ ...rules, standsAlone: () => true }, a, 1, undefined), {
      kind: 'alone',
    })
    const revert = new RpcResponseError('a', {
      code: 3,
      message: 'execution reverted',
      data: '0x1',
    })
    assert.deepEqual(judge(rules, a, undefined, revert), {
      kind: 'nodeError',
      key: 'error:revert:"0x1"',
      error: revert,
    })
    assert.deepEqual(judge(rules, a, undefined, new SourceError('a', 'http', 'HTTP 503')), {
      kind: 'failed',
      reason: 'HTTP 503',
      callers: false,
    })
  })

  it('a live node that does not know the block dissents, in one voice whatever its words', () => {
    for (const message of [
      'unknown block',
      'header for hash not found',
      'block not found',
      'Block 0xab12 could not be found',
    ]) {
      const error = new RpcResponseError('a', { code: -32000, message })
      assert.deepEqual(judge(rules, a, undefined, error), {
        kind: 'nodeError',
        key: 'error:unknown-block',
        error,
        notYet: false,
      })
    }
    // About the block a read is pinned to it is no dissent (a node behind, or one that failed).
    const pinned = { ...rules, pinnedAt: 7 }
    const unknown = new RpcResponseError('a', { code: -32000, message: 'unknown block' })
    assert.equal(judge(pinned, a, undefined, unknown).kind, 'failed')
    // Another node error is no "unknown block": its own answer, keyed by its own words (a
    // node's error to a read is its answer since reviewOfSession38c: nodeErrors.ts).
    const other = new RpcResponseError('a', { code: -32000, message: 'nonce too low' })
    assert.deepEqual(judge(rules, a, undefined, other), {
      kind: 'nodeError',
      key: 'error:nonce-low',
      error: other,
    })
  })

  it("a node's error to a read is its answer, agreed on by code and data (else words); 'not now' is a failure", () => {
    const poor = (source: string, message: string) =>
      new RpcResponseError(source, { code: -32003, message })
    const anvil = judge(
      rules,
      a,
      undefined,
      poor('a', 'Insufficient funds for gas * price + value'),
    )
    const other = judge(
      rules,
      b,
      undefined,
      poor('b', 'insufficient  funds for gas * price + value'),
    )
    assert.equal(anvil.kind, 'nodeError')
    // Case and spacing aside, the same words: one group.
    assert.equal(anvil.kind === 'nodeError' && anvil.key, other.kind === 'nodeError' && other.key)
    const limited = new RpcResponseError('a', { code: -32005, message: 'rate limit exceeded' })
    assert.deepEqual(judge(rules, a, undefined, limited), {
      kind: 'failed',
      reason: limited.reason,
      callers: false,
    })
    // A log query's errors beyond reverts and invalid params stay failures (range limits).
    const logs = judge({ method: 'eth_getLogs' }, a, undefined, poor('a', 'query returned more'))
    assert.equal(logs.kind, 'failed')
    // An untrusted source's node error counts for nothing.
    const stranger = { ...state('u', 'U'), untrusted: true }
    assert.equal(judge(rules, stranger, undefined, poor('u', 'insufficient funds')).kind, 'failed')
  })

  it("agreed node errors win; a lone liar's revert beside them is a split, never degraded", () => {
    const t = new Tally({ sources: 2, domains: 2 })
    const refusal = (s: SourceState) =>
      judge(rules, s, undefined, new RpcResponseError(s.name, { code: -32003, message: 'no' }))
    const liar = judge(rules, c, undefined, new RpcResponseError('c', { code: 3, message: 'x' }))
    for (const [s, v] of [
      [c, liar],
      [a, refusal(a)],
    ] as const)
      if (v.kind === 'nodeError') t.add(s, v.key, undefined, v.error)
    const exhausted = {
      groups: t.all(),
      reserve: 0,
      degrade: true,
      contested: false,
      doubted: false,
      inclusion: false,
      callersErrors: [],
      needDomains: 2,
      failures: 0,
      reasked: true,
      inflight: 0,
      now: 0,
      deadline: 10_000,
    }
    assert.deepEqual(whenExhausted(exhausted), { do: 'quorumError' })
    const b1 = refusal(b)
    const g = b1.kind === 'nodeError' ? t.add(b, b1.key, undefined, b1.error) : undefined
    assert.ok(g && t.agreed(g) && g.error?.code === -32003)
  })

  it('an answer that fails the check, or breaks the rules reading it, is rejected', () => {
    const check = judge({ ...rules, check: () => 'too deep' }, a, {}, undefined)
    assert.equal(
      check.kind === 'rejected' && check.lie.shortMessage,
      'a: eth_call answer rejected: too deep',
    )
    const key = () => {
      throw new Error('no hash')
    }
    const broken = judge({ ...rules, key }, a, {}, undefined)
    assert.equal(
      broken.kind === 'rejected' && broken.lie.shortMessage,
      'a: eth_call answer rejected: malformed (no hash)',
    )
  })
})

describe('outpaced: a slower source answered, a faster one is silent', () => {
  const measured = (name: string, domain: string, ms: number) => {
    const s = state(name, domain)
    s.latency.add(ms)
    return s
  }
  const fast = measured('fast', 'F', 20)
  const slow = measured('slow', 'S', 60)
  const e = (s: SourceState) => (s === fast ? 30 : s === slow ? 90 : 400)
  const inflight = [flight(fast, 0)]

  it('is lost once overdue and past the floor, with no probe waited for', () => {
    const answered = [{ s: slow, at: 80 }]
    const probing = new Map([[fast, false]])
    assert.equal(allLost(inflight, e, 200, probing, false, answered), false, 'the 200 ms floor')
    assert.equal(allLost(inflight, e, 201, probing, false, answered), true, 'its probe unanswered')
    assert.equal(allLost(inflight, e, 201, new Map(), false, answered), false, 'not probed yet')
  })

  it('not when the one that answered is faster, unmeasured, or answered before it began', () => {
    const guess = state('guess', 'G')
    assert.equal(allLost(inflight, e, 251, undefined, false, [{ s: guess, at: 80 }]), false)
    assert.equal(allLost([flight(slow, 0)], e, 251, undefined, false, [{ s: fast, at: 80 }]), false)
    assert.equal(
      allLost([flight(fast, 50)], e, 301, undefined, false, [{ s: slow, at: 40 }]),
      false,
    )
  })

  it('not when its source answered anything since the attempt began', () => {
    const alive = measured('alive', 'A', 20)
    alive.lastAnswerAt = 60
    const answered = [{ s: slow, at: 80 }]
    assert.equal(allLost([flight(alive, 0)], e, 251, undefined, false, answered), false)
  })
})

describe('expectationFor', () => {
  it('one function per hedge settings and round trips, not one per request (see its comment)', () => {
    const settings = { min: 10, max: 2_000, initial: 400 }
    assert.equal(expectationFor(settings, 1), expectationFor(settings, 1))
    assert.notEqual(expectationFor(settings, 1), expectationFor(settings, 3))
    assert.equal(expectationFor(settings, 3)(state('fresh', 'F')), 1_200, '3 × the initial guess')
  })
})
