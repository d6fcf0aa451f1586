/**
 * Review of d6c8bbe..8265632: `eth_getProof` proven under `proofs()` (verify/proof.ts
 * `verifiedProof`, `onPath`), state reads at heights the head tracker did not keep (trust.ts
 * `ancestorAt`, `headersAt`; prove.ts `trustedHeaderFor`). Attacks by one source answering
 * first with well-formed, correctly hashed, wrong answers. The review found 6 holes, each
 * written as an `it.fails` whose assertion states the correct behaviour; all 6 were fixed in
 * 3987847 and are plain tests now, marked "Fixed:" (`onPath` gave way to the key's path as
 * `createMerkleProof` walks it in `proven`). The tests marked "holds" held already.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createTrustStore } from '../../src/core/trust.ts'
import { createOutlast, http, type Source } from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { h32, londonHeader } from '../fixtures/headers.ts'
import { CHAIN_ID, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { deployAnswer } from '../workload.ts'
import { forgeHeader, hostile, labSources } from './hostile.ts'

type Proof = {
  address: string
  accountProof: string[]
  storageHash: string
  storageProof: { key: string; value: string; proof: string[] }[]
  [k: string]: unknown
}

/** Init code that stores 7 at slot 0 and 9 at slot 5 and deploys one STOP byte as code. */
const STORE_INIT = '0x6007600055600960055560016000f3'
const word = (n: number) => `0x${n.toString(16).padStart(64, '0')}`
const SLOTS = [0, 5, 9].map(word)
/** Blocks mined before the tests: reads far below the head the tracker kept. */
const DEPTH = 200

let lab: Lab
let store: `0x${string}`
const eoa = devAccounts[3]!.address.toLowerCase() as `0x${string}`
beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [...threeDomains, { name: 'liar', domain: 'liar-host', latency: 0 }],
  })
  store = await deployAnswer(lab.anvil, STORE_INIT)
  await lab.anvil.rpc('anvil_mine', [`0x${(DEPTH + 20).toString(16)}`])
}, 60_000)
afterAll(() => lab.stop())

/** The fastest source: its answers passed through `rewrite`. */
const liar = (
  rewrite: (method: string, params: readonly unknown[], answer: () => Promise<unknown>) => unknown,
): Source =>
  hostile(http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' }), async (m, p, a) =>
    rewrite(m, p, a),
  )

/** A liar rewriting its `eth_getProof` answers only. */
const proofLiar = (lie: (p: Proof, params: readonly unknown[]) => Promise<Proof> | Proof) =>
  liar(async (method, params, answer) =>
    method === 'eth_getProof' ? lie(structuredClone((await answer()) as Proof), params) : answer(),
  )

const client = (first: Source, extra: { timeout?: number } = {}) =>
  createOutlast({
    chainId: CHAIN_ID,
    sources: [first, ...labSources(lab, ['aws', 'gcp', 'home'])],
    prover: proofs(),
    ...extra,
  })

/** `eth_getProof` through outlast, and the node's own answer at the block it was proven at. */
async function proofAndTruth(first: Source, address: string, slots: readonly string[]) {
  const rpc = client(first)
  try {
    const { result, meta } = await rpc.requestWithMeta({
      method: 'eth_getProof',
      params: [address, slots, 'latest'],
    })
    const truth = await lab.anvil.rpc<Proof>('eth_getProof', [
      address,
      slots,
      { blockHash: meta.block!.hash },
    ])
    return { result: result as Proof, meta, truth, status: rpc.status() }
  } finally {
    await rpc.close()
  }
}

