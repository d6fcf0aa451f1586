import { raceAbort } from '../core/abort.ts'
import { SourceError, type SourceFailureKind } from '../core/errors.ts'
import type { RpcRequest, Source, SourceKind, SourceRequestOptions } from '../core/types.ts'
import { redactUrl } from '../core/url.ts'
import { type BatchOptions, createBatcher } from './batch.ts'
import { finite, urlSource } from './options.ts'
import { type RateFloor, readBody, SlowBodyError } from './readBody.ts'
import { base64, nodeError, scrubberFor } from './secrets.ts'

export type HttpSourceOptions = {
  /** Unique name shown in events, errors and `status()`. @default the URL's host */
  name?: string
  /** @default 'cloud' */
  kind?: SourceKind
  /** Failure domain (provider + region, or `home`). Sources in one domain fail together. @default the URL's host */
  domain?: string
  /** Ranking weight: higher is preferred at equal latency. @default 1 */
  weight?: number
  /** Milliseconds one attempt may take before it is abandoned. @default 10_000 */
  timeout?: number
  /** Extra HTTP headers (e.g. an API key header); their values are scrubbed from everything outlast emits. @default {} */
  headers?: Record<string, string>
  /** Largest response body accepted, in bytes. @default 16_777_216 (16 MiB) */
  maxResponseBytes?: number
  /**
   * The slowest a response body may arrive, in bytes per second: its average since the headers,
   * judged once the body has taken longer than 1 s (or half the `timeout`, if that is shorter).
   * A body below it is cut, a `timeout` failure of that attempt ("body arrived at N B/s, below
   * the floor"): a source that trickles its answers costs a second, not the whole `timeout`.
   * Real answers arrive in milliseconds, and any body that arrives whole within that first
   * second is never judged; 16 KiB/s (128 kbit/s) is a third of a slow 3G link, so a large body
   * on a poor connection still clears it (the `timeout` bounds its total). An average rather
   * than a per-chunk rate: a brief stall in a fast body is not a trickle. `0` turns it off.
   * @default 16_384 (16 KiB/s)
   */
  minBytesPerSecond?: number
  /** Group calls made in the same tick into one JSON-RPC batch. @default false */
  batch?: boolean | BatchOptions
  /** The fetch implementation. @default globalThis.fetch */
  fetchFn?: typeof fetch
}

type Envelope = { jsonrpc: '2.0'; id: number; method: string; params: readonly unknown[] }

let nextId = 0

/**
 * A JSON-RPC source over HTTP(S). Connections are pooled and kept alive by the platform's
 * `fetch` (undici in Node, the browser's network stack elsewhere).
 */
