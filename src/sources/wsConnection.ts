/**
 * The connection of one WebSocket source: a socket opened on first use, reconnected with backoff
 * and full jitter after each loss, watched by a heartbeat, closed for good by `close()`. What
 * travels on it is wsCalls.ts's business: the connection tells it when a socket opens, what
 * arrives, when a socket is lost and when the source closes (`ConnectionEvents`).
 */
import type { SourceError } from '../shared/errors.ts'
import type { Fail } from './jsonRpc.ts'
import { closeError, networkErrors } from './networkError.ts'
import type { WebSocketState, WebSocketStateEvent } from './webSocketTypes.ts'

/** The parts of a WebSocket this source uses. */
export type Socket = {
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

/** A WebSocket class: the platform's, or one that also takes handshake headers (`ws`'s). */
export type SocketClass = new (
  url: string,
  protocols?: string | string[],
  init?: { headers?: Record<string, string>; maxPayload: number },
) => Socket

export type ConnectionSettings = {
  url: string
  /** The URL's host, named in a DNS failure. */
  host: string
  protocols: string | string[] | undefined
  headers: Record<string, string> | undefined
  Impl: SocketClass
  /** `Impl` is the caller's (`webSocketImpl`), not the platform's: it takes `ws`'s options. */
  custom: boolean
  /** The largest frame the socket may take, where `Impl` can bound it (`maxResponseBytes`). */
  maxPayload: number
  /** Milliseconds a connection attempt may take. */
  timeout: number
  /** Reconnect waits: random in [0, min(maxDelay, delay · 2^failures)] ms (full jitter). */
  delay: number
  maxDelay: number
  /** A ping on open and every `interval` ms; unanswered within `timeout` ms, the socket is dead. */
  heartbeat: { interval: number; timeout: number } | undefined
  /** The source's failures, scrubbed. */
  fail: Fail
}

/** What the connection tells the calls made on it. Each runs before the state event it goes with. */
export type ConnectionEvents = {
  /** A socket opened (its heartbeat began): send what waited, resubscribe. */
  opened(): void
  /** Data arrived on the current socket. */
  message(data: unknown): void
  /** Socket `ws` is gone (or never opened), for `error`, at `now`: what waited on it fails. */
  lost(ws: Socket, error: SourceError, now: number): void
  /** The source closed for good. */
  ended(): void
  /** A heartbeat: a cheap call that settles within `ms` (a `timeout` SourceError if unanswered). */
  ping(ms: number): Promise<unknown>
}

const OPEN = 1
/**
 * A lost socket that had answered resets the reconnect backoff, unless sockets keep being lost:
 * from the third loss within this many ms on, a loss counts as a failure (a server that answers
 * once and drops, again and again, is reconnected to ever more slowly, not four times a second
 * for ever).
 */
const FLAPPING_MS = 10_000
const noop = () => {}

/** One source's socket, from its first use until `close()`. */
export class Connection {
  readonly #settings: ConnectionSettings
  readonly #events: ConnectionEvents
  /** A failed connection's error classified (refused, DNS, or a plain network failure). */
  readonly #classify: ReturnType<typeof networkErrors>
  #socket: Socket | undefined
  #state: WebSocketState = 'closed'
  #closed = false
  /** Connection attempts since a socket last answered. */
  #failures = 0
  /** The current socket delivered something. */
  #answered = false
  /** Why the last socket was lost (or the last attempt failed). */
  #lastLoss: SourceError | undefined
  /** When the last open socket was lost (`Date.now()`). */
  #lostAt: number | undefined
  /** When sockets were lost lately (within `FLAPPING_MS`). */
  #losses: number[] = []
  #retryTimer: ReturnType<typeof setTimeout> | undefined
  /** When the scheduled reconnect is due (`Date.now()`). */
  #retryAt = 0
  #connectTimer: ReturnType<typeof setTimeout> | undefined
  #beatTimer: ReturnType<typeof setInterval> | undefined
  /** A heartbeat is in flight. */
  #beating = false
  readonly #listeners = new Set<(event: WebSocketStateEvent) => void>()

  constructor(settings: ConnectionSettings, events: ConnectionEvents) {
    this.#settings = settings
    this.#events = events
    this.#classify = networkErrors(
      settings.fail,
      settings.host,
      settings.timeout,
      'could not connect',
    )
  }

  /** The current socket, open or opening; none while a reconnect waits and after `close()`. */
  get socket(): Socket | undefined {
    return this.#socket
  }

  get state(): WebSocketState {
    return this.#state
  }

  /** `close()` was called: no socket again. */
  get closed(): boolean {
    return this.#closed
  }

  /**
   * Opens a socket unless one is open or opening, or a reconnect is scheduled. While one is
   * (no socket), returns why a call cannot go out now: the last loss, and when the next attempt is.
   */
  use(): SourceError | undefined {
    if (!this.#socket && !this.#retryTimer) this.#connect()
    if (this.#socket || !this.#lastLoss) return undefined
    const wait = Math.max(0, this.#retryAt - Date.now())
    const { kind, reason } = this.#lastLoss
    return this.#settings.fail(kind, `not connected, next attempt in ${wait} ms (${reason})`)
  }

  onState(listener: (event: WebSocketStateEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
    }
  }

  /**
   * Gives up the current socket for `error` (it sent what no honest node sends: a frame past
   * `maxResponseBytes`): what waited on it fails, and a new one opens after the backoff.
   */
  drop(error: SourceError) {
    if (this.#socket) this.#lose(this.#socket, error)
  }

  /** Closes for good: no reconnect, every timer cleared, what waited fails (`ended`). */
  close() {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#retryTimer)
    clearTimeout(this.#connectTimer)
    clearInterval(this.#beatTimer)
    this.#retryTimer = this.#beatTimer = undefined
    const ws = this.#socket
    this.#socket = undefined
    if (ws) retire(ws, 1000)
    this.#events.ended()
    this.#emit('closed')
    this.#listeners.clear()
  }

  #connect() {
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    this.#answered = false
    const { url, protocols, headers, Impl, custom, maxPayload, timeout, fail } = this.#settings
    let ws: Socket
    try {
      // A WebSocket class of the caller's (ws's) takes options: a frame is then bounded as it
      // arrives (`maxPayload`). The platform's reads a frame whole before anyone can look.
      ws = custom
        ? new Impl(url, protocols, { ...(headers ? { headers } : {}), maxPayload })
        : new Impl(url, protocols)
    } catch (error) {
      this.#socket = ws = { readyState: 3 } as Socket
      return this.#lose(ws, fail('network', `cannot open a WebSocket: ${(error as Error).message}`))
    }
    this.#socket = ws
    ws.binaryType = 'arraybuffer'
    this.#connectTimer = setTimeout(
      () => this.#lose(ws, fail('timeout', `no connection within ${timeout} ms`)),
      timeout,
    )
    this.#listen(ws)
    // Listeners run last everywhere: one may call close() from inside.
    this.#emit('connecting')
  }

  /** Wires a new socket's events; each is dropped once the socket is no longer the current one. */
  #listen(ws: Socket) {
    ws.onopen = () => {
      if (ws === this.#socket) this.#opened()
    }
    ws.onmessage = (event) => {
      if (ws !== this.#socket) return
      this.#answered = true
      this.#events.message(event.data)
    }
    // Node's WebSocket fires `error` and no `close` when the connection cannot be made.
    ws.onerror = (event) => {
      if (ws === this.#socket && this.#state === 'connecting')
        this.#lose(ws, this.#failedOpen(event))
    }
    ws.onclose = (event) => {
      if (ws === this.#socket)
        this.#lose(ws, closeError(this.#settings.fail, event, this.#state === 'connecting'))
    }
  }

  /** A connection that could not be made, from its `error` event (ws's carries the cause). */
  #failedOpen(event: unknown): SourceError {
    const e = event as { error?: unknown; message?: unknown } | null
    const error = this.#classify(e?.error)
    if (error.kind !== 'network' || typeof e?.message !== 'string' || !e.message) return error
    return this.#settings.fail('network', `${error.reason}: ${e.message}`)
  }

  #opened() {
    clearTimeout(this.#connectTimer)
    this.#state = 'open'
    const hb = this.#settings.heartbeat
    if (hb) {
      this.#beat()
      this.#beatTimer = setInterval(() => this.#beat(), hb.interval)
    }
    this.#events.opened()
    this.#emit('open', this.#lostAt === undefined ? {} : { downtime: Date.now() - this.#lostAt })
  }

  /** Forgets a socket for good: fails what waited on it and schedules the next attempt. */
  #lose(ws: Socket, error: SourceError) {
    if (ws !== this.#socket) return
    const now = Date.now()
    this.#socket = undefined
    retire(ws)
    clearTimeout(this.#connectTimer)
    clearInterval(this.#beatTimer)
    this.#beatTimer = undefined
    if (this.#state === 'open') this.#lostAt = now
    // Only sockets that opened count (failed attempts back off anyway).
    const recent = this.#losses.filter((t) => now - t < FLAPPING_MS)
    this.#losses = this.#state === 'open' ? [...recent, now] : recent
    const flapping = this.#losses.length >= 3
    this.#failures = this.#answered && !flapping ? 0 : this.#failures + 1
    this.#lastLoss = error
    this.#events.lost(ws, error, now)
    const { delay, maxDelay } = this.#settings
    const wait = Math.round(Math.random() * Math.min(maxDelay, delay * 2 ** this.#failures))
    this.#retryAt = Date.now() + wait
    this.#retryTimer = setTimeout(() => this.#connect(), wait)
    this.#emit('closed', { error, retryIn: wait })
  }

  #beat() {
    const hb = this.#settings.heartbeat
    const ws = this.#socket
    if (!hb || !ws || this.#beating || this.#state !== 'open') return
    this.#beating = true
    this.#events.ping(hb.timeout).then(
      () => {
        this.#beating = false
      },
      (error: SourceError) => {
        this.#beating = false
        // A JSON-RPC error is still an answer: the path works.
        if (error.kind !== 'timeout') return
        const dead = `heartbeat unanswered for ${hb.timeout} ms: connection presumed dead`
        this.#lose(ws, this.#settings.fail('network', dead))
      },
    )
  }

  #emit(next: WebSocketState, extra: Partial<WebSocketStateEvent> = {}) {
    this.#state = next
    const event = { state: next, at: Date.now(), attempt: this.#failures + 1, ...extra }
    for (const listener of [...this.#listeners]) guard(() => listener(event))
  }
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

/** Runs a user callback; a throw surfaces as an uncaught error without breaking the source. */
export function guard(fn: () => void) {
  try {
    fn()
  } catch (error) {
    queueMicrotask(() => {
      throw error
    })
  }
}
