/**
 * outlast/light's figures against the budgets of its issue:
 *
 * - Node: one period update's CPU time (main thread), median and p90 over the 46 consecutive
 *   Deneb mainnet updates (1347–1392), with the pure-JS verifier (noble) and with
 *   `@chainsafe/blst`; the bootstrap (SSZ decode + verify); a 14-day catch-up (bootstrap and 13
 *   period updates, decoded from the Beacon-API SSZ bytes and verified) in CPU time.
 * - Headless Chromium: the cold path (dial an `outlast relay --beacon` over /ws, bootstrap, sync
 *   the Capella capture's 6 periods, verify the first gossiped finality update: the same run as
 *   test/browser/light.browser.test.ts, a fresh browser and relay each time), then in the same
 *   page the 46 Deneb updates verified with noble, per update.
 *
 * Each Node pass and each page pass starts from freshly decoded objects and a fresh verifier (no
 * decoded key carried over); the first pass warms the JIT and is not counted.
 *
 * Usage: node bench/light.ts [--runs 5] [--cold 3] [--no-browser] [--json]
 *        (`npm run bench` runs it in a child process)
 */
import { cpus } from 'node:os'
import {
  type BlsVerifier,
  blstVerifier,
  computeForkDigest,
  createLightClientCore,
  decodeBootstrap,
  decodeUpdatesResponse,
  encodeUpdatesResponse,
  epochAtSlot,
  mainnet,
  nobleVerifier,
} from '../src/light/index.ts'
import { findChromium, openBrowserPage } from '../test/browser/harness.ts'
import type { SyncResult } from '../test/browser/light.page.ts'
import type { VerifyOptions, VerifyResult } from '../test/browser/lightBench.page.ts'
import { CAPELLA, coldSync, startLightRelay } from '../test/browser/lightRelay.ts'
import { DENEB_CHECKPOINT } from '../test/light/captures.ts'
import { fixtureBytes } from '../test/light/fixtures.ts'
import { percentile } from './stats.ts'

const BOOTSTRAP = 'colibri-deneb/bootstrap_0x2e522016a5ac7d8d.ssz'
const UPDATES = 'colibri-deneb/updates_period_1347_count_46.ssz'
const DENEB_BLOCK = 22186786
/** 14 days of 27.3-hour periods. */
const CATCH_UP_PERIODS = 13

/** The budgets, ms. */
export const LIGHT_BUDGETS = {
  nodeNoble: 80,
  nodeBlst: 10,
  bootstrap: 25,
  catchUp: 1_000,
  chromiumUpdate: 40,
  chromiumCold: 1_500,
} as const

type Spread = { median: number; p90: number; samples: number }
export type LightResult = {
  runs: number
  cpus: string
  node: {
    update: { noble: Spread; blst: Spread | undefined }
    bootstrap: Spread
    catchUp: { noble: Spread; blst: Spread | undefined }
  }
  chromium:
    | {
        update: Spread
        bootstrap: Spread
        /** Each cold run's timings; `finalityMs` is the whole path. */
        cold: SyncResult[]
        userAgent: string
      }
    | { skipped: string }
}

const argv = process.argv.slice(2)
const arg = (name: string, fallbackValue: number) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? Number(argv[i + 1]) : fallbackValue
}
const spread = (xs: readonly number[]): Spread => ({
  median: percentile(xs, 50),
  p90: percentile(xs, 90),
  samples: xs.length,
})
/** Main-thread CPU ms since `from` (a `process.threadCpuUsage()`). */
const cpuMs = (from: NodeJS.CpuUsage) => {
  const d = process.threadCpuUsage(from)
  return (d.user + d.system) / 1_000
}

/** Per-update CPU ms over every pass but the first, and the finalized block each pass reached. */
async function nodeUpdates(
  makeVerifier: () => BlsVerifier | Promise<BlsVerifier>,
  runs: number,
): Promise<Spread> {
  const bootstrapBytes = fixtureBytes(BOOTSTRAP)
  const updateBytes = fixtureBytes(UPDATES)
  const times: number[] = []
  for (let run = 0; run <= runs; run++) {
    const updates = decodeUpdatesResponse(updateBytes, mainnet)
    const now = Math.max(...updates.map((u) => u.signatureSlot))
    const lc = createLightClientCore({
      config: mainnet,
      checkpoint: DENEB_CHECKPOINT,
      bootstrap: decodeBootstrap(bootstrapBytes, 'deneb', mainnet),
      verifier: await makeVerifier(),
    })
    for (const u of updates) {
      const start = process.threadCpuUsage()
      lc.processUpdate(u, now)
      if (run > 0) times.push(cpuMs(start))
    }
    if (lc.finalized.execution?.blockNumber !== DENEB_BLOCK)
      throw new Error(`the Deneb updates reached ${lc.finalized.execution?.blockNumber}`)
  }
  return spread(times)
}

