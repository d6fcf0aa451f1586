/**
 * Review of quorums wider than two domains (`quorum: { domains: 3 }`, `{ domains: 3, sources: 3 }`,
 * three or four domains, the liar's provider with two endpoints in its one domain), and of
 * `proofs()` under them: one hostile source in its own domain, fastest, every answer well-formed
 * and correctly hashed, steady or flapping (its proxy `refused` / `blackhole`), with zero, one,
 * two or every honest domain out. Real anvil, a block a second. The earlier reviews all ran the
 * default quorum of two.
 *
 * Found (each first failing, stating the correct behaviour):
 * 1. Fixed: quorum `{ domains: 3 }` over three domains (the liar and two honest ones, all up), the
 *    liar answering state honestly but reporting heads on a chain of its own (forged on the
 *    first head it saw, linked, fresh): the head had to be a block all three domains report
 *    (head.ts `want()` = `quorumAmong`), so it stayed at the last block the liar shared while the
 *    two honest domains agreed on every new one: eth_blockNumber 0 labelled `head`, and
 *    eth_getBalance at `latest` 0x0 labelled `agreed`, for 6 s with the chain at 7 and the
 *    payment mined at 2 (until the confirmed head is older than `maxHeadAge`, 60 s at least, and
 *    `overtaken`). One domain's dissent held the head back, though two domains are what confirm
 *    one (`trustQuorum`). Now (headChoice.ts `highestAgreed`) where the quorum is more than a
 *    confirmation, a block a confirmation's domains report stands at a height the quorum's
 *    domains reached: a domain reporting another hash there is not waited for; one behind (no
 *    hash there yet) still is. Reads pinned there leave the forked liar out: the two honest
 *    domains' answer, the chain's, `degraded` (three domains cannot agree). For quorums of one or
 *    two domains the rule is the old one (only the order of a tie between two hashes at one
 *    height, each backed by the quorum, changed: the first seen, not the first to reach it;
 *    either was arbitrary). Unit test: src/core/headChoice.test.ts.
 * 2. Fixed: `onQuorumLoss: 'fail'`, every honest domain out, the liar forging on the agreed
 *    head: eth_blockNumber returned the liar's lone height labelled `degraded` (28 times in 3 s)
 *    where the caller asked for an error once one domain is left (README: "answer from it and flag
 *    it, or throw QuorumLostError"); state reads and blocks already failed. Now a height no second
 *    domain confirms is a QuorumLostError under 'fail' (handlers/blockNumber.ts; a head
 *    `overtaken` too). Unit test: src/core/handlers/blockNumber.test.ts.
 * 3. Fixed: `proofs()`, quorum `{ domains: 3 }`, the liar and two honest domains up
 *    (a third out), a balance read at a height below the 128 heads the tracker keeps: the trust
 *    store walks down from the head's trusted header, asking 16 heights at once by number
 *    (trust.ts `#headersAt`, agreedChain.ts `headerAt`: the first answer that hashes to the hash
 *    it claims). The liar, fastest, answers each with a correctly hashed header of another block
 *    (not on the chain, so the walk cannot use it) and `null` by hash: the walk falls back to
 *    one fetch by parent hash at a time (its `null` first, then an honest answer), 150 in a row,
 *    past half the deadline (`prove` gives the walk that): no trusted header, the read goes to
 *    quorum, where the liar's balance splits the three domains: a QuorumError (two reads of three
 *    here; the third found the ancestors the first walks had trusted), with two honest domains up
 *    that could have proven it (with three up: `agreed`, not `proven`).
 *    Its forged headers are no lie anyone records (they hash right), so it is never cut off.
 *    The same read with the liar forging only its proofs is proven. Now where the first answers
 *    by height do not link, the rest of the way is asked again by height as two domains agree on
 *    each (trust.ts `#walkTo`, agreedChain.ts `headerAt(…, agreed)`), then walked: one more round
 *    of 16 at once, not 150 in a row. Unit tests: src/core/trust.test.ts.
 *
 * Held (tried in a test here, or reasoned from the code):
 * - Quorum 3 over three domains, over four, with sources 3, and with the liar's two endpoints in
 *   one domain (they count as one domain; as `sources` they count as two, so a `quorum.sources`
 *   above the honest sources' count needs the liar, by configuration), each with 0, 1, 2 or every
 *   honest domain out, `degrade` and `fail`: the liar's balance never `agreed`; `agreed` only with
 *   three domains, two of them honest at least; fewer honest domains up than the quorum needs is
 *   a split (QuorumError: a quorum of three among three live domains needs all three, a denial the
 *   configuration chooses); the liar alone: `degraded`, or QuorumLostError under 'fail'.
 * - `Need.uncounted` at three: the liar flapping around the breaker's cool-off and presumed lost
 *   (left out, then first to answer after a 30 ms hedge), with none or one honest domain out: its
 *   balance never came back; `agreed` only with three domains. A domain left out that answers
 *   raises the need to min(full, counted + back): the liar cannot lower it, only split it.
 * - A head is confirmed by `min(2, quorum)` domains: at three, the liar and one honest domain may
 *   confirm one, but only at the honest domain's hash (the chain's); reads pinned there still
 *   need three domains; the trust store's anchors are those confirmed heads or walks down from
 *   them by parent hash, so the liar never makes a header trusted alone.
 * - `proofs()`, the liar proving another block's state (a whole, correctly hashed proof under
 *   another root) and lying about balances, steady, flapping, and with only one honest domain up:
 *   every balance and eth_getProof `proven` and the chain's (at the block the answer names), the
 *   latest block real; only the liar called a liar (but, rarely and under load, an honest anvil
 *   whose proof at the head missed the root: anvil's race, see prove.ts; once at most). Alone (every honest domain out) and forging
 *   heads on the agreed head: nothing proven, nothing of its own returned: its proofs fail, it is
 *   cut off (`lieCooloff`), reads fail. It cannot get an honest source marked lying: a proof is
 *   checked against a trusted root it cannot move, and its headers by hash are checked by hash.
 * - Not tried: WebSocket pushes, fee medians and sends under quorum 3, `outlast/execute`.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import {
  createOutlast,
  http,
  type Outlast,
  type OutlastOptions,
  type Source,
} from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { CHAIN_ID, resetLab, sleep, threeDomains } from '../helpers.ts'
import { devAccounts, type FaultMode, type Lab, startLab } from '../lab/index.ts'
import { forgeHeader, hostile } from './hostile.ts'
import { flap, forgedChain, honestOf, MARK } from './proxiedLiar.ts'

type Header = Record<string, unknown> & { number: string; hash: string; parentHash: string }
type Hex = `0x${string}`

let lab: Lab
beforeAll(async () => {
  // A block a second; the liar's two endpoints (one provider, one domain) add no latency.
  lab = await startLab({
    sources: [
      ...threeDomains,
      { name: 'liar', domain: 'liar-host' },
      { name: 'liar2', domain: 'liar-host' },
    ],
  })
}, 30_000)
afterAll(() => lab.stop())

const hex = (n: number) => `0x${n.toString(16)}`
const chainHead = async () => Number(await lab.anvil.rpc<string>('eth_blockNumber'))
const ADDRESS = devAccounts[2]!.address

const honest = (names: readonly string[], timeout = 1_000) => honestOf(lab, names, timeout)

/**
 * A liar over its lab proxy `name` (so `refused` and `blackhole` reach it), in domain
 * `liar-host`: its balances are `MARK`; with `forge`, its `latest` is the tip of a chain it forges
 * on the real head it first saw, `forge` blocks a second (correctly hashed, linked, fresh), served
 * by number and hash; with `proofAt`, its `eth_getProof` is a real proof at another block (whole,
 * correctly hashed, under that block's state root).
 */
