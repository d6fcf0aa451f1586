/**
 * Attacker's review of the head tracker's rollback rule after a546f3f (headChoice.ts `accepts`,
 * `steppedBackTo`; head.ts `#remember` (SourceState.peak, never lowered), `#accepts`,
 * `#confirmAt`/`#left`/`#standsOn`; handlers/read.ts `gone`). Real anvil (no mining but the
 * test's), each source its own domain, quorum 2; a source with other behaviour is anvil behind a
 * rewrite (behind.ts `behind`: its `latest` held at `view.frozen`, blocks above it none to it).
 * Each finding is an `it.fails('correct behaviour: …')`, checked failing as a plain `it` for the
 * hole's own reason (message quoted).
 *
 * Fixed the same stop (renamed "Fixed …"): 1 and 1b, a placed block is kept while a source that
 * is up stands on it, and while fewer than a confirmation's domains do and one that stood on it
 * left it, the domains are split over it (head.ts `contested`): reads of `latest` are a
 * QuorumError, never the state below it (rules.ts `shownAbove`), and no proof is made there
 * (prove.ts `trustedHeaderFor`). A source that is down (its last attempt failed) stands on
 * nothing: an honest rollback beside it is followed (Held below). Left (`it.fails`): 2, the
 * roles of 40b 1 swapped: the liar's head B stays the head (one domain stepped back), and reads
 * there are the liar's lone answer, now `degraded` (no proof at a contested head), not `proven`.
 *
 * Found:
 * 1. (high, wrong answer labelled agreed/proven; a regression of a546f3f) Two domains that once
 *    passed the caller's block and now report a lower head roll it away, though an honest
 *    domain still stands on it. aws honest but load-balanced (39c's endpoint: its head poll
 *    flaps to a backend a block behind: B, then A), gcp honest at B, x a liar stepping back to
 *    A (or a second honest load-balanced endpoint flapping at the same moment, just after B
 *    arrived: the same rewrite, no liar needed). The caller's ping is mined in B = A + 1, its
 *    receipt agreed (B placed). Observed 'receipt agreed, "0x1" agreed at #3, "0x1" degraded at
 *    #3, "0x1" degraded at #3, "0x0" agreed at #2, "0x0" agreed at #2, …' (for good while aws's
 *    backend lags; with `prover: proofs()` '"0x2" proven at #4, … "0x1" proven at #3, …'): the
 *    nonce before the caller's own mined transaction, agreed, then proven. 1b: aws restarted
 *    three blocks down (geth rewinds its head after an unclean shutdown; its `peak` stays),
 *    the liar steps back beside it: '"0x3" agreed at #8, … "0x2" agreed at #4, …;
 *    eth_blockNumber 8' (the full file's run): four blocks rolled back on one liar's word.
 *    `steppedBackTo` counts aws (head A, peak B) and x, so `accepts` takes A; `#left(B)` is 2
 *    (both dropped B from `hashes` when their head went down), so `#confirmAt` forgets `#placed` although gcp
 *    `#standsOn` B, the check that held 40b 1 (before a546f3f the rollback itself was refused:
 *    gcp's chain runs through A and its head is B). A `peak` is a height once reported, not
 *    proof of a rollback: a lagging backend, a restart, and a liar all "step back". Code:
 *    headChoice.ts `steppedBackTo`, head.ts `#confirmAt` (`#left(p) >= trustQuorum ||`).
 *    Fix: a step back counts only from a domain that reports a block at B's height on another
 *    chain (or A's child that is not B: it left B's chain, by hash), never from a head merely
 *    lower than its peak; and keep the placed block while a domain that counts stands on it
 *    (`#standsOn` alone, as 2e3da61), or deny reads of `latest` (neither B's nor A's) while
 *    domains split over it.
 * 2. (high with proofs: the dropped transaction's nonce `proven`; medium without, `degraded`)
 *    40e 1 stands when one honest domain never reported the dropped block. aws honest but
 *    load-balanced, its head at A while B was the head (a one-block reorg its backend never
 *    imported), gcp honest, the liar a `stayer` on B. B is confirmed by gcp and the liar, the
 *    caller's receipt agreed; the chain reverts to A; aws and gcp both report A. Observed
 *    'chain back at #8; nonce "0x4" proven at #9, … (ten reads, 2 s)', status `headConfirmed`
 *    true (without proofs '"0x4" degraded at #9' ten times): the nonce of a transaction no
 *    node has any more, proven, from the liar alone, for as long as the chain stays below B (a
 *    live chain: d slots for a d-block rollback). `steppedBackTo(A)` is 1 (aws's peak is A),
 *    so `accepts` refuses and `#settle` keeps B. The same head reports as 40b 1 with honest
 *    and lying roles swapped, so no head count tells them apart. Code: headChoice.ts
 *    `accepts`, head.ts `#settle`, handlers/prove.ts `trustedHeaderFor` (proves at a head only
 *    one domain's head stands on). Fix: a confirmed head that fewer than `trustQuorum` domains
 *    stand on while `trustQuorum` domains stand below it on its chain is neither head: reads of
 *    `latest` are denied (or `degraded` and never `proven`) until the domains agree again,
 *    rather than pinned to one domain's block.
 *
 * Held (tested below): an honest rollback with the third domain down for a second, or restarted
 * at block 0 (its head far below, its peak high): reads follow the rolled-back chain, agreed,
 * within three reads at 100 ms (the first one or two an AllSourcesFailedError, the poll before
 * the tracker sees it), a block mined at B's height is read agreed within a poll, and a fresh
 * client reads it agreed; so a546f3f does not slow an honest rollback where two domains saw B.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { http, type Source } from '../../src/index.ts'
import { sleep } from '../helpers.ts'
import type { Anvil } from '../lab/index.ts'
import { sendPing } from '../workload.ts'
import { behind } from './behind.ts'
import { hex } from './fleet.ts'
import { hostile } from './hostile.ts'
import { type Fleet, fleet, headAt, PINGER, pingLab, said, stayer, top } from './rollbacks.ts'

let anvil: Anvil, emitter: string
beforeAll(async () => {
  ;({ anvil, emitter } = await pingLab())
}, 60_000)
afterAll(() => anvil?.stop())

const count = { method: 'eth_getTransactionCount', params: [PINGER, 'latest'] }

/**
 * Three domains: `aws` honest but load-balanced (its `latest` may come from a backend behind:
 * `behind`), `gcp` honest, and `x` (a liar, or a second load-balanced honest endpoint: the
 * same rewrite). `extra` blocks are mined first (their heads seen by every domain), then the
 * caller's ping in B; its receipt is agreed (B placed). `step(a)` then moves aws and x back.
 */
