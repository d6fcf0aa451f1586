import assert from 'node:assert/strict'
import { it } from 'vitest'
import { SHAPE_LIMITS } from './bounds.ts'
import { canonical, preview } from './canonical.ts'

it('sorts keys at every level and lower-cases hex strings only', () => {
  assert.equal(
    canonical({ b: '0xAB', a: [1, undefined, 'x'], c: undefined }),
    '{"a":[1,null,"x"],"b":"0xab"}',
  )
  assert.equal(
    canonical({ z: { y: '0xDEad', x: 'Hello' }, a: ['0xF', { d: 1, c: 2 }] }),
    '{"a":["0xf",{"c":2,"d":1}],"z":{"x":"Hello","y":"0xdead"}}',
  )
  // Two nodes' answers that differ only in key order and hex case agree.
  assert.equal(
    canonical({ hash: '0xABCD', number: '0x1' }),
    canonical({ number: '0x1', hash: '0xabcd' }),
  )
  assert.notEqual(canonical({ a: 'Text' }), canonical({ a: 'text' }))
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
  // Counted, not timed (a busy machine makes any time bound flaky): it reads a few items only.
  let reads = 0
  const huge = new Proxy(
    Array.from({ length: 300_000 }, (_, i) => ({ i, h: '0xAB' })),
    {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++
        return Reflect.get(target, key, receiver)
      },
    },
  )
  const text = preview(huge)
  assert.ok(reads <= 16, `read ${reads} items`)
  assert.ok(text.length <= 80 && text.endsWith('…'), text)
  assert.ok(text.startsWith('[ { "i": 0, "h": "0xAB" }, { "i": 1'), text)
  assert.equal(preview({ a: 1 }), '{ "a": 1 }')
  assert.equal(preview('0xAB'), '0xAB')
})
