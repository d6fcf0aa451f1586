/**
 * `beaconApi(url)`: a beacon node's REST API as a source of light-client data
 * (`/eth/v1/beacon/light_client/*`, SSZ or JSON, and the SSE event stream). Untrusted like every
 * source: it decodes, `light()` verifies. Its URL's path, query and userinfo (where API keys
 * live) never appear in its name, errors or events.
 */

import { ConfigError, SourceError, type SourceFailureKind } from '../shared/errors.ts'
import { readResponse, TooManyBytes } from '../shared/readBytes.ts'
import type { Hex } from '../shared/types.ts'
import { redactUrl } from '../shared/url.ts'
import { networkErrors } from '../sources/networkError.ts'
import { toHex } from './bytes.ts'
import {
  decodeBootstrap,
  decodeFinalityUpdate,
  decodeOptimisticUpdate,
  decodeUpdatesResponse,
} from './codec.ts'
import { malformed } from './errors.ts'
import { type ChainConfig, type ForkName, forkNamed, mainnet } from './forks.ts'
import {
  beaconHeaderFromJson,
  bootstrapFromJson,
  finalityUpdateFromJson,
  optimisticUpdateFromJson,
  updatesFromJson,
} from './json.ts'
import { beaconBlockHeaderRoot } from './roots.ts'
import {
  type LightClientSource,
  type LightSourceCallOptions,
  MAX_REQUEST_LIGHT_CLIENT_UPDATES,
} from './sources.ts'
import { sseParser } from './sse.ts'

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

const SSZ = 'application/octet-stream'
const JSON_TYPE = 'application/json'

/** A beacon node's light-client endpoints as a `LightClientSource`. */
export function beaconApi(url: string, options: BeaconApiOptions = {}): LightClientSource {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError(`beaconApi: ${redactUrl(url)} is not a URL.`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`beaconApi(${redactUrl(url)}): expected an http(s) URL.`)
  }
  const {
    name = parsed.host,
    domain = parsed.host,
    config = mainnet,
    format = 'ssz',
    timeout = 10_000,
    maxResponseBytes = 16 * 1024 * 1024,
    maxEventBytes = 1_048_576,
    events = true,
    reconnectDelay = 1_000,
    maxReconnectDelay = 30_000,
    headers = {},
    fetchFn = (...args: Parameters<typeof fetch>) => globalThis.fetch(...args),
  } = options
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new ConfigError(`beaconApi(${name}): ${what}`)
  }
  check(typeof name === 'string' && name.length > 0, 'name must be a non-empty string')
  check(
    format === 'ssz' || format === 'json',
    `format must be 'ssz' or 'json', got ${JSON.stringify(format)}`,
  )
  for (const [key, value] of Object.entries({
    timeout,
    maxResponseBytes,
    maxEventBytes,
    reconnectDelay,
    maxReconnectDelay,
  })) {
    check(
      Number.isFinite(value) && value > 0 && value <= 2_147_483_647,
      `${key} must be a number > 0, got ${value}`,
    )
  }
  const base = parsed.href.endsWith('/') ? parsed.href : `${parsed.href}/`
  const fail = (kind: SourceFailureKind, message: string, extra: { status?: number } = {}) =>
    new SourceError(name, kind, message, extra)
  const classify = networkErrors(fail, parsed.hostname, timeout)
  const accept = format === 'ssz' ? `${SSZ};q=1,${JSON_TYPE};q=0.9` : JSON_TYPE

  /** GET `path`; undefined on 404; the body (bounded) and how to read it. */
  const get = async (path: string, what: string, o: LightSourceCallOptions = {}, want = accept) => {
    const timer = AbortSignal.timeout(timeout)
    const signal = o.signal ? AbortSignal.any([o.signal, timer]) : timer
    let response: Response
    try {
      response = await fetchFn(new URL(path, base), {
        headers: { ...headers, accept: want },
        signal,
      })
    } catch (error) {
      throw classify(error, o.signal, timer)
    }
    if (response.status === 404) {
      await response.body?.cancel().catch(() => {})
      return undefined
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {})
      throw fail(
        response.status === 429 ? 'rate-limited' : 'http',
        `${what}: HTTP ${response.status}`,
        { status: response.status },
      )
    }
    let body: Uint8Array
    try {
      body = await readResponse(response, maxResponseBytes, signal)
    } catch (error) {
      if (error instanceof TooManyBytes)
        throw fail('body', `${what}: response exceeds maxResponseBytes (${maxResponseBytes})`)
      throw classify(error, o.signal, timer)
    }
    const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase()
    const fork = response.headers.get('eth-consensus-version')
    return { body, ssz: type === SSZ, fork }
  }
  const forkOf = (header: string | null, what: string): ForkName => {
    if (!header) throw malformed(what, 'an SSZ answer without an Eth-Consensus-Version header')
    return forkNamed(header.toLowerCase(), `${what} Eth-Consensus-Version`)
  }
  const json = (body: Uint8Array, what: string): unknown => {
    try {
      return JSON.parse(new TextDecoder().decode(body))
    } catch {
      throw malformed(what, 'not JSON')
    }
  }

  const getJson = async (path: string, what: string, o?: LightSourceCallOptions) => {
    const r = await get(path, what, o, JSON_TYPE)
    return r && json(r.body, what)
  }

  const source: LightClientSource = {
    name,
    domain,
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
  const streams = new Set<() => void>()
  if (events) {
    source.events = (onFinality, onOptimistic) => {
      const stop = followEvents({
        url: new URL(
          'eth/v1/events?topics=light_client_finality_update,light_client_optimistic_update',
          base,
        ),
        headers,
        fetchFn,
        maxEventBytes,
        reconnectDelay,
        maxReconnectDelay,
        onEvent(event, data) {
          // A body that does not decode is dropped: the stream is a hint, polling still runs.
          try {
            if (event === 'light_client_finality_update')
              onFinality(finalityUpdateFromJson(JSON.parse(data), config))
            else if (event === 'light_client_optimistic_update')
              onOptimistic(optimisticUpdateFromJson(JSON.parse(data), config))
          } catch {}
        },
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

type FollowOptions = {
  url: URL
  headers: Record<string, string>
  fetchFn: typeof fetch
  maxEventBytes: number
  reconnectDelay: number
  maxReconnectDelay: number
  onEvent(event: string, data: string): void
}

/**
 * Reads the SSE stream, reconnecting after any end or failure with a doubling delay (reset once
 * an event arrives). Returns the function that ends it for good.
 */
function followEvents(o: FollowOptions): () => void {
  const controller = new AbortController()
  let delay = o.reconnectDelay
  let timer: ReturnType<typeof setTimeout> | undefined
  const run = async () => {
    if (controller.signal.aborted) return
    try {
      const response = await o.fetchFn(o.url, {
        headers: { ...o.headers, accept: 'text/event-stream' },
        signal: controller.signal,
      })
      if (!response.ok || !response.body) {
        await response.body?.cancel().catch(() => {})
        throw new Error(`HTTP ${response.status}`)
      }
      const parser = sseParser(o.maxEventBytes)
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        for (const e of parser.push(value)) {
          delay = o.reconnectDelay
          o.onEvent(e.event, e.data)
        }
      }
    } catch {
      // Down, refused, oversized or cut: try again later (below); nothing to report, polling goes on.
    }
    if (controller.signal.aborted) return
    timer = setTimeout(run, delay)
    delay = Math.min(delay * 2, o.maxReconnectDelay)
  }
  void run()
  return () => {
    controller.abort()
    clearTimeout(timer)
  }
}
