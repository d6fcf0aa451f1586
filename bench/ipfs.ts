/**
 * outlast/ipfs against what wallets do: NFT metadata fetched through `createIpfs()` over three
 * trustless gateways and a Kubo RPC API (every block hashed), and from a single gateway with a
 * plain `fetch` (nothing checked), healthy and with the first gateway blackholed. The four
 * series run side by side in one run, interleaved request by request (the order rotating), so
 * machine noise falls on all of them alike.
 *
 * Fairness: each fetch asks for a CID never asked before (a fresh metadata document per
 * request), so nothing can be served from a cache anywhere, while both clients live for the
 * whole run, as in a wallet page going through a collection: outlast keeps what it learned of
 * its routes, plain fetch keeps its connections alive. Documents are single raw blocks, so each
 * side makes one HTTP request per fetch (a `dir/42.json` path costs outlast one request per
 * block on the path, where a path-resolving gateway answers in one). Everything is on loopback.
 *
 * The single gateway blackholed answers no one: its fetches all fail at the cap (`CAP_MS`, the
 * deadline outlast gets too). They run alongside the loop instead of one after another (200 ×
 * the cap otherwise); a blackhole's silence does not depend on load.
 *
 * Usage: node bench/ipfs.ts [--requests 200] [--json]   (`npm run bench` runs it in a child process)
 */
import { create as kuboClient } from 'kubo-rpc-client'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { createIpfs, gateway, type Ipfs, kubo } from '../src/ipfs/index.ts'
import {
  blockMap,
  type LabGateway,
  type LabKubo,
  startGateway,
  startKuboApi,
} from '../test/lab/ipfsLab.ts'
import { percentile } from './stats.ts'

const CAP_MS = 5_000
const RAW = 0x55

type Latency = { p50: number; p99: number }
type Series = Latency & { answered: number; wrong: number; requests: number }
export type IpfsResult = {
  requests: number
  healthy: { outlast: Series; single: Series }
  blackholed: { outlast: Series; single: Series; outlastCallsToBlackholed: number }
}

const argv = process.argv.slice(2)
const arg = (name: string, fallbackValue: number) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? Number(argv[i + 1]) : fallbackValue
}

type Doc = { cid: CID; json: Record<string, unknown> }

/** A fresh NFT metadata document (its own CID), stored in `blocks`. */
async function freshDoc(blocks: ReturnType<typeof blockMap>, n: number): Promise<Doc> {
  const json = {
    name: `Outlast Bench #${n}`,
    description: 'NFT metadata, fetched once',
    image: `ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy/${n}.png`,
    attributes: [
      { trait_type: 'nonce', value: `${n}-${Math.random()}` },
      { trait_type: 'route', value: 'any' },
    ],
  }
  const bytes = new TextEncoder().encode(JSON.stringify(json))
  const cid = CID.createV1(RAW, await sha256.digest(bytes))
  await blocks.put(cid, bytes)
  return { cid, json }
}

type Setup = {
  gateways: LabGateway[]
  kubo: LabKubo
  ipfs: Ipfs
  blocks: ReturnType<typeof blockMap>
  close(): Promise<void>
}

/** Three gateways and a Kubo API over one blockstore; outlast asks them in that order first. */
async function setUp(): Promise<Setup> {
  const blocks = blockMap()
  const gateways = [
    await startGateway({ blocks }),
    await startGateway({ blocks }),
    await startGateway({ blocks }),
  ]
  const kuboApi = await startKuboApi({ blocks })
  const ipfs = createIpfs({
    routes: [
      ...gateways.map((g, i) => gateway(g.url, { name: `gateway-${i + 1}` })),
      kubo(kuboClient({ url: kuboApi.url }), { name: 'kubo' }),
    ],
    timeout: CAP_MS,
  })
  return {
    gateways,
    kubo: kuboApi,
    ipfs,
    blocks,
    async close() {
      await ipfs.close()
      await Promise.all([...gateways.map((g) => g.close()), kuboApi.close()])
    },
  }
}

/** What a wallet does: one gateway, `GET /ipfs/CID`, the body parsed as JSON, nothing checked. */
async function plainFetch(gatewayUrl: string, cid: CID): Promise<unknown> {
  // The lab's gateways are trustless only: `?format=raw` gets the document's single block, the
  // same bytes a path-resolving gateway sends for `/ipfs/CID`.
  const response = await fetch(`${gatewayUrl}/ipfs/${cid}?format=raw`, {
    signal: AbortSignal.timeout(CAP_MS),
  })
  if (!response.ok) throw new Error(`HTTP ${response.status}`)
  return response.json()
}

type Sample = { ms: number; ok: boolean; right: boolean }

async function timed(fn: () => Promise<unknown>, expected: unknown): Promise<Sample> {
  const started = performance.now()
  try {
    const got = await fn()
    return {
      ms: performance.now() - started,
      ok: true,
      right: JSON.stringify(got) === JSON.stringify(expected),
    }
  } catch {
    return { ms: performance.now() - started, ok: false, right: false }
  }
}

