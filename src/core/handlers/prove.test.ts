/**
 * The proof path's trusted headers (prove.ts `trustedHeaderFor`, and `onAgreedChain`, the
 * prover's `trusted`): a header the domains once agreed on is no proof once the agreed chain
 * left it. Where the kept heights and the walk down by parent hash cannot tell (a block deeper
 * than the trust store walks, a header on the way that cannot be had), it is not taken as on the
 * chain: the domains are asked. Under a light client, ancestors of the headers it verified stand.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { h32, londonHeader } from '../../../test/fixtures/headers.ts'
import type { Hex } from '../../shared/types.ts'
import type { Engine } from '../engine.ts'
import type { Head, HeadTracker } from '../head.ts'
import { createTrustStore, type TrustedHeaderHook } from '../trust.ts'
import { trustedHeaderFor } from './prove.ts'

const header = londonHeader

const hashOf = (h: Record<string, unknown>) => String(h.hash).toLowerCase() as Hex

/** The canonical chain 0..top, each header's parent the one below. */
function chain(top: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (let n = 0; n <= top; n++) out.push(header(n, n === 0 ? h32('00') : hashOf(out[n - 1]!)))
  return out
}

/** An engine as trustedHeaderFor (and the prover's `trusted`) sees it. */
function engineOver(
  headers: readonly Record<string, unknown>[],
  confirmed: Record<string, unknown>,
  hook?: TrustedHeaderHook,
) {
  const trust = createTrustStore({
    checkpoints: [],
    hook,
    async fetchHeader(hash) {
      return headers.find((h) => hashOf(h) === hash.toLowerCase()) ?? null
    },
  })
  const top = { number: Number(confirmed.number), hash: hashOf(confirmed) } as Head
  const head = {
    // The kept heights (128) are far above the blocks these tests ask about.
    hashAt: () => undefined,
    confirmedHead: () => top,
    confirmed: () => true,
    get: async () => top,
    peek: () => top,
  } as unknown as HeadTracker
  const engine = {
    trust: () => Promise.resolve(trust),
    head,
    config: hook ? { trustedHeader: hook } : {},
  } as unknown as Engine
  return { engine, trust }
}

describe('trustedHeaderFor: a trusted header not at a kept height must still be on the agreed chain', () => {
  it('a block a reorg dropped is no proof 290 blocks later (requireCanonical, receipts, blocks)', async () => {
    const canonical = chain(300)
    // Block 10 of a one-block reorg: the domains agreed on it once (so it was trusted), then
    // the chain took its sibling, canonical[10].
    const dropped = header(10, hashOf(canonical[9]!), 7)
    const { engine, trust } = engineOver([...canonical, dropped], canonical[300]!)
    trust.add(dropped, 'agreed')
    trust.add(canonical[300]!, 'agreed')
    // The agreed chain does not hold it: with requireCanonical (and for the prover's `trusted`,
    // the same onAgreedChain) it must not be a trusted header.
    const got = await trustedHeaderFor(engine, {
      blockHash: hashOf(dropped),
      requireCanonical: true,
    })
    assert.equal(got?.hash, undefined, 'a dropped block counted as on the agreed chain')
  })
  it('a header on the way down that cannot be had is no proof a dropped block is on the chain', async () => {
    const canonical = chain(300)
    // Dropped at 200 (within the 256 the walk goes): the walk from 300 needs the headers
    // between; one of them (250) cannot be had now (the sources that serve it are down).
    const dropped = header(200, hashOf(canonical[199]!), 7)
    const served = [...canonical.filter((h) => Number(h.number) !== 250), dropped]
    const { engine, trust } = engineOver(served, canonical[300]!)
    trust.add(dropped, 'agreed')
    trust.add(canonical[300]!, 'agreed')
    const got = await trustedHeaderFor(engine, {
      blockHash: hashOf(dropped),
      requireCanonical: true,
    })
    assert.equal(got?.hash, undefined, 'an unanswered header fetch made a dropped block canonical')
  })
})

describe('trustedHeaderFor under a light client', () => {
  it('an ancestor of a light-client header, below the kept heights, is on the chain', async () => {
    const canonical = chain(310)
    // The light client vouches for block 300 (its newest signed header); the sources' agreed,
    // confirmed head is 310, which it has not verified yet (and agreed heads are not trusted).
    const hook: TrustedHeaderHook = async (block) =>
      'hash' in block && block.hash.toLowerCase() === hashOf(canonical[300]!) ? true : undefined
    const { engine, trust } = engineOver(canonical, canonical[310]!, hook)
    assert.equal((await trust.resolve(hashOf(canonical[300]!)))?.via, 'light-client')
    const got = await trustedHeaderFor(engine, {
      blockHash: hashOf(canonical[100]!),
      requireCanonical: true,
    })
    assert.equal(got?.hash, hashOf(canonical[100]!), 'an honest canonical block was refused')
  })
})
