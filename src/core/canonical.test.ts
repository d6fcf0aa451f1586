import assert from 'node:assert/strict'
import { it } from 'node:test'
import { SHAPE_LIMITS } from './bounds.ts'
import { canonical, preview } from './canonical.ts'

/** The former recursive definition: the reference for shallow values. */
const reference = (value: unknown): string => JSON.stringify(normalize(value))
function normalize(value: unknown): unknown {
  if (typeof value === 'string') return value.startsWith('0x') ? value.toLowerCase() : value
  if (Array.isArray(value)) return value.map(normalize)
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort())
      out[key] = normalize((value as Record<string, unknown>)[key])
    return out
  }
  return value
}

/** A small seeded generator, so that a failure can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed / 2 ** 31
  }
}

function arbitrary(r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * (depth > 0 ? 10 : 7))
  const leaves = [
    null,
    true,
    Math.floor(r() * 1e6) - 5e5,
    r(),
    `0x${Math.floor(r() * 1e9).toString(16)}AbC`,
    `text "${r()}" \\ \n é`,
    undefined,
  ]
  if (pick < 7) return leaves[pick]
  const n = Math.floor(r() * 5)
  if (pick === 7) return Array.from({ length: n }, () => arbitrary(r, depth - 1))
  const o: Record<string, unknown> = {}
  for (let i = 0; i < n; i++)
    o[['b', 'a', '0x', 'Z', '10', '2', ''][i] as string] = arbitrary(r, depth - 1)
  return o
}

it('matches the recursive definition on random values (keys sorted, hex lower-cased)', () => {
  const r = random(9)
  for (let i = 0; i < 3_000; i++) {
    const v = arbitrary(r, 6)
    assert.equal(canonical(v), reference(v) ?? String(v), JSON.stringify(v))
  }
  assert.equal(
    canonical({ b: '0xAB', a: [1, undefined, 'x'], c: undefined }),
    '{"a":[1,null,"x"],"b":"0xab"}',
  )
})

/** `depth` nested containers (arrays and objects in turn) around '0xAB', and its text. */
function nested(depth: number): { value: unknown; text: string } {
  let value: unknown = '0xAB'
  const open: string[] = []
  const close: string[] = []
  for (let i = 0; i < depth; i++) {
    value = i % 2 ? { a: value } : [value]
    open.push(i % 2 ? '{"a":' : '[')
    close.push(i % 2 ? '}' : ']')
  }
  return { value, text: `${open.reverse().join('')}"0xab"${close.join('')}` }
}

it('no stack overflow at any depth within the shape limit (deeper answers are refused first)', () => {
  const limit = SHAPE_LIMITS.maxDepth
  for (const depth of [0, 1, 10, limit - 1, limit]) {
    const { value, text } = nested(depth)
    assert.equal(canonical(value), text, `depth ${depth}`)
    assert.ok(preview(value).length <= 80)
  }
  // From deep inside a call stack too (the limit must not depend on where it is called).
  const deep = (k: number): string => (k === 0 ? canonical(nested(limit).value) : deep(k - 1))
  assert.equal(deep(3_000), nested(limit).text)
})

it('leaves: what JSON.stringify does with them', () => {
  assert.equal(canonical('0xAB'), '"0xab"')
  assert.equal(canonical('Hello'), '"Hello"')
  assert.equal(canonical(null), 'null')
  assert.equal(canonical(Number.NaN), 'null')
  assert.equal(canonical([() => 1, Symbol('s')]), '[null,null]')
  assert.throws(() => canonical({ a: 1n }), TypeError)
})

it('preview is short and cheap even for a huge answer', () => {
  const huge = Array.from({ length: 300_000 }, (_, i) => ({ i, h: '0xAB' }))
  const started = performance.now()
  const text = preview(huge)
  assert.ok(performance.now() - started < 50)
  assert.equal(text.length, 80)
  assert.ok(text.startsWith('[{"i":0,"h":"0xAB"},{"i":1'))
  assert.equal(preview({ a: 1 }), '{"a":1}')
  assert.equal(preview('0xAB'), '0xAB')
})
