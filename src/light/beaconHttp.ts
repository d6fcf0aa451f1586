/**
 * `beaconApi()`'s transport: its options checked, a bounded GET (a 404 is "none", other statuses
 * and network failures `SourceError`s that name no URL secret; redirects are refused, never
 * followed with the key headers) and the SSE stream, reconnected with a doubling delay.
 * beaconApi.ts maps the light-client endpoints onto it.
 */
import { ConfigError, SourceError, type SourceFailureKind } from '../shared/errors.ts'
import { readResponse, TooManyBytes } from '../shared/readBytes.ts'
import { redactHost, redactUrl } from '../shared/url.ts'
import { networkErrors } from '../sources/networkError.ts'
import type { BeaconApiOptions } from './beaconApi.ts'
import { malformed } from './errors.ts'
import { mainnet } from './forks.ts'
import type { LightSourceCallOptions } from './sources.ts'
import { sseParser } from './sse.ts'

const SSZ = 'application/octet-stream'
const JSON_TYPE = 'application/json'

export type BeaconSettings = Required<Omit<BeaconApiOptions, 'fetchFn'>> & {
  fetchFn: typeof fetch
  /** The URL, ending in `/`: paths are resolved against it. */
  base: string
  hostname: string
}

export function beaconSettings(url: string, options: BeaconApiOptions): BeaconSettings {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError(`beaconApi: ${redactUrl(url)} is not a URL.`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`beaconApi(${redactUrl(url)}): expected an http(s) URL.`)
  }
  // fetch refuses such a URL, and its error quotes it whole, password included.
  if (parsed.username || parsed.password)
    throw new ConfigError(
      `beaconApi(${redactUrl(url)}): the URL carries user:password@; pass headers: { authorization: 'Basic …' } instead.`,
    )
  const {
    name = redactHost(parsed),
    domain = redactHost(parsed),
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
  return {
    name,
    domain,
    config,
    format,
    timeout,
    maxResponseBytes,
    maxEventBytes,
    events,
    reconnectDelay,
    maxReconnectDelay,
    headers,
    fetchFn,
    base: parsed.href.endsWith('/') ? parsed.href : `${parsed.href}/`,
    hostname: redactHost(parsed),
  }
}

/** A GET's answer: the body (bounded), whether it is SSZ, and the fork it names. */
export type BeaconAnswer = { body: Uint8Array; ssz: boolean; fork: string | null }

export function beaconHttp(s: BeaconSettings) {
  const fail = (kind: SourceFailureKind, message: string, extra: { status?: number } = {}) =>
    new SourceError(s.name, kind, message, extra)
  const classify = networkErrors(fail, s.hostname, s.timeout)
  const accept = s.format === 'ssz' ? `${SSZ};q=1,${JSON_TYPE};q=0.9` : JSON_TYPE

  /** GET `path`; undefined on 404; the body (bounded) and how to read it. */
  const get = async (
    path: string,
    what: string,
    o: LightSourceCallOptions = {},
    want = accept,
  ): Promise<BeaconAnswer | undefined> => {
    const timer = AbortSignal.timeout(s.timeout)
    const signal = o.signal ? AbortSignal.any([o.signal, timer]) : timer
    let response: Response
    try {
      // Redirects are not followed: the key headers would go to a host the app never chose.
      response = await s.fetchFn(new URL(path, s.base), {
        headers: { ...s.headers, accept: want },
        signal,
        redirect: 'manual',
      })
    } catch (error) {
      throw classify(error, o.signal, timer)
    }
    if ((response.status >= 300 && response.status < 400) || response.type === 'opaqueredirect') {
      await response.body?.cancel().catch(() => {})
      throw fail(
        'http',
        `${what}: HTTP ${response.status || 'redirect'}: redirects are not followed`,
        {
          status: response.status,
        },
      )
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
      body = await readResponse(response, s.maxResponseBytes, signal)
    } catch (error) {
      if (error instanceof TooManyBytes)
        throw fail('body', `${what}: response exceeds maxResponseBytes (${s.maxResponseBytes})`)
      throw classify(error, o.signal, timer)
    }
    const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase()
    const fork = response.headers.get('eth-consensus-version')
    return { body, ssz: type === SSZ, fork }
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
  return { get, json, getJson }
}

/**
 * Reads the light-client topics of the SSE stream, reconnecting after any end or failure with a
 * doubling delay (reset once an event arrives). Returns the function that ends it for good.
 */
export function followEvents(s: BeaconSettings, onEvent: (event: string, data: string) => void) {
  const url = new URL(
    'eth/v1/events?topics=light_client_finality_update,light_client_optimistic_update',
    s.base,
  )
  const controller = new AbortController()
  let delay = s.reconnectDelay
  let timer: ReturnType<typeof setTimeout> | undefined
  const run = async () => {
    if (controller.signal.aborted) return
    try {
      const response = await s.fetchFn(url, {
        headers: { ...s.headers, accept: 'text/event-stream' },
        signal: controller.signal,
        redirect: 'manual', // not followed, as above (a redirect is not ok: tried again later)
      })
      if (!response.ok || !response.body) {
        await response.body?.cancel().catch(() => {})
        throw new Error(`HTTP ${response.status}`)
      }
      const parser = sseParser(s.maxEventBytes)
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        for (const e of parser.push(value)) {
          delay = s.reconnectDelay
          onEvent(e.event, e.data)
        }
      }
    } catch {
      // Down, refused, oversized or cut: try again later (below); nothing to report, polling goes on.
    }
    if (controller.signal.aborted) return
    timer = setTimeout(run, delay)
    delay = Math.min(delay * 2, s.maxReconnectDelay)
  }
  void run()
  return () => {
    controller.abort()
    clearTimeout(timer)
  }
}
