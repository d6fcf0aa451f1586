import { SourceError, type SourceFailureKind } from '../core/errors.ts'
import type { RpcRequest, SourceRequestOptions } from '../core/types.ts'
import { redactUrl } from '../core/url.ts'
import { decodeFrame } from './frame.ts'
import { finite, MAX_TIMER, urlSource } from './options.ts'
import { nodeError, scrubberFor } from './secrets.ts'
import type {
  SubscriptionHandlers,
  WebSocketSource,
  WebSocketSourceOptions,
  WebSocketState,
  WebSocketStateEvent,
} from './webSocketTypes.ts'

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

/** The parts of a WebSocket this file uses. */
type Socket = {
  readonly readyState: number
  binaryType: string
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onerror: ((event: unknown) => void) | null
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
  terminate?(): void
}

type Pending = {
  frame: string
  sent: boolean
  /** Runs synchronously with the result, before any later frame is handled. */
  onResult?: ((result: unknown) => void) | undefined
  succeed(result: unknown): void
  fail(error: SourceError): void
}

type Sub = {
  params: readonly unknown[]
  onMessage: (result: unknown) => void
  handlers: SubscriptionHandlers
  serverId: string
  /** The socket on which `serverId` is valid. */
  socket: Socket | undefined
  /** When that socket was lost (`Date.now()`): notifications since then were missed. */
  lostAt: number
  dead: boolean
}

const OPEN = 1
const noop = () => {}

/**
 * A JSON-RPC source over one WebSocket, opened on first use and kept open: it reconnects
 * with backoff and jitter, detects half-open sockets with a heartbeat, and resubscribes
 * after each reconnect. Calls made while it waits to reconnect fail at once.
 */