function liar(
  o: {
    name?: string
    forge?: number
    proofAt?: () => string | undefined
    balances?: false
    /** Forges only once `start()` is called. */
    later?: true
  } = {},
) {
  let forging = !o.later
  const name = o.name ?? 'liar'
  const inner = http(lab.proxy(name).url, {
    name,
    domain: 'liar-host',
    fetchFn: lab.proxy(name).fetch,
    timeout: 1_000,
  })
  const { extend, byHash, byNumber, tip } = forgedChain(o.forge ?? 0)
  const source: Source = hostile(inner, async (method, params, answer) => {
    if (method === 'eth_getProof' && o.proofAt?.()) {
      const [address, keys] = params
      return inner.request(
        { method, params: [address, keys, { blockHash: o.proofAt() }] },
        { signal: AbortSignal.timeout(1_000) },
      )
    }
    const real = await answer()
    if (method === 'eth_getBalance' && o.balances !== false) return MARK
    if (o.forge && forging) {
      if (method === 'eth_blockNumber') return tip()?.number ?? real
      if (method === 'eth_getBlockByHash')
        return byHash.get(String(params[0]).toLowerCase()) ?? real
      if (method === 'eth_getBlockByNumber')
        return params[0] === 'latest'
          ? extend(real as Header)
          : (byNumber.get(String(params[0])) ?? real)
    }
    return real
  })
  return {
    source,
    forged: byHash,
    start() {
      forging = true
    },
  }
}

