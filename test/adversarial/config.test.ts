/**
 * A caller's configuration is checked as closely as a source's answers: every numeric option of
 * `createOutlast()`, `proofs()` and `execute()` rejects every value outside its range (NaN,
 * ±Infinity, negatives, fractions where a whole number is needed, values past the timer limit,
 * strings, bigints, null...) with a `ConfigError` naming the factory and the option's full path,
 * and accepts every value inside it, boundaries included. Construction connects to nothing, so
 * no node is needed.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { describe, it } from 'vitest'
import { createBreaker } from '../../src/core/breaker.ts'
import { execute } from '../../src/execute/index.ts'
import { ConfigError, createOutlast, http } from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'

const MAX_TIMER = 2 ** 31 - 1
const SAFE = Number.MAX_SAFE_INTEGER

const sources = ['a', 'b', 'c'].map((d) => http('http://127.0.0.1:1', { name: d, domain: d }))
const base = { chainId: 1, sources }
const client = (extra: object) => createOutlast({ ...base, ...extra } as never)

type Rule = { min: number; max: number; integer: boolean }
type Case = { where: string; path: string; rule: Rule; make: (value: unknown) => unknown }

const ms = (min: number): Rule => ({ min, max: MAX_TIMER, integer: true })
const whole = (min: number, max = SAFE): Rule => ({ min, max, integer: true })
const real = (min: number, max: number): Rule => ({ min, max, integer: false })

/** Every numeric option, its range, and how to build with it (siblings set so that any good value fits). */
const rows: [path: string, rule: Rule, make: Case['make']][] = [
  ['chainId', whole(1), (v) => client({ chainId: v })],
  ['quorum.domains', whole(1, 3), (v) => client({ quorum: { domains: v, sources: 3 } })],
  ['quorum.sources', whole(1, 3), (v) => client({ quorum: { domains: 1, sources: v } })],
  ['timeout', ms(1), (v) => client({ timeout: v })],
  ['pollingInterval', ms(0), (v) => client({ pollingInterval: v })],
  ['maxLag', whole(0), (v) => client({ maxLag: v })],
  ['maxHeadAge', ms(1), (v) => client({ maxHeadAge: v })],
  ['maxClockSkew', ms(0), (v) => client({ maxClockSkew: v })],
  ['hedge.min', ms(0), (v) => client({ hedge: { min: v, max: MAX_TIMER } })],
  ['hedge.max', ms(1), (v) => client({ hedge: { min: 0, max: v } })],
  ['hedge.initial', ms(1), (v) => client({ hedge: { initial: v } })],
  ['breaker.threshold', whole(1), (v) => client({ breaker: { threshold: v } })],
  ['breaker.cooldown', ms(1), (v) => client({ breaker: { cooldown: v } })],
  ['breaker.maxCooldown', ms(1), (v) => client({ breaker: { maxCooldown: v } })],
  ['retryBudget.ratio', real(0, 1_000), (v) => client({ retryBudget: { ratio: v } })],
  ['retryBudget.minPerSecond', whole(0), (v) => client({ retryBudget: { minPerSecond: v } })],
  ['chainCheckInterval', ms(1), (v) => client({ chainCheckInterval: v })],
  ['cacheSize', whole(0, 2 ** 24), (v) => client({ cacheSize: v })],
  ['lieCooloff', ms(0), (v) => client({ lieCooloff: v })],
  [
    'policies.my_read.blockParam',
    whole(0, 255),
    (v) => client({ policies: { my_read: { class: 'quorum', blockParam: v } } }),
  ],
]
const table: Case[] = rows.map(([path, rule, make]) => ({
  where: 'createOutlast()',
  path,
  rule,
  make,
}))
table.push(
  {
    where: 'proofs()',
    path: 'maxLogRange',
    rule: whole(0, 100_000),
    make: (v) => proofs({ maxLogRange: v } as never),
  },
  {
    where: 'proofs()',
    path: 'concurrency',
    rule: whole(1, 1_024),
    make: (v) => proofs({ concurrency: v } as never),
  },
  {
    where: 'execute()',
    path: 'chainId',
    rule: whole(1),
    make: (v) => execute({ chainId: v } as never),
  },
  {
    where: 'execute()',
    path: 'maxExecutionMs',
    rule: ms(1),
    make: (v) => execute({ maxExecutionMs: v } as never),
  },
  {
    where: 'execute()',
    path: 'concurrency',
    rule: whole(1, 1_024),
    make: (v) => execute({ concurrency: v } as never),
  },
  {
    where: 'execute()',
    path: 'estimateErrorRatio',
    rule: real(0, 1),
    make: (v) => execute({ estimateErrorRatio: v } as never),
  },
)

const inRange = ({ min, max, integer }: Rule, v: unknown) =>
  typeof v === 'number' && v >= min && v <= max && (!integer || Number.isInteger(v))

