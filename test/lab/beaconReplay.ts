/**
 * A Beacon-API replay server on 127.0.0.1: the mainnet light-client captures of
 * test/fixtures/light-client served as a beacon node serves them (SSZ, `Eth-Consensus-Version`,
 * the SSE event stream), for `outlast relay --beacon` in tests. Its "chain" moves when the test
 * says: `reveal(n)` makes the first n period updates known, and the finality and optimistic
 * updates are those of the newest revealed one (the recorded ones once all are revealed, where the
 * capture has them, unless `recorded` is false); each reveal is announced on `/eth/v1/events`.
 * A page can reveal too, `GET /lab/reveal?n=6&recorded=1` (when its gossip mesh is formed). `lie` serves every period
 * update with one byte of its finalized block hash flipped (decodes fine, proves nothing).
 */
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  bootstrapFromJson,
  computeForkDigest,
  decodeBootstrap,
  decodeUpdatesResponse,
  encodeBootstrap,
  encodeFinalityUpdate,
  encodeOptimisticUpdate,
  encodeUpdatesResponse,
  epochAtSlot,
  finalityUpdateFromJson,
  finalityUpdateToJson,
  type LightClientBootstrap,
  type LightClientFinalityUpdate,
  type LightClientOptimisticUpdate,
  type LightClientUpdate,
  mainnet,
  optimisticUpdateFromJson,
  optimisticUpdateToJson,
  periodAtSlot,
  toHex,
  updatesFromJson,
} from '../../src/light/index.ts'
import { fixtureBytes, fixtureJson } from '../light/fixtures.ts'

export type Capture = 'capella' | 'deneb'

/** Each capture's checkpoint (its bootstrap's block root) and the block its last update finalizes. */
export const CAPTURES = {
  capella: {
    checkpoint: '0x5afc212a7924789b2bc86acad3ab3a6ffb1f6e97253ea50bee7f4f51422c9275',
    firstPeriod: 862,
    updates: 6,
    /** Finalized by the recorded finality update (after the 6 period updates). */
    finalizedBlock: 17923026,
    finalizedHash: '0xbc8499537876e5406c7a65e25f99063f1cd85a17014a3aa5ade38271b1fbf64f',
  },
  deneb: {
    checkpoint: '0x2e522016a5ac7d8d57d758b633a25491a43d12750db8f417fd6cf264b7ec5650',
    firstPeriod: 1347,
    updates: 46,
    /** Finalized by the last period update (and its finality update). */
    finalizedBlock: 22186786,
    finalizedHash: undefined,
  },
} as const

export type BeaconReplay = {
  url: string
  /**
   * Makes the first `n` period updates known (and the newest one's finality and optimistic
   * updates, or with `recorded` and all revealed, the capture's own); announced on the event stream.
   */
  reveal(n: number, recorded?: boolean): void
  readonly revealed: number
  /** Paths asked, in order. */
  readonly requests: string[]
  stop(): Promise<void>
}

export type BeaconReplayOptions = {
  capture: Capture
  /** Period updates known at start. @default all */
  revealed?: number
  /** Serve the capture's recorded finality and optimistic updates once all are revealed. @default true */
  recorded?: boolean
  /** Serve period updates with one byte of the finalized execution block hash flipped. @default false */
  lie?: boolean
}

type Loaded = {
  bootstrap: LightClientBootstrap
  updates: LightClientUpdate[]
  finality?: LightClientFinalityUpdate
  optimistic?: LightClientOptimisticUpdate
}

function load(capture: Capture): Loaded {
  if (capture === 'deneb') {
    return {
      bootstrap: decodeBootstrap(
        fixtureBytes('colibri-deneb/bootstrap_0x2e522016a5ac7d8d.ssz'),
        'deneb',
        mainnet,
      ),
      updates: decodeUpdatesResponse(
        fixtureBytes('colibri-deneb/updates_period_1347_count_46.ssz'),
        mainnet,
      ),
    }
  }
  return {
    bootstrap: bootstrapFromJson(fixtureJson('helios-capella/bootstrap.json'), mainnet),
    updates: updatesFromJson(fixtureJson('helios-capella/updates.json'), mainnet),
    finality: finalityUpdateFromJson(fixtureJson('helios-capella/finality.json'), mainnet),
    optimistic: optimisticUpdateFromJson(fixtureJson('helios-capella/optimistic.json'), mainnet),
  }
}

const digestOf = (slot: number) => computeForkDigest(mainnet, epochAtSlot(mainnet, slot))

/** The update with one byte of its finalized header's execution block hash flipped. */
function tampered(u: LightClientUpdate): LightClientUpdate {
  const execution = u.finalizedHeader?.execution
  if (!u.finalizedHeader || !execution) return u
  const blockHash = execution.blockHash.slice()
  blockHash[31]! ^= 0x01
  return {
    ...u,
    finalizedHeader: { ...u.finalizedHeader, execution: { ...execution, blockHash } },
  }
}

