/**
 * The page of p2p.browser.test.ts: a dApp frontend whose only sources are two `outlast relay`
 * processes reached over libp2p (`p2p()`), with `proofs()`, driven from the test through
 * `window.outlastTest`. Everything returned is plain data (it crosses into Node).
 *
 * The client's libp2p node is either p2p()'s own or, with `node: 'shared'`, one the page starts
 * with `startPeerNode` and hands to p2p() (so the test can list its connections). Either may dial
 * the relays on 127.0.0.1, over plain /ws too: addresses outlast is given are always dialable,
 * though libp2p's browser default refuses private addresses and plain /ws.
 */
import { webRTCDirect } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { createOutlast, type Outlast, type ResponseMeta } from '../../src/index.ts'
import { type PeerLibp2p, p2p, startPeerNode } from '../../src/p2p/index.ts'
import { proofs } from '../../src/proofs/index.ts'

export type PagePeer = { name: string; domain: string; address: string }

export type Transport = 'webrtc-direct' | 'ws'

export type StartOptions = {
  chainId: number
  peers: PagePeer[]
  transport: Transport
  /** `default`: p2p() starts its own node; `shared`: the page starts one and hands it to p2p(). */
  node: 'default' | 'shared'
}

export type Answer = {
  result: unknown
  consistency: ResponseMeta['consistency']
  sources: string[]
  domains: string[]
  /** The block the answer is for (a proven one: the trusted header it was checked against). */
  block: { number: number; hash: string } | undefined
  ms: number
}

export type Reads = { balance: Answer; blockNumber: Answer; ms: number }

let rpc: Outlast | undefined
let node: PeerLibp2p | undefined

const transportsFor = (t: Transport) =>
  t === 'ws'
    ? [webSockets()]
    : // No ICE servers: WebRTC-Direct needs none, and the default ones are public hosts.
      [webRTCDirect({ rtcConfiguration: { iceServers: [] } })]

/**
 * A node the page shares with p2p() (as a dApp that also uses libp2p would), from outlast's own
 * `startPeerNode`: its gater lets it dial the addresses it was given (loopback relays over plain
 * /ws included), which libp2p's browser default refuses.
 */
const sharedNode = (t: Transport, peers: PagePeer[]) =>
  startPeerNode(
    { transports: transportsFor(t) },
    peers.map((p) => p.address),
  )

function client(): Outlast {
  if (!rpc) throw new Error('start() first')
  return rpc
}

async function read(method: string, params: unknown[] = []): Promise<Answer> {
  const { result, meta } = await client().requestWithMeta({ method, params })
  const { consistency, sources, domains, ms } = meta
  const block = meta.block && { number: meta.block.number, hash: meta.block.hash }
  return { result, consistency, sources, domains, block, ms }
}

const api = {
  /** A client over the relays only, each its own failure domain, proving what it can. */
  async start(o: StartOptions): Promise<{ nodeMs: number }> {
    const begin = performance.now()
    node = o.node === 'shared' ? await sharedNode(o.transport, o.peers) : undefined
    rpc = createOutlast({
      chainId: o.chainId,
      pollingInterval: 500,
      // Every read goes to the relays: none may be answered from what was read before.
      cacheSize: 0,
      prover: proofs(),
      sources: [
        p2p({
          peers: o.peers,
          timeout: 5_000,
          ...(node ? { libp2p: node } : { transports: transportsFor(o.transport) }),
        }),
      ],
    })
    return { nodeMs: Math.round(performance.now() - begin) }
  },
  /** `address`'s balance at `latest` (proven, if it can be) and eth_blockNumber, at once. */
  async read(address: string): Promise<Reads> {
    const start = performance.now()
    const [balance, blockNumber] = await Promise.all([
      read('eth_getBalance', [address, 'latest']),
      read('eth_blockNumber'),
    ])
    return { balance, blockNumber, ms: Math.round(performance.now() - start) }
  },
  /** The remote addresses of the page's node's open connections (a node built here only). */
  connections: (): string[] =>
    (node?.getConnections() ?? []).map((c) => c.remoteAddr.toString()).sort(),
  status() {
    const { toString: _, ...status } = client().status()
    return { ...status, text: String(client().status()) }
  },
  async close(): Promise<true> {
    await rpc?.close()
    await node?.stop()
    rpc = undefined
    node = undefined
    return true
  },
  /** What the browser is: the test reports it. */
  userAgent: () => navigator.userAgent,
}

export type PageApi = typeof api

// Not declared on `Window`: core.page.ts declares `outlastTest` there with its own API.
;(window as unknown as { outlastTest: PageApi }).outlastTest = api
