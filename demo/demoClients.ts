/**
 * The two clients the demo compares, over the same lab proxies: outlast, and viem's
 * `fallback([...])` transport as a dApp would configure it today. Both are seen by the
 * workload through one small interface.
 */
import {
  type Chain,
  createPublicClient,
  createWalletClient,
  fallback,
  type Transport,
  http as viemHttp,
  type WalletClient,
} from 'viem'
import type { LocalAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import { outlast } from '../src/adapters/viem.ts'
import { createOutlast, type Head, http, type Outlast } from '../src/index.ts'
import type { Lab } from '../test/lab/index.ts'
import { CHAIN_ID } from './demoLab.ts'

export type Hex = `0x${string}`

/** An answer, and the block the client says it is about (outlast says; viem does not). */
export type Answer = {
  result: unknown
  block?: Head
  /** How the client says it reached the answer, for the report of a wrong one. */
  how?: string
}

export type DemoWallet = WalletClient<Transport, Chain, LocalAccount>

export type DemoClient = {
  /** Shown in the view and the summary. */
  name: string
  /** One JSON-RPC read. */
  read(method: string, params: unknown[]): Promise<Answer>
  /** A wallet that signs locally with `account` and sends through this client. */
  wallet(account: LocalAccount): DemoWallet
  close(): Promise<void>
}

/**
 * An outlast client over every lab source, each in its failure domain, with outlast's
 * defaults except the head polling interval, which follows the lab's one-second blocks.
 */
export function createDemoOutlast(lab: Lab): { rpc: Outlast; client: DemoClient } {
  const rpc = createOutlast({
    chainId: CHAIN_ID,
    pollingInterval: 1_000,
    sources: lab.sources.map((s) =>
      http(s.proxy.url, { name: s.name, domain: s.domain, kind: s.kind, fetchFn: s.proxy.fetch }),
    ),
  })
  const client: DemoClient = {
    name: 'outlast',
    async read(method, params) {
      const { result, meta } = await rpc.requestWithMeta({ method, params })
      const how = `${meta.consistency} by ${meta.sources.join(', ') || 'outlast'}, ${meta.attempts} attempt(s)`
      return meta.block ? { result, block: meta.block, how } : { result, how }
    },
    wallet: (account) => createWalletClient({ account, chain: anvil, transport: outlast(rpc) }),
    close: () => rpc.close(),
  }
  return { rpc, client }
}

/**
 * viem's `fallback` over the same proxies in the same order, with viem's defaults: a 10 s
 * timeout per request, three retries, no ranking.
 */
export function createDemoViemFallback(lab: Lab): DemoClient {
  const transport = fallback(
    lab.sources.map((s) => viemHttp(s.proxy.url, { fetchFn: s.proxy.fetch, key: s.name })),
  )
  const reader = createPublicClient({ chain: anvil, transport, cacheTime: 0 })
  return {
    name: 'viem fallback',
    async read(method, params) {
      return { result: await reader.request({ method, params } as never) }
    },
    wallet: (account) => createWalletClient({ account, chain: anvil, transport }),
    close: async () => {},
  }
}
