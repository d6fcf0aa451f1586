/**
 * A local Beacon-API server on 127.0.0.1 that replays a light-client capture: bootstrap, updates
 * by range, finality and optimistic updates (SSZ or JSON, by the request's Accept), the
 * finalized header, and the SSE event stream. Fault modes switch while a test runs: `lie`
 * (tampered objects), `not-found` (404), `slow`, `blackhole` (never answers), `error` (503).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import {
  beaconBlockHeaderRoot,
  bootstrapToJson,
  type ChainConfig,
  computeForkDigest,
  encodeBootstrap,
  encodeFinalityUpdate,
  encodeOptimisticUpdate,
  encodeUpdatesResponse,
  epochAtSlot,
  finalityUpdateToJson,
  type LightClientBootstrap,
  type LightClientFinalityUpdate,
  type LightClientHeader,
  type LightClientOptimisticUpdate,
  type LightClientUpdate,
  optimisticUpdateToJson,
  periodAtSlot,
  toHex,
  updateToJson,
} from '../../src/light/index.ts'

/** What a server replays. */
export type BeaconCapture = {
  config: ChainConfig
  bootstrap: LightClientBootstrap
  /** One per period, in order. */
  updates: readonly LightClientUpdate[]
  finality?: LightClientFinalityUpdate | undefined
  optimistic?: LightClientOptimisticUpdate | undefined
}

export type BeaconFault = 'none' | 'lie' | 'not-found' | 'slow' | 'blackhole' | 'error'

/** How `lie` tampers: one byte of the committee's signature, or of the execution block hash the headers carry (and, in a bootstrap, a committee key). */
export type LieKind = 'signature' | 'block-hash'

export type BeaconServerOptions = {
  name?: string
  /** Ms before every answer. @default 0 */
  latency?: number
  fault?: BeaconFault
  lie?: LieKind
  /** Ms `slow` adds. @default 3_000 */
  slowBy?: number
  /** Serve the finality and optimistic updates only once `publish` is called. @default false */
  hold?: boolean
}

export type BeaconServer = {
  readonly url: string
  readonly name: string
  /** Requests by path (without the query). */
  readonly requests: Record<string, number>
  setFault(fault: BeaconFault, lie?: LieKind): void
  /** Makes the capture's finality or optimistic update available, and pushes it to the SSE stream. */
  publish(kind: 'finality' | 'optimistic'): void
  /** Replaces what is served (a new update, as a chain moves). */
  set(change: Partial<Omit<BeaconCapture, 'config'>>): void
  stop(): Promise<void>
}

const SSZ = 'application/octet-stream'

function flip(bytes: Uint8Array, at = 0): Uint8Array {
  const out = bytes.slice()
  out[at] = (out[at] as number) ^ 0x01
  return out
}

function tamperHeader(h: LightClientHeader): LightClientHeader {
  if (!h.execution) return { ...h, beacon: { ...h.beacon, bodyRoot: flip(h.beacon.bodyRoot) } }
  return { ...h, execution: { ...h.execution, blockHash: flip(h.execution.blockHash, 31) } }
}

/** The object with one byte changed, as `kind` says. */
export function tamper<
  T extends {
    syncAggregate: { syncCommitteeBits: Uint8Array; syncCommitteeSignature: Uint8Array }
  },
>(u: T, kind: LieKind): T {
  if (kind === 'signature') {
    return {
      ...u,
      syncAggregate: {
        ...u.syncAggregate,
        syncCommitteeSignature: flip(u.syncAggregate.syncCommitteeSignature, 40),
      },
    }
  }
  const o = u as unknown as {
    finalizedHeader?: LightClientHeader
    attestedHeader: LightClientHeader
  }
  return o.finalizedHeader
    ? ({ ...u, finalizedHeader: tamperHeader(o.finalizedHeader) } as T)
    : ({ ...u, attestedHeader: tamperHeader(o.attestedHeader) } as T)
}

function tamperBootstrap(b: LightClientBootstrap, kind: LieKind): LightClientBootstrap {
  if (kind === 'block-hash') return { ...b, header: tamperHeader(b.header) }
  const pubkeys = [...b.currentSyncCommittee.pubkeys]
  pubkeys[0] = flip(pubkeys[0] as Uint8Array, 47)
  return { ...b, currentSyncCommittee: { ...b.currentSyncCommittee, pubkeys } }
}