describe('eth_getProof: the proof nodes that come back (verify/proof.ts proven)', () => {
  // Attack: a liar answering first appends, after the account leaf, a node whose hash the leaf
  // holds as a value: the storage trie's root node (its hash is the account's storageHash).
  // @ethereumjs/mpt's verifyMerkleProof loads every node into a scratch DB by hash, so an extra
  // node passes. Cause: src/verify/proof.ts:175 `onPath` keeps a node when its hash occurs
  // anywhere in the previous node (`parent.includes(hash)`), a leaf's value included, not only
  // where the key's path references a child. Effect: a `proven` eth_getProof whose accountProof
  // has a node the node never sent; on-chain verifiers that walk the list (Optimism's
  // MerkleTrie: "value node must be last node in proof") revert on it, so a bridge relaying
  // the proof fails; the liar is not named. Severity: medium (a proven answer that is not the
  // node's; griefing of bridges and provers). Fix: walk the key's path (nibbles of
  // keccak(address/slot)) from the root, taking at each step the node the parent references at
  // that nibble, and stop at the leaf or an absence; or return the proof only when it has no
  // node off the path (else a lie).
  // Fixed: the proof nodes returned are those on the key's path from the root, as
  // @ethereumjs/mpt's createMerkleProof walks them in the proof's own trie (verify/proof.ts `proven`).
  it('a node appended after the account leaf (the storage root node) is dropped', async () => {
    const { result, meta, truth } = await proofAndTruth(
      proofLiar((p) => ({
        ...p,
        accountProof: [...p.accountProof, p.storageProof[0]!.proof[0]!],
      })),
      store,
      SLOTS,
    )
    assert.equal(meta.consistency, 'proven')
    assert.deepEqual(result.accountProof, truth.accountProof)
  })

  // Same cause (verify/proof.ts:175): an account without storage holds the empty trie's root,
  // keccak(0x80), so the one-byte node 0x80 appended after any EOA's leaf is kept. Severity:
  // medium (every EOA; same effect and fix as above).
  // Fixed: the proof nodes returned are those on the key's path from the root, as
  // @ethereumjs/mpt's createMerkleProof walks them in the proof's own trie (verify/proof.ts `proven`).
  it('0x80 appended after an EOA’s leaf (its hash is the empty storage root) is dropped', async () => {
    const { result, meta, truth } = await proofAndTruth(
      proofLiar((p) => ({ ...p, accountProof: [...p.accountProof, '0x80'] })),
      eoa,
      [],
    )
    assert.equal(meta.consistency, 'proven')
    assert.deepEqual(result.accountProof, truth.accountProof)
  })

  // Attack: right after the root, a liar inserts another child of the root (a sibling on
  // another nibble: from another account's proof). The proof still verifies (extra nodes are
  // ignored by verifyMerkleProof), but `onPath` (src/verify/proof.ts:170-177) takes the first
  // node the root references, the sibling, and then drops every real node below, whose hashes
  // the sibling does not hold. Effect: a `proven` eth_getProof whose accountProof is
  // [root, sibling]: it proves nothing about the address (any verifier rejects it), the
  // balance beside it is right, the liar is not named. Severity: high for bridges and
  // provers that pass the proof on (a proven answer that is no proof). Fix: follow the key's
  // nibbles (see above), or re-verify the returned node list in order and call the source a
  // liar when it fails.
  // Fixed: the proof nodes returned are those on the key's path from the root, as
  // @ethereumjs/mpt's createMerkleProof walks them in the proof's own trie (verify/proof.ts `proven`).
  it('a sibling of the path inserted after the root does not cut the real path off', async () => {
    const head = await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', ['latest', false])
    // Another account whose path leaves the root at another nibble.
    const mine = await lab.anvil.rpc<Proof>('eth_getProof', [eoa, [], { blockHash: head.hash }])
    let sibling: string | undefined
    for (const a of devAccounts) {
      const p = await lab.anvil.rpc<Proof>('eth_getProof', [
        a.address,
        [],
        { blockHash: head.hash },
      ])
      if (p.accountProof[1] !== mine.accountProof[1]) sibling = p.accountProof[1]
    }
    assert.ok(sibling && mine.accountProof.length >= 2)
    const { result, meta, truth } = await proofAndTruth(
      proofLiar((p) => ({
        ...p,
        accountProof: [p.accountProof[0]!, sibling!, ...p.accountProof.slice(1)],
      })),
      eoa,
      [],
    )
    assert.equal(meta.consistency, 'proven')
    assert.deepEqual(result.accountProof, truth.accountProof)
  })

  it('holds: nodes a liar puts before the root, or garbage beside the path, are dropped', async () => {
    const { result, meta, truth } = await proofAndTruth(
      proofLiar((p) => ({
        ...p,
        accountProof: [p.accountProof[0]!, `0x${'ab'.repeat(40)}`, ...p.accountProof.slice(1)],
      })),
      store,
      SLOTS,
    )
    assert.equal(meta.consistency, 'proven')
    assert.deepEqual(result, truth)
  })
})

