/**
 * How a dApp pins relays: its cloud endpoints as usual, plus `p2p()` with the relays its team
 * (or its community) runs, each in its own failure domain, and `proofs()` so that state reads
 * are checked against the header the domains agree on. The client is a viem transport here; the
 * same `rpc` works as an EIP-1193 provider or with `outlast/ethers`.
 */
import { createPublicClient, defineChain } from 'viem'
import { outlast } from '../../src/adapters/viem.ts'
import { createOutlast, http } from '../../src/index.ts'
import { p2p } from '../../src/p2p/index.ts'
import { proofs } from '../../src/proofs/index.ts'

export type DappConfig = {
  chainId: number
  /** Cloud endpoints (keys in URLs are never shown by outlast). */
  clouds: { url: string; domain: string; fetchFn?: typeof fetch }[]
  /** Relay multiaddrs, each ending in /p2p/<peer id> (what `outlast relay` prints). */
  relays: { address: string; domain: string }[]
}

export function dappClient(config: DappConfig) {
  const rpc = createOutlast({
    chainId: config.chainId,
    prover: proofs(),
    sources: [
      ...config.clouds.map(({ url, ...options }) => http(url, options)),
      // WebSockets and WebRTC-Direct by default: the same list works in browsers and in Node.
      p2p({ peers: config.relays }),
    ],
  })
  const chain = defineChain({
    id: config.chainId,
    name: `chain ${config.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [] } },
  })
  return { rpc, client: createPublicClient({ chain, transport: outlast(rpc) }) }
}
