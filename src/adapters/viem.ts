import { createTransport, type EIP1193RequestFn, type Transport } from 'viem'
import type { Outlast } from '../core/createOutlast.ts'
import type { BaseError } from '../shared/errors.ts'

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
  const request = (async (args: Parameters<Outlast['request']>[0]) => {
    try {
      return await client.request(args)
    } catch (error) {
      throw forViem(error)
    }
  }) as EIP1193RequestFn
  return () =>
    createTransport(
      { key, name, type: 'outlast', request, retryCount: 0 },
      { outlast: client, subscribe },
    )
}

/** outlast's own failure as viem gets it; the whole error is `outlast`. */
export class OutlastRequestError extends Error {
  override name = 'OutlastRequestError'
  readonly code: number
  readonly outlast: BaseError

  constructor(error: BaseError) {
    super(error.shortMessage)
    this.code = error.code === -32603 ? -32002 : error.code
    this.outlast = error
  }
}

/**
 * A node's JSON-RPC error (an agreed revert, say) and outlast's provider errors go to viem as
 * they are. outlast's own failures (no agreement, a deadline, a failed check) go as
 * `OutlastRequestError`: code -32002, resource unavailable, where they had -32603, and their
 * short message only. viem reads -32603 as a contract revert, and matches a message against
 * node phrases ("execution reverted", "nonce too low"): a failure listing each source's answer
 * would let one source's words decide what viem reports.
 */
function forViem(error: unknown): unknown {
  // By its shape and name, not its class: this entry stays free of the core's error classes.
  const e = error as Partial<BaseError> | undefined
  if (
    !(error instanceof Error) ||
    typeof e?.shortMessage !== 'string' ||
    typeof e.code !== 'number' ||
    error.name === 'RpcResponseError' ||
    error.name === 'ProviderRpcError'
  )
    return error
  return new OutlastRequestError(error as BaseError)
}
