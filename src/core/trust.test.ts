/**
 * The trust store's light-client hook: a header it returns, a hash it vouches for with `true`
 * (the header then fetched and checked against that hash), and what it must not trust.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { h32, londonHeader } from '../../test/fixtures/headers.ts'
import type { Hex } from '../shared/types.ts'
import { createTrustStore, type TrustedHeaderHook } from './trust.ts'

const header = londonHeader

const cancun = header(21_925_176)
const prague = header(23_182_607)
const hashOf = (h: Record<string, unknown>) => String(h.hash).toLowerCase() as Hex

function store(hook: TrustedHeaderHook | undefined, headers: Record<string, unknown>[]) {
  const fetched: string[] = []
  const trust = createTrustStore({
    checkpoints: [],
    hook,
    async fetchHeader(hash) {
      fetched.push(hash)
      return headers.find((h) => hashOf(h) === hash.toLowerCase()) ?? null
    },
  })
  return { trust, fetched }
}

describe('trust store: the light-client hook', () => {
  it('a hash vouched for with `true` is fetched, checked against its hash and trusted via light-client', async () => {
    const asked: unknown[] = []
    const { trust, fetched } = store(
      async (block) => {
        asked.push(block)
        return 'hash' in block && block.hash === hashOf(cancun) ? true : undefined
      },
      [cancun, prague],
    )
    const h = await trust.resolve(hashOf(cancun))
    assert.equal(h?.via, 'light-client')
    assert.equal(h?.hash, hashOf(cancun))
    assert.equal(h?.stateRoot, String(cancun.stateRoot).toLowerCase())
    assert.deepEqual(asked, [{ hash: hashOf(cancun) }])
    assert.deepEqual(fetched, [hashOf(cancun)], 'fetched once')
    assert.equal(trust.newest()?.hash, hashOf(cancun))
    // Known now: neither the hook nor a source is asked again.
    assert.equal((await trust.resolve(hashOf(cancun)))?.via, 'light-client')
    assert.equal(asked.length, 1)
  })

  it('a hash the hook does not vouch for is not trusted', async () => {
    const { trust, fetched } = store(async () => undefined, [prague])
    assert.equal(await trust.resolve(hashOf(prague)), undefined)
    assert.deepEqual(
      fetched,
      [hashOf(prague)],
      'fetched once, for the other rules, and not trusted by them',
    )
  })

  it('vouching does not make a header for another hash trusted, nor a header whose body hashes elsewhere', async () => {
    const target = hashOf(cancun)
    // A source that answers the vouched hash with another (self-consistent) header.
    const other = createTrustStore({
      checkpoints: [],
      hook: async () => true,
      fetchHeader: async () => prague,
    })
    assert.equal(await other.resolve(target), undefined)
    assert.equal(other.get(hashOf(prague)), undefined)
    // A header that names the vouched hash but whose fields hash to something else.
    const forged = { ...cancun, stateRoot: `0x${'11'.repeat(32)}` }
    const lying = createTrustStore({
      checkpoints: [],
      hook: async () => true,
      fetchHeader: async () => forged,
    })
    assert.equal(await lying.resolve(target), undefined)
    assert.equal(lying.newest(), undefined)
  })

  it('a hook that returns the header itself still works; one that throws is ignored', async () => {
    const { trust } = store(async () => cancun, [])
    assert.equal((await trust.resolve(hashOf(cancun)))?.via, 'light-client')
    const failing = store(async () => {
      throw new Error('light client down')
    }, [prague])
    assert.equal(await failing.trust.resolve(hashOf(prague)), undefined)
  })

  it("latest(): the hook's newest verified block, fetched and checked; nothing without a hook", async () => {
    const newest = hashOf(prague)
    const { trust } = store(
      async (block) => {
        if ('latest' in block) return newest
        return 'hash' in block && block.hash === newest ? true : undefined
      },
      [cancun, prague],
    )
    const t = await trust.latest()
    assert.equal(t?.hash, newest)
    assert.equal(t?.via, 'light-client')
    // A hook whose newest block is served by no source with that hash: not trusted.
    const { trust: lost } = store(
      async (block) => ('latest' in block ? (h32('ee') as Hex) : true),
      [cancun],
    )
    assert.equal(await lost.latest(), undefined)
    assert.equal(await store(undefined, [cancun]).trust.latest(), undefined)
  })
})