async function warm(rpc: Outlast) {
  for (let i = 0; i < 5; i++) {
    await rpc.request({ method: 'eth_blockNumber' }).catch(() => {})
    await sleep(100)
  }
}

type Outcome = { key: string; domains: string[]; consistency?: string }

/** Reads the balance at `blockHash` `n` times; each outcome keyed `value/label`. */
async function balances(rpc: Outlast, blockHash: string, real: string, n: number, gap = 30) {
  const out: Outcome[] = []
  for (let i = 0; i < n; i++) {
    const r = await rpc
      .requestWithMeta({ method: 'eth_getBalance', params: [ADDRESS, { blockHash }] })
      .catch((e: Error) => e)
    if (r instanceof Error) out.push({ key: `error:${r.name}`, domains: [] })
    else
      out.push({
        key: `${r.result === MARK ? 'LIE' : r.result === real ? 'real' : String(r.result)}/${r.meta.consistency}`,
        domains: [...(r.meta.domains ?? [])],
        consistency: r.meta.consistency,
      })
    await sleep(gap)
  }
  return out
}

const summary = (outs: readonly Outcome[]) => {
  const m = new Map<string, number>()
  for (const o of outs) m.set(o.key, (m.get(o.key) ?? 0) + 1)
  return [...m].map(([k, n]) => `${k}×${n}`).join(' ')
}

/** Every answer labelled `agreed` or `verified` is the chain's, backed by `min` honest domains. */
function checkLabels(outs: readonly Outcome[], min: number, where: string) {
  const s = `${where}: ${summary(outs)}`
  for (const o of outs) {
    if (o.key.startsWith('LIE')) assert.equal(o.consistency, 'degraded', s)
    if (o.consistency === 'agreed') {
      assert.ok(o.key.startsWith('real/'), s)
      const honestDomains = o.domains.filter((d) => d !== 'liar-host')
      assert.ok(
        honestDomains.length >= min,
        `${s}: agreed by ${o.domains.join(', ')} (${honestDomains.length} honest)`,
      )
    }
  }
}

const ALL = ['aws', 'gcp', 'home'] as const
type Setup = {
  label: string
  honest: readonly string[]
  liars: number
  quorum: OutlastOptions['quorum']
  fail?: true
}
const SETUPS: Setup[] = [
  { label: 'liar + 2 honest, domains 3', honest: ['aws', 'gcp'], liars: 1, quorum: { domains: 3 } },
  {
    label: 'liar + 3 honest, domains 3',
    honest: ALL,
    liars: 1,
    quorum: { domains: 3 },
    fail: true,
  },
  {
    label: 'liar with two endpoints + 2 honest, domains 3 sources 3',
    honest: ['aws', 'gcp'],
    liars: 2,
    quorum: { domains: 3, sources: 3 },
  },
  {
    label: 'liar with two endpoints + 3 honest, domains 3 sources 3',
    honest: ALL,
    liars: 2,
    quorum: { domains: 3, sources: 3 },
  },
]