export async function startBeaconReplay(o: BeaconReplayOptions): Promise<BeaconReplay> {
  const data = load(o.capture)
  const { checkpoint } = CAPTURES[o.capture]
  let revealed = o.revealed ?? data.updates.length
  let recorded = o.recorded ?? true
  const requests: string[] = []
  const listeners = new Set<ServerResponse>()

  const newest = () => data.updates[revealed - 1]
  const finality = (): LightClientFinalityUpdate | undefined => {
    if (recorded && revealed === data.updates.length && data.finality) return data.finality
    const u = newest()
    return (
      u && {
        fork: u.fork,
        attestedHeader: u.attestedHeader,
        finalizedHeader: u.finalizedHeader,
        finalityBranch: u.finalityBranch,
        syncAggregate: u.syncAggregate,
        signatureSlot: u.signatureSlot,
      }
    )
  }
  const optimistic = (): LightClientOptimisticUpdate | undefined => {
    if (recorded && revealed === data.updates.length && data.optimistic) return data.optimistic
    const u = newest()
    return (
      u && {
        fork: u.fork,
        attestedHeader: u.attestedHeader,
        syncAggregate: u.syncAggregate,
        signatureSlot: u.signatureSlot,
      }
    )
  }
  const updatesIn = (start: number, count: number) =>
    data.updates
      .slice(0, revealed)
      .filter((u) => {
        const p = periodAtSlot(mainnet, u.attestedHeader.beacon.slot)
        return p >= start && p < start + count
      })
      .map((u) => (o.lie ? tampered(u) : u))

  const ssz = (res: ServerResponse, fork: string, body: Uint8Array) =>
    res
      .writeHead(200, {
        'content-type': 'application/octet-stream',
        'eth-consensus-version': fork,
        'content-length': body.length,
      })
      .end(body)
  const json = (res: ServerResponse, value: unknown) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value))
  const notFound = (res: ServerResponse) =>
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end('{"code":404,"message":"not found"}')

  function reveal(n: number, withRecorded = true) {
    revealed = Math.max(0, Math.min(n, data.updates.length))
    recorded = withRecorded
    const f = finality()
    const p = optimistic()
    for (const res of listeners) {
      if (f)
        res.write(
          `event: light_client_finality_update\ndata: ${JSON.stringify(finalityUpdateToJson(f))}\n\n`,
        )
      if (p)
        res.write(
          `event: light_client_optimistic_update\ndata: ${JSON.stringify(optimisticUpdateToJson(p))}\n\n`,
        )
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const path = url.pathname
    requests.push(`${path}${url.search}`)
    if (req.method !== 'GET') return notFound(res)
    if (path === '/lab/reveal') {
      reveal(Number(url.searchParams.get('n')), url.searchParams.get('recorded') === '1')
      return res.writeHead(204, { 'access-control-allow-origin': '*' }).end()
    }
    if (path === '/eth/v1/beacon/genesis')
      return json(res, {
        data: {
          genesis_time: String(mainnet.genesisTime),
          genesis_validators_root: toHex(mainnet.genesisValidatorsRoot),
          genesis_fork_version: '0x00000000',
        },
      })
    // The checkpoint stands for the node's finalized block: the one root it has a bootstrap for.
    if (path === '/eth/v1/beacon/headers/finalized')
      return json(res, { data: { root: checkpoint, canonical: true } })
    if (path === '/eth/v1/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.write(': replay\n\n')
      listeners.add(res)
      res.on('close', () => listeners.delete(res))
      return
    }
    const lc = '/eth/v1/beacon/light_client/'
    if (!path.startsWith(lc)) return notFound(res)
    if (!String(req.headers.accept).includes('application/octet-stream'))
      return res.writeHead(406).end('{"code":406,"message":"SSZ only"}')
    const what = path.slice(lc.length)
    if (what.startsWith('bootstrap/')) {
      if (what.slice('bootstrap/'.length).toLowerCase() !== checkpoint) return notFound(res)
      return ssz(res, data.bootstrap.fork, encodeBootstrap(data.bootstrap, mainnet))
    }
    if (what === 'updates') {
      const start = Number(url.searchParams.get('start_period'))
      const count = Number(url.searchParams.get('count'))
      if (!Number.isSafeInteger(start) || !(count >= 1 && count <= 128))
        return res.writeHead(400).end('{"code":400,"message":"bad range"}')
      const body = encodeUpdatesResponse(updatesIn(start, count), mainnet, (u) =>
        digestOf(u.attestedHeader.beacon.slot),
      )
      return ssz(res, 'deneb', body)
    }
    if (what === 'finality_update') {
      const u = finality()
      return u ? ssz(res, u.fork, encodeFinalityUpdate(u)) : notFound(res)
    }
    if (what === 'optimistic_update') {
      const u = optimistic()
      return u ? ssz(res, u.fork, encodeOptimisticUpdate(u)) : notFound(res)
    }
    return notFound(res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    get revealed() {
      return revealed
    },
    requests,
    reveal,
    async stop() {
      for (const res of listeners) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