describe('eth_getProof: the caller’s edge cases, absent accounts', () => {
  const honest = () => proofLiar((p) => p)

  it('duplicate keys: one entry per key asked, in order, as the node gives them', async () => {
    const slots = [SLOTS[1]!, SLOTS[1]!, SLOTS[0]!]
    const { result, meta, truth } = await proofAndTruth(honest(), store, slots)
    assert.equal(meta.consistency, 'proven')
    assert.deepEqual(result, truth)
  })

  it('no keys, an EOA, an absent account: proven, as the node gives them', async () => {
    for (const [address, slots] of [
      [store, []],
      [eoa, [SLOTS[0]!]],
      [`0x${'5e'.repeat(20)}`, [SLOTS[0]!, SLOTS[2]!]],
    ] as const) {
      const { result, meta, truth } = await proofAndTruth(honest(), address, slots)
      assert.equal(meta.consistency, 'proven')
      assert.deepEqual(result, truth)
    }
  })

  it('a liar’s storage proof stuffed with nodes for an absent account proves only the zero value', async () => {
    const absent = `0x${'5f'.repeat(20)}`
    const { result, meta, truth } = await proofAndTruth(
      proofLiar((p) => ({
        ...p,
        storageProof: p.storageProof.map((e) => ({ ...e, proof: [`0x${'cd'.repeat(40)}`] })),
      })),
      absent,
      [SLOTS[0]!],
    )
    assert.equal(meta.consistency, 'proven')
    assert.equal(result.storageProof[0]!.value, '0x0')
    assert.deepEqual(result.storageProof[0]!.proof.length <= 1, true)
    assert.equal(result.storageHash, truth.storageHash)
  })

  // Attack: for an absent account a liar answering first swaps the empty hashes the node gives
  // (keccak of empty code, the empty trie's root) for zero hashes. Cause: verify/proof.ts:88-91
  // accepts either spelling for a proven-absent account and verifiedProof
  // (src/verify/proof.ts:162-164) returns `codeHash` and `storageHash` as the source wrote
  // them. Effect: a `proven` answer whose codeHash the source chose (a caller testing
  // `codeHash === keccak("")` for "no code" gets another answer than from the node); the
  // liar is not named. Severity: low (two honest spellings; no value changed). Fix: return
  // one spelling for a proven-absent account (the empty hashes, as geth and anvil give), or
  // the proven account's own hashes.
  // Fixed: a proven-absent account comes back with the empty hashes whatever the source spelled
  // (verify/proof.ts `verifiedProof`).
  it('an absent account’s empty hashes come back as the node gives them, not zeroed by a liar', async () => {
    const zero = `0x${'00'.repeat(32)}`
    const { result, meta, truth } = await proofAndTruth(
      proofLiar((p) => ({ ...p, codeHash: zero, storageHash: zero })),
      `0x${'5d'.repeat(20)}`,
      [],
    )
    assert.equal(meta.consistency, 'proven')
    assert.deepEqual(result, truth)
  })

  it('a short (odd-length) key anvil refuses: the caller’s error, no source blamed', async () => {
    const rpc = client(honest())
    try {
      await assert.rejects(
        rpc.request({ method: 'eth_getProof', params: [store, ['0x5'], 'latest'] }),
      )
      assert.ok(rpc.status().sources.every((s) => s.breaker === 'closed'))
    } finally {
      await rpc.close()
    }
  })
})