function series(samples: Sample[]): Series {
  // Failed requests count at the time they failed, as in the RPC bench.
  const xs = samples.map((s) => s.ms)
  return {
    requests: samples.length,
    answered: samples.filter((s) => s.ok).length,
    wrong: samples.filter((s) => s.ok && !s.right).length,
    p50: percentile(xs, 50),
    p99: percentile(xs, 99),
  }
}

export async function ipfsBench(requests: number): Promise<IpfsResult> {
  const healthy = await setUp()
  const blackholed = await setUp()
  try {
    // Warm both clients (connections, route latencies) on healthy gateways first.
    for (let i = 0; i < 5; i++)
      for (const s of [healthy, blackholed]) {
        const doc = await freshDoc(s.blocks, -1 - i)
        await s.ipfs.json(`ipfs://${doc.cid}`)
        await plainFetch(s.gateways[0]!.url, doc.cid)
      }
    blackholed.gateways[0]!.behaviour = 'blackhole'
    const callsBefore = blackholed.gateways[0]!.stats.requests
    const samples = {
      healthyOutlast: [] as Sample[],
      healthySingle: [] as Sample[],
      blackholedOutlast: [] as Sample[],
      blackholedSingle: [] as Promise<Sample>[],
    }
    for (let i = 0; i < requests; i++) {
      const docs = await Promise.all([
        freshDoc(healthy.blocks, 4 * i),
        freshDoc(healthy.blocks, 4 * i + 1),
        freshDoc(blackholed.blocks, 4 * i + 2),
        freshDoc(blackholed.blocks, 4 * i + 3),
      ])
      const steps = [
        async () =>
          samples.healthyOutlast.push(
            await timed(() => healthy.ipfs.json(`ipfs://${docs[0]!.cid}`), docs[0]!.json),
          ),
        async () =>
          samples.healthySingle.push(
            await timed(() => plainFetch(healthy.gateways[0]!.url, docs[1]!.cid), docs[1]!.json),
          ),
        async () =>
          samples.blackholedOutlast.push(
            await timed(() => blackholed.ipfs.json(`ipfs://${docs[2]!.cid}`), docs[2]!.json),
          ),
        async () => {
          // Not awaited: it can only time out (see the file's comment).
          samples.blackholedSingle.push(
            timed(() => plainFetch(blackholed.gateways[0]!.url, docs[3]!.cid), docs[3]!.json),
          )
        },
      ]
      // Rotate the order, so no series always goes first (or right after another).
      for (let k = 0; k < steps.length; k++) await steps[(i + k) % steps.length]!()
    }
    const single = await Promise.all(samples.blackholedSingle)
    return {
      requests,
      healthy: { outlast: series(samples.healthyOutlast), single: series(samples.healthySingle) },
      blackholed: {
        outlast: series(samples.blackholedOutlast),
        single: series(single),
        outlastCallsToBlackholed:
          blackholed.gateways[0]!.stats.requests - callsBefore - single.length,
      },
    }
  } finally {
    await healthy.close()
    await blackholed.close()
  }
}

const f = (ms: number) => (ms >= 1_000 ? `${(ms / 1_000).toFixed(2)} s` : `${ms.toFixed(1)} ms`)
const cell = (s: Series) =>
  `${f(s.p50)} / ${f(s.p99)} (${s.answered}/${s.requests} answered${s.wrong ? `, ${s.wrong} WRONG` : ''})`

export function ipfsMarkdown(r: IpfsResult): string {
  return [
    '| NFT metadata fetch, p50 / p99 | outlast/ipfs: 3 gateways + Kubo, every block verified | one gateway, plain `fetch`, unverified |',
    '| --- | ---: | ---: |',
    `| healthy | ${cell(r.healthy.outlast)} | ${cell(r.healthy.single)} |`,
    `| first gateway blackholed | ${cell(r.blackholed.outlast)} | ${cell(r.blackholed.single)} |`,
    '',
    `${r.requests} fetches per cell, interleaved request by request in one run, each of a CID never fetched before (nothing cached anywhere), on loopback; a request is capped at ${f(CAP_MS)} (failed ones count at the time they failed). With the first gateway blackholed, outlast sent it ${r.blackholed.outlastCallsToBlackholed} block request(s) in ${r.requests} fetches (the next route is asked after the adaptive hedge delay; a route outpaced that way sinks in the ranking and is not asked while the others answer); the single gateway is that gateway, so every plain fetch ran out the cap. p99 ratio blackholed / healthy for outlast: ${(r.blackholed.outlast.p99 / r.healthy.outlast.p99).toFixed(2)}×.`,
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await ipfsBench(arg('requests', 200))
  if (argv.includes('--json')) console.log(JSON.stringify(r))
  else console.log(ipfsMarkdown(r))
  // Blackholed connections may still be held open by the gateways' sockets.
  process.exit(0)
}