/** Values outside `rule`: named edge cases, then whatever fast-check finds. */
const bad = (rule: Rule): fc.Arbitrary<unknown> =>
  fc
    .oneof(
      fc.constantFrom<unknown>(
        Number.NaN,
        Infinity,
        -Infinity,
        rule.min - 1,
        -1,
        rule.max + 1,
        rule.max * 2,
        MAX_TIMER + 1,
        2 ** 53,
        null,
        true,
        {},
        [rule.min],
        String(rule.min),
        BigInt(rule.min),
        ...(rule.integer ? [rule.min + 0.5, rule.max - 0.5] : []),
      ),
      fc.double().filter((v) => !inRange(rule, v)),
      rule.integer
        ? fc
            .double({ min: rule.min, max: rule.max, noNaN: true })
            .filter((v) => !Number.isInteger(v))
        : fc.double({ min: rule.max, noNaN: true }).filter((v) => v > rule.max),
      fc.string(),
      fc.bigInt(),
    )
    .filter((v) => !inRange(rule, v))

/** Values inside `rule`: both ends, then any value between. */
const good = (rule: Rule): fc.Arbitrary<number> =>
  fc.oneof(
    fc.constantFrom(rule.min, rule.max),
    rule.integer
      ? fc.bigInt({ min: BigInt(rule.min), max: BigInt(rule.max) }).map(Number)
      : fc.double({ min: rule.min, max: rule.max, noNaN: true }),
  )

const rejects = (fn: () => unknown, ...parts: string[]) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`)
    for (const part of parts) assert.ok(e.message.includes(part), `${e.message} lacks ${part}`)
    return true
  })

describe('every numeric option is checked: finite, in range, whole where it must be', () => {
  for (const c of table)
    it(`${c.where} ${c.path}: [${c.rule.min}, ${c.rule.max}]${c.rule.integer ? ', whole' : ''}`, () => {
      fc.assert(
        fc.property(bad(c.rule), (v) => rejects(() => c.make(v), `${c.where}: `, c.path)),
        { numRuns: 150 },
      )
      fc.assert(
        fc.property(good(c.rule), (v) => {
          c.make(v)
        }),
      )
    })
})

describe('option objects: only known keys, only objects, well-formed values', () => {
  it('an unknown or misspelled key in a nested option names its full path', () => {
    rejects(() => client({ breaker: { treshold: 3 } }), 'unknown option "breaker.treshold"')
    rejects(() => client({ retryBudget: { ratio: 0.1, max: 5 } }), '"retryBudget.max"')
    rejects(() => client({ quorum: { domain: 2 } }), '"quorum.domain"')
    rejects(() => client({ hedge: { initialDelay: 5 } }), '"hedge.initialDelay"')
    rejects(
      () => client({ policies: { x: { class: 'quorum', blockparam: 1 } } }),
      '"policies.x.blockparam"',
    )
    rejects(() => proofs({ maxLogRang: 5 } as never), 'proofs(): unknown option "maxLogRang"')
    rejects(() => execute({ gas: 5 } as never), 'execute(): unknown option "gas"')
  })
  it('a nested option that is not an object', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('quorum', 'hedge', 'breaker', 'retryBudget', 'policies'),
        fc.constantFrom<unknown>(null, 5, 'x', [], true, 1n),
        (key, v) =>
          rejects(() => client({ [key]: v }), `createOutlast(): ${key} must be an object`),
      ),
    )
    rejects(() => proofs(null as never), 'proofs(): the options must be an object')
    rejects(() => execute(5 as never), 'execute(): the options must be an object')
  })
  it('booleans and names', () => {
    for (const v of [1, 'true', null, {}])
      rejects(() => client({ pinByHash: v }), 'createOutlast(): pinByHash must be true or false')
    client({ pinByHash: false })
    for (const v of ['Degrade', null, 0])
      rejects(() => client({ onQuorumLoss: v }), 'createOutlast(): onQuorumLoss must be one of')
    for (const v of ['prage', 'Prague', 5, null])
      rejects(() => execute({ hardfork: v } as never), 'execute(): hardfork must be one of')
    execute({ hardfork: 'prague', chainId: 1, estimateErrorRatio: 0.015 })
  })
  it('policies: a class name, or an object with a class, a block index and byHash', () => {
    rejects(() => client({ policies: { x: 'maybe' } }), 'policies.x must be one of')
    rejects(() => client({ policies: { x: 5 } }), 'policies.x must be an object')
    rejects(() => client({ policies: { x: { blockParam: 1 } } }), 'policies.x.class must be one of')
    rejects(
      () => client({ policies: { x: { class: 'quorum', byHash: 'yes' } } }),
      'policies.x.byHash',
    )
    client({ policies: { x: 'single', y: { class: 'quorum', blockParam: 1, byHash: true } } })
  })
  it('a missing chain id, and ranges that depend on each other', () => {
    rejects(() => createOutlast({ sources } as never), 'createOutlast(): chainId is required')
    rejects(() => client({ hedge: { min: 3_000 } }), 'hedge.min (3000) exceeds hedge.max (2000)')
    rejects(
      () => client({ breaker: { cooldown: 5_000, maxCooldown: 1_000 } }),
      'breaker.maxCooldown (1000) is below breaker.cooldown (5000)',
    )
    rejects(() => client({ quorum: { domains: 3, sources: 2 } }), 'quorum.sources must be')
  })
})

it('a cool-off longer than the default ceiling is not cut short after a failed probe', () => {
  let now = 0
  const breaker = createBreaker({ threshold: 1, cooldown: 60_000 }, () => now)
  breaker.failure()
  now += 60_000
  assert.equal(breaker.tryAcquire(), true) // the half-open probe
  breaker.failure()
  now += 59_999
  assert.equal(breaker.state, 'open')
})
