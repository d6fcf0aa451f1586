/**
 * A small trustless gateway on loopback for the header and IPNS tests: raw blocks
 * (`GET /ipfs/{cid}?format=raw`) and IPNS records (`GET /ipns/{name}?format=ipns-record`) served
 * from maps the test fills, honest or faulty on demand (tampered bytes, 404, HTTP 500, slow), to
 * any origin (CORS).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export type GatewayMode =
  | { kind: 'ok' }
  /** Every block and record with one byte flipped. */
  | { kind: 'tamper' }
  /** 404 for everything. */
  | { kind: 'missing' }
  /** HTTP 500 for everything. */
  | { kind: 'down' }
  /** Answers after `ms`. */
  | { kind: 'slow'; ms: number }

export type LoopbackGateway = {
  url: string
  /** Raw blocks by CID string. */
  blocks: Map<string, Uint8Array>
  /** Marshalled IPNS records by name (as it appears in `/ipns/{name}`). */
  records: Map<string, Uint8Array>
  setMode(mode: GatewayMode): void
  /** Requests served, by kind. */
  hits: { blocks: number; records: number }
  stop(): Promise<void>
}

export async function startGateway(): Promise<LoopbackGateway> {
  const blocks = new Map<string, Uint8Array>()
  const records = new Map<string, Uint8Array>()
  const hits = { blocks: 0, records: 0 }
  let mode: GatewayMode = { kind: 'ok' }
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://gateway')
    // Any page may read it (a trustless gateway's records are public): the browser tests do.
    res.setHeader('access-control-allow-origin', '*')
    const [, ns, key] = url.pathname.split('/')
    const format = url.searchParams.get('format')
    const accept = req.headers.accept ?? ''
    const isBlock =
      ns === 'ipfs' && (format === 'raw' || accept.includes('application/vnd.ipld.raw'))
    const isRecord =
      ns === 'ipns' &&
      (format === 'ipns-record' || accept.includes('application/vnd.ipfs.ipns-record'))
    if (!key || (!isBlock && !isRecord)) {
      res.writeHead(400).end('raw blocks and IPNS records only')
      return
    }
    if (isBlock) hits.blocks++
    else hits.records++
    if (mode.kind === 'slow') await new Promise((r) => setTimeout(r, (mode as { ms: number }).ms))
    if (mode.kind === 'down') return void res.writeHead(500).end('down')
    const bytes = (isBlock ? blocks : records).get(key)
    if (!bytes || mode.kind === 'missing') return void res.writeHead(404).end('not found')
    const body = mode.kind === 'tamper' ? flipped(bytes) : bytes
    res.writeHead(200, {
      'content-type': isBlock ? 'application/vnd.ipld.raw' : 'application/vnd.ipfs.ipns-record',
      'content-length': body.length,
    })
    res.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    blocks,
    records,
    hits,
    setMode: (m) => {
      mode = m
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A copy with a byte near the middle flipped: same length, another hash. */
function flipped(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes)
  const i = Math.floor(out.length / 2)
  out[i] = out[i]! ^ 0xff
  return out
}
