/**
 * The calls made on one WebSocket source, matched to their answers: ids, calls waiting for an
 * answer, their timeouts and cancellation, subscriptions and the routing of their notifications.
 * The socket itself is wsConnection.ts's; these are its `ConnectionEvents`. Every message is read
 * by jsonRpc.ts.
 */
import { SourceError } from '../shared/errors.ts'
import type { RpcRequest } from '../shared/types.ts'
import { decodeFrame } from './frame.ts'
import { callOf, incoming, type JsonRpc } from './jsonRpc.ts'
import type { SubscriptionHandlers, WebSocketSubscription } from './webSocketTypes.ts'
import { type Connection, type ConnectionEvents, guard, type Socket } from './wsConnection.ts'

/** What the calls need of the connection. */
export type Link = Pick<Connection, 'socket' | 'state' | 'closed' | 'use' | 'drop'>

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

const noop = () => {}

/** The calls made on one source, each from its id to its answer. */
export class Calls implements ConnectionEvents {
  readonly #rpc: JsonRpc
  readonly #link: Link
  /** Milliseconds a call may take (subscribe and unsubscribe too). */
  readonly #timeout: number
  /** Largest frame parsed, in bytes. */
  readonly #maxResponseBytes: number
  #nextId = 0
  readonly #pending = new Map<number, Pending>()
  readonly #subs = new Set<Sub>()
  readonly #byServerId = new Map<string, Sub>()

  constructor(rpc: JsonRpc, link: Link, limits: { timeout: number; maxResponseBytes: number }) {
    this.#rpc = rpc
    this.#link = link
    this.#timeout = limits.timeout
    this.#maxResponseBytes = limits.maxResponseBytes
  }