describe('a state read below the kept heads (trust.ts ancestorAt)', () => {
  it('holds: a liar answering every height with a correctly hashed sibling makes no wrong header trusted', async () => {
    const siblings = liar(async (method, params, answer) => {
      const a = await answer()
      if (method !== 'eth_getBlockByNumber' || !/^0x[0-9a-f]+$/.test(String(params[0]))) return a
      return a && forgeHeader(a as Record<string, unknown>, Number(params[0]), 7)
    })
    const rpc = client(siblings, { timeout: 20_000 })
    try {
      await rpc.connect()
      const head = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
      const at = `0x${(head - 40).toString(16)}`
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getStorageAt',
        params: [store, '0x5', at],
      })
      const real = await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', [at, false])
      assert.equal(result, await lab.anvil.rpc('eth_getStorageAt', [store, '0x5', at]))
      if (meta.consistency === 'proven') assert.equal(meta.block?.hash, real.hash)
    } finally {
      await rpc.close()
    }
  })

  // Attack/effect: prove() stops waiting for the header at half the time left and sends the
  // read to quorum (src/core/handlers/prove.ts:42-47), but `beforeDeadline` only races the walk:
  // trust.ts `ancestorAt`/`headersAt` (src/core/trust.ts:194-204, 219-233) take no signal, so
  // the walk keeps asking every height (16 in flight) after the caller has its answer. With
  // slow sources (or one that stalls height answers), each read at another height leaves a
  // walk of up to 256 requests (plus as many by hash when siblings come back) running behind
  // it. Severity: low-medium (unbounded background requests; a wallet's history view fires
  // many). Fix: pass the read's signal into ancestorAt (stop fetching when it aborts), and
  // share one walk per stretch (below).
  // Fixed: prove() gives the walk a signal that aborts at half the time left; ancestorAt asks
  // nothing more once it has (trust.ts `headersAt`, `walkDown`).
  it('a walk the read gave up on stops asking', async () => {
    let asked = 0
    const slow = (s: Source) =>
      hostile(s, async (method, params, answer) => {
        if (method === 'eth_getBlockByNumber' && /^0x[0-9a-f]+$/.test(String(params[0]))) {
          asked++
          await new Promise((r) => setTimeout(r, 150))
        }
        return answer()
      })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: labSources(lab, ['aws', 'gcp', 'home']).map(slow),
      prover: proofs(),
      timeout: 2_000,
    })
    try {
      await rpc.connect()
      const head = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
      const at = `0x${(head - DEPTH).toString(16)}`
      const { meta } = await rpc.requestWithMeta({ method: 'eth_getBalance', params: [eoa, at] })
      assert.notEqual(meta.consistency, 'proven', 'the walk took more than half the time')
      const whenAnswered = asked
      await new Promise((r) => setTimeout(r, 1_500))
      assert.ok(
        asked - whenAnswered <= 16,
        `${asked - whenAnswered} heights asked after the read was answered`,
      )
    } finally {
      await rpc.close()
    }
  }, 20_000)
})

describe('trust store: walks at once (unit)', () => {
  /** `length` London headers, each the parent of the next. */
  const chainOf = (length: number) => {
    const out: Record<string, unknown>[] = []
    let parent = h32('00')
    for (let i = 0; i < length; i++) {
      const h = londonHeader(1_000 + i, parent)
      out.push(h)
      parent = String(h.hash)
    }
    return out
  }

  // Attack/effect: reads at heights below the kept heads arriving together (a wallet's
  // history, a dashboard's N balances at block n, a proxy serving many clients) each start a
  // walk of their own: trust.ts `ancestorAt` (src/core/trust.ts:219-233) asks the whole
  // stretch from the nearest trusted header down, and nothing is shared between walks in
  // flight (headers become trusted only when a walk finishes its stretch), so K reads ask up
  // to K x 256 heights where 256 would do. Severity: low-medium (request amplification by
  // the caller's own pattern; an untrusted client of `outlast proxy` can drive it). Fix: keep
  // the in-flight `fetchHeaderAt` promises by height (and walks by (top, number)) and share
  // them; or walk the stretch once and serve every height from it.
  // Fixed: walks at the same time share their heights (trust.ts `atHeight`, kept while any
  // walk is on).
  it('concurrent reads below the head ask each height once', async () => {
    const chain = chainOf(120)
    let byHeight = 0
    const trust = createTrustStore({
      checkpoints: [],
      hook: undefined,
      fetchHeader: async (hash) => chain.find((h) => h.hash === hash) ?? null,
      async fetchHeaderAt(n) {
        byHeight++
        await new Promise((r) => setTimeout(r, 1))
        return chain.find((h) => Number(h.number) === n) ?? null
      },
    })
    const top = trust.add(chain.at(-1)!, 'agreed')!
    const heights = [10, 10, 10, 20, 30, 40, 50, 60]
    const at = await Promise.all(heights.map((i) => trust.ancestorAt(top, top.number - 119 + i)))
    for (const [k, h] of at.entries()) assert.equal(h?.hash, chain[heights[k]!]!.hash)
    assert.ok(byHeight <= 119, `${byHeight} heights asked for a stretch of 119`)
  })

  it('holds: a header given by height for another height is trusted only where the walk reaches it', async () => {
    const chain = chainOf(20)
    const trust = createTrustStore({
      checkpoints: [],
      hook: undefined,
      fetchHeader: async (hash) => chain.find((h) => h.hash === hash) ?? null,
      // Every height answered with the header one below it: correctly hashed, wrong height.
      fetchHeaderAt: async (n) => chain.find((h) => Number(h.number) === n - 1) ?? null,
    })
    const top = trust.add(chain.at(-1)!, 'agreed')!
    const h = await trust.ancestorAt(top, top.number - 10)
    assert.equal(h?.hash, chain[9]!.hash)
    assert.equal(h?.number, top.number - 10)
  })
})