describe('a. quorum of three domains: the liar’s balance, honest domains out one by one', () => {
  for (const setup of SETUPS)
    for (const onQuorumLoss of setup.fail ? (['degrade', 'fail'] as const) : (['degrade'] as const))
      it(`${setup.label}, onQuorumLoss ${onQuorumLoss}`, async () => {
        await resetLab(lab)
        const block = await lab.anvil.rpc<Header>('eth_getBlockByNumber', ['latest', false])
        const real = await lab.anvil.rpc<string>('eth_getBalance', [ADDRESS, block.hash])
        const liars = [liar().source, ...(setup.liars > 1 ? [liar({ name: 'liar2' }).source] : [])]
        const rpc = createOutlast({
          chainId: CHAIN_ID,
          pollingInterval: 200,
          quorum: setup.quorum,
          onQuorumLoss,
          sources: [...liars, ...honest(setup.honest)],
        })
        const all: Outcome[] = []
        try {
          await warm(rpc)
          // Zero, then one, then two... honest domains out (refused), the liar up throughout.
          for (let out = 0; out <= setup.honest.length; out++) {
            for (const name of setup.honest.slice(0, out))
              await lab.proxy(name).setMode({ kind: 'refused' })
            await sleep(out === 0 ? 0 : 300)
            const outs = await balances(rpc, block.hash, real, 5)
            const up = setup.honest.length - out
            const where = `${setup.label}, ${onQuorumLoss}, ${out} honest out`
            // An agreed answer needs three domains: at most one of them the liar's.
            checkLabels(outs, 2, where)
            if (process.env.SHOW) console.log(`${where}: ${summary(outs)}`)
            if (up === 0 && onQuorumLoss === 'fail')
              assert.ok(
                outs.every((o) => o.key.startsWith('error')),
                `${where}: ${summary(outs)}`,
              )
            // With three honest domains up the quorum stands without the liar.
            if (up >= 3)
              assert.ok(
                outs.some((o) => o.key === 'real/agreed'),
                `${where}: ${summary(outs)}`,
              )
            all.push(...outs)
          }
        } finally {
          await rpc.close()
          await resetLab(lab)
        }
      }, 30_000)
})

describe('a. head: a quorum of three domains, the liar on a chain of its own', () => {
  it('the head follows the chain that two honest domains agree on', async () => {
    await resetLab(lab)
    const who: Hex = `0x${'5a'.repeat(20)}`
    // The liar answers state honestly: only its heads are its own.
    const l = liar({ forge: 1, balances: false })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 200,
      quorum: { domains: 3 },
      sources: [l.source, ...honest(['aws', 'gcp'])],
    })
    const seen: string[] = []
    try {
      await warm(rpc)
      await lab.anvil.rpc('eth_sendTransaction', [
        { from: devAccounts[3]!.address, to: who, value: '0x1234' },
      ])
      const end = Date.now() + 5_000
      let paid = 0
      while (Date.now() < end) {
        const n = await rpc.requestWithMeta({ method: 'eth_blockNumber' }).catch((e: Error) => e)
        const b = await rpc
          .requestWithMeta({ method: 'eth_getBalance', params: [who, 'latest'] })
          .catch((e: Error) => e)
        const chain = await chainHead()
        const onChain = await lab.anvil.rpc<string>('eth_getBalance', [who, 'latest'])
        if (onChain !== '0x0') paid++
        seen.push(
          `chain ${chain} paid ${onChain}: ${n instanceof Error ? n.name : `${Number(n.result)}/${n.meta.consistency}`} ${b instanceof Error ? b.name : `${b.result}/${b.meta.consistency}`}`,
        )
        await sleep(250)
      }
      if (process.env.SHOW) console.log(seen.join('\n'))
      assert.ok(paid > 4, 'the transfer was mined early')
      // Over the last two seconds: every height labelled `head` within two blocks of the chain,
      // no `agreed` balance that is not the chain's (the transfer mined seconds ago), and the
      // last balance read the paid one, whatever its label.
      const last = seen.slice(-8)
      const text = seen.join('\n')
      assert.ok(
        last.some((l) => / \d+\/head /.test(l)),
        text,
      )
      for (const line of last) {
        const [, chain, onChain, n, label, value, consistency] =
          /^chain (\d+) paid (\S+): (\d+|\w+)\/?(\w*) (\S+?)\/?(\w*)$/.exec(line) ?? []
        if (label === 'head') assert.ok(Number(n) >= Number(chain) - 2, text)
        if (consistency === 'agreed') assert.equal(value, onChain, text)
      }
      assert.ok(last.at(-1)!.endsWith(' 0x1234/degraded'), text)
    } finally {
      await rpc.close()
      await resetLab(lab)
    }
  }, 30_000)
})

