/**
 * outlast/p2p, side by side in one run:
 *
 * - Blackout: the wallet workload of test/p2p/blackout.ts (balances, nonces, a contract call,
 *   blocks by hash and number) through `p2p()` with `proofs()` while every HTTP source is down,
 *   interleaved request by request with the same workload over HTTP to the same node (same
 *   prover, two healthy HTTP sources), then a transfer that only gossip can deliver.
 * - Flood: one peer's reads through a relay, alone, then while another peer (a process of its
 *   own, test/lab/flood.ts) floods that relay, p99 against p99.
 *
 * Usage: node bench/p2p.ts [--requests 200] [--json]   (`npm run bench` runs it in a child process)
 */
import { spawn } from 'node:child_process'
import { tcp } from '@libp2p/tcp'
import { p2p } from '../src/p2p/index.ts'
import { CHAIN_ID, signedTransfer } from '../test/helpers.ts'
import { devAccounts, startLab } from '../test/lab/index.ts'
import { startRelayProcess } from '../test/lab/relays.ts'
import { comparable, startBlackout, walletCall } from '../test/p2p/blackout.ts'
import { percentile } from './stats.ts'

type Latency = { p50: number; p99: number }
export type P2pResult = {
  blackout: {
    requests: number
    answered: number
    wrong: number
    p2p: Latency
    http: Latency
    ratioP50: number
    consistency: Record<string, number>
    transferMs: number | undefined
    viaGossip: boolean
  }
  flood: { requests: number; alone: Latency; flooded: Latency; failed: number; ratioP99: number }
}

const FLOOD = new URL('../test/lab/flood.ts', import.meta.url).pathname
const argv = process.argv.slice(2)
const arg = (name: string, fallbackValue: number) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? Number(argv[i + 1]) : fallbackValue
}
const latency = (xs: number[]): Latency => ({ p50: percentile(xs, 50), p99: percentile(xs, 99) })

async function blackout(requests: number): Promise<P2pResult['blackout']> {
  const b = await startBlackout()
  const p2pClient = b.client()
  const httpClient = b.httpClient()
  try {
    await Promise.all([p2pClient.connect(), httpClient.connect()])
    await b.blackout()
    // Warm both (head, chain checks, streams) before timing.
    for (let i = 0; i < 6; i++)
      for (const c of [p2pClient, httpClient]) await c.request(walletCall(b, i)).catch(() => {})
    const times = { p2p: [] as number[], http: [] as number[] }
    const consistency: Record<string, number> = {}
    let answered = 0
    let wrong = 0
    for (let i = 0; i < requests; i++) {
      const call = walletCall(b, i)
      const truth = await call.truth(b.lab.anvil)
      for (const [name, client] of [
        ['p2p', p2pClient],
        ['http', httpClient],
      ] as const) {
        const started = performance.now()
        try {
          const { result, meta } = await client.requestWithMeta({
            method: call.method,
            params: call.params,
          })
          times[name].push(performance.now() - started)
          if (name === 'p2p') {
            answered++
            consistency[meta.consistency] = (consistency[meta.consistency] ?? 0) + 1
            if (comparable(result) !== truth) wrong++
          }
        } catch {}
      }
    }
    const before = (await b.relays.third.status()).gossip.txsSubmitted ?? 0
    const sentAt = performance.now()
    const hash = await p2pClient.request({
      method: 'eth_sendRawTransaction',
      params: [await signedTransfer(b.lab.anvil)],
    })
    let transferMs: number | undefined
    for (let i = 0; i < 200 && transferMs === undefined; i++) {
      if (await p2pClient.request({ method: 'eth_getTransactionReceipt', params: [hash] }))
        transferMs = performance.now() - sentAt
      else await new Promise((r) => setTimeout(r, 50))
    }
    const viaGossip = ((await b.relays.third.status()).gossip.txsSubmitted ?? 0) === before + 1
    const p2pLatency = latency(times.p2p)
    const httpLatency = latency(times.http)
    return {
      requests,
      answered,
      wrong,
      p2p: p2pLatency,
      http: httpLatency,
      ratioP50: p2pLatency.p50 / httpLatency.p50,
      consistency,
      transferMs,
      viaGossip,
    }
  } finally {
    await p2pClient.close()
    await httpClient.close()
    await b.stop()
  }
}

async function flood(requests: number): Promise<P2pResult['flood']> {
  const lab = await startLab({ blockTime: 0, sources: [{ name: 'node', domain: 'home' }] })
  const relay = await startRelayProcess({ rpc: lab.proxy('node').url, rate: 1_000 })
  const [source] = p2p({ peers: [relay.tcp], transports: [tcp()], gossip: false })
  const read = { method: 'eth_getBalance', params: [devAccounts[1]!.address, 'latest'] }
  let failed = 0
  const run = async () => {
    const xs: number[] = []
    for (let i = 0; i < requests; i++) {
      const started = performance.now()
      try {
        await source!.request(read)
        xs.push(performance.now() - started)
      } catch {
        failed++
      }
    }
    return xs
  }
  try {
    await run() // warm
    const alone = latency(await run())
    // The flooder is a process of its own: its loops must not slow the measuring peer.
    const flooder = spawn(process.execPath, [FLOOD, relay.tcp, String(CHAIN_ID)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    await new Promise((r) => flooder.stdout.once('data', r))
    await new Promise((r) => setTimeout(r, 300))
    const flooded = latency(await run())
    flooder.kill('SIGTERM')
    await new Promise((r) => flooder.once('exit', r))
    return { requests, alone, flooded, failed, ratioP99: flooded.p99 / alone.p99 }
  } finally {
    await source!.close?.()
    await relay.stop()
    await lab.stop()
  }
}

export async function p2pBench(requests: number): Promise<P2pResult> {
  return { blackout: await blackout(requests), flood: await flood(requests) }
}

const f = (ms: number) => `${ms.toFixed(1)} ms`

export function p2pMarkdown(r: P2pResult): string {
  const { blackout: b, flood: x } = r
  return [
    '| measure | outlast/p2p | side by side | ratio | target |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| blackout wallet workload, p50 (p99), ${b.requests} requests | ${f(b.p2p.p50)} (${f(b.p2p.p99)}) | HTTP to the same node ${f(b.http.p50)} (${f(b.http.p99)}) | ${b.ratioP50.toFixed(2)}× | ≤ 1.5× |`,
    `| a peer's reads while another floods the relay, p99 (p50), ${x.requests} requests | ${f(x.flooded.p99)} (${f(x.flooded.p50)}) | unflooded ${f(x.alone.p99)} (${f(x.alone.p50)}) | ${x.ratioP99.toFixed(2)}× | ≤ 2× |`,
    '',
    `Blackout: ${b.answered} of ${b.requests} answered, ${b.wrong} wrong (${Object.entries(
      b.consistency,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ', ',
      )}); the transfer was ${b.transferMs === undefined ? 'NOT mined' : `mined and its receipt read ${f(b.transferMs)} after sending`}, ${b.viaGossip ? 'submitted by the third relay, which had it only by gossip' : 'NOT through gossip'}. Flood: ${x.failed} of the other peer's reads failed.`,
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await p2pBench(arg('requests', 200))
  if (argv.includes('--json')) console.log(JSON.stringify(r))
  else console.log(p2pMarkdown(r))
}
