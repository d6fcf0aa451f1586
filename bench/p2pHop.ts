/**
 * One exchange through a relay against one over HTTP (issue 11): `eth_getProof` through an
 * `outlast relay` process, over TCP and over WebRTC-Direct, against HTTP to the same anvil,
 * interleaved call by call. The relay talks to anvil directly, so the difference is the relay's
 * hop alone: libp2p (noise, yamux), the relay process, its own call to the node.
 *
 * Usage: node bench/p2pHop.ts [--calls 1500]
 */
import { tcp } from '@libp2p/tcp'
import { webRTCDirect } from '@libp2p/webrtc'
import { http } from '../src/index.ts'
import { p2p } from '../src/p2p/index.ts'
import type { Source } from '../src/shared/types.ts'
import { devAccounts, startLab } from '../test/lab/index.ts'
import { startRelayProcess } from '../test/lab/relays.ts'
import { percentile } from './stats.ts'

const argv = process.argv.slice(2)
const at = argv.indexOf('--calls')
const calls = at >= 0 ? Number(argv[at + 1]) : 1_500
const WARM = Math.min(300, Math.floor(calls / 5))

const lab = await startLab({ blockTime: 0, sources: [{ name: 'node', domain: 'home' }] })
const relay = await startRelayProcess({ rpc: lab.anvil.url, rate: 100_000, gossip: false })
const sources: [string, Source][] = [
  ['relay over TCP', p2p({ peers: [relay.tcp], transports: [tcp()], gossip: false })[0]!],
  [
    'relay over WebRTC-Direct',
    p2p({ peers: [relay.webrtc], transports: [webRTCDirect()], gossip: false })[0]!,
  ],
  ['HTTP to the node', http(lab.anvil.url)],
]
const read = { method: 'eth_getProof', params: [devAccounts[1]!.address, [], 'latest'] }
const times = new Map<string, number[]>(sources.map(([name]) => [name, []]))
try {
  for (let i = 0; i < calls; i++)
    for (const [name, source] of sources) {
      const started = performance.now()
      await source.request(read)
      if (i >= WARM) times.get(name)!.push(performance.now() - started)
    }
  const http50 = percentile(times.get('HTTP to the node')!, 50)
  console.log('| one eth_getProof | p50 | p99 | p50 against HTTP |')
  console.log('| --- | ---: | ---: | ---: |')
  for (const [name, xs] of times) {
    const p50 = percentile(xs, 50)
    console.log(
      `| ${name} | ${p50.toFixed(2)} ms | ${percentile(xs, 99).toFixed(2)} ms | ${(p50 / http50).toFixed(2)}× |`,
    )
  }
  console.log(`\n${calls - WARM} calls each, interleaved, after ${WARM} to warm up.`)
} finally {
  for (const [, source] of sources) await source.close?.()
  await relay.stop()
  await lab.stop()
}
