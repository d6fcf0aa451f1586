/**
 * JSON-RPC over WebSocket on the proxy's port (`ws://127.0.0.1:8545`), with `eth_subscribe` and
 * `eth_unsubscribe`; a socket's subscriptions end with it, those still being made included.
 * A frame is bounded by `maxBodyBytes`, a socket's calls in flight or waiting by
 * `SOCKET_CALLS` (the rest answered busy at once), its subscriptions by `SOCKET_SUBSCRIPTIONS`.
 * Needs the `ws` package (an optional peer); without it, upgrades are refused and HTTP works as
 * ever.
 */
import type { Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Outlast } from '../core/createOutlast.ts'
import { corsFor, hostAllowed } from './access.ts'
import type { CallSlots } from './callSlots.ts'
import {
  answerInSlot,
  batchProblem,
  batchReplies,
  busy,
  type Call,
  errorObject,
  idOf,
  MAX_BATCH,
  parseError,
  type Reply,
} from './jsonRpc.ts'

/** Calls one socket may have in flight or waiting for a slot: two full batches. */
const SOCKET_CALLS = 2 * MAX_BATCH
/** Subscriptions one socket may hold (or be making) at once. */
const SOCKET_SUBSCRIPTIONS = 100

export async function webSockets(
  server: Server,
  rpc: Outlast,
  o: { cors: readonly string[]; host: string; maxBodyBytes: number },
  slots: CallSlots,
) {
  let ws: typeof import('ws') | undefined
  try {
    ws = await import('ws')
  } catch {}
  if (!ws) {
    server.on('upgrade', (_req, socket) => {
      socket.on('error', () => {})
      refuse(socket, 'HTTP/1.1 501 Not Implemented\r\n\r\nWebSocket needs the ws package\r\n')
    })
    return { async close() {} }
  }
  // A frame past maxBodyBytes closes its socket (1009), as such a body gets HTTP 413.
  const wss = new ws.WebSocketServer({ noServer: true, maxPayload: o.maxBodyBytes })
  server.on('upgrade', (req, socket, head) => {
    // Node's server takes its own 'error' listener off an upgraded socket: a client that resets
    // while it is refused would otherwise end the process.
    socket.on('error', () => {})
    if (!hostAllowed(req.headers.host, o.host) || corsFor(req, o.cors) === 'refused')
      return refuse(socket, 'HTTP/1.1 403 Forbidden\r\n\r\n')
    wss.handleUpgrade(req, socket, head, (client) => serveSocket(client, rpc, slots))
  })
  return {
    /** Closes every socket: politely, then, after `CLOSE_GRACE`, whatever did not answer. */
    async close() {
      for (const client of wss.clients) client.close(1001, 'proxy closing')
      const left = () => [...wss.clients].filter((c) => c.readyState !== c.CLOSED)
      for (let waited = 0; left().length > 0 && waited < CLOSE_GRACE; waited += 50)
        await new Promise((r) => setTimeout(r, 50))
      for (const client of left()) client.terminate()
      wss.close()
    },
  }
}

/** How long (ms) `close()` waits for sockets to answer its close frame before cutting them. */
const CLOSE_GRACE = 1_000

/**
 * Answers an upgrade it will not make, then lets go of the socket: the server no longer sees an
 * upgraded socket, and a client that keeps its half open would hold it (and `close()`) for ever.
 */
function refuse(socket: Duplex, answer: string) {
  socket.end(answer, () => socket.destroy())
}

function serveSocket(client: import('ws').WebSocket, rpc: Outlast, slots: CallSlots) {
  const subscriptions = new Map<string, () => Promise<unknown>>()
  let subscribing = 0
  let calls = 0
  let closed = false
  const reply = (body: unknown) => {
    if (client.readyState === client.OPEN) client.send(JSON.stringify(body))
  }

  const subscribe = async (call: Call): Promise<Reply> => {
    const id = idOf(call)
    if (subscriptions.size + subscribing >= SOCKET_SUBSCRIPTIONS)
      return {
        jsonrpc: '2.0',
        id,
        error: {
          code: -32005,
          message: `too many subscriptions on this socket (at most ${SOCKET_SUBSCRIPTIONS}): eth_unsubscribe one first`,
        },
      }
    subscribing++
    try {
      const sub = await rpc.subscribe((call.params as unknown[]) ?? [], (result) =>
        reply({
          jsonrpc: '2.0',
          method: 'eth_subscription',
          params: { subscription: sub.id, result },
        }),
      )
      // The socket closed while it was being made: nobody is left to receive or end it.
      if (closed) {
        void sub.unsubscribe().catch(() => {})
        return { jsonrpc: '2.0', id, error: { code: -32603, message: 'socket closed' } }
      }
      subscriptions.set(sub.id, sub.unsubscribe)
      return { jsonrpc: '2.0', id, result: sub.id }
    } catch (error) {
      return { jsonrpc: '2.0', id, error: errorObject(error) }
    } finally {
      subscribing--
    }
  }

  const one = async (call: Call): Promise<Reply> => {
    if (call?.method === 'eth_subscribe') return subscribe(call)
    if (call?.method === 'eth_unsubscribe') {
      const sid = (call.params as unknown[] | undefined)?.[0]
      const stop = typeof sid === 'string' ? subscriptions.get(sid) : undefined
      if (stop) subscriptions.delete(sid as string)
      await stop?.().catch(() => {})
      return { jsonrpc: '2.0', id: idOf(call), result: stop !== undefined }
    }
    return answerInSlot(rpc, slots, call, () => closed)
  }

  client.on('message', async (data) => {
    let message: unknown
    try {
      message = JSON.parse(String(data))
    } catch {
      return reply(parseError('the frame'))
    }
    const batch = Array.isArray(message) ? (message as Call[]) : undefined
    const wrong = batch ? batchProblem(batch.length) : undefined
    if (wrong) return reply({ jsonrpc: '2.0', id: null, error: { code: -32600, message: wrong } })
    const list = batch ?? [message as Call]
    // Notifications get no reply; a batch's replies come as one array, a single call's alone.
    const respond = (replies: Reply[]) => {
      const kept = batchReplies(list, replies)
      if (kept.length > 0) reply(batch ? kept : kept[0])
    }
    if (calls + list.length > SOCKET_CALLS) return respond(list.map((c) => busy(idOf(c))))
    calls += list.length
    try {
      respond(await Promise.all(list.map(one)))
    } finally {
      calls -= list.length
    }
  })
  // A frame past maxPayload, or a broken frame: ws closes the socket (1009, 1002) after this.
  client.on('error', () => {})
  client.on('close', () => {
    closed = true
    for (const stop of subscriptions.values()) void stop().catch(() => {})
    subscriptions.clear()
  })
}
