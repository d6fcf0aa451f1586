/**
 * A hostile peer flooding a relay at once in every way it can: more streams than it may hold,
 * oversized and malformed frames, calls far past its rate, refused methods, and junk gossip on
 * the chain's topics. For the flood test and the bench: other peers must keep being served.
 */
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { headsTopic, RPC_PROTOCOL, startPeerNode, txsTopic } from '../../src/p2p/index.ts'

export type Flood = {
  /** Stops every loop; resolves with how many of each thing were sent. */
  stop(): Promise<Record<string, number>>
}

const encoder = new TextEncoder()

export async function startFlood(target: string, chainId: number): Promise<Flood> {
  const node = await startPeerNode({ transports: [tcp()] })
  const address = multiaddr(target)
  const sent: Record<string, number> = {}
  const count = (k: string) => {
    sent[k] = (sent[k] ?? 0) + 1
  }
  let stopped = false
  // A refused attempt (the relay banned this peer) waits a little before the next one: a
  // flooder that cannot get through must not starve its own process.
  const loop = async (body: () => Promise<void>) => {
    while (!stopped) await body().catch(() => new Promise((r) => setTimeout(r, 20)))
  }
  const open = () => node.dialProtocol(address, RPC_PROTOCOL, { maxOutboundStreams: 1024 })
  const held: Awaited<ReturnType<typeof open>>[] = []

  const pubsub = node.services.pubsub
  pubsub.subscribe(headsTopic(chainId))
  pubsub.subscribe(txsTopic(chainId))
  await node.dial(address)

  const loops = [
    // Streams past the per-peer limit, held open.
    (async () => {
      for (let i = 0; i < 48 && !stopped; i++) {
        held.push(await open())
        count('streams')
      }
    })().catch(() => {}),
    // Oversized frames, each on a new stream.
    loop(async () => {
      const s = await open()
      await lpStream(s).write(new Uint8Array(1024 * 1024 + 1).fill(0x20))
      count('oversized')
      await new Promise((r) => setTimeout(r, 20))
    }),
    // Malformed frames.
    loop(async () => {
      const s = await open()
      await lpStream(s).write(encoder.encode('{"jsonrpc":'))
      count('malformed')
      await new Promise((r) => setTimeout(r, 10))
    }),
    // Calls far past the rate (batches of 50), and refused methods, on one stream.
    loop(async () => {
      const s = lpStream(await open())
      for (let i = 0; i < 50 && !stopped; i++) {
        const batch = Array.from({ length: 50 }, (_, j) => ({
          jsonrpc: '2.0',
          id: j,
          method: j % 5 === 0 ? 'debug_traceBlockByNumber' : 'eth_blockNumber',
          params: [],
        }))
        await s.write(encoder.encode(JSON.stringify(batch)))
        await s.read({ signal: AbortSignal.timeout(2_000) })
        sent.calls = (sent.calls ?? 0) + batch.length
      }
    }),
    // Junk gossip.
    loop(async () => {
      await pubsub.publish(headsTopic(chainId), encoder.encode(`{"junk":${Math.random()}}`))
      await pubsub.publish(txsTopic(chainId), new Uint8Array([2, Math.random() * 255, 3]))
      count('gossip')
      await new Promise((r) => setTimeout(r, 5))
    }),
  ]
  return {
    async stop() {
      stopped = true
      for (const s of held.splice(0)) s.abort(new Error('flood over'))
      await node.stop()
      await Promise.allSettled(loops)
      return sent
    },
  }
}

/** `node test/lab/flood.ts <relay multiaddr> <chain id>`: floods until SIGTERM, then prints what it sent. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const flood = await startFlood(process.argv[2]!, Number(process.argv[3]))
  process.stdout.write('flooding\n')
  process.once('SIGTERM', async () => {
    process.stdout.write(`${JSON.stringify(await flood.stop())}\n`)
    process.exit(0)
  })
}
