/**
 * `outlast proxy`: one outlast client served as a JSON-RPC endpoint on 127.0.0.1, over HTTP
 * (single and batch) and WebSocket (with `eth_subscribe`), so that wallets (MetaMask's custom
 * network), `cast`, Hardhat and bots in any language get outlast's answers. Also `GET /status`
 * (JSON), `GET /metrics` (Prometheus) and `GET /` (a live status page). Browser origins are
 * refused unless listed; bodies and concurrent requests are bounded; `close()` finishes the
 * requests in flight.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { isIP } from 'node:net'
import type { Outlast } from '../core/createOutlast.ts'
import { BaseError } from '../shared/errors.ts'
import { type CallSlots, callSlots } from './callSlots.ts'
import type { ProxyServerOptions } from './config.ts'
import { type Metrics, metricsOf } from './metrics.ts'
import { statusPage } from './statusPage.ts'

export type ProxyServer = {
  /** `http://host:port` it listens on. */
  readonly url: string
  readonly port: number
  /** Stops accepting, finishes the requests in flight, closes sockets and the client. */
  close(): Promise<void>
}

type Call = { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown }
type Reply = {
  jsonrpc: '2.0'
  id: unknown
  result?: unknown
  error?: { code: number; message: string; data?: unknown }
}

/** What the proxy answers for one call: the client's answer, or its error as a JSON-RPC error. */
export async function answer(rpc: Outlast, call: Call): Promise<Reply> {
  const id = typeof call?.id === 'string' || typeof call?.id === 'number' ? call.id : null
  if (typeof call !== 'object' || call === null || typeof call.method !== 'string')
    return { jsonrpc: '2.0', id, error: { code: -32600, message: 'invalid request: no method' } }
  if (call.params !== undefined && !Array.isArray(call.params))
    return {
      jsonrpc: '2.0',
      id,
      error: { code: -32602, message: 'invalid params: params must be an array' },
    }
  try {
    const result = await rpc.request({
      method: call.method,
      params: (call.params as unknown[]) ?? [],
    })
    return { jsonrpc: '2.0', id, result }
  } catch (error) {
    return { jsonrpc: '2.0', id, error: errorObject(error) }
  }
}

/** An error as JSON-RPC carries it: its code (EIP-1193 or the node's), its short message, its data. */
export function errorObject(error: unknown): { code: number; message: string; data?: unknown } {
  const e = error as { code?: unknown; data?: unknown }
  const code = typeof e?.code === 'number' ? e.code : -32603
  const message =
    error instanceof BaseError
      ? error.shortMessage
      : error instanceof Error
        ? error.message
        : String(error)
  return e?.data === undefined ? { code, message } : { code, message, data: e.data }
}

