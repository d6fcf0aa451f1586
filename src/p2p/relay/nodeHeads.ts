/**
 * Where a relay learns its node's new heads: from a `newHeads` subscription on the node's
 * WebSocket when one is given (a head is gossiped as soon as the node has it), else by reading
 * the latest header every `interval`. While the socket is down the relay polls, and it dials the
 * socket again with a growing delay; once subscribed it stops polling. A socket that stays open
 * but goes silent (a half-open path) is found by ping and closed. The URL may hold a key: it is
 * never shown.
 */
import type WebSocket from 'ws'

export type Header = Record<string, unknown>

/** Where heads come from now. */
export type HeadsFrom = 'socket' | 'polling'

export type NodeHeadsOptions = {
  /** The node's latest header (over HTTP); undefined when the node did not answer. */
  latest: () => Promise<Header | undefined>
  /** Each new head, as soon as it is known (the same head may come twice: dedupe downstream). */
  onHead: (header: Header) => void | Promise<void>
  /** Milliseconds between polls while there is no live subscription. */
  interval: number
  /** The node's WebSocket URL (`ws://` or `wss://`); without it, heads come by polling only. */
  ws?: string
  /** The `ws` package's WebSocket class (loaded by the caller: an optional peer dependency). */
  WebSocket?: typeof WebSocket
  /** Milliseconds between pings on the socket; no pong before the next ping closes it. @default 10_000 */
  pingInterval?: number
}

export type NodeHeads = {
  from(): HeadsFrom
  /** Times the socket was lost after being subscribed. */
  readonly drops: number
  stop(): void
}

/** The wait before dialing the socket again after `failures` failed tries in a row. */
export function reconnectDelay(failures: number): number {
  return Math.min(500 * 2 ** Math.max(0, failures), 30_000)
}

/** What the node said on the socket (pure), as far as the relay cares. */
export type SocketMessage =
  | { kind: 'subscribed'; id: string }
  | { kind: 'refused' }
  | { kind: 'head'; header: Header }

/**
 * A message on the socket read: the answer to our `eth_subscribe` (id 1: its subscription id, or
 * a refusal), a new head of that subscription, or undefined (malformed, or not ours).
 */
export function readSocketMessage(
  text: string,
  subscription: string | undefined,
): SocketMessage | undefined {
  let message: {
    id?: unknown
    result?: unknown
    params?: { subscription?: unknown; result?: unknown }
  }
  try {
    message = JSON.parse(text)
  } catch {
    return undefined
  }
  if (message?.id === 1)
    return typeof message.result === 'string'
      ? { kind: 'subscribed', id: message.result }
      : { kind: 'refused' }
  const params = message?.params
  if (!subscription || params?.subscription !== subscription) return undefined
  const header = params.result
  return typeof header === 'object' && header !== null && !Array.isArray(header)
    ? { kind: 'head', header: header as Header }
    : undefined
}

export function watchHeads(o: NodeHeadsOptions): NodeHeads {
  let stopped = false
  let subscribed = false
  let drops = 0
  let failures = 0
  let pollTimer: ReturnType<typeof setTimeout> | undefined
  let dialTimer: ReturnType<typeof setTimeout> | undefined
  let socket: WebSocket | undefined

  const deliver = async (header: Header | undefined) => {
    if (!stopped && header) await o.onHead(header)
  }

  // Polling runs whenever there is no live subscription. Each run of the loop has a number: a
  // poll still in flight when the loop is stopped (or restarted) ends with it.
  let loop = 0
  const poll = async (run: number) => {
    await deliver(await o.latest().catch(() => undefined)).catch(() => {})
    if (run === loop && !stopped) pollTimer = setTimeout(() => poll(run), o.interval)
  }
  const startPolling = () => {
    stopPolling()
    const run = loop
    pollTimer = setTimeout(() => poll(run), 0)
  }
  const stopPolling = () => {
    loop++
    clearTimeout(pollTimer)
    pollTimer = undefined
  }

  const dial = () => {
    dialTimer = undefined
    if (stopped || !o.ws || !o.WebSocket) return
    // A header is a few hundred bytes: a larger message ends the socket (bounded, as any source).
    const ws = new o.WebSocket(o.ws, {
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
      maxPayload: 1_048_576,
    })
    socket = ws
    let subscriptionId: string | undefined
    let alive = true
    const ping = setInterval(() => {
      if (ws.readyState !== ws.OPEN) return
      // No pong since the last ping: a half-open path. terminate() ends it at once.
      if (!alive) return ws.terminate()
      alive = false
      ws.ping()
    }, o.pingInterval ?? 10_000)
    ws.on('pong', () => {
      alive = true
    })
    ws.on('open', () => {
      ws.send(
        JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }),
      )
    })
    ws.on('message', (data) => {
      alive = true
      const said = readSocketMessage(String(data), subscriptionId)
      if (said?.kind === 'refused') return ws.close(1000, 'eth_subscribe refused')
      if (said?.kind === 'head') return void deliver(said.header).catch(() => {})
      if (said?.kind !== 'subscribed') return
      subscriptionId = said.id
      subscribed = true
      failures = 0
      stopPolling()
      // A head that came between the last poll and the subscription is not missed.
      void o
        .latest()
        .then(deliver)
        .catch(() => {})
    })
    ws.on('error', () => {})
    ws.on('close', () => {
      clearInterval(ping)
      if (socket === ws) socket = undefined
      const was = subscribed
      subscribed = false
      if (was) drops++
      else failures++
      if (stopped) return
      // Polling stopped only when the subscription was confirmed; a failed dial left it running.
      if (was) startPolling()
      dialTimer = setTimeout(dial, reconnectDelay(failures))
    })
  }

  startPolling()
  if (o.ws) dial()

  return {
    from: () => (subscribed ? 'socket' : 'polling'),
    get drops() {
      return drops
    },
    stop() {
      stopped = true
      clearTimeout(pollTimer)
      clearTimeout(dialTimer)
      socket?.terminate()
    },
  }
}
