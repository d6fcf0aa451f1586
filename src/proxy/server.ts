/**
 * `outlast proxy`: one outlast client served as a JSON-RPC endpoint on 127.0.0.1, over HTTP
 * (single and batch) and WebSocket (with `eth_subscribe`), so that wallets (MetaMask's custom
 * network), `cast`, Hardhat and bots in any language get outlast's answers. Also `GET /status`
 * (JSON), `GET /metrics` (Prometheus) and `GET /` (a live status page). Browser origins are
 * refused unless listed; bodies and concurrent requests are bounded; `close()` finishes the
 * requests in flight and cuts those whose body is still coming in.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Outlast } from '../core/createOutlast.ts'
import { CONSISTENCY, corsFor, hostAllowed } from './access.ts'
import { callSlots } from './callSlots.ts'
import type { ProxyServerOptions } from './config.ts'
import {
  answerInSlot,
  batchProblem,
  batchReplies,
  busy,
  type Call,
  consistencyOf,
  isNotification,
  MAX_BATCH,
  parseError,
} from './jsonRpc.ts'
import { type Metrics, metricsOf } from './metrics.ts'
import { statusPage } from './statusPage.ts'
import { webSockets } from './webSockets.ts'

export type ProxyServer = {
  /** `http://host:port` it listens on. */
  readonly url: string
  readonly port: number
  /** Stops accepting, finishes the requests in flight, closes sockets and the client. */
  close(): Promise<void>
}

/** How long (ms) `close()` lets answers in flight finish before it cuts their connections. */
const CLOSE_GRACE = 10_000

export async function startProxyServer(
  rpc: Outlast,
  o: Required<ProxyServerOptions>,
): Promise<ProxyServer> {
  const metrics = metricsOf(rpc)
  // Calls may wait for a slot only so many: enough for a full batch, or four per slot.
  const slots = callSlots(o.maxConcurrent, Math.max(MAX_BATCH, 4 * o.maxConcurrent))
  const settled = new Set<Promise<unknown>>()
  const track = <T>(p: Promise<T>) => {
    settled.add(p)
    void p.finally(() => settled.delete(p)).catch(() => {})
    return p
  }
  /** Requests whose body is still coming in: `close()` ends them rather than wait. */
  const reading = new Set<IncomingMessage>()

  /** Set when `close()` begins: new requests are turned away, not run and then cut. */
  let closing = false

  const server = createServer((req, res) => {
    // Once closing, no answer keeps its connection: a keep-alive client sends nothing more on it.
    if (closing) res.shouldKeepAlive = false
    const done = handle(req, res).catch(() => {
      if (res.headersSent) return void res.destroy()
      if (!res.destroyed)
        send(res, 500, {
          jsonrpc: '2.0',
          id: null,
          error: { code: -32603, message: 'proxy error' },
        })
    })
    // Settled once the answer has left (its last bytes written), or its client is gone (a
    // pipelined request behind another never gets a response 'close'), not when the handler
    // returns: `close()` must not cut a large answer still being sent.
    const left = new Promise((resolve) => {
      res.once('close', resolve)
      req.socket.once('close', resolve)
    })
    track(Promise.all([done, left]))
  })

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (closing) {
      req.resume()
      return send(res, 503, busy(), { 'retry-after': '1', connection: 'close' })
    }
    if (!hostAllowed(req.headers.host, o.host)) return refuseHost(res)
    const cors = corsFor(req, o.cors)
    if (cors === 'refused') return refuseOrigin(res)
    if (req.method === 'OPTIONS')
      return void res.writeHead(204, { ...cors, 'access-control-max-age': '600' }).end()
    if (req.method === 'GET') return serveGet(req, res, rpc, metrics, cors)
    if (req.method !== 'POST')
      return send(res, 405, { error: 'POST JSON-RPC, or GET /status, /metrics, /' }, cors)
    const full = () => send(res, 503, busy(), { ...cors, 'retry-after': '1' })
    if (slots.full()) {
      req.resume()
      return full()
    }
    // No slot is held while the body comes in: a client that never finishes it holds none (and
    // the server's request timeout ends it). The slots are looked at again once it is in, for a
    // batch as for a single call: its headers passing while the proxy was idle admit nothing.
    const body = await readBody(req, o.maxBodyBytes, reading)
    if (body === undefined) return send(res, 413, tooLarge(o.maxBodyBytes), cors)
    let message: unknown
    try {
      message = JSON.parse(body)
    } catch {
      return send(res, 200, parseError('the body'), cors)
    }
    const wrong = Array.isArray(message) ? batchProblem(message.length) : undefined
    if (wrong)
      return send(
        res,
        200,
        { jsonrpc: '2.0', id: null, error: { code: -32600, message: wrong } },
        cors,
      )
    if (slots.full()) return full()
    // A call whose client left before its slot came is not run (a batch's waiting calls).
    const gone = () => res.destroyed || req.socket.destroyed
    if (Array.isArray(message)) {
      const replies = await Promise.all(
        message.map((c) => answerInSlot(rpc, slots, c as Call, gone)),
      )
      const kept = batchReplies(message, replies)
      return kept.length > 0 ? send(res, 200, kept, cors) : noContent(res, cors)
    }
    const reply = await answerInSlot(rpc, slots, message as Call, gone)
    if (isNotification(message)) return noContent(res, cors)
    const consistency = consistencyOf(reply)
    send(res, 200, reply, consistency ? { ...cors, [CONSISTENCY]: consistency } : cors)
  }
  // A body that has not come in whole within this long ends its request (Node's default: 5 min).
  server.requestTimeout = BODY_TIMEOUT

  const sockets = await webSockets(server, rpc, o, slots)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => resolve())
  })
  const port = (server.address() as { port: number }).port
  const host = o.host.includes(':') ? `[${o.host.replace('%', '%25')}]` : o.host
  return {
    url: `http://${host}:${port}`,
    port,
    async close() {
      closing = true
      // WebSockets are told at once (no new calls on them while HTTP answers finish).
      const socketsClosed = sockets.close()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      // server.close() stops the timer that enforces BODY_TIMEOUT: a body still coming in would
      // be waited for forever. Those requests are not in flight yet; they are ended.
      for (const req of reading) req.destroy()
      // Answers in flight finish, within a bound: a client that stops reading cannot hold it.
      let grace: ReturnType<typeof setTimeout> | undefined
      await Promise.race([
        Promise.allSettled([...settled]),
        new Promise((resolve) => {
          grace = setTimeout(resolve, CLOSE_GRACE)
        }),
      ])
      clearTimeout(grace)
      await socketsClosed
      server.closeAllConnections()
      await closed
      metrics.stop()
      await rpc.close()
    },
  }
}

