/**
 * Where the blackout's p2p/HTTP gap comes from (issue 11): the wallet workload of bench/p2p.ts,
 * per method and how it was answered, p2p against HTTP to the same node, interleaved request by
 * request; and the calls each client's requests cost the nodes (the lab proxies count them).
 *
 * Usage: node bench/p2pMethods.ts [--requests 300]
 */
import { startBlackout, walletCall } from '../test/p2p/blackout.ts'

const argv = process.argv.slice(2)
const at = argv.indexOf('--requests')
const requests = at >= 0 ? Number(argv[at + 1]) : 300

const b = await startBlackout()
const clients = { p2p: b.client(), http: b.httpClient() }
/** The proxies in front of each client's nodes (the p2p client's relays ask home1 and home2). */
const proxiesOf = { p2p: ['home1', 'home2'], http: ['http-a', 'http-b'] }
const callsTo = (names: string[]) => names.reduce((n, name) => n + b.lab.proxy(name).stats.calls, 0)

try {
  await Promise.all(Object.values(clients).map((c) => c.connect()))
  await b.blackout()
  for (let i = 0; i < 12; i++)
    for (const c of Object.values(clients)) await c.request(walletCall(b, i)).catch(() => {})
  const times: Record<string, { p2p: number[]; http: number[] }> = {}
  const calls = { p2p: 0, http: 0 }
  for (let i = 0; i < requests; i++) {
    const call = walletCall(b, i)
    for (const name of ['p2p', 'http'] as const) {
      const before = callsTo(proxiesOf[name])
      const started = performance.now()
      const { meta } = await clients[name].requestWithMeta({
        method: call.method,
        params: call.params,
      })
      const ms = performance.now() - started
      calls[name] += callsTo(proxiesOf[name]) - before
      const what = `${call.method} (${meta.consistency})`
      times[what] ??= { p2p: [], http: [] }
      times[what][name].push(ms)
    }
  }
  const median = (xs: number[]) => xs.toSorted((x, y) => x - y)[xs.length >> 1] ?? Number.NaN
  console.log('| request (how answered) | n | p2p p50 | HTTP p50 | ratio |')
  console.log('| --- | ---: | ---: | ---: | ---: |')
  for (const [what, t] of Object.entries(times)) {
    const [p, h] = [median(t.p2p), median(t.http)]
    console.log(
      `| ${what} | ${t.p2p.length} | ${p.toFixed(2)} ms | ${h.toFixed(2)} ms | ${(p / h).toFixed(2)}× |`,
    )
  }
  console.log(
    `\nCalls that reached the nodes per request: p2p ${(calls.p2p / requests).toFixed(2)}, HTTP ${(calls.http / requests).toFixed(2)}.`,
  )
} finally {
  for (const c of Object.values(clients)) await c.close()
  await b.stop()
}
