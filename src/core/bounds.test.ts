import assert from 'node:assert/strict'
import { it } from 'vitest'
import { yieldToEventLoop } from '../shared/yield.ts'
import { checkShape, measureShape, SHAPE_LIMITS, type ShapeLimits, screen } from './bounds.ts'

/** `depth` nested containers (arrays and objects in turn) around a leaf. */
function nested(depth: number, leaf: unknown = '0xAB'): unknown {
  let v = leaf
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v]
  return v
}

/** `value` behind a proxy that counts, in `reads`, each read of one of its items or properties. */
function counted<T extends object>(value: T, reads: { n: number }): T {
  return new Proxy(value, {
    get(target, key, receiver) {
      const own = Array.isArray(target) ? /^\d+$/.test(String(key)) : Object.hasOwn(target, key)
      if (typeof key === 'string' && own) reads.n++
      return Reflect.get(target, key, receiver)
    },
  })
}

const wide = (keys: number) =>
  Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i]))
const { maxDepth, maxKeys, maxNodes } = SHAPE_LIMITS

it('depth: exactly the limit passes, one more fails, at any depth and either container', () => {
  for (const leaf of ['0x1', null, 7])
    for (const d of [1, 2, 10, maxDepth - 1, maxDepth]) {
      assert.equal(checkShape(nested(d, leaf)), undefined, `depth ${d}`)
      assert.equal(checkShape(JSON.parse(JSON.stringify(nested(d, leaf)))), undefined)
    }
  for (const d of [maxDepth + 1, maxDepth + 2, 50_000, 200_000])
    assert.equal(checkShape(nested(d)), `is nested deeper than ${maxDepth} levels`, `depth ${d}`)
  // A deep branch beside shallow ones, in an object or an array: depths add up.
  assert.equal(checkShape([1, { x: nested(maxDepth - 2) }, 2]), undefined)
  assert.equal(
    checkShape([1, { x: nested(maxDepth - 1) }, 2]),
    `is nested deeper than ${maxDepth} levels`,
  )
  assert.equal(checkShape({ a: 1, z: [nested(maxDepth - 2)], b: 2 }), undefined)
  assert.equal(
    checkShape({ a: 1, z: [nested(maxDepth - 1)], b: 2 }),
    `is nested deeper than ${maxDepth} levels`,
  )
})

it('depth: a leaf does not count as a level; small limits are exact', () => {
  const limits: ShapeLimits = { maxDepth: 3, maxKeys: 10, maxNodes: 100 }
  assert.equal(checkShape('0x1', limits), undefined)
  assert.equal(checkShape([[[1]]], limits), undefined)
  assert.equal(checkShape([[[[]]]], limits), 'is nested deeper than 3 levels')
  assert.equal(checkShape({ a: { b: { c: 'x' } } }, limits), undefined)
  assert.equal(checkShape({ a: { b: { c: {} } } }, limits), 'is nested deeper than 3 levels')
})

it('width: an object of exactly maxKeys passes, one more fails, wherever it sits', () => {
  assert.equal(checkShape(wide(maxKeys)), undefined)
  assert.equal(checkShape([{ a: wide(maxKeys) }]), undefined)
  const reason = `has an object with ${maxKeys + 1} keys (at most ${maxKeys})`
  assert.equal(checkShape(wide(maxKeys + 1)), reason)
  assert.equal(checkShape([1, { a: wide(maxKeys + 1) }]), reason)
  assert.match(checkShape(wide(300_000)) ?? '', /300000 keys/)
})

it('size: exactly maxNodes values pass, one more fails (arrays, objects, spread out)', () => {
  const limits: ShapeLimits = { maxDepth: 10, maxKeys: 1_000, maxNodes: 1_000 }
  assert.equal(checkShape(new Array(999).fill(0), limits), undefined) // 999 items + the array
  assert.equal(checkShape(new Array(1_000).fill(0), limits), 'has more than 1000 values')
  assert.equal(checkShape(wide(999), limits), undefined)
  assert.equal(checkShape(wide(1_000), limits), 'has more than 1000 values')
  const spread = (n: number) => Array.from({ length: n }, () => [1, 2, 3]) // 4n + 1 values
  assert.equal(checkShape(spread(249), limits), undefined)
  assert.equal(checkShape(spread(250), limits), 'has more than 1000 values')
  assert.equal(measureShape(spread(249), limits).nodes, 997)
  // At the default limit too, and an enormous sparse array is refused without walking it.
  assert.equal(checkShape(new Array(maxNodes - 1).fill(0)), undefined)
  assert.equal(checkShape(new Array(maxNodes).fill(0)), `has more than ${maxNodes} values`)
  // Counted, not timed (a busy machine makes any time bound flaky): at most maxNodes items read.
  let reads = 0
  const huge = new Proxy(new Array(1e9), {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads++
      return Reflect.get(target, key, receiver)
    },
  })
  assert.equal(checkShape(huge), `has more than ${maxNodes} values`)
  assert.ok(reads <= maxNodes, `read ${reads} of its items`)
})

