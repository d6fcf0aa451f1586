/**
 * An in-process JSON-RPC proxy on 127.0.0.1 that forwards to a node and injects faults which
 * can be switched while a test or benchmark runs. See `FaultMode` for the catalogue.
 */
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  errorPage,
  errorReply,
  type FaultMode,
  garbage,
  json,
  lieMethods,
  lieWith,
  logLimitError,
  parseCalls,
  quotaExhausted,
  type Reply,
  type RpcCall,
  type RpcReply,
  rateLimited,
  rewrite,
  rpcErrors,
} from './faults.ts'

export type { FaultKind, FaultMode, GarbageVariant, LieMethod } from './faults.ts'

export type ProxyOptions = {
  /** Names the proxy in tests and benchmarks; `dns` mode resolves `<name>.invalid`. @default 'proxy-<n>' */
  name?: string
  /** Milliseconds added before every answer. @default 0 */
  latency?: number
  /** Up to this many random milliseconds added to the latency. @default 0 */
  jitter?: number
}

export type ProxyStats = {
  /** HTTP requests received, whatever the mode (a browser's CORS preflights not counted). */
  requests: number
  /** JSON-RPC calls inside them (each batch element counts). */
  calls: number
  byMethod: Record<string, number>
}

export type FaultProxy = {
  /** `http://127.0.0.1:PORT`; stays the same across `refused` and back. */
  readonly url: string
  readonly name: string
  readonly mode: FaultMode
  /** Switches the fault; resolves once it is in effect (the listener closed or reopened). */
  setMode(mode: FaultMode): Promise<void>
  setLatency(ms: number): void
  /** Forwards to another node from now on (a lagging or forked one). */
  setUpstream(url: string): void
  /** Live counters, mutated in place. */
  readonly stats: ProxyStats
  resetStats(): void
  /** Plain `fetch`, except that in `dns` mode this proxy's host becomes `<name>.invalid`. */
  fetch: typeof fetch
  stop(): Promise<void>
}

let proxies = 0