export function webSocket(url: string, options: WebSocketSourceOptions = {}): WebSocketSource {
  const {
    url: parsed,
    name,
    kind,
    domain,
    weight,
    timeout,
    maxResponseBytes,
    check,
  } = urlSource('webSocket', url, ['ws:', 'wss:'], options)
  const { protocols, headers } = options
  const { delay = 250, maxDelay = 10_000 } = options.reconnect ?? {}
  const heartbeat =
    options.heartbeat === false
      ? undefined
      : { interval: 5_000, timeout: 2_500, ...options.heartbeat }
  const Impl = (options.webSocketImpl ?? globalThis.WebSocket) as new (
    url: string,
    protocols?: string | string[],
    init?: { headers: Record<string, string> },
  ) => Socket
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

  // Every string this source emits passes through `scrub`: a node may echo the key it was sent.
  const scrub = scrubberFor(url, headers)
  const fail = (failure: SourceFailureKind, message: string) =>
    new SourceError(name, failure, scrub.text(message))

  const rpcError = (error: unknown) => nodeError(name, scrub, error)

  let socket: Socket | undefined
  let state: WebSocketState = 'closed'
  let closedForGood = false
  /** Connection attempts since a socket last answered. */
  let failures = 0
  let answered = false
  let lastLoss: { kind: SourceFailureKind; text: string } | undefined
  let lostAt: number | undefined
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let retryAt = 0
  let connectTimer: ReturnType<typeof setTimeout> | undefined
  let beatTimer: ReturnType<typeof setInterval> | undefined
  let beating = false
  let nextId = 0
  const pending = new Map<number, Pending>()
  const subs = new Set<Sub>()
  const byServerId = new Map<string, Sub>()
  const listeners = new Set<(event: WebSocketStateEvent) => void>()

  function setState(next: WebSocketState, extra: Partial<WebSocketStateEvent> = {}) {
    state = next
    const event = { state: next, at: Date.now(), attempt: failures + 1, ...extra }
    for (const listener of [...listeners]) guard(() => listener(event))
  }

  function connect() {
    clearTimeout(retryTimer)
    retryTimer = undefined
    answered = false
    let ws: Socket
    try {
      ws = headers ? new Impl(url, protocols, { headers }) : new Impl(url, protocols)
    } catch (error) {
      socket = ws = { readyState: 3 } as Socket
      return lost(ws, 'network', `cannot open a WebSocket: ${(error as Error).message}`)
    }
    socket = ws
    ws.binaryType = 'arraybuffer'
    connectTimer = setTimeout(
      () => lost(ws, 'timeout', `no connection within ${timeout} ms`),
      timeout,
    )
    ws.onopen = () => {
      if (ws === socket) opened()
    }
    ws.onmessage = (event) => {
      if (ws === socket) receive(event.data)
    }
    // Node's WebSocket fires `error` and no `close` when the connection cannot be made.
    ws.onerror = (event) => {
      if (ws === socket && state === 'connecting') connectFailed(ws, event)
    }
    ws.onclose = (event) => {
      if (ws !== socket) return
      const how = event.wasClean ? '' : ', no close frame'
      const why = event.reason ? `: ${event.reason}` : ''
      if (state === 'connecting')
        lost(ws, 'network', `closed during the handshake (code ${event.code}${why})`)
      else lost(ws, 'network', `connection lost (code ${event.code}${why}${how})`)
    }
    // Listeners run last everywhere: one may call close() from inside.
    setState('connecting')
  }

  function connectFailed(ws: Socket, event: unknown) {
    const error = (event as { error?: unknown } | null)?.error
    const message = (event as { message?: unknown } | null)?.message
    const code = findCode(error)
    if (code === 'ECONNREFUSED') return lost(ws, 'refused', 'connection refused')
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      return lost(ws, 'dns', `DNS lookup failed for ${parsed.hostname} (${code})`)
    const detail = typeof message === 'string' && message ? `: ${message}` : ''
    lost(ws, 'network', `could not connect${code ? ` (${code})` : ''}${detail}`)
  }

  function opened() {
    clearTimeout(connectTimer)
    state = 'open'
    if (heartbeat) {
      beat()
      beatTimer = setInterval(beat, heartbeat.interval)
    }
    for (const call of pending.values()) if (!call.sent) transmit(call)
    for (const sub of subs) resubscribe(sub)
    setState('open', lostAt === undefined ? {} : { downtime: Date.now() - lostAt })
  }

  /** Forgets a socket for good: fails what waited on it and schedules the next attempt. */
  function lost(ws: Socket, failure: SourceFailureKind, text: string) {
    if (ws !== socket) return
    const now = Date.now()
    socket = undefined
    retire(ws)
    clearTimeout(connectTimer)
    clearInterval(beatTimer)
    beatTimer = undefined
    if (state === 'open') lostAt = now
    for (const sub of subs) if (sub.socket === ws) sub.lostAt = now
    failures = answered ? 0 : failures + 1
    lastLoss = { kind: failure, text }
    const error = fail(failure, text)
    byServerId.clear()
    for (const call of [...pending.values()]) call.fail(error)
    const wait = Math.round(Math.random() * Math.min(maxDelay, delay * 2 ** failures))
    retryAt = Date.now() + wait
    retryTimer = setTimeout(connect, wait)
    setState('closed', { error, retryIn: wait })
  }

  /** Closes a socket we no longer listen to, without waiting for a half-open peer if we can. */
  function retire(ws: Socket, code?: number) {
    ws.onopen = null
    ws.onmessage = null
    ws.onclose = null
    // `ws` emits `error` when a connecting socket is terminated: keep a listener.
    ws.onerror = noop
    try {
      if (code !== undefined && ws.readyState === OPEN) ws.close(code)
      if (ws.terminate) ws.terminate()
      else ws.close()
    } catch {}
  }

  function beat() {
    const hb = heartbeat
    const ws = socket
    if (!hb || !ws || beating || state !== 'open') return
    beating = true
    call({ method: 'eth_chainId' }, undefined, hb.timeout).then(
      () => {
        beating = false
      },
      (error: SourceError) => {
        beating = false
        // A JSON-RPC error is still an answer: the path works.
        if (error.kind === 'timeout')
          lost(ws, 'network', `heartbeat unanswered for ${hb.timeout} ms: connection presumed dead`)
      },
    )
  }

  function transmit(call: Pending) {
    try {
      socket?.send(call.frame)
      call.sent = true
    } catch (error) {
      call.fail(fail('network', `send failed: ${(error as Error).message}`))
    }
  }

  function call(
    body: RpcRequest,
    signal: AbortSignal | undefined,
    ms: number,
    onResult?: (result: unknown) => void,
  ): Promise<unknown> {
    if (closedForGood) return Promise.reject(fail('unavailable', 'source closed'))
    if (signal?.aborted) return Promise.reject(fail('aborted', 'attempt cancelled'))
    if (!socket && !retryTimer) connect()
    if (!socket && lastLoss) {
      const wait = Math.max(0, retryAt - Date.now())
      return Promise.reject(
        fail(lastLoss.kind, `not connected, next attempt in ${wait} ms (${lastLoss.text})`),
      )
    }
    const id = ++nextId
    const frame = JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: body.method,
      params: body.params ?? [],
    })
    return new Promise<unknown>((resolve, reject) => {
      const done = () => {
        pending.delete(id)
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
      }
      const onAbort = () => entry.fail(fail('aborted', 'attempt cancelled'))
      const entry: Pending = {
        frame,
        sent: false,
        onResult,
        succeed(result) {
          done()
          resolve(result)
        },
        fail(error) {
          done()
          reject(error)
        },
      }
      const timer = setTimeout(() => entry.fail(fail('timeout', `no answer within ${ms} ms`)), ms)
      signal?.addEventListener('abort', onAbort, { once: true })
      pending.set(id, entry)
      if (state === 'open') transmit(entry)
    })
  }

  // No byte-rate floor here (http's `minBytesPerSecond`): a WebSocket delivers a message only
  // once all of its frames have arrived, so there is no partial body to measure. A message that
  // trickles in is, to its call, silence: the call's `timeout` ends it. The heartbeat's answer
  // queues behind it on the same socket, so with the heartbeat on, the socket is also presumed
  // dead within `heartbeat.interval + heartbeat.timeout` and every call on it fails.
  function receive(data: unknown) {
    answered = true
    const frame = decodeFrame(data, maxResponseBytes)
    if (frame.kind === 'oversized') return oversized(frame.head, frame.size)
    if (frame.kind === 'malformed') return malformed(frame.reason)
    if (frame.kind === 'ignored') return
    for (const item of frame.items) dispatch(item)
  }

  function dispatch(item: unknown) {
    if (typeof item !== 'object' || item === null)
      return malformed('frame is not a JSON-RPC object')
    const m = item as { id?: unknown; method?: unknown; params?: unknown }
    if (m.method === 'eth_subscription') {
      const params = m.params as { subscription?: unknown; result?: unknown } | undefined
      const sub = byServerId.get(String(params?.subscription))
      if (sub && !sub.dead && params && 'result' in params)
        guard(() => sub.onMessage(params.result))
      return
    }
    const a = item as { result?: unknown; error?: unknown }
    if (m.id === null && a.error !== undefined) return unread(a.error)
    const call = typeof m.id === 'number' ? pending.get(m.id) : undefined
    if (!call) return // a late answer to a call that timed out or was cancelled
    if (a.error !== undefined) return call.fail(rpcError(a.error))
    if (!('result' in a)) return call.fail(fail('body', 'response has neither result nor error'))
    try {
      call.onResult?.(a.result)
    } catch (error) {
      return call.fail(error instanceof SourceError ? error : fail('body', String(error)))
    }
    call.succeed(a.result)
  }

  /**
   * An error with `id: null`: the node could not read a call and does not say which. With one
   * call in flight it is that call's answer; with more, each fails quoting the node's error.
   */
  function unread(error: unknown) {
    const sent = [...pending.values()].filter((call) => call.sent)
    const answer = rpcError(error)
    if (sent.length === 1) return sent[0]!.fail(answer)
    const text = answer.shortMessage.slice(name.length + 2)
    for (const call of sent) call.fail(fail('body', `a call the node could not read got ${text}`))
  }

  /** A frame we cannot attribute with certainty: every call sent on this socket fails. */
  function malformed(text: string) {
    const error = fail('body', text)
    for (const call of [...pending.values()]) if (call.sent) call.fail(error)
  }

  function oversized(head: string, size: number) {
    const error = fail(
      'body',
      `a frame of ${size} bytes exceeds maxResponseBytes (${maxResponseBytes})`,
    )
    const id = /"id"\s*:\s*(\d+)/.exec(head.slice(0, 200))?.[1]
    const subscription = /"subscription"\s*:\s*"([^"]+)"/.exec(head.slice(0, 200))?.[1]
    if (id !== undefined) pending.get(Number(id))?.fail(error)
    else if (subscription !== undefined) byServerId.get(subscription)?.handlers.onError?.(error)
  }

  function activate(sub: Sub, id: unknown) {
    if (typeof id !== 'string')
      throw fail('body', 'eth_subscribe answered without a subscription id')
    sub.serverId = id
    sub.socket = socket
    byServerId.set(id, sub)
    subs.add(sub)
  }

  function resubscribe(sub: Sub) {
    const ws = socket
    const previousId = sub.serverId
    const since = sub.lostAt
    const onResult = (id: unknown) => {
      if (sub.dead) {
        if (typeof id === 'string')
          call({ method: 'eth_unsubscribe', params: [id] }, undefined, timeout).catch(noop)
        return
      }
      activate(sub, id)
      const event = { id: sub.serverId, previousId, lostAt: since, downtime: Date.now() - since }
      guard(() => sub.handlers.onResubscribe?.(event))
    }
    call({ method: 'eth_subscribe', params: sub.params }, undefined, timeout, onResult).catch(
      (error: SourceError) => {
        // A lost socket is retried on the next open; anything else ends the subscription.
        if (sub.dead || socket !== ws) return
        sub.dead = true
        subs.delete(sub)
        guard(() => sub.handlers.onError?.(error))
      },
    )
  }

  return {
    config: { name, kind, domain, weight, label: redactUrl(url), redact: scrub.text },
    get state() {
      return state
    },
    request(body: RpcRequest, { signal }: SourceRequestOptions = {}) {
      return call(body, signal, timeout)
    },
    async subscribe(params, onMessage, handlers) {
      const sub: Sub = {
        params,
        onMessage,
        handlers: typeof handlers === 'function' ? { onError: handlers } : (handlers ?? {}),
        serverId: '',
        socket: undefined,
        lostAt: 0,
        dead: false,
      }
      await call({ method: 'eth_subscribe', params }, undefined, timeout, (id) => activate(sub, id))
      return {
        get id() {
          return sub.serverId
        },
        async unsubscribe() {
          if (sub.dead) return
          sub.dead = true
          subs.delete(sub)
          byServerId.delete(sub.serverId)
          if (sub.socket !== socket || state !== 'open') return
          await call(
            { method: 'eth_unsubscribe', params: [sub.serverId] },
            undefined,
            timeout,
          ).catch(noop)
        },
      }
    },
    onState(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    close() {
      if (closedForGood) return
      closedForGood = true
      clearTimeout(retryTimer)
      clearTimeout(connectTimer)
      clearInterval(beatTimer)
      retryTimer = beatTimer = undefined
      const ws = socket
      socket = undefined
      if (ws) retire(ws, 1000)
      const error = fail('unavailable', 'source closed')
      for (const call of [...pending.values()]) call.fail(error)
      for (const sub of subs) sub.dead = true
      subs.clear()
      byServerId.clear()
      setState('closed')
      listeners.clear()
    },
  }
}

/** Runs a user callback; a throw surfaces as an uncaught error without breaking the source. */
function guard(fn: () => void) {
  try {
    fn()
  } catch (error) {
    queueMicrotask(() => {
      throw error
    })
  }
}

function findCode(error: unknown): string | undefined {
  for (let e: unknown = error, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
  }
  return undefined
}
