import {
  assertArgument,
  JsonRpcApiProvider,
  type JsonRpcError,
  type JsonRpcPayload,
  type JsonRpcResult,
  makeError,
  Network,
  type Subscriber,
  type Subscription,
} from 'ethers'
import type { Outlast } from '../core/createOutlast.ts'
import { ProviderRpcError, RpcResponseError } from '../shared/errors.ts'

export type OutlastProviderOptions = {
  /** Milliseconds between ethers' polls for a new block (`on('block')`, events, `tx.wait()`). @default 4000 */
  pollingInterval?: number
  /** Milliseconds ethers reuses the answer to an identical call; -1 turns that off. @default 250 */
  cacheTimeout?: number
  /** `destroy()` also closes the outlast client; leave it off when the client is shared. @default false */
  closeOnDestroy?: boolean
}

/**
 * An ethers v6 Provider over an outlast client: `new OutlastProvider(rpc)`. The network is
 * `rpc.chainId` (never detected), each call goes to `rpc.request` (outlast batches, hedges and
 * retries, so ethers does not), and errors become ethers' usual ones: a revert is a
 * `CALL_EXCEPTION`, a rejected transaction `NONCE_EXPIRED` / `INSUFFICIENT_FUNDS`, a method
 * outlast does not serve `UNSUPPORTED_OPERATION`. outlast's own errors (`AllSourcesFailedError`,
 * `QuorumError`, `DeadlineError`...) are thrown as they are.
 */
export class OutlastProvider extends JsonRpcApiProvider {
  /** The outlast client this provider sends through. */
  readonly outlast: Outlast
  readonly #closeOnDestroy: boolean

  constructor(rpc: Outlast, options: OutlastProviderOptions = {}) {
    assertArgument(
      typeof rpc?.request === 'function' && Number.isSafeInteger(rpc.chainId),
      'invalid outlast client',
      'rpc',
      rpc,
    )
    const network = Network.from(rpc.chainId)
    super(network, {
      // The chain is the client's: ethers never asks eth_chainId.
      staticNetwork: network,
      // One call per rpc.request: outlast does its own batching, hedging and retries.
      batchMaxCount: 1,
      // Blocks and events come from outlast's subscriptions (_getSubscriber); nothing else polls.
      polling: true,
      pollingInterval: options.pollingInterval ?? 4000,
      cacheTimeout: options.cacheTimeout ?? 250,
    })
    this.outlast = rpc
    this.#closeOnDestroy = options.closeOnDestroy ?? false
    this._start()
  }

  override async _send(
    payload: JsonRpcPayload | JsonRpcPayload[],
  ): Promise<(JsonRpcResult | JsonRpcError)[]> {
    assertArgument(!Array.isArray(payload), 'outlast takes one call at a time', 'payload', payload)
    const { id, method, params } = payload
    try {
      return [{ id, result: await this.outlast.request({ method, params }) }]
    } catch (error) {
      if (!(error instanceof RpcResponseError || isUnsupported(error))) throw error
      return [{ id, error: { code: error.code, message: error.message, data: error.data } }]
    }
  }

  override getRpcError(payload: JsonRpcPayload, error: JsonRpcError): Error {
    if (error.error.code !== 4200) return super.getRpcError(payload, error)
    return makeError(error.error.message ?? 'unsupported method', 'UNSUPPORTED_OPERATION', {
      operation: payload.method,
      info: { error, payload },
    })
  }

  /** `on('block')` and event listeners ride outlast's gap-free stream; other events as ethers does. */
  override _getSubscriber(sub: Subscription): Subscriber {
    if (sub.type === 'block')
      return new OutlastSubscriber(this, ['newHeads'], (head) => {
        void this.emit('block', Number((head as { number: string }).number))
      })
    if (sub.type === 'event')
      return new OutlastSubscriber(this, ['logs', sub.filter], (log) => {
        void this.emit(sub.filter, this._wrapLog(log as never, this._network))
      })
    return super._getSubscriber(sub)
  }

  override destroy(): void {
    super.destroy()
    // Nothing awaits destroy(); closing a source is best-effort.
    if (this.#closeOnDestroy) this.outlast.close().catch(() => {})
  }
}

/** An ethers Subscriber fed by one outlast subscription: no gap, no duplicate, in order. */
class OutlastSubscriber implements Subscriber {
  readonly #provider: OutlastProvider
  readonly #params: readonly unknown[]
  readonly #onResult: (result: unknown) => void
  #sub: Promise<{ unsubscribe(): Promise<boolean> } | undefined> | undefined
  /** Which start() this is: stop() moves it on, and a retry of an older one gives up. */
  #run = 0

  constructor(
    provider: OutlastProvider,
    params: readonly unknown[],
    onResult: (result: unknown) => void,
  ) {
    this.#provider = provider
    this.#params = params
    this.#onResult = onResult
  }

  start(): void {
    this.#sub ??= this.#subscribe(++this.#run)
  }

  /**
   * Subscribes; after a failure outlast can get past (its stream's code not fetched while the
   * page's host was down) tries again, 1 s then doubling to 30 s, as ethers' own pollers keep
   * polling: a listener is never dropped for good in silence. Not after the caller's own error
   * (-32602) or `close()` (4900). Its timers are the provider's: `destroy()` clears them.
   */
  async #subscribe(run: number) {
    for (let wait = 1_000; ; wait = Math.min(2 * wait, 30_000)) {
      try {
        return await this.#provider.outlast.subscribe(this.#params, this.#onResult)
      } catch (error) {
        const code = (error as { code?: unknown }).code
        if (code === 4900 || code === -32602) return undefined
      }
      await new Promise((resolve) => this.#provider._setTimeout(() => resolve(undefined), wait))
      if (run !== this.#run) return undefined
    }
  }

  stop(): void {
    this.#run++
    const sub = this.#sub
    this.#sub = undefined
    sub?.then((s) => s?.unsubscribe()).catch(() => {})
  }

  pause(): void {
    this.stop()
  }

  resume(): void {
    this.start()
  }
}

/** EIP-1193 4200: a wallet-only method (or one outlast does not serve yet). */
const isUnsupported = (error: unknown): error is ProviderRpcError =>
  error instanceof ProviderRpcError && error.code === 4200
