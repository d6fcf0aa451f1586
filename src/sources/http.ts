import { raceAbort } from '../shared/abort.ts'
import { SourceError } from '../shared/errors.ts'
import { lazy } from '../shared/lazy.ts'
import { parseRetryAfter } from '../shared/retryAfter.ts'
import type {
  MethodRoute,
  RpcRequest,
  Source,
  SourceRequestOptions,
  UrlSourceKind,
} from '../shared/types.ts'
import { redactHost } from '../shared/url.ts'
import type { BatchOptions } from './batch.ts'
import { type Call, callOf, type Fail, jsonRpc } from './jsonRpc.ts'
import { networkErrors } from './networkError.ts'
import { urlSource, urlSourceConfig } from './options.ts'
import { rateFloor, readBody } from './readBody.ts'
import { base64, scrubberFor } from './secrets.ts'

export type HttpSourceOptions = {
  /** Unique name shown in events, errors and `status()`. @default the URL's host */
  name?: string
  /** @default 'cloud' */
  kind?: UrlSourceKind
  /** Failure domain (provider + region, or `home`). Sources in one domain fail together. @default the URL's host */
  domain?: string
  /** Ranking weight: higher is preferred at equal latency. @default 1 */
  weight?: number
  /**
   * Its answers count only when checked here (proofs against a trusted header, blocks by hash),
   * never toward a quorum, a head or a broadcast's verdict: a public endpoint you do not trust.
   * @default false
   */
  untrusted?: boolean
  /**
   * Which methods it is asked: `{ include: [...] }` or `{ exclude: [...] }` (names, or prefixes
   * ending in `*`). `{ include: ['eth_sendRawTransaction', …] }` makes it a private route for
   * transactions (Flashbots Protect): see `privateTransactions`. @default every method
   */
  methods?: MethodRoute
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

let nextId = 0

/**
 * A JSON-RPC source over HTTP(S). Connections are pooled and kept alive by the platform's
 * `fetch` (undici in Node, the browser's network stack elsewhere).
 */
export function http(url: string, options: HttpSourceOptions = {}): Source {
  const source = urlSource('http', url, ['http:', 'https:'], options)
  const { url: parsed, name } = source
  const { timeout, maxResponseBytes, check } = source
  const { fetchFn = globalThis.fetch, minBytesPerSecond = 16_384 } = options
  check(typeof fetchFn === 'function', 'fetchFn must be a fetch function')
  const floor = rateFloor(minBytesPerSecond, timeout, check)
  const auth = basicAuth(parsed)
  const target = parsed.href
  const { headers } = options

  // Every string this source emits passes through `scrub`: a node may echo the key it was sent.
  const scrub = scrubberFor(url, headers)
  const rpc = jsonRpc(name, scrub)
  const { fail, resultOf } = rpc
  // No `cause`: the text of a fetch error (a custom fetchFn's too) would escape the scrubber.
  const networkError = networkErrors(fail, redactHost(parsed), timeout)

  async function post(payload: Call | Call[], signal?: AbortSignal): Promise<unknown> {
    const timeoutSignal = AbortSignal.timeout(timeout)
    const combined = signal ? AbortSignal.any([signal, timeoutSignal]) : timeoutSignal
    let response: Response
    try {
      // Not followed: the call (and its key headers: fetch drops only `Authorization` on a
      // redirect to another origin) would go to a host the app never chose (refusal below).
      response = await fetchFn(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth, ...headers },
        body: JSON.stringify(payload),
        signal: combined,
        redirect: 'manual',
      })
    } catch (error) {
      throw networkError(error, signal, timeoutSignal)
    }
    const refused = refusal(fail, response)
    if (refused) {
      await response.body?.cancel()
      throw refused
    }
    let text: string
    try {
      text = await readBody(response, maxResponseBytes, fail, combined, floor)
    } catch (error) {
      // Too large: `body`, whatever happened since. A trickle cut short: `timeout`, a slow
      // answer rather than a malformed one, unless the caller cancelled meanwhile.
      const ours = error instanceof SourceError && (error.kind === 'body' || !signal?.aborted)
      throw ours ? error : networkError(error, signal, timeoutSignal)
    }
    try {
      return JSON.parse(text)
    } catch {
      throw fail('body', `malformed JSON (${text.length} bytes)`)
    }
  }

  const batchOptions = options.batch === true ? {} : options.batch || undefined
  // Batching is opt-in: its code loads with the first batched call (calls made in that tick
  // still go out together; a load that failed is tried again).
  const batcher = lazy(() =>
    import('./batch.ts').then((m) => m.createBatcher(post, rpc, batchOptions)),
  )
  const batched = async (call: Call) => (await batcher())(call)

  return {
    config: urlSourceConfig(source, url, scrub.text),
    async request(body: RpcRequest, { signal }: SourceRequestOptions = {}) {
      const call = callOf(++nextId, body)
      const answer = await (batchOptions
        ? raceAbort(batched(call), signal, () => fail('aborted', 'attempt cancelled'))
        : post(call, signal))
      // A batch hands a call the error that stands for its answer (parsed JSON is never one).
      if (answer instanceof Error) throw answer
      return resultOf(answer, call.id)
    },
  }
}

/** fetch refuses URLs with credentials: their basic-auth moves into a header (off the URL). */
function basicAuth(url: URL): Record<string, string> {
  const auth: Record<string, string> = {}
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username)
    const pass = decodeURIComponent(url.password)
    auth.authorization = `Basic ${base64(`${user}:${pass}`)}`
    url.username = url.password = ''
  }
  return auth
}

/** Why a response is no JSON-RPC answer, by its status and type (none: it may be one). */
function refusal(fail: Fail, response: Response): SourceError | undefined {
  const { status } = response
  if (status === 429) {
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'))
    return fail('rate-limited', 'HTTP 429 Too Many Requests', { status, retryAfter })
  }
  if (status === 402) return fail('unavailable', 'HTTP 402 quota exhausted', { status })
  if ((status >= 300 && status < 400) || response.type === 'opaqueredirect')
    return fail('http', `HTTP ${status || 'redirect'}: redirects are not followed`, { status })
  const html = response.headers.get('content-type')?.includes('html')
  if (!response.ok)
    return fail('http', `HTTP ${status}${html ? ' (HTML error page)' : ''}`, { status })
  if (html) return fail('body', 'HTTP 200 with an HTML page instead of JSON')
  return undefined
}