  /**
   * Sends `body` (at once if the socket is open, else once it opens) and settles with its answer,
   * or fails: the source closed, `signal` aborted, no answer within `ms`, the socket lost or not
   * connected while a reconnect waits (at once, with the last loss's reason).
   */
  call(
    body: RpcRequest,
    signal: AbortSignal | undefined,
    ms: number,
    onResult?: (result: unknown) => void,
  ): Promise<unknown> {
    const { fail } = this.#rpc
    if (this.#link.closed) return Promise.reject(fail('unavailable', 'source closed'))
    if (signal?.aborted) return Promise.reject(fail('aborted', 'attempt cancelled'))
    const refused = this.#link.use()
    if (refused) return Promise.reject(refused)
    const id = ++this.#nextId
    const frame = JSON.stringify(callOf(id, body))
    return new Promise<unknown>((resolve, reject) => {
      const done = () => {
        this.#pending.delete(id)
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
      this.#pending.set(id, entry)
      if (this.#link.state === 'open') this.#transmit(entry)
    })
  }

  #transmit(call: Pending) {
    try {
      this.#link.socket?.send(call.frame)
      call.sent = true
    } catch (error) {
      call.fail(this.#rpc.fail('network', `send failed: ${(error as Error).message}`))
    }
  }

  opened() {
    for (const call of this.#pending.values()) if (!call.sent) this.#transmit(call)
    for (const sub of this.#subs) this.#resubscribe(sub)
  }

  lost(ws: Socket, error: SourceError, now: number) {
    for (const sub of this.#subs) if (sub.socket === ws) sub.lostAt = now
    this.#byServerId.clear()
    for (const call of [...this.#pending.values()]) call.fail(error)
  }

  ended() {
    const error = this.#rpc.fail('unavailable', 'source closed')
    for (const call of [...this.#pending.values()]) call.fail(error)
    for (const sub of this.#subs) sub.dead = true
    this.#subs.clear()
    this.#byServerId.clear()
  }

  ping(ms: number): Promise<unknown> {
    return this.call({ method: 'eth_chainId' }, undefined, ms)
  }

  // No byte-rate floor here (http's `minBytesPerSecond`): a WebSocket delivers a message only
  // once all of its frames have arrived, so there is no partial body to measure. A message that
  // trickles in is, to its call, silence: the call's `timeout` ends it. The heartbeat's answer
  // queues behind it on the same socket, so with the heartbeat on, the socket is also presumed
  // dead within `heartbeat.interval + heartbeat.timeout` and every call on it fails.
  message(data: unknown) {
    const frame = decodeFrame(data, this.#maxResponseBytes)
    if (frame.kind === 'oversized') return this.#oversized(frame.head, frame.size)
    if (frame.kind === 'malformed') return this.#malformed(frame.reason)
    if (frame.kind === 'ignored') return
    for (const item of frame.items) this.#dispatch(item)
  }

  #dispatch(item: unknown) {
    const m = incoming(item)
    if (m.kind === 'invalid') return this.#malformed('frame is not a JSON-RPC object')
    if (m.kind === 'ignored') return
    if (m.kind === 'unread') return this.#unread(m.error)
    if (m.kind === 'notification') {
      const sub = this.#byServerId.get(m.subscription)
      if (sub && !sub.dead) guard(() => sub.onMessage(m.result))
      return
    }
    const call = typeof m.id === 'number' ? this.#pending.get(m.id) : undefined
    if (!call) return // a late answer to a call that timed out or was cancelled
    let result: unknown
    try {
      result = this.#rpc.resultOf(item, m.id as number)
      call.onResult?.(result)
    } catch (error) {
      return call.fail(error instanceof SourceError ? error : this.#rpc.fail('body', String(error)))
    }
    call.succeed(result)
  }

  /**
   * An error with `id: null`: the node could not read a call and does not say which. With one
   * call in flight it is that call's answer; with more, each fails quoting the node's error.
   */
  #unread(error: unknown) {
    const sent = [...this.#pending.values()].filter((call) => call.sent)
    const answer = this.#rpc.nodeError(error)
    if (sent.length === 1) return sent[0]!.fail(answer)
    const failure = this.#rpc.fail('body', `a call the node could not read got ${answer.reason}`)
    for (const call of sent) call.fail(failure)
  }

  /** A frame we cannot attribute with certainty: every call sent on this socket fails. */
  #malformed(text: string) {
    const error = this.#rpc.fail('body', text)
    for (const call of [...this.#pending.values()]) if (call.sent) call.fail(error)
  }

  /** A frame too large to parse: its call (or subscription), found in its first bytes, fails. */
  #oversized(head: string, size: number) {
    const error = this.#rpc.fail(
      'body',
      `a frame of ${size} bytes exceeds maxResponseBytes (${this.#maxResponseBytes})`,
    )
    const id = /"id"\s*:\s*(\d+)/.exec(head.slice(0, 200))?.[1]
    const subscription = /"subscription"\s*:\s*"([^"]+)"/.exec(head.slice(0, 200))?.[1]
    if (id !== undefined) this.#pending.get(Number(id))?.fail(error)
    else if (subscription !== undefined)
      this.#byServerId.get(subscription)?.handlers.onError?.(error)
    // No honest node sends one: the socket goes (what else waited on it fails and is asked
    // again), so that the source cannot make us read another at once.
    this.#link.drop(error)
  }

  async subscribe(
    params: readonly unknown[],
    onMessage: (result: unknown) => void,
    handlers?: SubscriptionHandlers['onError'] | SubscriptionHandlers,
  ): Promise<WebSocketSubscription> {
    const sub: Sub = {
      params,
      onMessage,
      handlers: typeof handlers === 'function' ? { onError: handlers } : (handlers ?? {}),
      serverId: '',
      socket: undefined,
      lostAt: 0,
      dead: false,
    }
    const subscribe = { method: 'eth_subscribe', params }
    await this.call(subscribe, undefined, this.#timeout, (id) => this.#activate(sub, id))
    return {
      get id() {
        return sub.serverId
      },
      unsubscribe: () => this.#unsubscribe(sub),
    }
  }

  async #unsubscribe(sub: Sub) {
    if (sub.dead) return
    sub.dead = true
    this.#subs.delete(sub)
    this.#byServerId.delete(sub.serverId)
    if (sub.socket !== this.#link.socket || this.#link.state !== 'open') return
    const unsubscribe = { method: 'eth_unsubscribe', params: [sub.serverId] }
    await this.call(unsubscribe, undefined, this.#timeout).catch(noop)
  }

  /** The node's subscription id: `sub` is live on the current socket under it. */
  #activate(sub: Sub, id: unknown) {
    if (typeof id !== 'string')
      throw this.#rpc.fail('body', 'eth_subscribe answered without a subscription id')
    sub.serverId = id
    sub.socket = this.#link.socket
    this.#byServerId.set(id, sub)
    this.#subs.add(sub)
  }

  /** Subscribes again on a new socket; a refusal (not a lost socket) ends the subscription. */
  #resubscribe(sub: Sub) {
    const ws = this.#link.socket
    const previousId = sub.serverId
    const since = sub.lostAt
    const onResult = (id: unknown) => {
      if (sub.dead) {
        if (typeof id === 'string') this.#unsubscribeLate(id)
        return
      }
      this.#activate(sub, id)
      const event = { id: sub.serverId, previousId, lostAt: since, downtime: Date.now() - since }
      guard(() => sub.handlers.onResubscribe?.(event))
    }
    const subscribe = { method: 'eth_subscribe', params: sub.params }
    this.call(subscribe, undefined, this.#timeout, onResult).catch((error: SourceError) => {
      // A lost socket is retried on the next open; anything else ends the subscription.
      if (sub.dead || this.#link.socket !== ws) return
      sub.dead = true
      this.#subs.delete(sub)
      guard(() => sub.handlers.onError?.(error))
    })
  }

  /** A subscription made for a handle that was dropped meanwhile: undone at once. */
  #unsubscribeLate(id: string) {
    this.call({ method: 'eth_unsubscribe', params: [id] }, undefined, this.#timeout).catch(noop)
  }
}
