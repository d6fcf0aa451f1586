/**
 * The fields of a block object that neither its header hash nor its body roots cover: `size`
 * and `totalDifficulty`.
 * - `size` is the length of the block's encoding: where the body is given whole (every
 *   transaction in full, or none; no uncles) it is computed and checked (verify/trie.ts
 *   `blockSizes`), so a liar's `size` on an empty block (which stands alone, `verified`) or on a
 *   proven full block is its lie. Where the transactions come as hashes it cannot be measured,
 *   and honest clients count it apart: no `size` is returned.
 * - `totalDifficulty` no check covers, and clients disagree on it (geth 1.14 no longer sends it);
 *   nor any field a source adds: `prevRandao`, which ethers reads before `mixHash`, `author`.
 *   A block keeps only the fields its hash covers, its body, and a `size` that was measured
 *   (validate.ts `withoutUnchecked`, in every attempt: the core, proofs, untrusted peers).
 * DESIGN: "`verified` means every field the caller gets was checked against something trusted;
 * what was not checked is agreed or flagged."
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { OutlastProvider } from '../../src/adapters/ethers.ts'
import { createOutlast, http, type Source } from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { asReturned, CHAIN_ID, resetLab, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'

type Obj = Record<string, unknown>

let lab: Lab
let empty: Obj
let busy: Obj

beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    // The honest domains 200 ms slower than usual: the liar answers first even on a loaded
    // machine, so each case shows the hole every time (an `it.fails` that passed by chance
    // would fail the suite).
    sources: [
      ...threeDomains.map((d) => ({ ...d, latency: d.latency + 200 })),
      { name: 'liar', domain: 'liar-host', latency: 0 },
    ],
  })
  await lab.anvil.rpc('evm_mine')
  empty = await lab.anvil.rpc<Obj>('eth_getBlockByNumber', ['latest', false])
  const sent = await lab.anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[1].address, to: devAccounts[2].address, value: '0x9' },
  ])
  // The block that holds it, by its receipt (not `latest`, which a loaded machine may have moved).
  let receipt: Obj | null = null
  for (let i = 0; i < 100 && !receipt; i++) {
    receipt = await lab.anvil.rpc<Obj | null>('eth_getTransactionReceipt', [sent])
    if (!receipt) await new Promise((r) => setTimeout(r, 50))
  }
  busy = await lab.anvil.rpc<Obj>('eth_getBlockByHash', [receipt?.blockHash, false])
  assert.equal((empty.transactions as unknown[]).length, 0)
  assert.equal((busy.transactions as unknown[]).length, 1)
  assert.ok(empty.size, 'anvil reports size')
})
afterAll(() => lab.stop())

/** Fields no check covers, added with the block's own `size`: what can ride along. */
const EXTRAS: Obj = {
  totalDifficulty: '0xffffffffffff',
  // ethers v6 reads `prevRandao` before `mixHash` (providers/format.js `_formatBlock`).
  prevRandao: `0x${'66'.repeat(32)}`,
  author: `0x${'ba'.repeat(20)}`,
}
/** What the liar changes in every block it serves: the extras and a `size` 1 byte long. */
const LIES: Obj = { ...EXTRAS, size: '0x1' }

const liar = (untrusted = false, lies: Obj = LIES): Source =>
  hostile(
    http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host', untrusted }),
    async (method, _p, answer) => {
      const real = await answer()
      return method.startsWith('eth_getBlockBy') && real && typeof real === 'object'
        ? { ...(real as Obj), ...lies }
        : real
    },
  )

async function ask(
  sources: Source[],
  request: { method: string; params: unknown[] },
  options: { prover?: ReturnType<typeof proofs>; down?: string[] } = {},
) {
  await resetLab(lab)
  const rpc = createOutlast({
    chainId: CHAIN_ID,
    timeout: 4_000,
    sources,
    ...(options.prover ? { prover: options.prover } : {}),
  })
  const provider = new OutlastProvider(rpc, { cacheTimeout: -1 })
  try {
    await rpc.connect()
    for (const name of options.down ?? []) await lab.proxy(name).setMode({ kind: 'refused' })
    const first = await rpc.requestWithMeta(request)
    const second = await rpc.requestWithMeta(request)
    const [tag, full] = request.params as [string, boolean]
    const ethers = await provider.getBlock(tag, full)
    return { first, second, ethersPrevRandao: ethers?.prevRandao }
  } finally {
    provider.destroy()
    await rpc.close()
    await resetLab(lab)
  }
}

