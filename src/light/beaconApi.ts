/**
 * `beaconApi(url)`: a beacon node's REST API as a source of light-client data
 * (`/eth/v1/beacon/light_client/*`, SSZ or JSON, and the SSE event stream). Untrusted like every
 * source: it decodes, `light()` verifies. Its URL's path, query and userinfo (where API keys
 * live) never appear in its name, errors or events.
 */

import { plain } from '../shared/clip.ts'
import type { Hex } from '../shared/types.ts'
import { scrubberFor } from '../sources/secrets.ts'
import { beaconHttp, beaconSettings, followEvents } from './beaconHttp.ts'
import { toHex } from './bytes.ts'
import {
  decodeBootstrap,
  decodeFinalityUpdate,
  decodeOptimisticUpdate,
  decodeUpdatesResponse,
} from './codec.ts'
import { LightClientError, malformed } from './errors.ts'
import { type ChainConfig, type ForkName, forkNamed } from './forks.ts'
import {
  beaconHeaderFromJson,
  bootstrapFromJson,
  finalityUpdateFromJson,
  optimisticUpdateFromJson,
  updatesFromJson,
} from './json.ts'
import { beaconBlockHeaderRoot } from './roots.ts'
import { type LightClientSource, MAX_REQUEST_LIGHT_CLIENT_UPDATES } from './sources.ts'

export type BeaconApiOptions = {
  /** Unique name shown in events, errors and `status()`. @default the URL's host */
  name?: string
  /** Failure domain (operator + region). @default the URL's host */
  domain?: string
  /** The chain whose objects it serves (committee size, fork digests). @default mainnet */
  config?: ChainConfig
  /** What to ask for: SSZ (`application/octet-stream`, smaller and faster) or JSON. The answer is read by its Content-Type either way. @default 'ssz' */
  format?: 'ssz' | 'json'
  /** Milliseconds one call may take. @default 10_000 */
  timeout?: number
  /** Largest response body accepted, in bytes (128 JSON updates are ~8 MB). @default 16_777_216 */
  maxResponseBytes?: number
  /** Largest single event on the SSE stream, in bytes. @default 1_048_576 */
  maxEventBytes?: number
  /** Follow the SSE stream (`/eth/v1/events`); false: `light()` polls. @default true */
  events?: boolean
  /** First reconnect delay of the event stream in ms; doubles per failed try up to `maxReconnectDelay`. @default 1_000 */
  reconnectDelay?: number
  /** @default 30_000 */
  maxReconnectDelay?: number
  /** Extra HTTP headers (an API key header). @default {} */
  headers?: Record<string, string>
  /** The fetch implementation. @default globalThis.fetch */
  fetchFn?: typeof fetch
}

