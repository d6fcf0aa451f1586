import assert from 'node:assert/strict'
import { createMPT } from '@ethereumjs/mpt'
import fc from 'fast-check'
import * as Bytes from 'ox/Bytes'
import { describe, test } from 'vitest'
import { indexKey } from './trie.ts'
import { trieRoot } from './trieRoot.ts'

/** The same trie built one entry at a time by `@ethereumjs/mpt`, the reference. */
async function reference(entries: (readonly [Uint8Array, Uint8Array])[]) {
  const trie = await createMPT()
  for (const [key, value] of entries) await trie.put(key, value)
  return Bytes.toHex(trie.root())
}

const value = fc.uint8Array({ minLength: 1, maxLength: 80 })

describe('trieRoot: the same root as @ethereumjs/mpt', () => {
  test('ordered tries (key = RLP(index)) of 0 to 300 entries, small values inlined', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(value, { maxLength: 300 }), async (values) => {
        const entries = values.map((v, i) => [indexKey(i), v] as const)
        assert.equal(trieRoot(entries), await reference(entries))
      }),
      { numRuns: 60 },
    )
  })

  test('any keys: shared prefixes, a key that is the prefix of another, repeats', async () => {
    const key = fc.uint8Array({ minLength: 0, maxLength: 4 }).map((k) => k.map((b) => b & 0x13))
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(key, value), { maxLength: 40 }), async (pairs) => {
        assert.equal(trieRoot(pairs), await reference(pairs))
      }),
      { numRuns: 300 },
    )
  })
})