export async function startBeaconApi(
  capture: BeaconCapture,
  options: BeaconServerOptions = {},
): Promise<BeaconServer> {
  const { name = 'beacon', latency = 0, slowBy = 3_000, hold = false } = options
  const { config } = capture
  let data = { ...capture }
  let fault: BeaconFault = options.fault ?? 'none'
  let lie: LieKind = options.lie ?? 'signature'
  const published = { finality: !hold, optimistic: !hold }
  const requests: Record<string, number> = {}
  const sockets = new Set<Socket>()
  const streams = new Set<ServerResponse>()
  const held = new Set<ServerResponse>()
  const lying = () => fault === 'lie'
  const bootstrapRoot = () => toHex(beaconBlockHeaderRoot(data.bootstrap.header.beacon))
  const digestOf = (u: LightClientUpdate) =>
    computeForkDigest(config, epochAtSlot(config, u.attestedHeader.beacon.slot))

  const send = (
    res: ServerResponse,
    status: number,
    body: Uint8Array | string,
    type: string,
    fork?: string,
  ) => {
    res.writeHead(status, {
      'content-type': type,
      ...(fork ? { 'eth-consensus-version': fork } : {}),
    })
    res.end(body)
  }
  const json = (res: ServerResponse, value: unknown, fork?: string) =>
    send(
      res,
      200,
      JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
      'application/json',
      fork,
    )
  const notFound = (res: ServerResponse) =>
    send(res, 404, JSON.stringify({ code: 404, message: 'not found' }), 'application/json')

  const answer = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const ssz = (req.headers.accept ?? '').includes(SSZ)
    const path = url.pathname
    if (path.startsWith('/eth/v1/beacon/light_client/bootstrap/')) {
      const root = path.split('/').pop()?.toLowerCase()
      if (root !== bootstrapRoot()) return notFound(res)
      const b = lying() ? tamperBootstrap(data.bootstrap, lie) : data.bootstrap
      return ssz
        ? send(res, 200, encodeBootstrap(b, config), SSZ, b.fork)
        : json(res, bootstrapToJson(b), b.fork)
    }
    if (path === '/eth/v1/beacon/light_client/updates') {
      const start = Number(url.searchParams.get('start_period'))
      const count = Number(url.searchParams.get('count'))
      if (
        !Number.isSafeInteger(start) ||
        !Number.isSafeInteger(count) ||
        count < 1 ||
        count > 128
      ) {
        return send(
          res,
          400,
          JSON.stringify({ code: 400, message: 'bad start_period or count' }),
          'application/json',
        )
      }
      const picked = data.updates
        .filter((u) => {
          const p = periodAtSlot(config, u.attestedHeader.beacon.slot)
          return p >= start && p < start + count
        })
        .map((u) => (lying() ? tamper(u, lie) : u))
      return ssz
        ? send(res, 200, encodeUpdatesResponse(picked, config, digestOf), SSZ)
        : json(
            res,
            picked.map((u) => updateToJson(u, config)),
          )
    }
    if (path === '/eth/v1/beacon/light_client/finality_update') {
      if (!data.finality || !published.finality) return notFound(res)
      const u = lying() ? tamper(data.finality, lie) : data.finality
      return ssz
        ? send(res, 200, encodeFinalityUpdate(u), SSZ, u.fork)
        : json(res, finalityUpdateToJson(u), u.fork)
    }
    if (path === '/eth/v1/beacon/light_client/optimistic_update') {
      if (!data.optimistic || !published.optimistic) return notFound(res)
      const u = lying() ? tamper(data.optimistic, lie) : data.optimistic
      return ssz
        ? send(res, 200, encodeOptimisticUpdate(u), SSZ, u.fork)
        : json(res, optimisticUpdateToJson(u), u.fork)
    }
    if (path === '/eth/v1/beacon/headers/finalized') {
      const b = data.bootstrap.header.beacon
      // A liar claims a block of its own: a header that hashes to the root it names.
      const h = lying() ? { ...b, stateRoot: flip(b.stateRoot) } : b
      return json(res, {
        execution_optimistic: false,
        finalized: true,
        data: {
          root: toHex(beaconBlockHeaderRoot(h)),
          canonical: true,
          header: {
            message: {
              slot: String(h.slot),
              proposer_index: String(h.proposerIndex),
              parent_root: toHex(h.parentRoot),
              state_root: toHex(h.stateRoot),
              body_root: toHex(h.bodyRoot),
            },
            signature: toHex(new Uint8Array(96)),
          },
        },
      })
    }
    if (path === '/eth/v1/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.write(': connected\n\n')
      streams.add(res)
      res.on('close', () => streams.delete(res))
      return
    }
    notFound(res)
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    requests[url.pathname] = (requests[url.pathname] ?? 0) + 1
    const delay = latency + (fault === 'slow' ? slowBy : 0)
    const go = () => {
      if (res.destroyed) return
      if (fault === 'blackhole') {
        held.add(res)
        return
      }
      if (fault === 'error')
        return send(res, 503, JSON.stringify({ code: 503, message: 'syncing' }), 'application/json')
      if (fault === 'not-found' && url.pathname !== '/eth/v1/events') return notFound(res)
      try {
        answer(req, res, url)
      } catch (error) {
        send(res, 500, String(error), 'text/plain')
      }
    }
    if (delay > 0) setTimeout(go, delay)
    else go()
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    name,
    requests,
    setFault(next, kind) {
      fault = next
      if (kind) lie = kind
    },
    publish(kind) {
      published[kind] = true
      const u = kind === 'finality' ? data.finality : data.optimistic
      if (!u) return
      const sent = lying() ? tamper(u, lie) : u
      const body =
        kind === 'finality'
          ? finalityUpdateToJson(sent as LightClientFinalityUpdate)
          : optimisticUpdateToJson(sent as LightClientOptimisticUpdate)
      const event =
        kind === 'finality' ? 'light_client_finality_update' : 'light_client_optimistic_update'
      for (const res of streams) res.write(`event: ${event}\ndata: ${JSON.stringify(body)}\n\n`)
    },
    set(change) {
      data = { ...data, ...change }
    },
    async stop() {
      for (const res of [...streams, ...held]) res.destroy()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