/** Bootstrap decode + verify, CPU ms. */
function nodeBootstrap(runs: number): Spread {
  const bytes = fixtureBytes(BOOTSTRAP)
  const times: number[] = []
  for (let run = 0; run <= runs * 4; run++) {
    const start = process.threadCpuUsage()
    createLightClientCore({
      config: mainnet,
      checkpoint: DENEB_CHECKPOINT,
      bootstrap: decodeBootstrap(bytes, 'deneb', mainnet),
      verifier: nobleVerifier(),
    })
    if (run > 0) times.push(cpuMs(start))
  }
  return spread(times)
}

/** A 14-day catch-up from the Beacon-API bytes: decode and verify the bootstrap and 13 updates, CPU ms. */
async function nodeCatchUp(
  makeVerifier: () => BlsVerifier | Promise<BlsVerifier>,
  runs: number,
): Promise<Spread> {
  const bootstrapBytes = fixtureBytes(BOOTSTRAP)
  const first = decodeUpdatesResponse(fixtureBytes(UPDATES), mainnet).slice(0, CATCH_UP_PERIODS)
  // The response a beacon node gives for `?start_period=1347&count=13`.
  const updateBytes = encodeUpdatesResponse(first, mainnet, (u) =>
    computeForkDigest(mainnet, epochAtSlot(mainnet, u.attestedHeader.beacon.slot)),
  )
  const times: number[] = []
  for (let run = 0; run <= runs; run++) {
    const verifier = await makeVerifier()
    const start = process.threadCpuUsage()
    const lc = createLightClientCore({
      config: mainnet,
      checkpoint: DENEB_CHECKPOINT,
      bootstrap: decodeBootstrap(bootstrapBytes, 'deneb', mainnet),
      verifier,
    })
    const updates = decodeUpdatesResponse(updateBytes, mainnet)
    for (const u of updates) lc.processUpdate(u, updates.at(-1)!.signatureSlot)
    if (run > 0) times.push(cpuMs(start))
    if (lc.period !== 1347 + CATCH_UP_PERIODS - 1)
      throw new Error(`the catch-up reached period ${lc.period}`)
  }
  return spread(times)
}

/** The cold path, `cold` times (a fresh browser and relay each), then the per-update figures. */
async function chromium(runs: number, cold: number): Promise<LightResult['chromium']> {
  const found = findChromium()
  if (found.path === undefined) return { skipped: found.message }
  const entry = new URL('../test/browser/lightBench.page.ts', import.meta.url)
  const colds: SyncResult[] = []
  let update: Spread | undefined
  let bootstrap: Spread | undefined
  let userAgent = ''
  for (let i = 0; i < cold; i++) {
    const [ready, opened] = await Promise.allSettled([
      startLightRelay(),
      openBrowserPage({ entry, callTimeout: 120_000 }),
    ])
    const setup = ready.status === 'fulfilled' ? ready.value : undefined
    const browser = opened.status === 'fulfilled' ? opened.value : undefined
    try {
      if (ready.status === 'rejected') throw ready.reason
      if (opened.status === 'rejected') throw opened.reason
      const r = await coldSync(browser!, setup!)
      if (r.finalized.blockNumber !== CAPELLA.finalizedBlock)
        throw new Error(`the cold path finalized ${r.finalized.blockNumber}`)
      colds.push(r)
      if (i === cold - 1) {
        userAgent = await browser!.call<string>('userAgent')
        const v = await browser!.call<VerifyResult>('verifyUpdates', {
          bootstrap: Buffer.from(fixtureBytes(BOOTSTRAP)).toString('base64'),
          bootstrapFork: 'deneb',
          updates: Buffer.from(fixtureBytes(UPDATES)).toString('base64'),
          checkpoint: DENEB_CHECKPOINT,
          runs: runs + 1,
        } satisfies VerifyOptions)
        if (v.finalizedBlock !== DENEB_BLOCK)
          throw new Error(`the Deneb updates reached ${v.finalizedBlock} in the page`)
        update = spread(v.times)
        bootstrap = spread(v.bootstraps)
      }
    } finally {
      await browser?.close()
      await setup?.stop()
    }
  }
  return { update: update!, bootstrap: bootstrap!, cold: colds, userAgent }
}

