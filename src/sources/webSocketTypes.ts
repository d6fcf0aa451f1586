/** The public types of the `webSocket()` source: its options, state events and subscriptions. */
import type { SourceError } from '../shared/errors.ts'
import type { MethodRoute, Source, UrlSourceKind } from '../shared/types.ts'

export type WebSocketState = 'connecting' | 'open' | 'closed'

export type WebSocketStateEvent = {
  state: WebSocketState
  /** When it happened (`Date.now()`). */
  at: number
  /** Connection attempts since a socket last answered anything (1 on the first attempt). */
  attempt: number
  /** On `closed`: why the socket closed or the attempt failed (none after `close()`). */
  error?: SourceError
  /** On `closed`: milliseconds until the next attempt; absent after `close()`. */
  retryIn?: number
  /** On `open` after a loss: milliseconds since the previous open socket was lost. */
  downtime?: number
}

export type ResubscribeEvent = {
  /** The node's new subscription id. */
  id: string
  previousId: string
  /** When the socket that carried the old subscription was lost (`Date.now()`). */
  lostAt: number
  /** Milliseconds from that loss to the new socket opening: notifications in it were missed. */
  downtime: number
}

export type SubscriptionHandlers = {
  /**
   * The subscription ended on the node's side: a resubscribe after a reconnect was refused
   * or timed out. A lost socket alone is not an error: the source resubscribes by itself.
   */
  onError?: (error: SourceError) => void
  /** Called after a reconnect, before the first notification of the new subscription. */
  onResubscribe?: (event: ResubscribeEvent) => void
}

export type WebSocketSubscription = {
  /** The node's subscription id; it changes with each resubscribe. */
  readonly id: string
  /** Stops delivery at once and tells the node (when the socket that holds it is open). */
  unsubscribe(): Promise<void>
}

export type WebSocketSource = Omit<Source, 'subscribe'> & {
  /** `closed` before first use, while waiting to reconnect and after `close()`. */
  readonly state: WebSocketState
  /**
   * `eth_subscribe` with `params` (e.g. `['newHeads']`, `['logs', filter]`); `onMessage` gets
   * each notification's `result`. The handle survives reconnects.
   */
  subscribe(
    params: readonly unknown[],
    onMessage: (result: unknown) => void,
    handlers?: SubscriptionHandlers['onError'] | SubscriptionHandlers,
  ): Promise<WebSocketSubscription>
  /** Listens to state changes; returns the function that stops listening. */
  onState(listener: (event: WebSocketStateEvent) => void): () => void
  /** Closes for good: no reconnect, every timer cleared, pending calls fail `unavailable`. */
  close(): void
}

/** Any class with the WebSocket API: the platform's, or `ws`'s in Node. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => unknown

export type WebSocketSourceOptions = {
  /** Unique name shown in events, errors and `status()`. @default the URL's host */
  name?: string
  /** @default 'cloud' */
  kind?: UrlSourceKind
  /** Failure domain (provider + region, or `home`). Sources in one domain fail together. @default the URL's host */
  domain?: string
  /** Ranking weight: higher is preferred at equal latency. @default 1 */
  weight?: number
  /** Its answers count only when checked here, never toward a quorum or a head (see `http`). @default false */
  untrusted?: boolean
  /** Which methods it is asked: `{ include }` or `{ exclude }` (see `http`). @default every method */
  methods?: MethodRoute
  /** Milliseconds one call, or one connection attempt, may take. @default 10_000 */
  timeout?: number
  /** Largest frame parsed, in bytes; a larger answer fails its call with `body`. @default 16_777_216 (16 MiB) */
  maxResponseBytes?: number
  /** Reconnect waits: random in [0, min(maxDelay, delay · 2^failures)] (full jitter). */
  reconnect?: {
    /** Milliseconds; the base of the exponential backoff. @default 250 */
    delay?: number
    /** Milliseconds; the longest wait between attempts. @default 10_000 */
    maxDelay?: number
  }
  /** A cheap call (`eth_chainId`) on open and every `interval` ms; unanswered within `timeout` ms, the socket counts as dead. `false` turns it off. */
  heartbeat?:
    | false
    | {
        /** @default 5_000 */
        interval?: number
        /** @default 2_500 */
        timeout?: number
      }
  /**
   * Extra handshake headers (e.g. an API key header); their values are scrubbed from everything
   * outlast emits. Needs a `webSocketImpl` that takes `(url, protocols, { headers })`, as `ws`'s
   * does: a browser's WebSocket cannot send headers. @default none
   */
  headers?: Record<string, string>
  /** WebSocket subprotocols for the handshake. @default none */
  protocols?: string | string[]
  /**
   * The WebSocket class. Node's built-in one gives no cause for a failed connection (so no
   * `refused` or `dns`) and cannot drop a half-open socket; `ws`'s class can. @default globalThis.WebSocket
   */
  webSocketImpl?: WebSocketConstructor
}