/** A beacon node's light-client endpoints as a `LightClientSource`. */
export function beaconApi(url: string, options: BeaconApiOptions = {}): LightClientSource {
  const settings = beaconSettings(url, options)
  const { name, config } = settings
  const { get, json, getJson } = beaconHttp(settings)
  const forkOf = (header: string | null, what: string): ForkName => {
    if (!header) throw malformed(what, 'an SSZ answer without an Eth-Consensus-Version header')
    return forkNamed(header.toLowerCase(), `${what} Eth-Consensus-Version`)
  }

  const source: LightClientSource = {
    name,
    domain: settings.domain,
    async bootstrap(root: Hex, o) {
      if (!/^0x[0-9a-fA-F]{64}$/.test(root))
        throw new RangeError(`bootstrap: ${root} is not a 32-byte block root`)
      const r = await get(`eth/v1/beacon/light_client/bootstrap/${root}`, 'bootstrap', o)
      if (!r) return undefined
      return r.ssz
        ? decodeBootstrap(r.body, forkOf(r.fork, 'bootstrap'), config)
        : bootstrapFromJson(json(r.body, 'bootstrap'), config)
    },
    async updates(startPeriod, count, o) {
      if (!Number.isSafeInteger(startPeriod) || startPeriod < 0)
        throw new RangeError(`updates: bad start period ${startPeriod}`)
      if (!Number.isSafeInteger(count) || count < 1 || count > MAX_REQUEST_LIGHT_CLIENT_UPDATES) {
        throw new RangeError(
          `updates: count must be 1..${MAX_REQUEST_LIGHT_CLIENT_UPDATES}, got ${count}`,
        )
      }
      const r = await get(
        `eth/v1/beacon/light_client/updates?start_period=${startPeriod}&count=${count}`,
        'updates',
        o,
      )
      if (!r) return []
      const updates = r.ssz
        ? decodeUpdatesResponse(r.body, config, count)
        : updatesFromJson(json(r.body, 'updates'), config, count)
      return updates
    },
    async finalityUpdate(o) {
      const r = await get('eth/v1/beacon/light_client/finality_update', 'finality_update', o)
      if (!r) return undefined
      return r.ssz
        ? decodeFinalityUpdate(r.body, forkOf(r.fork, 'finality_update'), config)
        : finalityUpdateFromJson(json(r.body, 'finality_update'), config)
    },
    async optimisticUpdate(o) {
      const r = await get('eth/v1/beacon/light_client/optimistic_update', 'optimistic_update', o)
      if (!r) return undefined
      return r.ssz
        ? decodeOptimisticUpdate(r.body, forkOf(r.fork, 'optimistic_update'), config)
        : optimisticUpdateFromJson(json(r.body, 'optimistic_update'), config)
    },
    async finalizedRoot(o) {
      // Always JSON: the header's root is what is claimed, and its message must hash to it.
      const r = await getJson('eth/v1/beacon/headers/finalized', 'headers/finalized', o)
      return r === undefined ? undefined : finalizedClaim(r)
    },
    close() {
      for (const stop of [...streams]) stop()
    },
  }
  // A node may echo the URL (its key) into a field quoted in a refusal: scrubbed on the way out.
  const scrub = scrubberFor(url, settings.headers)
  for (const key of [
    'bootstrap',
    'updates',
    'finalityUpdate',
    'optimisticUpdate',
    'finalizedRoot',
  ] as const) {
    const call = source[key] as (...args: unknown[]) => Promise<unknown>
    ;(source as Record<typeof key, unknown>)[key] = (...args: unknown[]) =>
      call(...args).catch((error: unknown) => {
        throw error instanceof LightClientError
          ? new LightClientError(error.reason, plain(scrub.text(error.shortMessage)))
          : error
      })
  }
  const streams = new Set<() => void>()
  if (settings.events) {
    source.events = (onFinality, onOptimistic) => {
      const stop = followEvents(settings, (event, data) => {
        // A body that does not decode is dropped: the stream is a hint, polling still runs.
        try {
          if (event === 'light_client_finality_update')
            onFinality(finalityUpdateFromJson(JSON.parse(data), config))
          else if (event === 'light_client_optimistic_update')
            onOptimistic(optimisticUpdateFromJson(JSON.parse(data), config))
        } catch {}
      })
      streams.add(stop)
      return () => {
        streams.delete(stop)
        stop()
      }
    }
  }
  return source
}

/** `{ data: { root, header: { message } } }`: the root, checked to be the hash_tree_root of the header given. */
function finalizedClaim(value: unknown): { root: Hex; slot: number } {
  const data = (
    value as { data?: { root?: unknown; header?: { message?: Record<string, unknown> } } }
  )?.data
  const message = data?.header?.message
  if (!message || typeof data?.root !== 'string')
    throw malformed('headers/finalized', 'expected { data: { root, header: { message } } }')
  const header = beaconHeaderFromJson(message, 'headers/finalized.data.header.message')
  const root = toHex(beaconBlockHeaderRoot(header))
  if (root !== data.root.toLowerCase())
    throw malformed(
      'headers/finalized',
      `root ${data.root} is not the hash of its header (${root})`,
    )
  return { root, slot: header.slot }
}