/** Flapping timed against the breaker's 1 s cool-off, presumed lost (1 s) and the polls. */
const SCHEDULES: [FaultMode['kind'], number][][] = [
  [
    ['refused', 1_100],
    ['ok', 400],
  ],
  [
    ['blackhole', 1_300],
    ['ok', 700],
  ],
]

describe('a. quorum of three, the liar flapping (out just long enough not to count, then first)', () => {
  for (const [label, names, out, schedule] of [
    ['liar + 3 honest, one out', ALL, ['home'], 0],
    ['liar + 2 honest, none out', ['aws', 'gcp'], [], 1],
  ] as const)
    it(`${label}: its balance never comes back, an agreed one has three domains`, async () => {
      await resetLab(lab)
      for (const name of out) await lab.proxy(name).setMode({ kind: 'refused' })
      const block = await lab.anvil.rpc<Header>('eth_getBlockByNumber', ['latest', false])
      const real = await lab.anvil.rpc<string>('eth_getBalance', [ADDRESS, block.hash])
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        pollingInterval: 200,
        quorum: { domains: 3 },
        // A wallet that hedges early: an honest node 40 ms away is "late" after 30 ms.
        hedge: { min: 10, max: 30, initial: 30 },
        sources: [liar().source, ...honest(names)],
      })
      const outs: Outcome[] = []
      try {
        await warm(rpc)
        const stop = flap(lab, SCHEDULES[schedule]!)
        const end = Date.now() + 3_500
        while (Date.now() < end) outs.push(...(await balances(rpc, block.hash, real, 1, 40)))
        await stop()
        if (process.env.SHOW) console.log(`${label}: ${summary(outs)}`)
        assert.ok(!outs.some((o) => o.key.startsWith('LIE')), summary(outs))
        checkLabels(outs, 2, label)
        for (const o of outs)
          if (o.consistency === 'agreed') assert.ok(o.domains.length >= 3, summary(outs))
        // The honest domains up answer at times (the liar out, or every domain agreeing).
        assert.ok(
          outs.some((o) => o.key.startsWith('real')),
          summary(outs),
        )
      } finally {
        await rpc.close()
        await resetLab(lab)
      }
    }, 30_000)
})

/** A fresh account paid after `older`: a real proof at `older` says it holds nothing. */
async function paidAccount() {
  const who: Hex = `0x${Math.floor(Math.random() * 2 ** 32)
    .toString(16)
    .padStart(8, '0')
    .repeat(5)}`
  const older = await lab.anvil.rpc<Header>('eth_getBlockByNumber', ['latest', false])
  await lab.anvil.rpc('eth_sendTransaction', [
    { from: devAccounts[1]!.address, to: who, value: '0x4321' },
  ])
  for (let i = 0; i < 40; i++) {
    if ((await lab.anvil.rpc<string>('eth_getBalance', [who, 'latest'])) !== '0x0') break
    await sleep(100)
  }
  return { who, older: older.hash }
}