export async function lightBench(runs: number, cold: number, browser = true): Promise<LightResult> {
  // A fresh verifier each pass (its key cache is per verifier); none when blst is not installed.
  const blst = (await blstVerifier().catch(() => undefined)) && blstVerifier
  const result: LightResult = {
    runs,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    node: {
      update: {
        noble: await nodeUpdates(nobleVerifier, runs),
        blst: blst ? await nodeUpdates(blst, runs) : undefined,
      },
      bootstrap: nodeBootstrap(runs),
      catchUp: {
        noble: await nodeCatchUp(nobleVerifier, runs),
        blst: blst ? await nodeCatchUp(blst, runs) : undefined,
      },
    },
    chromium: browser ? await chromium(runs, cold) : { skipped: '--no-browser' },
  }
  return result
}

const f = (ms: number) => (ms >= 1_000 ? `${(ms / 1_000).toFixed(2)} s` : `${ms.toFixed(1)} ms`)
const within = (ms: number, budget: number) => (ms <= budget ? 'yes' : '**NO**')
const row = (measure: string, figure: string, value: number, budget: number) =>
  `| ${measure} | ${figure} | ≤ ${f(budget)} | ${within(value, budget)} |`

export function lightMarkdown(r: LightResult): string {
  const { node, chromium: c } = r
  const B = LIGHT_BUDGETS
  const mp = (s: Spread) => `${f(s.median)} (p90 ${f(s.p90)})`
  const rows = [
    '| measure | median (p90) | budget | within |',
    '| --- | ---: | ---: | :---: |',
    row(
      'one period update, Node, pure JS (noble), CPU',
      mp(node.update.noble),
      node.update.noble.median,
      B.nodeNoble,
    ),
    node.update.blst
      ? row(
          'one period update, Node, `@chainsafe/blst`, CPU',
          mp(node.update.blst),
          node.update.blst.median,
          B.nodeBlst,
        )
      : '| one period update, Node, `@chainsafe/blst` | not installed | ≤ 10 ms | — |',
    row(
      'bootstrap (SSZ decode + verify), Node, CPU',
      mp(node.bootstrap),
      node.bootstrap.median,
      B.bootstrap,
    ),
    row(
      `14-day catch-up (bootstrap + ${CATCH_UP_PERIODS} periods, decode + verify), Node, noble, CPU`,
      mp(node.catchUp.noble),
      node.catchUp.noble.median,
      B.catchUp,
    ),
    ...(node.catchUp.blst
      ? [
          row(
            `14-day catch-up, Node, blst, CPU`,
            mp(node.catchUp.blst),
            node.catchUp.blst.median,
            B.catchUp,
          ),
        ]
      : []),
  ]
  if ('skipped' in c) {
    rows.push(`| headless Chromium | skipped: ${c.skipped} | | |`)
  } else {
    const colds = c.cold.map((x) => x.finalityMs)
    const coldMedian = percentile(colds, 50)
    rows.push(
      row(
        'one period update, headless Chromium, noble (wall)',
        mp(c.update),
        c.update.median,
        B.chromiumUpdate,
      ),
      row('bootstrap, headless Chromium (wall)', mp(c.bootstrap), c.bootstrap.median, B.bootstrap),
      row(
        `cold: dial a relay, bootstrap, 6 periods, first gossiped finality, headless Chromium (${colds.length} runs)`,
        `${f(coldMedian)} (${colds.map((x) => f(x)).join(', ')})`,
        coldMedian,
        B.chromiumCold,
      ),
    )
  }
  const notes = [
    '',
    `Node: the 46 Deneb mainnet period updates (1347–1392), ${r.runs} passes after a warm-up, each from freshly decoded objects and a fresh verifier; CPU time of the main thread (\`process.threadCpuUsage\`), on ${r.cpus}. The catch-up decodes and verifies a bootstrap and ${CATCH_UP_PERIODS} updates from the Beacon-API SSZ bytes.`,
  ]
  if (!('skipped' in c)) {
    const last = c.cold.at(-1)!
    notes.push(
      `Chromium (${c.userAgent.match(/(?:Headless)?Chrome\/[\d.]+/)?.[0] ?? 'Chromium'}): wall time in the page (no CPU clock there), the same updates ${r.runs} passes after a warm-up, in the page that had just run the cold path. Cold path, a fresh browser and \`outlast relay --beacon\` each run, Capella capture: last run node ${last.nodeMs} ms, dial + bootstrap ${last.bootstrapMs} ms, 6 periods ${last.syncMs} ms, first gossiped finality ${last.finalityMs} ms (block ${last.finalized.blockNumber}).`,
    )
  }
  return [...rows, ...notes].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await lightBench(arg('runs', 5), arg('cold', 3), !argv.includes('--no-browser'))
  if (argv.includes('--json')) console.log(JSON.stringify(r))
  else console.log(lightMarkdown(r))
  process.exit(0)
}