async function steppedBack(extra: number, prove = false) {
  const aws = behind(anvil, 'aws', { nullByHash: true })
  const x = behind(anvil, 'x', { nullByHash: true })
  const gcp = http(anvil.url, { name: 'gcp', domain: 'gcp', timeout: 2_000 })
  const rpc = fleet([aws.source, gcp, x.source] as Source[], prove)
  await rpc.connect()
  for (let i = 0; i < extra; i++) {
    await anvil.rpc('evm_mine')
    await headAt(rpc, await top(anvil))
    await sleep(150)
  }
  const a = await top(anvil)
  const nonce = Number(await anvil.rpc<string>('eth_getTransactionCount', [PINGER, 'latest']))
  const tx = await sendPing(anvil, emitter, 5)
  await anvil.rpc('evm_mine')
  await headAt(rpc, a + 1)
  const receipt = await rpc.requestWithMeta({ method: 'eth_getTransactionReceipt', params: [tx] })
  const step = (to: number) => {
    aws.view.frozen = to
    x.view.frozen = to
  }
  return { rpc, aws, x, a, nonce, receipt, step }
}

describe('attack 1: a step back by two domains that once passed the caller’s block', () => {
  for (const prove of [false, true])
    it(`Fixed${prove ? ' (proofs)' : ''}: a flapping load-balanced node and a liar stepping back a block never give the nonce before the caller’s mined transaction`, async () => {
      const { rpc, a, nonce, receipt, step } = await steppedBack(0, prove)
      try {
        assert.equal(receipt.meta.consistency, prove ? 'proven' : 'agreed')
        const seen = [`receipt ${receipt.meta.consistency}`, await said(rpc.requestWithMeta(count))]
        step(a)
        for (let i = 0; i < 8; i++, await sleep(150))
          seen.push(await said(rpc.requestWithMeta(count)))
        assert.ok(!seen.some((s) => s.startsWith(`"${hex(nonce)}"`)), seen.join(', '))
      } finally {
        await rpc.close()
      }
    }, 20_000)
})

describe('attack 1b: a node restarted below its peak (geth rewinds on an unclean shutdown)', () => {
  it('Fixed: a restarted node three blocks down and a liar stepping back beside it do not roll back the caller’s block', async () => {
    const { rpc, a, nonce, receipt, step } = await steppedBack(3)
    try {
      const seen = [`receipt ${receipt.meta.consistency}`, await said(rpc.requestWithMeta(count))]
      step(a - 3)
      for (let i = 0; i < 8; i++, await sleep(150))
        seen.push(await said(rpc.requestWithMeta(count)))
      const n = Number(await rpc.request({ method: 'eth_blockNumber' }))
      assert.ok(
        !seen.some((s) => s.startsWith(`"${hex(nonce)}"`)),
        `${seen.join(', ')}; eth_blockNumber ${n}`,
      )
    } finally {
      await rpc.close()
    }
  }, 20_000)
})