export async function startProxy(target: string, options: ProxyOptions = {}): Promise<FaultProxy> {
  const name = options.name ?? `proxy-${++proxies}`
  const jitter = options.jitter ?? 0
  let latency = options.latency ?? 0
  let upstream = target
  let mode: FaultMode = { kind: 'ok' }
  let modeSince = Date.now()
  let stopped = false
  let transition = Promise.resolve()
  const stats: ProxyStats = { requests: 0, calls: 0, byMethod: {} }
  const sockets = new Set<Socket>()
  const held = new Set<Socket>()
  const agent = new Agent({ keepAlive: true })
  const lifetime = new AbortController()

  const server = createServer({ keepAlive: true }, (req, res) => {
    handle(req, res).catch(() => res.destroy())
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => {
      sockets.delete(socket)
      held.delete(socket)
    })
  })
  server.on('clientError', (_error, socket) => socket.destroy())

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy()
      if (!server.listening) return resolve()
      server.close(() => resolve())
    })

  await listen(0)
  const port = (server.address() as AddressInfo).port
  const url = `http://127.0.0.1:${port}`

  function count(calls: RpcCall | RpcCall[] | undefined) {
    stats.requests++
    for (const call of list(calls)) {
      stats.calls++
      const method = String(call.method)
      stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const cors = corsHeaders(req)
    const preflight = cors !== undefined && req.method === 'OPTIONS'
    const calls = preflight ? undefined : parseCalls(body)
    if (!preflight) count(calls)
    const current = mode
    if (current.kind === 'blackhole') {
      held.add(req.socket)
      return
    }
    const reply: Reply = preflight
      ? { status: 204, type: 'text/plain', body: '' }
      : req.method === 'POST'
        ? await respond(current, body, calls)
        : { status: 405, type: 'text/plain', body: 'method not allowed\n' }
    await wait(delayFor(current))
    if (stopped || res.destroyed) return
    res.writeHead(reply.status, {
      'content-type': reply.type,
      'content-length': Buffer.byteLength(reply.body),
      ...reply.headers,
      ...cors,
    })
    if (current.kind === 'trickle') return trickle(res, Buffer.from(reply.body), current)
    res.end(reply.body)
  }

  /** Writes `body` a slice at a time until it is sent, the client hangs up or the proxy stops. */
  async function trickle(
    res: ServerResponse,
    body: Buffer,
    { bytes = 4, interval = 250 }: { bytes?: number; interval?: number },
  ) {
    res.flushHeaders()
    const step = Math.max(1, Math.floor(bytes))
    for (let offset = 0; offset < body.length; offset += step) {
      if (offset > 0) await wait(interval)
      if (stopped || res.destroyed) return
      res.write(body.subarray(offset, offset + step))
    }
    res.end()
  }

  function delayFor(current: FaultMode): number {
    const base = current.kind === 'slow' ? (latency || 100) * (current.factor ?? 10) : latency
    return base + (jitter > 0 ? Math.random() * jitter : 0)
  }

  function wait(ms: number): Promise<void> {
    return ms > 0 ? sleep(ms, undefined, { signal: lifetime.signal }) : Promise.resolve()
  }

  async function respond(current: FaultMode, body: Buffer, calls: RpcCall | RpcCall[] | undefined) {
    switch (current.kind) {
      case 'http5xx': {
        const flap = current.flapMs
        const forwarding = flap && Math.floor((Date.now() - modeSince) / flap) % 2 === 1
        return forwarding ? forward(body) : errorPage(current.status ?? 503)
      }
      case 'rateLimit':
        return rateLimited(calls, current.retryAfter)
      case 'quota':
        return quotaExhausted()
      case 'rpcError':
        return rpcErrors(calls, current.code ?? -32603, () => current.message ?? 'internal error')
      case 'garbage':
        return garbage(current.variant, await forward(body))
      case 'methods':
        return failMethods(new Set(current.failing), current.with ?? 'rpcError', body, calls)
      case 'lie':
        return lieAbout(new Set<string>(current.methods ?? lieMethods), body, calls)
      case 'logLimit':
        return limitLogs(current, body, calls)
      default:
        return forward(body)
    }
  }

  async function failMethods(
    failing: Set<string>,
    how: 'rpcError' | 'http5xx',
    body: Buffer,
    calls: RpcCall | RpcCall[] | undefined,
  ): Promise<Reply> {
    const fails = (call: RpcCall) => failing.has(String(call.method))
    if (!list(calls).some(fails)) return forward(body)
    if (how === 'http5xx') return errorPage(503)
    const unsupported = (call: RpcCall) =>
      errorReply(call, -32601, `the method ${String(call.method)} does not exist/is not available`)
    if (!Array.isArray(calls)) return json(unsupported(calls as RpcCall))
    const passing = calls.filter((call) => !fails(call))
    const replies = new Map<string, RpcReply>()
    if (passing.length > 0) {
      const answer = await forward(Buffer.from(JSON.stringify(passing)))
      const parsed = parseCalls(Buffer.from(answer.body)) as RpcReply[] | undefined
      if (answer.status !== 200 || !Array.isArray(parsed)) return answer
      for (const reply of parsed) replies.set(JSON.stringify(reply.id), reply)
    }
    return json(
      calls
        .map((call) => (fails(call) ? unsupported(call) : replies.get(JSON.stringify(call.id))))
        .filter((reply) => reply !== undefined),
    )
  }

  /** Each call on its own: an `eth_getLogs` past the limits refused, everything else forwarded. */
  async function limitLogs(
    {
      maxRange = Number.POSITIVE_INFINITY,
      maxResults = Number.POSITIVE_INFINITY,
      style = 'alchemy',
    }: Extract<FaultMode, { kind: 'logLimit' }>,
    body: Buffer,
    calls: RpcCall | RpcCall[] | undefined,
  ): Promise<Reply> {
    if (!list(calls).some((call) => call.method === 'eth_getLogs')) return forward(body)
    const one = async (call: RpcCall): Promise<RpcReply> => {
      const filter = (Array.isArray(call.params) ? call.params[0] : undefined) as
        | { fromBlock?: string; toBlock?: string }
        | undefined
      const from = Number.parseInt(filter?.fromBlock ?? '', 16)
      const to = Number.parseInt(filter?.toBlock ?? '', 16)
      if (call.method === 'eth_getLogs' && to - from + 1 > maxRange)
        return logLimitError(call, style, from, { maxRange })
      const answer = await forward(Buffer.from(JSON.stringify(call)))
      const reply = parseCalls(Buffer.from(answer.body)) as RpcReply
      if (
        call.method === 'eth_getLogs' &&
        Array.isArray(reply?.result) &&
        reply.result.length > maxResults
      )
        return logLimitError(call, style, from, { results: maxResults })
      return reply
    }
    const replies = await Promise.all(list(calls).map(one))
    return json(Array.isArray(calls) ? replies : replies[0])
  }

  async function lieAbout(
    methods: Set<string>,
    body: Buffer,
    calls: RpcCall | RpcCall[] | undefined,
  ): Promise<Reply> {
    const answer = await forward(body)
    const methodOf = new Map(
      list(calls).map((call) => [JSON.stringify(call.id), String(call.method)]),
    )
    const altered = rewrite(answer.body, (reply) => {
      const method = methodOf.get(JSON.stringify(reply.id))
      if (method === undefined || !('result' in reply)) return reply
      return { ...reply, result: lieWith(methods, method, reply.result) }
    })
    return { ...answer, body: altered }
  }

  function forward(body: Buffer): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const headers = { 'content-type': 'application/json', 'content-length': body.length }
      const req = request(upstream, { method: 'POST', agent, headers }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 502,
            type: res.headers['content-type'] ?? 'application/json',
            body: Buffer.concat(chunks),
          }),
        )
      })
      req.on('error', reject)
      req.end(body)
    }).catch(() => errorPage(502))
  }

  function release() {
    for (const socket of held) socket.destroy()
    held.clear()
  }

  async function applyListener() {
    if (stopped) return
    if (mode.kind === 'refused') {
      await close()
      // One turn of the event loop, so in-process clients see their pooled connections close
      // and their next request opens a new one (ECONNREFUSED), not "other side closed".
      await new Promise((resolve) => setImmediate(resolve))
    } else if (!server.listening) await listen(port)
  }

  const dnsHost = `${name.toLowerCase().replace(/[^a-z0-9-]+/g, '-') || 'proxy'}.invalid`
  const proxyFetch: typeof fetch = (input, init) => {
    if (mode.kind !== 'dns') return fetch(input, init)
    const original = new URL(input instanceof Request ? input.url : String(input))
    if (original.host !== `127.0.0.1:${port}`) return fetch(input, init)
    original.hostname = dnsHost
    return fetch(input instanceof Request ? new Request(original, input) : original, init)
  }

  return {
    url,
    name,
    get mode() {
      return mode
    },
    setMode(next) {
      mode = next
      modeSince = Date.now()
      if (next.kind !== 'blackhole') release()
      transition = transition.catch(() => {}).then(applyListener)
      return transition
    },
    setLatency(ms) {
      latency = ms
    },
    setUpstream(next) {
      upstream = next
    },
    stats,
    resetStats() {
      stats.requests = 0
      stats.calls = 0
      for (const method of Object.keys(stats.byMethod)) delete stats.byMethod[method]
    },
    fetch: proxyFetch,
    async stop() {
      if (stopped) return
      stopped = true
      lifetime.abort()
      await transition.catch(() => {})
      release()
      await close()
      agent.destroy()
    },
  }
}

/**
 * CORS for a browser page on another origin (another 127.0.0.1 port), as public RPC endpoints
 * answer it: any origin, no credentials. Only for requests that carry an `Origin` (Node's fetch
 * sends none, so Node clients see the proxy unchanged). A preflight (`OPTIONS`) is answered by
 * the proxy itself, as an endpoint's edge would: after the latency, in every mode but the
 * connection faults (`blackhole` holds it, `refused` refuses it), and never counted in `stats`;
 * Chromium caches it for `max-age` seconds. Every other answer, faults included (a 503 page, a
 * 429), carries the headers too, so the page sees the status rather than a CORS failure;
 * `Retry-After` is exposed to its script.
 */
function corsHeaders(req: IncomingMessage): Record<string, string> | undefined {
  if (req.headers.origin === undefined) return undefined
  if (req.method !== 'OPTIONS')
    return { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'retry-after' }
  return {
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'POST',
    'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '',
    'access-control-max-age': '600',
  }
}

function list(calls: RpcCall | RpcCall[] | undefined): RpcCall[] {
  return Array.isArray(calls) ? calls : calls ? [calls] : []
}