describe('b. proofs() with a quorum of three: the liar proving another block’s state', () => {
  type Seen = { what: string; bad?: string }
  /** A balance, a proof and the latest block read once; `bad` when a checked label is wrong. */
  async function readAll(rpc: Outlast, who: Hex, forged: ReadonlyMap<string, Header>) {
    const out: Seen[] = []
    const balance = await rpc
      .requestWithMeta({ method: 'eth_getBalance', params: [who, 'latest'] })
      .catch((e: Error) => e)
    if (balance instanceof Error) out.push({ what: `balance ${balance.name}` })
    else {
      const at = balance.meta.block?.hash
      const truth =
        at &&
        (await lab.anvil
          .rpc<string>('eth_getBalance', [who, { blockHash: at }])
          .catch(() => `no such block ${at}`))
      const what = `balance ${balance.result === MARK ? 'LIE' : balance.result}/${balance.meta.consistency}`
      const checked = ['proven', 'verified', 'agreed'].includes(balance.meta.consistency)
      out.push({
        what,
        ...(checked && balance.result !== truth ? { bad: `${what}, chain ${truth} at ${at}` } : {}),
      })
    }
    const proof = await rpc
      .requestWithMeta({ method: 'eth_getProof', params: [who, [], 'latest'] })
      .catch((e: Error) => e)
    if (proof instanceof Error) out.push({ what: `proof ${proof.name}` })
    else {
      const at = proof.meta.block?.hash
      const truth = at
        ? await lab.anvil
            .rpc<{ balance: string }>('eth_getProof', [who, [], { blockHash: at }])
            .catch(() => ({ balance: `no such block ${at}` }))
        : undefined
      const got = (proof.result as { balance: string }).balance
      const what = `proof ${got}/${proof.meta.consistency}`
      out.push({
        what,
        ...(proof.meta.consistency === 'proven' && got !== truth?.balance
          ? { bad: `${what}, chain ${truth?.balance} at ${at}` }
          : {}),
      })
    }
    const block = await rpc
      .requestWithMeta({ method: 'eth_getBlockByNumber', params: ['latest', false] })
      .catch((e: Error) => e)
    if (block instanceof Error) out.push({ what: `block ${block.name}` })
    else {
      const hash = String((block.result as Header).hash).toLowerCase()
      const what = `block ${forged.has(hash) ? 'FORGED' : 'real'}/${block.meta.consistency}`
      out.push({
        what,
        ...(forged.has(hash) && block.meta.consistency !== 'degraded' ? { bad: what } : {}),
      })
    }
    return out
  }

  const tally = (seen: readonly Seen[]) => {
    const m = new Map<string, number>()
    for (const s of seen) m.set(s.what, (m.get(s.what) ?? 0) + 1)
    return [...m].map(([k, n]) => `${k}×${n}`).join(' ')
  }

  it('honest domains up (then only one), the liar steady or flapping: every read proven and the chain’s, no honest source called a liar', async () => {
    await resetLab(lab)
    const { who, older } = await paidAccount()
    const l = liar({ proofAt: () => older })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 200,
      quorum: { domains: 3 },
      lieCooloff: 1_500,
      prover: proofs(),
      sources: [l.source, ...honest(ALL)],
    })
    const lies: string[] = []
    const why: string[] = []
    rpc.on('lie', (e) => {
      lies.push(e.source)
      if (e.source !== 'liar') why.push(`${e.source}: ${e.reason}`)
    })
    const seen: Seen[] = []
    try {
      await warm(rpc)
      // Steady, flapping, then steady with two honest domains out (one left up).
      const phases = [[['ok', 1_500]], SCHEDULES[0]!, [['ok', 1_500]]] as const
      for (const [i, schedule] of phases.entries()) {
        if (i === phases.length - 1)
          for (const name of ['gcp', 'home']) await lab.proxy(name).setMode({ kind: 'refused' })
        const stop = flap(lab, schedule as [FaultMode['kind'], number][])
        const end = Date.now() + 1_600
        while (Date.now() < end) seen.push(...(await readAll(rpc, who, l.forged)))
        await stop()
      }
      const text = `${tally(seen)}; lies: ${lies.join(', ')} (${why.join('; ')})`
      if (process.env.SHOW) console.log(text)
      assert.deepEqual(
        seen.flatMap((s) => s.bad ?? []),
        [],
        text,
      )
      // No honest source called a liar, but for anvil's own race, rarely (under load): it reads
      // its head block's state live while mining the next, so an honest proof at the head can
      // miss the root (prove.ts; real nodes serve a block's state as it was). Once at most, and
      // every read below still proven and the chain's: a wrong trusted root would fail them all.
      const race = /is not a Merkle proof for this key under the trusted root/
      assert.deepEqual(
        why.filter((w) => !race.test(w)),
        [],
        text,
      )
      assert.ok(why.length <= 1, text)
      // An honest domain up: every balance and proof proven (the liar's proof fails over).
      assert.ok(
        seen.every((s) => !/^(balance|proof) /.test(s.what) || s.what.endsWith('/proven')),
        text,
      )
      assert.ok(
        seen.some((s) => s.what === 'balance 0x4321/proven'),
        text,
      )
    } finally {
      await rpc.close()
      await resetLab(lab)
    }
  }, 30_000)

  it('every honest domain out, the liar alone and forging heads: nothing proven or agreed that is not the chain’s', async () => {
    await resetLab(lab)
    const { who, older } = await paidAccount()
    const l = liar({ forge: 1, proofAt: () => older, later: true })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 200,
      quorum: { domains: 3 },
      // Cut off for a moment only: it is asked again and again, alone.
      lieCooloff: 200,
      prover: proofs(),
      sources: [l.source, ...honest(ALL)],
    })
    const seen: Seen[] = []
    try {
      await warm(rpc)
      for (const name of ALL) await lab.proxy(name).setMode({ kind: 'refused' })
      // Its chain forged on the agreed head: a lone head that stands in, degraded.
      l.start()
      const end = Date.now() + 2_000
      while (Date.now() < end) {
        seen.push(...(await readAll(rpc, who, l.forged)))
        await sleep(60)
      }
      const text = tally(seen)
      if (process.env.SHOW) console.log(text)
      assert.deepEqual(
        seen.flatMap((s) => s.bad ?? []),
        [],
        text,
      )
      assert.ok(!seen.some((s) => s.what.includes('LIE/') && !s.what.endsWith('/degraded')), text)
    } finally {
      await rpc.close()
      await resetLab(lab)
    }
  }, 30_000)
})

