import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { decodeFrame } from './frame.ts'

describe('decodeFrame', () => {
  it('text, binary and batch frames become messages', () => {
    const one = '{"jsonrpc":"2.0","id":1,"result":"0x1"}'
    assert.deepEqual(decodeFrame(one, 1_000), { kind: 'messages', items: [JSON.parse(one)] })
    const bytes = new TextEncoder().encode(`[${one},${one}]`)
    // A Node Buffer too, where there is one (this file also runs in Chromium).
    const nodeBuffer = typeof Buffer === 'undefined' ? [] : [Buffer.from(bytes)]
    for (const data of [bytes, bytes.buffer, ...nodeBuffer]) {
      const f = decodeFrame(data, 1_000)
      assert.equal(f.kind, 'messages')
      assert.equal(f.kind === 'messages' && f.items.length, 2)
    }
  })
  it('too large: refused before parsing, in UTF-8 bytes, with the head kept to find the caller', () => {
    const big = `{"id":7,"result":"${'é'.repeat(400)}"}`
    const f = decodeFrame(big, 500) // 425 characters but 825 bytes
    assert.equal(f.kind, 'oversized')
    assert.ok(f.kind === 'oversized' && f.size === new TextEncoder().encode(big).length)
    assert.ok(f.kind === 'oversized' && f.head.startsWith('{"id":7'))
    assert.equal(decodeFrame(new Uint8Array(501), 500).kind, 'oversized')
  })
  it('non-JSON is malformed; non-data is ignored', () => {
    assert.deepEqual(decodeFrame('<html>', 100), {
      kind: 'malformed',
      reason: 'malformed frame (6 characters of non-JSON)',
    })
    assert.equal(decodeFrame({ some: 'event' }, 100).kind, 'ignored')
  })
})