/** The node's own answer, as outlast returns it (test/helpers.ts `asReturned`). */
const truthOf = async (params: unknown[]) =>
  asReturned(await lab.anvil.rpc<Obj>('eth_getBlockByHash', params))

const labelled = (r: { meta: { consistency: string; sources: string[] } }) =>
  `returned ${r.meta.consistency} by ${r.meta.sources.join(', ')}`

describe('block fields no hash or root covers', () => {
  it('an empty block by hash: a liar’s size is refused; the honest block comes back, then from the cache', async () => {
    const truth = await truthOf([empty.hash, false])
    const { first, second } = await ask([liar(), ...labSources(lab, ['aws', 'gcp', 'home'])], {
      method: 'eth_getBlockByHash',
      params: [empty.hash, false],
    })
    assert.deepEqual(first.result, truth, labelled(first))
    assert.deepEqual(second.result, truth, `then ${second.meta.consistency}`)
  })

  it('an empty block by hash from an untrusted source (a discovered peer), the trusted ones down: refused, never its size', async () => {
    const outcome = await ask(
      [liar(true), ...labSources(lab, ['aws', 'gcp'])],
      { method: 'eth_getBlockByHash', params: [empty.hash, false] },
      { down: ['aws', 'gcp'] },
    ).catch((error: Error) => error)
    assert.ok(outcome instanceof Error, `returned ${JSON.stringify(outcome)}`)
    assert.match(outcome.message, /eth_getBlockByHash/)
  })

  for (const untrusted of [false, true])
    it(`an empty block by hash, its size right: ${untrusted ? 'an untrusted peer’s' : 'a liar’s'} totalDifficulty, prevRandao and author are not returned; ethers shows the block’s mixHash`, async () => {
      const truth = await truthOf([empty.hash, false])
      const { first, second, ethersPrevRandao } = await ask(
        [liar(untrusted, EXTRAS), ...labSources(lab, ['aws', 'gcp'])],
        { method: 'eth_getBlockByHash', params: [empty.hash, false] },
        // An untrusted peer's block stands alone only when the trusted sources are out.
        { down: untrusted ? ['aws', 'gcp'] : [] },
      )
      assert.deepEqual(first.result, truth, labelled(first))
      assert.equal(first.meta.consistency, 'verified')
      assert.deepEqual(second.result, truth, `then ${second.meta.consistency}`)
      assert.equal(ethersPrevRandao, empty.mixHash)
    })

  it('a block with a transaction, its transactions as hashes: no size (it cannot be measured), nothing the liar added, also in the cache', async () => {
    const truth = await truthOf([busy.hash, false])
    assert.equal(truth.size, undefined)
    const { first, second, ethersPrevRandao } = await ask(
      [liar(), ...labSources(lab, ['aws', 'gcp', 'home'])],
      { method: 'eth_getBlockByHash', params: [busy.hash, false] },
    )
    assert.deepEqual(first.result, truth, labelled(first))
    assert.deepEqual(second.result, truth, `then ${second.meta.consistency}`)
    assert.equal(ethersPrevRandao, busy.mixHash)
  })

  it('with proofs(), a full block by hash: the liar’s size is refused; the honest block is proven, without the liar’s extras', async () => {
    const truth = await truthOf([busy.hash, true])
    assert.ok(truth.size, 'a full block’s size is measured')
    const { first } = await ask(
      [liar(), ...labSources(lab, ['aws', 'gcp', 'home'])],
      { method: 'eth_getBlockByHash', params: [busy.hash, true] },
      { prover: proofs() },
    )
    assert.deepEqual(first.result, truth, labelled(first))
    assert.equal(first.meta.consistency, 'proven')
  })

  it('with proofs(), a full block by hash, its size right: proven without the liar’s extras', async () => {
    const truth = await truthOf([busy.hash, true])
    const { first, ethersPrevRandao } = await ask(
      [liar(false, EXTRAS), ...labSources(lab, ['aws', 'gcp', 'home'])],
      { method: 'eth_getBlockByHash', params: [busy.hash, true] },
      { prover: proofs() },
    )
    assert.deepEqual(first.result, truth, labelled(first))
    assert.equal(ethersPrevRandao, busy.mixHash)
  })
})
