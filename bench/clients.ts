/**
 * The clients the bench compares, each over the three sources of its own lab and each behind
 * the same small interface: perform one workload op and return the answer in the form
 * `isRight` compares.
 *
 * Every client reaches its sources through the lab proxies' `fetch` (`proxy.fetch`), so the DNS
 * fault (the proxy's host resolving to `<name>.invalid`) hits all of them alike: outlast and
 * viem take it as `fetchFn`; ethers takes it through `FetchRequest.getUrlFunc`.
 */
import {
  FallbackProvider,
  type FetchCancelSignal,
  FetchRequest,
  type GetUrlResponse,
  JsonRpcProvider,
  makeError,
  Network,
} from 'ethers'
import { createPublicClient, fallback, http as viemHttp } from 'viem'
import { createOutlast, http } from '../src/index.ts'
import { CHAIN_ID } from '../test/helpers.ts'
import type { FaultProxy, Lab } from '../test/lab/index.ts'
import { normalize, type Op, rpcOf } from './workload.ts'

export type ClientName = 'outlast' | 'viem' | 'viem-rank' | 'ethers' | 'floor'

export const clientNames: readonly ClientName[] = [
  'outlast',
  'viem',
  'viem-rank',
  'ethers',
  'floor',
]

export const clientLabels: Record<ClientName, string> = {
  outlast: 'outlast',
  viem: 'viem fallback',
  'viem-rank': 'viem fallback rank',
  ethers: 'ethers FallbackProvider',
  floor: 'direct (floor)',
}

export type Client = {
  perform(op: Op): Promise<string>
  close(): Promise<void>
  /** outlast only: how its answers were reached (`meta.consistency`), counted. */
  consistency?: Record<string, number>
}

/**
 * `proxy.fetch` that refuses once the scenario is over, so timers a client leaves behind (viem's
 * ranking loop never stops) cannot reach a later lab's proxy that reused the port.
 */
function guardedFetch(proxy: FaultProxy, closed: { value: boolean }): typeof fetch {
  return (input, init) =>
    closed.value ? Promise.reject(new TypeError('bench: client closed')) : proxy.fetch(input, init)
}

/** Builds the named client over `lab`; `floor` is the one healthy source named `floorSource`. */
export function createClient(name: ClientName, lab: Lab, floorSource: string): Client {
  const closed = { value: false }
  const stop = () => {
    closed.value = true
  }
  switch (name) {
    case 'outlast':
      return outlastClient(lab, closed, stop)
    case 'viem':
    case 'viem-rank':
      return viemClient(lab, name === 'viem-rank', closed, stop)
    case 'ethers':
      return ethersClient(lab, closed, stop)
    case 'floor':
      return directClient(lab.proxy(floorSource), closed, stop)
  }
}

/**
 * outlast with its defaults (quorum of 2 domains, 10 s per attempt, 10 s deadline), except the
 * head polling interval: 500 ms, half the lab's 1 s block time.
 */
function outlastClient(lab: Lab, closed: { value: boolean }, stop: () => void): Client {
  const rpc = createOutlast({
    chainId: CHAIN_ID,
    pollingInterval: 500,
    sources: lab.sources.map((s) =>
      http(s.proxy.url, {
        name: s.name,
        domain: s.domain,
        kind: s.kind,
        fetchFn: guardedFetch(s.proxy, closed),
      }),
    ),
  })
  const client: Client = {
    consistency: {},
    async perform(op) {
      const { result, meta } = await rpc.requestWithMeta(rpcOf(op))
      const tally = client.consistency!
      tally[meta.consistency] = (tally[meta.consistency] ?? 0) + 1
      return normalize(op, result)
    },
    async close() {
      await rpc.close()
      stop()
    },
  }
  return client
}

/** viem `fallback` with its defaults (or `rank: true`) over `http` transports with defaults. */
function viemClient(lab: Lab, rank: boolean, closed: { value: boolean }, stop: () => void): Client {
  const client = createPublicClient({
    transport: fallback(
      lab.sources.map((s) => viemHttp(s.proxy.url, { fetchFn: guardedFetch(s.proxy, closed) })),
      rank ? { rank: true } : {},
    ),
  })
  return {
    perform: async (op) => {
      const { method, params } = rpcOf(op)
      return normalize(op, await client.request({ method, params } as never))
    },
    async close() {
      stop()
    },
  }
}

/** An ethers `getUrlFunc` over a fetch function (ethers' own timeout and cancel kept). */
function getUrlOver(fetchFn: typeof fetch) {
  return async (req: FetchRequest, signal?: FetchCancelSignal): Promise<GetUrlResponse> => {
    const controller = new AbortController()
    signal?.addListener(() => controller.abort())
    const timer = setTimeout(() => controller.abort(), req.timeout)
    try {
      const res = await fetchFn(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body ? Buffer.from(req.body) : null,
        signal: controller.signal,
      })
      const headers: Record<string, string> = {}
      res.headers.forEach((value, key) => {
        headers[key] = value
      })
      const body = new Uint8Array(await res.arrayBuffer())
      return { statusCode: res.status, statusMessage: res.statusText, headers, body }
    } catch (error) {
      if (signal?.cancelled) throw makeError('request cancelled', 'CANCELLED')
      if (controller.signal.aborted) throw makeError('request timeout', 'TIMEOUT')
      throw error
    } finally {
      clearTimeout(timer)
    }
  }
}

/**
 * ethers v6 `FallbackProvider` with its defaults (quorum 2 of 3, 400 ms stall timeout) over
 * `JsonRpcProvider`s with their defaults, told the chain (`staticNetwork`) so that they do not
 * ask `eth_chainId` before every call.
 */
function ethersClient(lab: Lab, closed: { value: boolean }, stop: () => void): Client {
  const network = Network.from(CHAIN_ID)
  const providers = lab.sources.map((s) => {
    const request = new FetchRequest(s.proxy.url)
    request.getUrlFunc = getUrlOver(guardedFetch(s.proxy, closed))
    return new JsonRpcProvider(request, network, { staticNetwork: network })
  })
  const provider = new FallbackProvider(providers, network)
  return {
    async perform(op) {
      switch (op.kind) {
        case 'balance':
          return (await provider.getBalance(op.address)).toString()
        case 'nonce':
          return String(await provider.getTransactionCount(op.address))
        case 'call':
          return (await provider.call({ to: op.to, data: '0x' })).toLowerCase()
        case 'blockByHash':
          return normalize(op, await provider.getBlock(op.hash))
        case 'blockByNumber':
          return normalize(op, await provider.getBlock(op.number))
        case 'blockNumber':
          return String(await provider.getBlockNumber())
      }
    },
    async close() {
      stop()
      await provider.destroy()
    },
  }
}

/** The floor: plain JSON-RPC over fetch to one healthy source, nothing else. */
function directClient(proxy: FaultProxy, closed: { value: boolean }, stop: () => void): Client {
  const fetchFn = guardedFetch(proxy, closed)
  let id = 0
  return {
    async perform(op) {
      const res = await fetchFn(proxy.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: ++id, ...rpcOf(op) }),
      })
      const body = (await res.json()) as { result?: unknown; error?: { message: string } }
      if (body.error) throw new Error(body.error.message)
      return normalize(op, body.result)
    },
    async close() {
      stop()
    },
  }
}
