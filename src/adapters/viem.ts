import { createTransport, type EIP1193RequestFn, type Transport } from 'viem'
import type { Outlast } from '../core/createOutlast.ts'

export type OutlastTransportConfig = {
  /** @default 'outlast' */
  key?: string
  /** @default 'outlast' */
  name?: string
}

type Subscribe = (args: {
  params: readonly unknown[]
  onData: (data: { subscription: string; result: unknown }) => unknown
  onError?: ((error: unknown) => void) | undefined
}) => Promise<{ subscriptionId: string; unsubscribe: () => Promise<boolean> }>

export type OutlastTransport = Transport<
  'outlast',
  { outlast: Outlast; subscribe: Subscribe },
  EIP1193RequestFn
>

/**
 * A viem Transport over an outlast client, for `createPublicClient`, `createWalletClient` and
 * wagmi's `transports`. outlast does its own retries and failover, so viem's are turned off.
 * `watchBlocks` / `watchEvent` with `poll: false` use outlast's gap-free subscriptions.
 */
export function outlast(client: Outlast, config: OutlastTransportConfig = {}): OutlastTransport {
  const { key = 'outlast', name = 'outlast' } = config
  const subscribe: Subscribe = async ({ params, onData }) => {
    // viem's onData may be async (watchBlocks fetches each block): one result at a time keeps
    // a backfilled burst in order.
    let queue: Promise<unknown> = Promise.resolve()
    const sub = await client.subscribe(params, (result) => {
      queue = queue.then(() => onData({ subscription: sub.id, result })).catch(() => {})
    })
    return { subscriptionId: sub.id, unsubscribe: sub.unsubscribe }
  }
  return () =>
    createTransport(
      { key, name, type: 'outlast', request: client.request as EIP1193RequestFn, retryCount: 0 },
      { outlast: client, subscribe },
    )
}
