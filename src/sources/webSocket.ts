/**
 * The `webSocket()` source: its options checked, and the two halves joined, the connection
 * (wsConnection.ts: connect, reconnect, heartbeat, close) and the calls on it (wsCalls.ts: ids,
 * answers, timeouts, subscriptions).
 */

import type { RpcRequest, SourceRequestOptions } from '../shared/types.ts'
import { redactHost } from '../shared/url.ts'
import { jsonRpc } from './jsonRpc.ts'
import { finite, MAX_TIMER, urlSource, urlSourceConfig } from './options.ts'
import { scrubberFor } from './secrets.ts'
import type { WebSocketSource, WebSocketSourceOptions } from './webSocketTypes.ts'
import { Calls } from './wsCalls.ts'
import { Connection, type ConnectionSettings, type SocketClass } from './wsConnection.ts'

export type {
  ResubscribeEvent,
  SubscriptionHandlers,
  WebSocketConstructor,
  WebSocketSource,
  WebSocketSourceOptions,
  WebSocketState,
  WebSocketStateEvent,
  WebSocketSubscription,
} from './webSocketTypes.ts'

/**
 * A JSON-RPC source over one WebSocket, opened on first use and kept open: it reconnects
 * with backoff and jitter, detects half-open sockets with a heartbeat, and resubscribes
 * after each reconnect. Calls made while it waits to reconnect fail at once.
 */
export function webSocket(url: string, options: WebSocketSourceOptions = {}): WebSocketSource {
  const settings = settingsOf(url, options)
  const { name, timeout, maxResponseBytes } = settings
  const { connection } = settings
  // Every string this source emits passes through `scrub`: a node may echo the key it was sent.
  const scrub = scrubberFor(url, options.headers)
  const rpc = jsonRpc(name, scrub)
  const conn: Connection = new Connection(
    { ...connection, fail: rpc.fail },
    {
      opened: () => calls.opened(),
      message: (data) => calls.message(data),
      lost: (ws, error, now) => calls.lost(ws, error, now),
      ended: () => calls.ended(),
      ping: (ms) => calls.ping(ms),
    },
  )
  const calls = new Calls(rpc, conn, { timeout, maxResponseBytes })

  return {
    config: urlSourceConfig(settings, url, scrub.text),
    get state() {
      return conn.state
    },
    request(body: RpcRequest, { signal }: SourceRequestOptions = {}) {
      return calls.call(body, signal, timeout)
    },
    subscribe: (params, onMessage, handlers) => calls.subscribe(params, onMessage, handlers),
    onState: (listener) => conn.onState(listener),
    close: () => conn.close(),
  }
}

/** The options, checked, with their defaults (as their JSDoc states). */
function settingsOf(url: string, options: WebSocketSourceOptions) {
  const { url: parsed, check, ...source } = urlSource('webSocket', url, ['ws:', 'wss:'], options)
  const { protocols, headers } = options
  const { delay = 250, maxDelay = 10_000 } = options.reconnect ?? {}
  const heartbeat =
    options.heartbeat === false
      ? undefined
      : { interval: 5_000, timeout: 2_500, ...options.heartbeat }
  const Impl = (options.webSocketImpl ?? globalThis.WebSocket) as SocketClass
  check(
    finite(delay) && finite(maxDelay) && delay >= 0 && maxDelay >= delay && maxDelay <= MAX_TIMER,
    `reconnect needs 0 <= delay <= maxDelay <= ${MAX_TIMER} ms`,
  )
  check(
    !heartbeat ||
      [heartbeat.interval, heartbeat.timeout].every((n) => finite(n) && n > 0 && n <= MAX_TIMER),
    `heartbeat interval and timeout must be numbers of ms > 0 and <= ${MAX_TIMER}`,
  )
  check(typeof Impl === 'function', 'no WebSocket class: pass options.webSocketImpl')
  check(
    !headers || options.webSocketImpl !== undefined,
    "headers need a webSocketImpl that sends them (ws's class): the platform's WebSocket cannot",
  )
  const { timeout } = source
  const connection: Omit<ConnectionSettings, 'fail'> = {
    url,
    host: redactHost(parsed),
    protocols,
    headers,
    Impl,
    custom: options.webSocketImpl !== undefined,
    maxPayload: source.maxResponseBytes,
    timeout,
    delay,
    maxDelay,
    heartbeat,
  }
  return { ...source, connection }
}