it('shared values are counted each time they appear; cycles and blow-ups are refused', () => {
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic.self = cyclic
  assert.equal(checkShape(cyclic), `is nested deeper than ${maxDepth} levels`)
  const ring: unknown[] = []
  ring.push({ next: ring })
  assert.equal(checkShape(ring), `is nested deeper than ${maxDepth} levels`)
  // 2^40 paths through 40 shared levels: refused by the value count, quickly. Counted, not
  // timed (a busy machine makes any time bound flaky): at most maxNodes items read.
  const reads = { n: 0 }
  let dag: unknown = 1
  for (let i = 0; i < 40; i++) dag = counted([dag, dag], reads)
  assert.equal(checkShape(dag), `has more than ${maxNodes} values`)
  assert.ok(reads.n <= maxNodes, `read ${reads.n} items`)
})

it('only JSON: bigint, function and symbol are refused; undefined and numbers pass', () => {
  assert.equal(checkShape({ a: 1n }), 'holds a bigint, which is not JSON')
  assert.equal(checkShape([() => 1]), 'holds a function, which is not JSON')
  assert.equal(checkShape({ s: Symbol('x') }), 'holds a symbol, which is not JSON')
  assert.equal(checkShape({ a: undefined, b: Number.NaN, c: true, d: null }), undefined)
  assert.equal(checkShape(undefined), undefined)
})

it('a getter or proxy that throws is a malformed value, not an exception', () => {
  const trap = new Proxy(
    {},
    {
      ownKeys() {
        throw new Error('boom')
      },
    },
  )
  assert.equal(checkShape([trap]), 'is malformed (boom)')
  const getter = Object.defineProperty({}, 'x', {
    enumerable: true,
    get() {
      throw new Error('no')
    },
  })
  assert.equal(checkShape({ a: getter }), 'is malformed (no)')
})

it('measureShape counts values and characters (keys included)', () => {
  assert.deepEqual(measureShape({ ab: ['0x12', 3], c: null }), {
    reason: undefined,
    nodes: 5,
    chars: 7,
  })
})

it('is linear and fast on large answers within the limits', () => {
  // Counted, not timed (a busy machine makes any time bound flaky): linear is each value read
  // once, every item and property behind a proxy that counts its reads.
  const reads = { n: 0 }
  const logs = counted(
    Array.from({ length: 50_000 }, (_, i) =>
      counted(
        {
          address: `0x${i.toString(16).padStart(40, '0')}`,
          topics: counted(['0x01', '0x02', '0x03'], reads),
          data: '0x',
          logIndex: `0x${i.toString(16)}`,
        },
        reads,
      ),
    ),
    reads,
  )
  const shape = measureShape(logs)
  assert.equal(shape.reason, undefined)
  assert.equal(shape.nodes, 1 + 50_000 * 8)
  assert.equal(reads.n, shape.nodes - 1, 'every value but the top one read once')
})

it('yieldToEventLoop lets due timers run first, with or without setImmediate', async () => {
  for (const immediate of [true, false]) {
    const saved = globalThis.setImmediate
    if (!immediate) (globalThis as { setImmediate?: unknown }).setImmediate = undefined
    try {
      const order: string[] = []
      setTimeout(() => order.push('timer'), 0)
      const busyUntil = Date.now() + 5
      while (Date.now() < busyUntil) {} // the timer is due
      await yieldToEventLoop()
      order.push('after')
      assert.deepEqual(order, ['timer', 'after'])
    } finally {
      globalThis.setImmediate = saved
    }
  }
})

it('screen: a reason for a bad value; a large good value waits for a turn of the loop', async () => {
  assert.equal(await screen(nested(maxDepth + 1)), `is nested deeper than ${maxDepth} levels`)
  assert.equal(await screen('0x1'), undefined)
  let ticked = false
  setTimeout(() => {
    ticked = true
  }, 0)
  const busyUntil = Date.now() + 5
  while (Date.now() < busyUntil) {}
  assert.equal(await screen(new Array(200_000).fill(1)), undefined)
  assert.ok(ticked, 'a due timer ran before the large answer was handed on')
})