export function http(url: string, options: HttpSourceOptions = {}): Source {
  const {
    url: parsed,
    name,
    kind,
    domain,
    weight,
    timeout,
    maxResponseBytes,
    check,
  } = urlSource('http', url, ['http:', 'https:'], options)
  const { headers = {}, fetchFn = globalThis.fetch, minBytesPerSecond = 16_384 } = options
  check(typeof fetchFn === 'function', 'fetchFn must be a fetch function')
  check(
    finite(minBytesPerSecond) && minBytesPerSecond >= 0,
    `minBytesPerSecond must be a number of bytes per second >= 0 (0: no floor), got ${String(minBytesPerSecond)}`,
  )
  /** The byte-rate floor of every body: after a grace of 1 s, or half the timeout if shorter. */
  const floor: RateFloor | undefined =
    minBytesPerSecond > 0
      ? { bytesPerSecond: minBytesPerSecond, grace: Math.min(1_000, Math.ceil(timeout / 2)) }
      : undefined
  // fetch refuses URLs with credentials: move basic-auth into a header.
  const auth: Record<string, string> = {}
  if (parsed.username || parsed.password) {
    const user = decodeURIComponent(parsed.username)
    const pass = decodeURIComponent(parsed.password)
    auth.authorization = `Basic ${base64(`${user}:${pass}`)}`
    parsed.username = ''
    parsed.password = ''
  }
  const target = parsed.href

  // Every string this source emits passes through `scrub`: a node may echo the key it was sent.
  const scrub = scrubberFor(url, headers)
  const fail = (kindOf: SourceFailureKind, message: string, extra = {}) =>
    new SourceError(name, kindOf, scrub.text(message), extra)

  const rpcError = (error: unknown) => nodeError(name, scrub, error)

  async function post(payload: Envelope | Envelope[], signal?: AbortSignal): Promise<unknown> {
    const timeoutSignal = AbortSignal.timeout(timeout)
    const combined = signal ? AbortSignal.any([signal, timeoutSignal]) : timeoutSignal
    let response: Response
    try {
      response = await fetchFn(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth, ...headers },
        body: JSON.stringify(payload),
        signal: combined,
      })
    } catch (error) {
      throw networkError(error, signal, timeoutSignal)
    }
    if (response.status === 429) {
      await response.body?.cancel()
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'))
      throw fail('rate-limited', 'HTTP 429 Too Many Requests', { status: 429, retryAfter })
    }
    if (response.status === 402) {
      await response.body?.cancel()
      throw fail('unavailable', 'HTTP 402 quota exhausted', { status: 402 })
    }
    const type = response.headers.get('content-type') ?? ''
    if (!response.ok) {
      await response.body?.cancel()
      const body = type.includes('html') ? ' (HTML error page)' : ''
      throw fail('http', `HTTP ${response.status}${body}`, { status: response.status })
    }
    if (type.includes('html')) {
      await response.body?.cancel()
      throw fail('body', 'HTTP 200 with an HTML page instead of JSON')
    }
    let text: string
    try {
      text = await readBody(response, maxResponseBytes, combined, floor)
    } catch (error) {
      if (error instanceof RangeError) throw fail('body', error.message)
      // A trickle is a slow answer cut short: a timeout, not a malformed body.
      if (error instanceof SlowBodyError && !signal?.aborted) throw fail('timeout', error.message)
      throw networkError(error, signal, timeoutSignal)
    }
    try {
      return JSON.parse(text)
    } catch {
      throw fail('body', `malformed JSON (${text.length} bytes)`)
    }
  }

  function networkError(error: unknown, signal?: AbortSignal, timeoutSignal?: AbortSignal) {
    // No `cause`: the text of a fetch error (a custom fetchFn's too) would escape the scrubber.
    if (signal?.aborted) return fail('aborted', 'attempt cancelled')
    if (timeoutSignal?.aborted) return fail('timeout', `no answer within ${timeout} ms`)
    const code = findCode(error)
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      return fail('dns', `DNS lookup failed for ${parsed.hostname} (${code})`)
    if (code === 'ECONNREFUSED') return fail('refused', 'connection refused')
    return fail('network', `network error${code ? ` (${code})` : ''}`)
  }

  function unwrap(answer: unknown, id: number): unknown {
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer))
      throw fail('body', 'response is not a JSON-RPC object')
    const a = answer as { id?: unknown; result?: unknown; error?: unknown }
    // `id: null` with an error: the node could not read the request, and its error says why.
    if (a.id === null && a.error !== undefined) throw rpcError(a.error)
    if (a.id !== id) throw fail('body', `response id ${JSON.stringify(a.id)} does not match ${id}`)
    if (a.error !== undefined) throw rpcError(a.error)
    if (!('result' in a)) throw fail('body', 'response has neither result nor error')
    return a.result
  }

  const envelope = (body: RpcRequest): Envelope => ({
    jsonrpc: '2.0',
    id: ++nextId,
    method: body.method,
    params: body.params ?? [],
  })

  const sendBatch = async (bodies: Envelope[]): Promise<unknown[]> => {
    const answer = await post(bodies)
    if (!Array.isArray(answer)) {
      // A node may refuse a whole batch with one error object: each call gets that error.
      const error = (answer as { error?: unknown } | null)?.error
      if (error !== undefined) return bodies.map(() => rpcError(error))
      return bodies.map(() => fail('body', 'batch answered with a non-array'))
    }
    const byId = new Map<unknown, unknown>()
    /** Errors for calls the node could not read (`id: null`): it does not say which. */
    const unread: unknown[] = []
    for (const item of answer) {
      const { id, error } = (item ?? {}) as { id?: unknown; error?: unknown }
      if (id === null && error !== undefined) unread.push(error)
      // Two answers for one call: neither can be trusted.
      else byId.set(id, byId.has(id) ? fail('body', `batch answers id ${String(id)} twice`) : item)
    }
    const missing = bodies.filter((b) => !byId.has(b.id))
    if (missing.length === 1 && unread.length === 1) byId.set(missing[0]!.id, rpcError(unread[0]))
    const e = unread[0] as { code?: unknown; message?: unknown } | undefined
    const said = e ? `; a call it could not read got JSON-RPC error ${e.code}: ${e.message}` : ''
    return bodies.map((b) => byId.get(b.id) ?? fail('body', `batch answer lacks id ${b.id}${said}`))
  }

  const batchOptions = options.batch === true ? {} : options.batch || undefined
  const batched = batchOptions ? createBatcher(sendBatch, batchOptions) : undefined

  return {
    config: { name, kind, domain, weight, label: redactUrl(url), redact: scrub.text },
    async request(body: RpcRequest, { signal }: SourceRequestOptions = {}) {
      const env = envelope(body)
      if (!batched) return unwrap(await post(env, signal), env.id)
      const answer = await raceAbort(batched(env), signal, () =>
        fail('aborted', 'attempt cancelled'),
      )
      if (answer instanceof Error) throw answer
      return unwrap(answer, env.id)
    },
  }
}

function findCode(error: unknown): string | undefined {
  for (let e: unknown = error, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
  }
  return undefined
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}