describe('a. onQuorumLoss fail: the liar the one domain left', () => {
  it('Fixed: with every honest domain out, no answer of the liar’s comes back (degraded or not): QuorumLostError', async () => {
    await resetLab(lab)
    const l = liar({ forge: 1, later: true })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 200,
      quorum: { domains: 3 },
      onQuorumLoss: 'fail',
      sources: [l.source, ...honest(['aws', 'gcp'])],
    })
    const seen = new Map<string, number>()
    const count = (k: string) => seen.set(k, (seen.get(k) ?? 0) + 1)
    try {
      await warm(rpc)
      for (const name of ['aws', 'gcp']) await lab.proxy(name).setMode({ kind: 'refused' })
      l.start()
      const end = Date.now() + 2_000
      while (Date.now() < end) {
        for (const [method, params] of [
          ['eth_blockNumber', []],
          ['eth_getBlockByNumber', ['latest', false]],
          ['eth_getBalance', [ADDRESS, 'latest']],
        ] as const) {
          const r = await rpc
            .requestWithMeta({ method, params: [...params] })
            .catch((e: Error) => e)
          if (r instanceof Error) count(`${method} ${r.name}`)
          else {
            const hash = String((r.result as Header | null)?.hash ?? '').toLowerCase()
            const lie =
              r.result === MARK ||
              l.forged.has(hash) ||
              (method === 'eth_blockNumber' && Number(r.result) > (await chainHead()))
            count(`${method} ${lie ? 'LIE' : 'real'}/${r.meta.consistency}`)
          }
        }
        await sleep(100)
      }
      const text = [...seen].map(([k, n]) => `${k}×${n}`).join('; ')
      if (process.env.SHOW) console.log(text)
      // Errors, or what the honest domains confirmed before they went (the head, its block).
      assert.ok(
        [...seen.keys()].every((k) => k.endsWith('Error') || /real\/(head|verified)$/.test(k)),
        text,
      )
    } finally {
      await rpc.close()
      await resetLab(lab)
    }
  }, 30_000)
})

