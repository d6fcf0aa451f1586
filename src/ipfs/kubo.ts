/**
 * A Kubo node as a route. Kubo clients check nothing they return: the block is hashed by the
 * caller (blockRace.ts) like any other route's. With kubo-rpc-client's API (`block.get`; the old
 * ipfs-http-client too) and its endpoint (`getEndpointConfig()`), the block is read here with
 * `POST {endpoint}/block/get?arg={cid}` through `fetch`, its body cut off at `maxBlockBytes`:
 * the client's `block.get` reads the whole body into memory first, however large a hostile
 * node makes it. Headers set on the client are not sent: give them here (`headers`). A
 * client with no endpoint is asked through its `block.get`, the cap checked after.
 */
import { ConfigError, SourceError } from '../shared/errors.ts'
import { readResponse, TooManyBytes } from '../shared/readBytes.ts'
import { redactHost } from '../shared/url.ts'
import { errorCode } from '../sources/networkError.ts'
import type { IpfsRoute, KuboClient, RouteAnswer } from './types.ts'

export type KuboOptions = {
  /** Shown in status, events and errors. @default `kubo` and the API's host */
  name?: string
  /** The fetch the block is read with (`createIpfs()` passes its `fetch`). @default globalThis.fetch */
  fetch?: typeof fetch
  /** Headers sent to the Kubo API (an `authorization` for a hosted one): the client's own are not read. @default {} */
  headers?: Record<string, string>
}

/** Kubo's words for a block it does not have (offline, or `ipfs block get` on a local node). */
const NOT_FOUND = /not found|could not find|no such block|ipld: could not/i
/** Kubo's words for its own timeout. */
const KUBO_TIMEOUT = /deadline (has elapsed|exceeded)|request timed out/i
/** Bytes of a Kubo error answer read for its message. */
const ERROR_BYTES = 16_384

export function kubo(client: KuboClient, options: KuboOptions = {}): IpfsRoute {
  const name = options.name ?? defaultName(client)
  const fail: Fail = (kind, message, extra = {}) => new SourceError(name, kind, message, extra)
  const api = endpoint(client)
  const fetchFn = options.fetch ?? globalThis.fetch
  const { headers } = options
  if (
    headers !== undefined &&
    (typeof headers !== 'object' ||
      headers === null ||
      Array.isArray(headers) ||
      !Object.values(headers).every((v) => typeof v === 'string'))
  )
    throw new ConfigError(
      `kubo(${name}): headers must be an object of strings, e.g. { authorization: 'Basic …' }.`,
    )
  return {
    name,
    kind: 'kubo',
    async get(cid, { signal, maxBlockBytes }): Promise<RouteAnswer> {
      try {
        if (!api) return checked(await client.block.get(cid, { signal }), maxBlockBytes, fail)
        const res = await fetchFn(`${api}/block/get?arg=${cid}`, {
          method: 'POST',
          signal,
          // Not followed: the route's headers (a key) would go to a host the app never chose.
          redirect: 'manual',
          ...(options.headers ? { headers: options.headers } : {}),
        })
        if ((res.status >= 300 && res.status < 400) || res.type === 'opaqueredirect') {
          await res.body?.cancel().catch(() => {})
          throw fail('http', `HTTP ${res.status || 'redirect'}: redirects are not followed`, {
            status: res.status,
          })
        }
        if (!res.ok) return await answerOf(res, signal, fail)
        return { bytes: await readResponse(res, maxBlockBytes, signal) }
      } catch (error) {
        if (signal.aborted) throw fail('aborted', 'attempt cancelled')
        if (error instanceof SourceError) throw error
        if (error instanceof TooManyBytes)
          throw fail('body', `block larger than maxBlockBytes (${maxBlockBytes})`)
        const judged = classify(error, fail)
        if ('missing' in judged) return judged
        throw judged
      }
    },
  }
}

/** A block from the client's own `block.get`: buffered whole by the client, capped after. */
function checked(bytes: unknown, maxBlockBytes: number, fail: Fail): RouteAnswer {
  if (!(bytes instanceof Uint8Array)) throw fail('body', 'block.get returned no bytes')
  if (bytes.byteLength > maxBlockBytes)
    throw fail('body', `block larger than maxBlockBytes (${maxBlockBytes})`)
  return { bytes }
}

/** A Kubo answer other than 2xx: its message (at most `ERROR_BYTES` of it) read as Kubo's. */
async function answerOf(res: Response, signal: AbortSignal, fail: Fail): Promise<RouteAnswer> {
  let message = ''
  try {
    const text = new TextDecoder().decode(await readResponse(res, ERROR_BYTES, signal))
    const json = JSON.parse(text) as { Message?: unknown }
    message = typeof json?.Message === 'string' ? json.Message : text
  } catch {}
  const judged = classify({ message, response: { status: res.status } }, fail)
  if ('missing' in judged) return judged
  throw judged
}

/** The client's API base URL (`http://host:port/api/v0`), without credentials or query. */
function endpoint(client: KuboClient): string | undefined {
  try {
    const c = client.getEndpointConfig?.()
    if (!c?.host) return undefined
    const protocol = (c.protocol ?? 'http').replace(/:$/, '')
    const base = new URL(`${protocol}://${c.host}`)
    if (c.port) base.port = String(c.port)
    base.pathname = c.pathname ?? '/api/v0'
    return base.href.replace(/\/+$/, '')
  } catch {
    return undefined
  }
}

type Fail = (kind: SourceError['kind'], message: string, extra?: object) => SourceError

/**
 * A client's failure, in fixed words: Kubo's own message is read only to tell "not found" and
 * timeouts apart (it may echo the request URL, key and all, so it is never shown). "Not found"
 * is an answer, not a failure.
 */
function classify(error: unknown, fail: Fail): SourceError | { missing: string } {
  const e = error as { name?: unknown; message?: unknown; response?: { status?: unknown } }
  const message = typeof e?.message === 'string' ? e.message : ''
  const status = typeof e?.response?.status === 'number' ? e.response.status : undefined
  if (e?.name === 'TimeoutError' || KUBO_TIMEOUT.test(message))
    return fail('timeout', 'Kubo timed out looking for the block')
  if (status !== undefined) {
    if (NOT_FOUND.test(message)) return { missing: 'not found' }
    if (status === 429) return fail('rate-limited', 'HTTP 429 (rate-limited)', { status })
    return fail('http', `HTTP ${status}`, { status })
  }
  const code = errorCode(error)
  if (code === 'ECONNREFUSED') return fail('refused', 'connection refused')
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return fail('dns', `DNS lookup failed (${code})`)
  return fail('network', `network error${code ? ` (${code})` : ''}`)
}

function defaultName(client: KuboClient): string {
  const api = endpoint(client)
  // Its origin only: a key may sit in the API's path.
  if (!api) return 'kubo'
  const u = new URL(api)
  return `kubo ${u.protocol}//${redactHost(u)}`
}
