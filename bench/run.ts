/**
 * `npm run bench`: outlast, viem `fallback` (default and `rank: true`), ethers `FallbackProvider`
 * and one direct provider (the floor) through the lab outages of `scenarios.ts`, side by side;
 * then the engine's own overhead (`overhead.ts`, in a child process with `--expose-gc`).
 * Writes bench/RESULTS.md and bench/p99.svg.
 *
 * Usage: npm run bench [-- --seconds 30] [--workers 4] [--pace 250] [--only blackhole,lying]
 *                      [--clients outlast,floor] [--no-overhead] [--overhead-requests 1000000] [--out DIR]
 * A run with --only or --clients writes no files unless --out DIR says where.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { resolve } from 'node:path'
import { p99Chart } from './chart.ts'
import { type ClientName, clientLabels, clientNames } from './clients.ts'
import { type FirstMomentsResult, firstMomentsMarkdown } from './firstMoments.ts'
import { type IpfsResult, ipfsMarkdown } from './ipfs.ts'
import { type LightResult, lightMarkdown } from './light.ts'
import { measure, measurePairs } from './measure.ts'
import { type OverheadResult, overheadMarkdown } from './overhead.ts'
import { type P2pResult, p2pMarkdown } from './p2p.ts'
import { type PaddingResult, paddingMarkdown } from './padding.ts'
import { type ProxyResult, proxyMarkdown } from './proxy.ts'
import { header, ratios, rowsOf, type Summary, summarize, topErrors } from './report.ts'
import { scenarios } from './scenarios.ts'
import { markdownTable, table } from './stats.ts'
import { HEAD_SLACK } from './workload.ts'

const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(`--${name}`)
const arg = (name: string, fallbackValue: number) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? Number(argv[i + 1]) : fallbackValue
}
const list = (name: string) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? new Set(argv[i + 1]!.split(',')) : undefined
}
const only = list('only')
const onlyClients = list('clients')

const WINDOW = arg('seconds', 30) * 1_000
const WORKERS = arg('workers', 4)
const PACE = arg('pace', 250)
const CAP = 30_000
const WARMUP = 6
const clients: readonly ClientName[] = clientNames.filter((c) => !onlyClients || onlyClients.has(c))
const chosen = scenarios.filter((s) => !only || only.has(s.id))
const started = Date.now()
const log = (line: string) => console.log(line)
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`

const version = (pkg: string) =>
  (
    JSON.parse(
      readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), 'utf8'),
    ) as { version: string }
  ).version
const own = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string
}
const cpuModel = (() => {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8')
    return /model name\s*:\s*(.+)/.exec(info)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown'
  } catch {
    return cpus()[0]?.model ?? 'unknown'
  }
})()
const kernel = (() => {
  try {
    return execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim()
  } catch {
    return process.platform
  }
})()
const machine = `${cpus().length} × ${cpuModel}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${kernel}`
const versions = `Node ${process.version}, outlast ${own.version}, viem ${version('viem')}, ethers ${version('ethers')}`

log(`outlast bench, ${new Date().toISOString()}`)
log(`${machine}; ${versions}`)
log(
  `${chosen.length} scenarios × ${clients.length} clients, each client on its own lab, all at once; ` +
    `${WINDOW / 1000} s per scenario, ${WORKERS} request loops per client, one request per loop every ${PACE} ms at most, ${CAP / 1000} s cap per request\n`,
)

const results: { id: string; title: string; short: string; floor: string; rows: Summary[] }[] = []
for (const [n, scenario] of chosen.entries()) {
  log(`[${n + 1}/${chosen.length}] ${scenario.title} (${elapsed()} in)`)
  const runs = await measure(
    scenario,
    clients,
    { window: WINDOW, workers: WORKERS, pace: PACE, cap: CAP, warmup: WARMUP },
    log,
  )
  const rows = runs.map(summarize)
  results.push({ ...scenario, rows })
  log(`${table([header, ...rowsOf(scenario.title, rows, scenario.floor)])}\n`)
}

// outlast's own price for a blackholed first source: the healthy and the blackholed lab side by
// side, one outlast process on each, so that both meet the same machine noise (scenarios run a
// minute apart above carry different noise, and four other clients' CPU).
const sideBySide = await (async () => {
  const pick = (id: string) => scenarios.find((x) => x.id === id)
  const healthyScenario = pick('healthy')
  const blackholeScenario = pick('blackhole')
  if (!healthyScenario || !blackholeScenario || !clients.includes('outlast')) return undefined
  if (only && !(only.has('healthy') && only.has('blackhole'))) return undefined
  log(`[side by side] outlast, all healthy and first blackholed at once (${elapsed()} in)`)
  const [h, b] = await measurePairs(
    [
      { scenario: healthyScenario, client: 'outlast' },
      { scenario: blackholeScenario, client: 'outlast' },
    ],
    { window: WINDOW, workers: WORKERS, pace: PACE, cap: CAP, warmup: WARMUP },
    log,
  )
  return { healthy: summarize(h!), blackholed: summarize(b!) }
})()
if (sideBySide)
  log(
    `side by side: outlast p99 healthy ${sideBySide.healthy.p99.toFixed(1)} ms, first blackholed ${sideBySide.blackholed.p99.toFixed(1)} ms (${(sideBySide.blackholed.p99 / sideBySide.healthy.p99).toFixed(2)}×)\n`,
  )

const allRows = [header, ...results.flatMap((r) => rowsOf(r.title, r.rows, r.floor))]
log(`\nAll scenarios (${elapsed()}):\n${table(allRows)}\n`)

const find = (id: string, client: ClientName) =>
  results.find((r) => r.id === id)?.rows.find((s) => s.client === client)
const notes: string[] = []
const healthy = find('healthy', 'outlast')
const blackholed = find('blackhole', 'outlast')
const viemBlackholed = find('blackhole', 'viem')
if (sideBySide) {
  const { healthy: h, blackholed: b } = sideBySide
  notes.push(
    `p99 blackholed / p99 healthy (outlast), both labs side by side in one run: ${b.p99.toFixed(1)} / ${h.p99.toFixed(1)} ms = ${(b.p99 / h.p99).toFixed(2)} (target <= 1.5); ${b.right}/${b.requests} and ${h.right}/${h.requests} right`,
  )
}
if (healthy && blackholed)
  notes.push(
    `p99 blackholed / p99 healthy (outlast) across the two scenario rows above (run a minute apart, beside four other clients) = ${(blackholed.p99 / healthy.p99).toFixed(2)}`,
  )
if (blackholed && viemBlackholed)
  notes.push(
    `viem fallback p99 / outlast p99 (blackholed) = ${(viemBlackholed.p99 / blackholed.p99).toFixed(0)}x (target >= 20)`,
  )
if (blackholed)
  notes.push(
    `calls sent to the blackholed source by outlast: ${blackholed.run.calls.first} in ${blackholed.requests} requests (its breaker keeps it out after a few)`,
  )
for (const r of results) {
  const o = r.rows.find((s) => s.client === 'outlast')
  const x = ratios(r.rows)
  if (o && o.success < 1)
    notes.push(
      `${r.title}: outlast answered ${o.right}/${o.requests} right (${o.wrong} wrong, ${o.failed} failed)`,
    )
  if (x.best && x.best.ratio > 1)
    notes.push(
      `${r.title}: outlast's p99 is ${x.best.ratio.toFixed(2)}× that of ${clientLabels[x.best.client]}`,
    )
}
const recovery = results.filter((r) => r.rows.some((s) => s.run.phases))
const recoveryLines = recovery.flatMap((r) =>
  r.rows.map((s) => {
    const p = s.run.phases!
    const per = (x: { calls: number; requests: number }) =>
      x.requests ? (x.calls / x.requests).toFixed(2) : '—'
    return [
      clientLabels[s.client],
      `${p.before.calls} (${per(p.before)}/req)`,
      `${p.after.calls} (${per(p.after)}/req)`,
    ]
  }),
)
// How outlast reached its answers, per scenario: shares of meta.consistency.
const kinds = [
  ...new Set(
    results.flatMap((r) =>
      Object.keys(r.rows.find((s) => s.client === 'outlast')?.run.consistency ?? {}),
    ),
  ),
].sort()
const consistencyRows = results.flatMap((r) => {
  const tally = r.rows.find((s) => s.client === 'outlast')?.run.consistency
  if (!tally) return []
  const total = Object.values(tally).reduce((a, b) => a + b, 0)
  return [
    [r.title, ...kinds.map((k) => `${((100 * (tally[k] ?? 0)) / (total || 1)).toFixed(1)} %`)],
  ]
})
const failureLines = results.flatMap((r) =>
  r.rows
    .filter((s) => s.failed + s.wrong > 0)
    .map((s) => `- ${r.title}, ${clientLabels[s.client]}: ${topErrors(s.run).join('; ')}`),
)
log(notes.join('\n'))
if (recoveryLines.length)
  log(`\nCalls to the recovering source (while out, after it came back):\n${table(recoveryLines)}`)
if (consistencyRows.length)
  log(`\nHow outlast reached its answers:\n${table([['scenario', ...kinds], ...consistencyRows])}`)
if (failureLines.length)
  log(`\nMost frequent failures and wrong answers:\n${failureLines.join('\n')}`)

/** Runs a bench script in a child process with `--expose-gc`; its last stdout line is JSON. */
const child = <T>(script: string, extra: string[] = []) =>
  new Promise<T>((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--expose-gc', new URL(script, import.meta.url).pathname, '--json', ...extra],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    proc.on('error', reject)
    proc.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${script} exited with ${code}`))
      resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as T)
    })
  })

let overhead: OverheadResult | undefined
if (!flag('no-overhead')) {
  log(`\nEngine overhead (${elapsed()} in): node --expose-gc bench/overhead.ts`)
  const extra = argv.includes('--overhead-requests')
    ? ['--requests', String(arg('overhead-requests', 1_000_000))]
    : []
  overhead = await child<OverheadResult>('./overhead.ts', extra)
  log(overheadMarkdown(overhead))
}

let padding: PaddingResult | undefined
if (!flag('no-overhead')) {
  log(`\nMemory against padded answers (${elapsed()} in): node --expose-gc bench/padding.ts`)
  padding = await child<PaddingResult>('./padding.ts')
  log(paddingMarkdown(padding))
}

let moments: FirstMomentsResult | undefined
if (!flag('no-overhead')) {
  log(`\nFirst moments (${elapsed()} in): node bench/firstMoments.ts`)
  moments = await child<FirstMomentsResult>('./firstMoments.ts')
  log(firstMomentsMarkdown(moments))
}

let peers: P2pResult | undefined
if (!flag('no-overhead')) {
  log(`\noutlast/p2p (${elapsed()} in): node bench/p2p.ts`)
  peers = await child<P2pResult>('./p2p.ts')
  log(p2pMarkdown(peers))
}

let content: IpfsResult | undefined
if (!flag('no-overhead')) {
  log(`\noutlast/ipfs (${elapsed()} in): node bench/ipfs.ts`)
  content = await child<IpfsResult>('./ipfs.ts')
  log(ipfsMarkdown(content))
}

let lightFigures: LightResult | undefined
if (!flag('no-overhead')) {
  log(`\noutlast/light (${elapsed()} in): node bench/light.ts`)
  lightFigures = await child<LightResult>('./light.ts')
  log(lightMarkdown(lightFigures))
}

let proxied: ProxyResult | undefined
if (!flag('no-overhead')) {
  log(`\noutlast proxy (${elapsed()} in): node bench/proxy.ts`)
  proxied = await child<ProxyResult>('./proxy.ts')
  log(proxyMarkdown(proxied))
}

const loopRange = () => {
  const delays = results.flatMap((r) => r.rows.map((s) => s.run.loop.delayP99))
  return delays.length ? `${Math.min(...delays).toFixed(0)}–${Math.max(...delays).toFixed(0)}` : '—'
}
const runtime = `${((Date.now() - started) / 60_000).toFixed(1)} min`
log(`\nTotal run time: ${runtime}`)

const outIndex = argv.indexOf('--out')
const outDir = outIndex >= 0 ? new URL(`file://${resolve(argv[outIndex + 1]!)}/`) : undefined
if (outDir || (!only && !onlyClients)) {
  const out = outDir ?? new URL('./', import.meta.url)
  mkdirSync(out, { recursive: true })
  const md = (rows: string[][]) =>
    markdownTable(
      rows,
      rows[0]!.map((_, i) => (i >= 2 && i <= 8 ? 'right' : 'left')),
    )
  const subtitle = `3 sources at 20/40/60 ms in 3 failure domains, anvil 1 s blocks; ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpuModel}`
  writeFileSync(
    new URL('p99.svg', out),
    p99Chart(
      results.map((r) => ({ title: r.title, short: r.short, rows: r.rows })),
      clients,
      subtitle,
    ),
  )
  const markdown = [
    '# Benchmark results',
    '',
    `Made by \`npm run bench\` (\`node bench/run.ts\`) on ${new Date().toISOString()}; the run took ${runtime}.`,
    '',
    `- Machine: ${machine}`,
    `- Versions: ${versions}`,
    `- Lab: three sources behind fault-injecting proxies on 127.0.0.1, at 20, 40 and 60 ms, in three failure domains (\`aws-us-east-1\`, \`gcp-europe-west1\`, and \`home\`, the self-hosted one); anvil mines a block a second and a transaction every second changes two accounts' balances and a nonce.`,
    `- Workload, the same for every client: balances and nonces of four accounts, a contract call, a recent block by hash and by number, the block number (one sixth each). Right means equal to what anvil itself says: for reads of \`latest\`, its state at some block from ${HEAD_SLACK} blocks before the request started to the block when it ended (or the one anvil was mining then); blocks must match hash and state root; the block number must lie in that window.`,
    `- How: each client gets its own lab (so each lab's proxies count that client's calls alone), all ${clients.length} run at once so machine noise hits all. After a healthy warm-up of ${WARMUP} requests the fault is switched on, then ${WORKERS} loops per client issue requests for ${WINDOW / 1000} s, each loop at most one every ${PACE} ms (about ${Math.round(((WINDOW / PACE) * WORKERS) / 10) * 10} requests for a fast client, fewer for one that waits); every request is capped at ${CAP / 1000} s (counted failed). p50/p99 are over every request, failed ones at the time they failed. calls/req: JSON-RPC calls all three sources received (head polls, retries, hedges and rank pings included) per request.`,
    '- Clients: outlast with its defaults (quorum of 2 domains, 10 s per attempt) and a 500 ms head polling interval (half the block time); viem `fallback` with defaults and with `rank: true`, over `http` transports with defaults; ethers v6 `FallbackProvider` with defaults (quorum 2 of 3, 400 ms stall timeout) over `JsonRpcProvider`s told the chain (`staticNetwork`); the floor is plain JSON-RPC over fetch to the fastest source the scenario leaves healthy. Every client reaches the proxies through `proxy.fetch` (ethers through `FetchRequest.getUrlFunc`), so the DNS fault hits all of them the same way.',
    '- "outlast p99 ÷ best other" compares with the fastest of viem, viem rank and ethers among those that answered at least 99 % right.',
    '',
    ...md(allRows),
    '',
    '![p99 per scenario and client](p99.svg)',
    '',
    '## Summary',
    '',
    ...notes.map((n) => `- ${n}`),
    '',
    ...(recoveryLines.length
      ? [
          '## Recovery: calls to the source that came back',
          '',
          `\`first\` was blackholed for the first ${(scenarios.find((s) => s.at)?.at?.ms ?? 0) / 1000} s of the window, then healthy again. Calls it received, and per request the client served in that phase (in the healthy scenario a client that uses \`first\` sends it about 1 call per request):`,
          '',
          ...markdownTable(
            [['client', 'while blackholed', 'after it came back'], ...recoveryLines],
            ['left', 'right', 'right'],
          ),
          '',
        ]
      : []),
    ...(consistencyRows.length
      ? [
          '## How outlast reached its answers',
          '',
          'Shares of `meta.consistency` over the answers outlast gave in each window: `agreed` (a quorum of failure domains), `verified` (checked locally: block hashes), `head` (the agreed head), `degraded` (one failure domain only, the quorum given up), `cached`.',
          '',
          ...markdownTable(
            [['scenario', ...kinds], ...consistencyRows],
            ['left', ...kinds.map(() => 'right' as const)],
          ),
          '',
        ]
      : []),
    ...(failureLines.length
      ? ['## Most frequent failures and wrong answers', '', ...failureLines, '']
      : []),
    ...(overhead ? ['## Engine overhead', '', overheadMarkdown(overhead), ''] : []),
    ...(padding ? ['## Memory against padded answers', '', paddingMarkdown(padding), ''] : []),
    ...(moments
      ? [
          '## First moments: a cold first answer, the two fastest domains lost',
          '',
          'Made by `node bench/firstMoments.ts` in the same run, one lab (20/40/60 ms): fresh clients interleaved with viem `fallback` for the cold read; warm outlast loops beside a direct client to the source left, the first and second sources blackholed at once, every request started in the window after counted.',
          '',
          firstMomentsMarkdown(moments),
          '',
        ]
      : []),
    ...(peers
      ? [
          '## outlast/p2p: the blackout, a flooded relay',
          '',
          'Made by `node bench/p2p.ts` in the same run: `outlast relay` processes in front of one anvil. Blackout: the HTTP sources down (DNS, 503), two pinned relays left, the wallet workload through `p2p()` with `proofs()` interleaved request by request with the same workload and prover over HTTP to the same node. Flood: one peer reads through a relay alone, then while another peer floods it (streams past the limit, oversized and malformed frames, batches past the rate, refused methods, junk gossip).',
          '',
          p2pMarkdown(peers),
          '',
        ]
      : []),
    ...(content
      ? [
          '## outlast/ipfs: NFT metadata through outlast, and from one gateway',
          '',
          'Made by `node bench/ipfs.ts` in the same run: three trustless gateways and a Kubo RPC API on loopback (test/lab/ipfsLab.ts), `createIpfs()` over all four (every block hashed against its CID) beside what wallets do, a plain `fetch` from one gateway, healthy and with the first gateway blackholed, the four series interleaved request by request.',
          '',
          ipfsMarkdown(content),
          '',
        ]
      : []),
    ...(lightFigures
      ? [
          '## outlast/light: verifying the beacon chain, in Node and in Chromium',
          '',
          "Made by `node bench/light.ts` in the same run (`npm run bench:light` alone): the mainnet recordings of test/fixtures/light-client verified by the light client core, each figure against its budget from the light-client issue; the cold path is test/browser/light.browser.test.ts's (an `outlast relay --beacon` process on loopback, a fresh headless Chromium each run).",
          '',
          lightMarkdown(lightFigures),
          '',
        ]
      : []),
    ...(proxied
      ? [
          '## outlast proxy: what it adds per request',
          '',
          'Made by `node bench/proxy.ts` in the same run: one lab, the library in the bench process and the same configuration behind `outlast proxy`, read alternately.',
          '',
          proxyMarkdown(proxied),
          '',
        ]
      : []),
    '## Notes',
    '',
    `- The machine is shared and small: ${clients.length} client processes and ${clients.length} anvil nodes run on ${cpus().length} cores at once (and other sessions may run tests meanwhile). The client processes saw event-loop delays (p99) of ${loopRange()} ms during the windows, so tails carry noise, and so do ratios between scenarios run a minute apart.`,
    '- ethers `FallbackProvider` (6.17) reports the block number one ahead whenever its providers agree: `getFuzzyMode` in `providers/provider-fallback.js` counts an answer N also as N−1 and N+1 and breaks the tie toward the higher number. Those answers count as wrong here (the block does not exist yet). When a provider fails, the same function meets the error object and throws "invalid numeric value".',
    '- ethers needs 2 of its 3 providers to agree on every read (its default quorum): it fails when only one source is up, and when two answers straddle a new block it waits for the third provider, which a blackholed source never answers (`FetchRequest` waits 5 minutes): those are the 30 s caps.',
    '- viem `fallback` tries its transports in order on every request and waits out the http timeout (10 s) on a blackholed first transport before it tries the next; with `rank: true` it re-ranks every 4 s from `net_listening` pings, so only the requests before the next ranking wait.',
    '',
  ].join('\n')
  writeFileSync(new URL('RESULTS.md', out), markdown)
  log(`Wrote ${new URL('RESULTS.md', out).pathname} and p99.svg`)
}
// viem's rank loop never stops, and capped requests of other clients may still be pending.
process.exit(0)
