/**
 * In-process JSON-RPC servers on 127.0.0.1 for the fuzz tests. Each request is answered by a
 * handler that returns raw bytes plus how to frame them, so a test can send anything: bad
 * status codes, truncated or oversized bodies, a stall, a connection dropped mid-body.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** One JSON-RPC call as the server received it (the engine always sends valid JSON). */
export type Call = { id: unknown; method: string; params: unknown[] }

/** How the bytes go on the wire. */
export type Framing =
  /** Content-Length and the whole body. */
  | { kind: 'length' }
  /** Chunked transfer encoding, the whole body in two chunks. */
  | { kind: 'chunked' }
  /** Content-Length of the whole body, only the first `cut` bytes, then silence. */
  | { kind: 'short'; cut: number }
  /** The first `cut` bytes, then the connection is destroyed. */
  | { kind: 'destroy'; cut: number }
  /** No answer at all. */
  | { kind: 'stall' }

export type Rendered = {
  status: number
  headers: Record<string, string>
  body: Uint8Array
  framing: Framing
  /** Milliseconds to wait before answering. */
  delay: number
}

export type Handler = (calls: Call | Call[]) => Rendered

export type FuzzServer = {
  url: string
  /** Replaces the handler for the next requests. */
  handle(handler: Handler): void
  /** Drops stalled and half-sent connections (between runs). */
  release(): void
  /** Requests received since start. */
  readonly requests: number
  close(): Promise<void>
}

const NO_BODY = new Set([204, 205, 304])

export async function startFuzzServer(handler: Handler): Promise<FuzzServer> {
  let current = handler
  let requests = 0
  const sockets = new Set<Socket>()
  const held = new Set<Socket>()
  const timers = new Set<ReturnType<typeof setTimeout>>()

  const answer = (res: ServerResponse, r: Rendered) => {
    if (res.destroyed) return
    const { framing } = r
    if (framing.kind === 'stall') {
      held.add(res.socket!)
      return
    }
    const body = NO_BODY.has(r.status) ? new Uint8Array() : r.body
    if (framing.kind === 'chunked') {
      res.writeHead(r.status, r.headers)
      const half = Math.floor(body.length / 2)
      if (body.length) res.write(body.subarray(0, half))
      if (body.length > half) res.write(body.subarray(half))
      res.end()
      return
    }
    res.writeHead(r.status, { ...r.headers, 'content-length': String(body.length) })
    if (framing.kind === 'length') {
      res.end(body)
      return
    }
    const cut = Math.min(framing.cut, Math.max(0, body.length - 1))
    res.write(body.subarray(0, cut))
    if (framing.kind === 'short') held.add(res.socket!)
    else setImmediate(() => res.destroy())
  }

  const server = createServer({ keepAlive: true }, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      requests++
      let calls: Call | Call[]
      try {
        calls = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        res.writeHead(400).end()
        return
      }
      const rendered = current(calls)
      if (rendered.delay <= 0) return answer(res, rendered)
      const timer = setTimeout(() => {
        timers.delete(timer)
        answer(res, rendered)
      }, rendered.delay)
      timers.add(timer)
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => {
      sockets.delete(socket)
      held.delete(socket)
    })
  })
  server.on('clientError', (_error, socket) => socket.destroy())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}/`,
    handle(h) {
      current = h
    },
    release() {
      for (const s of held) s.destroy()
      held.clear()
    },
    get requests() {
      return requests
    },
    close() {
      for (const t of timers) clearTimeout(t)
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
