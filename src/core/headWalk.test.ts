import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import type { RpcHeader } from './head.ts'
import { walkDown } from './headWalk.ts'

const hex = (n: number) => `0x${n.toString(16)}`
/** A chain 0..n whose block hashes are made up and whose "hash check" is the `ok` flag. */
const chain = (n: number) =>
  Array.from({ length: n + 1 }, (_, i) => ({
    number: hex(i),
    hash: `0xh${i}`,
    parentHash: i === 0 ? '0x' : `0xh${i - 1}`,
    ok: true,
  }))
const hashOf = (h: RpcHeader) => (h.ok ? String(h.hash) : undefined)

describe('walkDown: a head linked to a confirmed head far below, page by page', () => {
  const blocks = chain(300)
  const top = { number: 300, hash: '0xh300', parentHash: '0xh299' }
  const confirmed = { number: 3, hash: '0xh3' }

  it('links through every parent hash, fetching each height once, in pages', async () => {
    const asked: number[] = []
    const state = await walkDown(
      top,
      confirmed,
      async (n) => {
        asked.push(n)
        return blocks[n]
      },
      hashOf,
    )
    assert.equal(state, 'linked')
    assert.deepEqual(
      [...asked].sort((a, b) => a - b),
      Array.from({ length: 296 }, (_, i) => i + 4),
    )
  })

  it('a header that does not hash to its hash, a wrong parent or number: broken', async () => {
    for (const bad of [
      { ...blocks[150]!, ok: false },
      { ...blocks[150]!, parentHash: '0xother' },
      { ...blocks[150]!, number: hex(151) },
    ]) {
      const state = await walkDown(
        top,
        confirmed,
        async (n) => (n === 150 ? bad : blocks[n]),
        hashOf,
      )
      assert.equal(state, 'broken', JSON.stringify(bad))
    }
  })

  it('a chain that ends on another block at the confirmed height: broken', async () => {
    const state = await walkDown(top, { number: 3, hash: '0xelse' }, async (n) => blocks[n], hashOf)
    assert.equal(state, 'broken')
  })

  it('a missing header or a failed fetch: unknown; deeper than the limit: not walked', async () => {
    const missing = await walkDown(
      top,
      confirmed,
      async (n) => (n === 9 ? null : blocks[n]),
      hashOf,
    )
    assert.equal(missing, 'unknown')
    const failed = await walkDown(
      top,
      confirmed,
      async (n) => {
        if (n === 9) throw new Error('refused')
        return blocks[n]
      },
      hashOf,
    )
    assert.equal(failed, 'unknown')
    let asked = 0
    const deep = await walkDown(
      top,
      confirmed,
      async (n) => {
        asked++
        return blocks[n]
      },
      hashOf,
      { limit: 100 },
    )
    assert.equal(deep, 'unknown')
    assert.equal(asked, 0)
  })
})
