/**
 * The trust store's light-client hook: a header it returns, a hash it vouches for with `true`
 * (the header then fetched and checked against that hash), and what it must not trust.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { h32, londonHeader } from '../../test/fixtures/headers.ts'
import type { Hex } from '../shared/types.ts'
import { computeBlockHash } from '../verify/block.ts'
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

describe('trust store: ancestorAt, a height below a trusted header', () => {
  /** `length` headers built on Cancun's, each the parent of the next, correctly hashed. */
  const chainOf = (length: number, salt = 0) => {
    const out: Record<string, unknown>[] = []
    let parent = hashOf(cancun)
    for (let i = 0; i < length; i++) {
      const h: Record<string, unknown> = {
        ...cancun,
        number: `0x${(21_925_177 + i).toString(16)}`,
        parentHash: parent,
        extraData: `0x${(salt * 1_000 + i).toString(16).padStart(8, '0')}`,
      }
      h.hash = computeBlockHash(h as never)
      parent = hashOf(h)
      out.push(h)
    }
    return out
  }

  /** A store over `chain`; by height, the first answers are `byHeight`'s, agreed ones `agreed`'s. */
  function walker(chain: Record<string, unknown>[], byHeight = chain, agreed = byHeight) {
    const asked = { byHash: 0, byHeight: 0, agreed: 0 }
    const trust = createTrustStore({
      checkpoints: [],
      hook: undefined,
      async fetchHeader(hash) {
        asked.byHash++
        return chain.find((h) => hashOf(h) === hash.toLowerCase()) ?? null
      },
      async fetchHeaderAt(n, twoDomains) {
        if (twoDomains) asked.agreed++
        else asked.byHeight++
        return (twoDomains ? agreed : byHeight).find((h) => Number(h.number) === n) ?? null
      },
    })
    const top = trust.add(chain.at(-1)!, 'agreed')!
    return { trust, top, asked }
  }

  it('asks the stretch by height at once and trusts each header the walk reaches', async () => {
    const chain = chainOf(40)
    const { trust, top, asked } = walker(chain)
    const at = await trust.ancestorAt(top, top.number - 30)
    assert.equal(at?.hash, hashOf(chain[9]!))
    assert.equal(at?.via, 'ancestor')
    assert.deepEqual(asked, { byHash: 0, byHeight: 30, agreed: 0 })
    // Trusted now: a height between is had without asking again.
    assert.equal((await trust.ancestorAt(top, top.number - 12))?.hash, hashOf(chain[27]!))
    assert.deepEqual(asked, { byHash: 0, byHeight: 30, agreed: 0 })
  })

  it('a correctly hashed header of another chain, given by height, is not trusted: the rest is asked again, agreed', async () => {
    const chain = chainOf(10)
    const other = chainOf(10, 7) // siblings at every height
    const { trust, top, asked } = walker(chain, [...chain.slice(0, 4), ...other.slice(4)], chain)
    const at = await trust.ancestorAt(top, top.number - 8)
    assert.equal(at?.hash, hashOf(chain[1]!))
    // Heights 1 to 8 asked at once; the walk stopped below 9 (8 was a sibling): 1 to 8 again, agreed.
    assert.deepEqual(asked, { byHash: 0, byHeight: 8, agreed: 8 })
    for (const h of other) assert.equal(trust.get(hashOf(h)), undefined)
  })

  it('where the agreed answers do not link either, the walk asks by parent hash', async () => {
    const chain = chainOf(10)
    const other = chainOf(10, 7)
    const { trust, top, asked } = walker(chain, [...chain.slice(0, 4), ...other.slice(4)])
    const at = await trust.ancestorAt(top, top.number - 8)
    assert.equal(at?.hash, hashOf(chain[1]!))
    assert.equal(asked.byHash, 5, 'the five sibling heights fetched by parent hash')
    for (const h of other) assert.equal(trust.get(hashOf(h)), undefined)
  })

  it('descends: true down an unbroken chain; undefined, not false, past a header that cannot be had', async () => {
    const chain = chainOf(8)
    const whole = walker(chain)
    assert.equal(await whole.trust.descends(whole.top, whole.trust.add(chain[1]!, 'agreed')!), true)
    const gap = walker([...chain.slice(0, 3), ...chain.slice(4)])
    const low = gap.trust.add(chain[1]!, 'agreed')!
    // What cannot be told is asked of the domains (prove.ts `onChain`), not called off-chain.
    assert.equal(await gap.trust.descends(gap.top, low), undefined)
  })

  it('nothing above the header, nor deeper than maxDepth, nor past a header that cannot be had', async () => {
    const chain = chainOf(8)
    const { trust, top } = walker(chain)
    assert.equal(await trust.ancestorAt(top, top.number + 1), undefined)
    assert.equal(await trust.ancestorAt(top, top.number - 257), undefined)
    const gap = walker([...chain.slice(0, 3), ...chain.slice(4)])
    assert.equal(await gap.trust.ancestorAt(gap.top, gap.top.number - 6), undefined)
    assert.equal((await gap.trust.ancestorAt(gap.top, gap.top.number - 3))?.hash, hashOf(chain[4]!))
  })
})