async function serveGet(
  req: IncomingMessage,
  res: ServerResponse,
  rpc: Outlast,
  metrics: Metrics,
  cors: Record<string, string>,
) {
  const path = (req.url ?? '/').split('?')[0]
  if (path === '/status') return send(res, 200, rpc.status(), cors)
  if (path === '/metrics') {
    const text = metrics.text() // before the head: a throw here is still answered 500
    return void res
      .writeHead(200, { ...cors, 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
      .end(text)
  }
  if (path === '/')
    return void res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(statusPage(rpc.chainId))
  send(res, 404, { error: 'GET /status, /metrics or /' }, cors)
}

/** Ms a request may take to come in whole (headers and body). */
const BODY_TIMEOUT = 10_000

function refuseHost(res: ServerResponse) {
  send(res, 421, {
    jsonrpc: '2.0',
    id: null,
    error: {
      code: -32600,
      message:
        'this proxy answers requests for its own address (an IP, localhost or its --host) only',
    },
  })
}

function refuseOrigin(res: ServerResponse) {
  send(res, 403, {
    jsonrpc: '2.0',
    id: null,
    error: {
      code: -32600,
      message: 'browser origin not allowed: list it in the config file under proxy.cors',
    },
  })
}

const tooLarge = (max: number) => ({
  jsonrpc: '2.0',
  id: null,
  error: { code: -32600, message: `request body larger than ${max} bytes` },
})

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

/** No reply: what a notification (a call with no `id`), or a batch of them only, gets. */
const noContent = (res: ServerResponse, headers: Record<string, string>) =>
  void res.writeHead(204, headers).end()

/**
 * The body as text, or undefined once it passes `max` bytes (the rest is drained). While it
 * comes in, `req` is in `reading`; a request closed before its body ended rejects.
 */
function readBody(
  req: IncomingMessage,
  max: number,
  reading: Set<IncomingMessage>,
): Promise<string | undefined> {
  const declared = Number(req.headers['content-length'])
  if (declared > max) {
    req.resume()
    return Promise.resolve(undefined)
  }
  reading.add(req)
  return new Promise<string | undefined>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > max) over = true
      else if (!over) chunks.push(chunk)
    })
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
    req.on('close', () => reject(new Error('the request closed before its body ended')))
  }).finally(() => reading.delete(req))
}
