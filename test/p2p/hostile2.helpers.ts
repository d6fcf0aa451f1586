/**
 * Helpers of hostile2.test.ts: a scripted node (a small HTTP server answering as a node or a
 * provider would, counting calls, slow on request), in-process relays in front of it, bare peers
 * and raw `/outlast/rpc/1.0.0` streams.
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import * as TxEnvelopeEip1559 from 'ox/TxEnvelopeEip1559'
import { type PeerLibp2p, RPC_PROTOCOL, startPeerNode } from '../../src/p2p/index.ts'
import { createRelay, type Relay, type RelayOptions } from '../../src/p2p/relay/index.ts'
import { computeBlockHash, type RpcBlockHeader } from '../../src/verify/block.ts'

export const CHAIN_ID = 31337
/** The key in the node's URL, as a provider's URL carries one (hex, as many providers' keys). */
export const SECRET = '9f2c4e7a1b3d5f60a8c2e4f6b1d3a5c7'

type NodeCall = { id?: unknown; method?: string; params?: unknown[] }

export type ScriptedNode = {
  url: string
  calls: Record<string, number>
  /** ms added before answering `method`. */
  delay: Record<string, number>
  /** Raw transactions the node was asked to send. */
  sent: string[]
  /** Methods in the order the node answered them. */
  order: string[]
  reset(): void
  stop(): Promise<void>
}

const hexText = (hex: unknown) =>
  typeof hex === 'string' && hex.startsWith('0x')
    ? Buffer.from(hex.slice(2), 'hex').toString('utf8')
    : ''

export async function startScriptedNode(): Promise<ScriptedNode> {
  const calls: Record<string, number> = {}
  const delay: Record<string, number> = {}
  const sent: string[] = []
  const order: string[] = []
  const answer = async (c: NodeCall) => {
    const method = String(c.method)
    calls[method] = (calls[method] ?? 0) + 1
    if (delay[method]) await new Promise((r) => setTimeout(r, delay[method]))
    order.push(method)
    const ok = (result: unknown) => ({ jsonrpc: '2.0', id: c.id, result })
    const err = (code: number, message: string) => ({
      jsonrpc: '2.0',
      id: c.id,
      error: { code, message },
    })
    switch (method) {
      case 'eth_chainId':
        return ok(`0x${CHAIN_ID.toString(16)}`)
      case 'eth_blockNumber':
        return ok('0x10')
      case 'eth_getBalance':
        return ok('0x1')
      case 'eth_getBlockByNumber':
      case 'eth_getBlockByHash':
        return ok(null)
      case 'eth_sendRawTransaction':
        sent.push(String(c.params?.[0]))
        return err(-32000, 'insufficient funds for gas * price + value')
      case 'eth_call':
        // A contract that reverts with its calldata as the reason string (anyone can deploy
        // one; geth and anvil put a revert's reason string into the error's message text).
        return err(3, `execution reverted: ${hexText((c.params?.[0] as { data?: unknown })?.data)}`)
      default:
        return err(-32601, `method ${method} not found`)
    }
  }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as NodeCall | NodeCall[]
      const out = Array.isArray(body)
        ? await Promise.all(body.map((c) => answer(c)))
        : await answer(body)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(out))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v3/${SECRET}`,
    calls,
    delay,
    sent,
    order,
    reset() {
      for (const o of [calls, delay]) for (const k of Object.keys(o)) delete o[k]
      sent.length = 0
      order.length = 0
    },
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

export function lab(node: () => ScriptedNode) {
  const relays: Relay[] = []
  const peers: PeerLibp2p[] = []
  return {
    async relay(o: Partial<RelayOptions> = {}): Promise<Relay> {
      const relay = await createRelay({
        rpc: node().url,
        listen: ['/ip4/127.0.0.1/tcp/0'],
        headInterval: 60_000,
        ...o,
      })
      relays.push(relay)
      return relay
    },
    async peer(): Promise<PeerLibp2p> {
      const p = await startPeerNode({ transports: [tcp()] })
      peers.push(p)
      return p
    },
    async cleanup() {
      await Promise.all(peers.splice(0).map((p) => Promise.resolve(p.stop()).catch(() => {})))
      await Promise.all(relays.splice(0).map((r) => r.stop().catch(() => {})))
      node().reset()
    },
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export async function rawStream(relay: Relay, from: PeerLibp2p) {
  const stream = await from.dialProtocol(multiaddr(relay.addresses[0]!), RPC_PROTOCOL)
  const lp = lpStream(stream, { maxDataLength: 64 * 1024 * 1024 })
  return {
    stream,
    send: (value: unknown) => lp.write(encoder.encode(JSON.stringify(value))),
    readText: async (ms = 5_000) =>
      decoder.decode((await lp.read({ signal: AbortSignal.timeout(ms) })).subarray()),
  }
}

export const call = (method: string, params: unknown[] = [], id: number | string = 1) => ({
  jsonrpc: '2.0',
  id,
  method,
  params,
})

export const until = async (what: string, ok: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

export const settle = <T>(p: Promise<T>) =>
  p.then(
    (result) => ({ ok: true as const, result }),
    (error: Error) => ({ ok: false as const, error }),
  )

/** A header no chain has, that hashes to its own hash (all a gossiped head's checks ask). */
export function madeUpHeader(i: number): Record<string, unknown> {
  const z = (bytes: number) => `0x${'00'.repeat(bytes)}`
  const h = {
    parentHash: z(32),
    sha3Uncles: '0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347',
    miner: z(20),
    stateRoot: z(32),
    transactionsRoot: z(32),
    receiptsRoot: z(32),
    logsBloom: z(256),
    difficulty: '0x0',
    number: `0x${(1_000 + i).toString(16)}`,
    gasLimit: '0x1c9c380',
    gasUsed: '0x0',
    timestamp: `0x${Math.floor(Date.now() / 1000).toString(16)}`,
    extraData: `0x${i.toString(16).padStart(8, '0')}`,
    mixHash: z(32),
    nonce: z(8),
    baseFeePerGas: '0x7',
  }
  return { ...h, hash: computeBlockHash(h as RpcBlockHeader) }
}

/** A 1-wei EIP-1559 transfer on the lab chain, unsigned: what the gossip tests sign or forge. */
export const transfer = (nonce: bigint) =>
  TxEnvelopeEip1559.from({
    chainId: CHAIN_ID,
    nonce,
    gas: 21_000n,
    maxFeePerGas: 1n,
    maxPriorityFeePerGas: 1n,
    to: '0x0000000000000000000000000000000000000001',
    value: 1n,
  })

/** A libp2p node whose gossipsub only keeps the topic validators a test then calls (relayGossip benches). */
export function validatingNode() {
  const validators = new Map<
    string,
    (peer: { toString(): string }, msg: { data: Uint8Array }) => Promise<string>
  >()
  const pubsub = {
    topicValidators: validators,
    subscribe: () => {},
    publish: async () => ({ recipients: [] }),
  }
  return { validators, libp2p: { services: { pubsub } } as unknown as PeerLibp2p }
}
