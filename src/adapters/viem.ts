import { createTransport, type EIP1193RequestFn, type Transport } from 'viem'
import type { Outlast } from '../core/createOutlast.ts'

export type OutlastTransportConfig = {
  /** @default 'outlast' */
  key?: string
  /** @default 'outlast' */
  name?: string
}

export type OutlastTransport = Transport<'outlast', { outlast: Outlast }, EIP1193RequestFn>

/**
 * A viem Transport over an outlast client, for `createPublicClient`, `createWalletClient` and
 * wagmi's `transports`. outlast does its own retries and failover, so viem's are turned off.
 */
export function outlast(client: Outlast, config: OutlastTransportConfig = {}): OutlastTransport {
  const { key = 'outlast', name = 'outlast' } = config
  return () =>
    createTransport(
      { key, name, type: 'outlast', request: client.request as EIP1193RequestFn, retryCount: 0 },
      { outlast: client },
    )
}