export async function startProxyServer(
  rpc: Outlast,
  o: Required<ProxyServerOptions>,
): Promise<ProxyServer> {
  const metrics = metricsOf(rpc)
  const slots = callSlots(o.maxConcurrent)
  const settled = new Set<Promise<unknown>>()
  const track = <T>(p: Promise<T>) => {
    settled.add(p)
    void p.finally(() => settled.delete(p)).catch(() => {})
    return p
  }

  const server = createServer((req, res) => {
    const done = handle(req, res).catch(() => {
      if (!res.headersSent)
        send(res, 500, {
          jsonrpc: '2.0',
          id: null,
          error: { code: -32603, message: 'proxy error' },
        })
    })
    track(done)
  })

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!hostAllowed(req.headers.host, o.host)) return refuseHost(res)
    const cors = corsFor(req, o.cors)
    if (cors === 'refused') return refuseOrigin(res)
    if (req.method === 'OPTIONS')
      return void res.writeHead(204, { ...cors, 'access-control-max-age': '600' }).end()
    if (req.method === 'GET') return serveGet(req, res, rpc, metrics, cors)
    if (req.method !== 'POST')
      return send(res, 405, { error: 'POST JSON-RPC, or GET /status, /metrics, /' }, cors)
    if (slots.full()) {
      req.resume()
      return send(res, 503, busy(), { ...cors, 'retry-after': '1' })
    }
    {
      // No slot is held while the body comes in: a client that never finishes it holds none
      // (and the server's request timeout ends it).
      const body = await readBody(req, o.maxBodyBytes)
      if (body === undefined) return send(res, 413, tooLarge(o.maxBodyBytes), cors)
      let message: unknown
      try {
        message = JSON.parse(body)
      } catch {
        return send(
          res,
          200,
          {
            jsonrpc: '2.0',
            id: null,
            error: { code: -32700, message: 'parse error: the body is not JSON' },
          },
          cors,
        )
      }
      if (Array.isArray(message)) {
        const wrong = batchProblem(message.length)
        if (wrong)
          return send(
            res,
            200,
            { jsonrpc: '2.0', id: null, error: { code: -32600, message: wrong } },
            cors,
          )
        const answers = message.map((c) => slots.run(() => answer(rpc, c as Call)))
        return send(res, 200, await Promise.all(answers), cors)
      }
      if (slots.full()) return send(res, 503, busy(), { ...cors, 'retry-after': '1' })
      return send(res, 200, await slots.run(() => answer(rpc, message as Call)), cors)
    }
  }
  // A body that has not come in whole within this long ends its request (Node's default: 5 min).
  server.requestTimeout = BODY_TIMEOUT

  const sockets = await webSockets(server, rpc, o.cors, o.host, slots)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => resolve())
  })
  const port = (server.address() as { port: number }).port
  const host = o.host.includes(':') ? `[${o.host}]` : o.host
  return {
    url: `http://${host}:${port}`,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      await Promise.allSettled([...settled])
      sockets.close()
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
  if (path === '/metrics')
    return void res
      .writeHead(200, { ...cors, 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
      .end(metrics.text())
  if (path === '/')
    return void res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(statusPage(rpc.chainId))
  send(res, 404, { error: 'GET /status, /metrics or /' }, cors)
}

/**
 * CORS: a request from a browser page carries `Origin`; it is refused unless `allowed` lists
 * that origin (or `*`). Tools (`cast`, bots, MetaMask's background) send none.
 */
function corsFor(
  req: IncomingMessage,
  allowed: readonly string[],
): Record<string, string> | 'refused' {
  const origin = req.headers.origin
  if (origin === undefined) return {}
  if (!allowed.includes('*') && !allowed.includes(origin)) return 'refused'
  return {
    'access-control-allow-origin': allowed.includes('*') ? '*' : origin,
    'access-control-allow-methods': 'POST, GET, OPTIONS',
    'access-control-allow-headers': req.headers['access-control-request-headers'] ?? 'content-type',
    vary: 'origin',
  }
}

/** Calls one batch (or WebSocket frame) may hold. */
const MAX_BATCH = 100
/** Ms a request may take to come in whole (headers and body). */
const BODY_TIMEOUT = 10_000

/** Why a batch of `n` calls is refused, or undefined. */
const batchProblem = (n: number) =>
  n === 0
    ? 'invalid request: empty batch'
    : n > MAX_BATCH
      ? `invalid request: a batch of ${n} calls, more than ${MAX_BATCH}`
      : undefined

/**
 * DNS rebinding: a web page whose own name is made to resolve to 127.0.0.1 reaches the proxy
 * with that name as `Host`, and a plain GET (`/status`) carries no `Origin` to refuse. Only a
 * `Host` that names this machine directly is served: an IP address, `localhost`, or the host the
 * proxy listens on (`--host`).
 */
function hostAllowed(header: string | undefined, listen: string): boolean {
  if (header === undefined) return true // HTTP/1.0 tools; every browser sends Host
  const name = (
    header.startsWith('[') ? header.slice(1, header.indexOf(']')) : header.split(':')[0]!
  ).toLowerCase()
  return name === 'localhost' || name === listen.toLowerCase() || isIP(name) !== 0
}

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

const busy = () => ({
  jsonrpc: '2.0',
  id: null,
  error: { code: -32005, message: 'too many requests in flight; try again in a second' },
})

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

/** The body as text, or undefined once it passes `max` bytes (the rest is drained). */
function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  const declared = Number(req.headers['content-length'])
  if (declared > max) {
    req.resume()
    return Promise.resolve(undefined)
  }
  return new Promise((resolve, reject) => {
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
  })
}

/**
 * JSON-RPC over WebSocket on the same port (`ws://127.0.0.1:8545`), with `eth_subscribe` and
 * `eth_unsubscribe`; a socket's subscriptions end with it. Needs the `ws` package (an optional
 * peer); without it, upgrades are refused and HTTP works as ever.
 */
async function webSockets(
  server: ReturnType<typeof createServer>,
  rpc: Outlast,
  allowed: readonly string[],
  host: string,
  slots: CallSlots,
) {
  let ws: typeof import('ws') | undefined
  try {
    ws = await import('ws')
  } catch {}
  if (!ws) {
    server.on('upgrade', (_req, socket) =>
      socket.end('HTTP/1.1 501 Not Implemented\r\n\r\nWebSocket needs the ws package\r\n'),
    )
    return { close() {} }
  }
  const wss = new ws.WebSocketServer({ noServer: true, maxPayload: 1_048_576 })
  server.on('upgrade', (req, socket, head) => {
    if (!hostAllowed(req.headers.host, host) || corsFor(req, allowed) === 'refused')
      return void socket.end('HTTP/1.1 403 Forbidden\r\n\r\n')
    wss.handleUpgrade(req, socket, head, (client) => serveSocket(client, rpc, slots))
  })
  return {
    close() {
      for (const client of wss.clients) client.close(1001, 'proxy closing')
      wss.close()
    },
  }
}

function serveSocket(client: import('ws').WebSocket, rpc: Outlast, slots: CallSlots) {
  const subscriptions = new Map<string, () => Promise<unknown>>()
  const reply = (body: unknown) => {
    if (client.readyState === client.OPEN) client.send(JSON.stringify(body))
  }
  const one = async (call: Call): Promise<Reply> => {
    const id = typeof call?.id === 'string' || typeof call?.id === 'number' ? call.id : null
    if (call?.method === 'eth_subscribe') {
      try {
        const sub = await rpc.subscribe((call.params as unknown[]) ?? [], (result) =>
          reply({
            jsonrpc: '2.0',
            method: 'eth_subscription',
            params: { subscription: sub.id, result },
          }),
        )
        subscriptions.set(sub.id, sub.unsubscribe)
        return { jsonrpc: '2.0', id, result: sub.id }
      } catch (error) {
        return { jsonrpc: '2.0', id, error: errorObject(error) }
      }
    }
    if (call?.method === 'eth_unsubscribe') {
      const sid = (call.params as unknown[] | undefined)?.[0]
      const stop = typeof sid === 'string' ? subscriptions.get(sid) : undefined
      if (stop) subscriptions.delete(sid as string)
      await stop?.()
      return { jsonrpc: '2.0', id, result: stop !== undefined }
    }
    return slots.run(() => answer(rpc, call))
  }
  client.on('message', async (data) => {
    let message: unknown
    try {
      message = JSON.parse(String(data))
    } catch {
      return reply({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: 'parse error: the frame is not JSON' },
      })
    }
    const wrong = Array.isArray(message) ? batchProblem(message.length) : undefined
    if (wrong) return reply({ jsonrpc: '2.0', id: null, error: { code: -32600, message: wrong } })
    reply(
      Array.isArray(message)
        ? await Promise.all(message.map((c) => one(c as Call)))
        : await one(message as Call),
    )
  })
  client.on('close', () => {
    for (const stop of subscriptions.values()) void stop().catch(() => {})
    subscriptions.clear()
  })
}