describe('b. proofs() with a quorum of three: reads below the kept heads (last: it mines 150 blocks)', () => {
  /**
   * The liar (fastest): its proofs are real ones at another block, its balances `MARK`; with
   * `forge`, each header it is asked for by number is forged (correctly hashed, another block at
   * that height) and each asked for by hash denied (`null`).
   */
  const walker = (older: string, forge: boolean): Source => {
    const inner = http(lab.proxy('liar').url, {
      name: 'liar',
      domain: 'liar-host',
      fetchFn: lab.proxy('liar').fetch,
      timeout: 1_000,
    })
    return hostile(inner, async (method, params, answer) => {
      if (method === 'eth_getProof') {
        const [address, keys] = params
        return inner.request(
          { method, params: [address, keys, { blockHash: older }] },
          { signal: AbortSignal.timeout(1_000) },
        )
      }
      const real = await answer()
      if (forge && method === 'eth_getBlockByNumber' && params[0] !== 'latest' && real)
        return forgeHeader(real as Record<string, unknown>, Number(params[0]), 7)
      if (forge && method === 'eth_getBlockByHash') return null
      if (method === 'eth_getBalance') return MARK
      return real
    })
  }

  /**
   * Three balance reads at heights 150 or more below the head, `home` out (the quorum of three
   * needs the liar); each `height: value/label`.
   */
  async function readBelow(forge: boolean, home: FaultMode = { kind: 'refused' }) {
    await resetLab(lab)
    await lab.proxy('home').setMode(home)
    const { who, older } = await paidAccount()
    await sleep(1_200)
    const paidAt = await chainHead()
    // 150 blocks at once (one timestamp): the heights read are below the 128 the head keeps.
    await lab.anvil.rpc('anvil_mine', ['0x96', '0x0'])
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 200,
      quorum: { domains: 3 },
      prover: proofs(),
      // A header walk may take half of it (prove.ts): 8 s for 150 headers, room on a loaded CI
      // machine (at 4 s, 2 s for the walk, the first read fell back to quorum there).
      timeout: 16_000,
      sources: [walker(older, forge), ...honest(ALL)],
    })
    const lies: string[] = []
    rpc.on('lie', (e) => lies.push(e.source))
    const seen: string[] = []
    try {
      await warm(rpc)
      for (const n of [paidAt, paidAt + 5, paidAt + 1]) {
        const r = await rpc
          .requestWithMeta({ method: 'eth_getBalance', params: [who, hex(n)] })
          .catch((e: Error) => e)
        const truth = await lab.anvil.rpc<string>('eth_getBalance', [who, hex(n)])
        if (r instanceof Error) seen.push(`${n}: ${r.name}`)
        else
          seen.push(
            `${n}: ${r.result === truth ? 'real' : r.result === MARK ? 'LIE' : r.result}/${r.meta.consistency}`,
          )
      }
    } finally {
      await rpc.close()
      await resetLab(lab)
    }
    const text = `${seen.join('; ')}; lies: ${lies.join(', ')}`
    if (process.env.SHOW) console.log(text)
    assert.ok(!seen.some((x) => x.includes('LIE')), text)
    assert.deepEqual(
      lies.filter((x) => x !== 'liar'),
      [],
      text,
    )
    return { seen, text }
  }

  it('the liar’s proofs only: proven, the chain’s (the header walk asks 16 heights at once)', async () => {
    const { seen, text } = await readBelow(false)
    assert.ok(
      seen.every((x) => x.endsWith(': real/proven')),
      text,
    )
  }, 30_000)

  it('Fixed: the liar forging the headers on the way down and denying them by hash: still proven, the chain’s (was a QuorumError)', async () => {
    const { seen, text } = await readBelow(true)
    assert.ok(
      seen.every((x) => x.endsWith(': real/proven')),
      text,
    )
  }, 30_000)

  it('the same with the third domain blackholed, not refused: the heights asked again, agreed, do not wait on it', async () => {
    const { seen, text } = await readBelow(true, { kind: 'blackhole' })
    assert.ok(
      seen.every((x) => x.endsWith(': real/proven')),
      text,
    )
  }, 30_000)
})
