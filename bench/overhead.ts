/**
 * The engine's own cost: requests per second and CPU microseconds per request through outlast
 * against sources that answer instantly in-process, compared with calling such a source
 * directly; and the heap over one million requests (flat means no leak).
 *
 * Usage: node --expose-gc bench/overhead.ts [--requests 1000000] [--json]
 * (`npm run bench` runs it in a child process at the end.)
 */
import { readFileSync } from 'node:fs'
import { createOutlast, type Outlast, type Source } from '../src/index.ts'
import { markdownTable } from './stats.ts'

type Figures = { requests: number; perSecond: number; cpuMicros: number }
export type OverheadResult = {
  node: string
  direct: Figures
  single: Figures
  quorum: Figures
  heap: { requests: number; samples: { after: number; heapMiB: number }[]; growthMiB: number }
}

const fixture = JSON.parse(
  readFileSync(
    new URL('../src/verify/fixtures/block-prague-24630100.json', import.meta.url),
    'utf8',
  ),
) as { block: Record<string, unknown> }
const block = fixture.block
const BALANCE = '0xde0b6b3a7640000'

/** A source that answers at once, in-process: chain 1, its head the Prague fixture block. */
export function memorySource(name: string, domain: string): Source {
  return {
    config: { name, kind: 'cloud', domain, weight: 1, label: 'mem' },
    request: async ({ method }) => {
      switch (method) {
        case 'eth_chainId':
          return '0x1'
        case 'eth_getBlockByNumber':
          return block
        case 'eth_getBalance':
          return BALANCE
        default:
          throw new Error(`memory source: ${method} is not served`)
      }
    },
  }
}

const addresses = [
  '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
  '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
]
const balanceRequest = (i: number) => ({
  method: 'eth_getBalance',
  params: [addresses[i & 3], 'latest'],
})

type Requester = (args: { method: string; params: unknown[] }) => Promise<unknown>

async function loop(request: Requester, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const answer = await request(balanceRequest(i))
    if (answer !== BALANCE) throw new Error(`unexpected answer ${String(answer)}`)
  }
}

async function time(request: Requester, n: number): Promise<Figures> {
  await loop(request, Math.min(20_000, n)) // warm-up: JIT, chain checks, head
  globalThis.gc?.()
  const cpu = process.cpuUsage()
  const t = performance.now()
  await loop(request, n)
  const wall = performance.now() - t
  const used = process.cpuUsage(cpu)
  return {
    requests: n,
    perSecond: n / (wall / 1000),
    cpuMicros: (used.user + used.system) / n,
  }
}

const client = (sources: Source[]): Outlast => createOutlast({ chainId: 1, sources })

const heapMiB = () => {
  globalThis.gc?.()
  return process.memoryUsage().heapUsed / 2 ** 20
}

export async function measureOverhead(heapRequests: number, n = 200_000): Promise<OverheadResult> {
  const direct = memorySource('direct', 'mem-a')
  const directFigures = await time((args) => direct.request(args), n)

  const one = client([memorySource('a', 'mem-a')])
  const single = await time((args) => one.request(args), n)
  await one.close()

  const two = client([memorySource('a', 'mem-a'), memorySource('b', 'mem-b')])
  const quorum = await time((args) => two.request(args), n)
  // Same client, a million more requests: the heap after each slice, after a full GC.
  const slice = Math.max(1, Math.floor(heapRequests / 10))
  const samples = [{ after: 0, heapMiB: heapMiB() }]
  for (let done = 0; done < heapRequests; ) {
    const step = Math.min(slice, heapRequests - done)
    await loop((args) => two.request(args), step)
    done += step
    samples.push({ after: done, heapMiB: heapMiB() })
  }
  await two.close()
  // Growth from the lowest heap after the first slice (caches fill and JIT code settles in it;
  // garbage of the earlier clients may go later) to the end.
  const settled = Math.min(...samples.slice(1).map((s) => s.heapMiB))
  const growthMiB = samples[samples.length - 1]!.heapMiB - settled
  return {
    node: process.version,
    direct: directFigures,
    single,
    quorum,
    heap: { requests: heapRequests, samples, growthMiB },
  }
}

const f0 = (x: number) =>
  Math.round(x)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ' ')

export function overheadMarkdown(r: OverheadResult): string {
  const row = (label: string, f: Figures) => [
    label,
    f0(f.perSecond),
    f.cpuMicros.toFixed(1),
    (f.cpuMicros - r.direct.cpuMicros).toFixed(1),
  ]
  const first = r.heap.samples[0]!
  const last = r.heap.samples[r.heap.samples.length - 1]!
  const peak = Math.max(...r.heap.samples.map((s) => s.heapMiB))
  return [
    `\`eth_getBalance\` of \`latest\`, one request at a time, ${f0(r.quorum.requests)} requests per line after a warm-up, against in-process sources that answer at once (chain id \`0x1\`; head: mainnet block 24 630 100 from \`src/verify/fixtures\`, whose hash verifies). CPU is \`process.cpuUsage()\` (user + system) over the run, divided by the requests; ${r.node}.`,
    '',
    ...markdownTable(
      [
        ['path', 'requests/s', 'CPU µs/request', 'engine µs/request (over direct)'],
        row('the source called directly', r.direct),
        row('outlast, 1 source', r.single),
        row('outlast, quorum over 2 sources in 2 domains', r.quorum),
      ],
      ['left', 'right', 'right', 'right'],
    ),
    '',
    `Heap (\`heapUsed\` after a full GC) over ${f0(r.heap.requests)} more requests through the quorum client: ${first.heapMiB.toFixed(2)} MiB at the start, ${last.heapMiB.toFixed(2)} MiB at the end, peak ${peak.toFixed(2)} MiB. From its lowest point after the first ${f0(r.heap.samples[1]?.after ?? 0)} requests to the end it grew ${(r.heap.growthMiB * 1024).toFixed(0)} KiB (${((r.heap.growthMiB * 2 ** 20) / r.heap.requests).toFixed(2)} bytes per request): ${r.heap.growthMiB < 1 ? 'no leak' : 'LEAK SUSPECTED'}.`,
    '',
    `Samples (requests → heap MiB): ${r.heap.samples.map((s) => `${f0(s.after)} → ${s.heapMiB.toFixed(2)}`).join(', ')}.`,
  ].join('\n')
}

if (import.meta.main) {
  const argv = process.argv.slice(2)
  const i = argv.indexOf('--requests')
  const heapRequests = i >= 0 ? Number(argv[i + 1]) : 1_000_000
  if (!globalThis.gc) console.error('overhead: run with node --expose-gc for exact heap figures')
  const result = await measureOverhead(heapRequests)
  if (argv.includes('--json')) console.log(JSON.stringify(result))
  else console.log(overheadMarkdown(result))
}