describe('attack 2: an honest rollback beside a domain that never reported the dropped block', () => {
  for (const prove of [false, true])
    it.fails(`correct behaviour${prove ? ' (proofs)' : ''}: the liar standing on the dropped block is not the head once both honest domains stand at the rolled-back chain`, async () => {
      const aws = behind(anvil, 'aws', { nullByHash: true })
      const gcp = http(anvil.url, { name: 'gcp', domain: 'gcp', timeout: 2_000 })
      const liar = stayer(anvil, 'liar', { short: true })
      const rpc = fleet([aws.source, gcp, liar.source] as Source[], prove)
      try {
        await rpc.connect()
        const a = await top(anvil)
        await headAt(rpc, a)
        aws.view.frozen = a
        const nonce = Number(await anvil.rpc<string>('eth_getTransactionCount', [PINGER, 'latest']))
        const snapshot = await anvil.rpc<string>('evm_snapshot')
        const tx = await sendPing(anvil, emitter, 13)
        await anvil.rpc('evm_mine')
        await headAt(rpc, a + 1)
        const receipt = await said(
          rpc.requestWithMeta({ method: 'eth_getTransactionReceipt', params: [tx] }),
        )
        await liar.stay()
        await anvil.rpc('evm_revert', [snapshot])
        aws.view.frozen = undefined
        const seen: string[] = []
        for (let i = 0; i < 10; i++, await sleep(200))
          seen.push(await said(rpc.requestWithMeta(count)))
        const status = rpc.status() as { head?: { number?: number }; headConfirmed?: boolean }
        const out = `receipt ${receipt.slice(0, 30)}…; chain back at #${a}; nonce ${seen.join(', ')}; status head #${status.head?.number} confirmed ${status.headConfirmed}`
        assert.ok(!seen.slice(3).some((s) => s.startsWith(`"${hex(nonce + 1)}"`)), out)
      } finally {
        await rpc.close()
      }
    }, 20_000)
})

/** An honest node in its own domain that is down (every request refused) while `view.down`. */
function flaky(name: string) {
  const view = { down: false }
  const source = hostile(
    http(anvil.url, { name, domain: name, timeout: 2_000 }),
    async (_method, _params, answer) => {
      if (view.down) throw new Error(`${name} restarting`)
      return answer()
    },
    { name, domain: name },
  )
  return { source, view }
}

describe('honest rollbacks still followed', () => {
  /** Reads of the pinger's nonce every 100 ms until `want` (or 30 reads): each in short. */
  const until = async (rpc: Fleet, want: string) => {
    const seen: string[] = []
    for (let i = 0; i < 30 && seen.at(-1) !== want; i++, await sleep(100))
      seen.push(await said(rpc.requestWithMeta(count)))
    return seen
  }

  for (const how of ['slow', 'restarted'] as const)
    it(`Held: a rollback with the third domain ${how === 'slow' ? 'down for a second' : 'restarted at block 0'}: reads are the rolled-back chain’s, agreed, within a few polls; then a new block at B’s height`, async () => {
      const aws = http(anvil.url, { name: 'aws', domain: 'aws', timeout: 2_000 })
      const gcp = flaky('gcp')
      const home = behind(anvil, 'home', { nullByHash: true })
      const rpc = fleet([aws, gcp.source, home.source] as Source[])
      try {
        await rpc.connect()
        const a = await top(anvil)
        const nonce = Number(await anvil.rpc<string>('eth_getTransactionCount', [PINGER, 'latest']))
        const snapshot = await anvil.rpc<string>('evm_snapshot')
        const tx = await sendPing(anvil, emitter, 17)
        await anvil.rpc('evm_mine')
        await headAt(rpc, a + 1)
        await rpc.requestWithMeta({ method: 'eth_getTransactionReceipt', params: [tx] })
        if (how === 'restarted') home.view.frozen = 0
        await anvil.rpc('evm_revert', [snapshot])
        if (how === 'slow') gcp.view.down = true
        const t0 = Date.now()
        const back = await until(rpc, `"${hex(nonce)}" agreed at #${a}`)
        const ms = Date.now() - t0
        gcp.view.down = false
        home.view.frozen = undefined
        await anvil.rpc('evm_mine')
        const fresh = fleet([http(anvil.url, { name: 'x', domain: 'x' }), aws] as Source[])
        const regrown = await until(rpc, `"${hex(nonce)}" agreed at #${a + 1}`)
        const late = await said(fresh.requestWithMeta(count))
        await fresh.close()
        const out = `back (${ms} ms) ${back.join(', ')}; regrown ${regrown.join(', ')}; fresh client ${late}`
        assert.ok(back.length <= 5 && back.at(-1)!.endsWith(`agreed at #${a}`), out)
        assert.ok(regrown.length <= 5 && regrown.at(-1)!.endsWith(`agreed at #${a + 1}`), out)
        assert.ok(late.startsWith(`"${hex(nonce)}" agreed`), out)
      } finally {
        await rpc.close()
      }
    }, 20_000)
})
