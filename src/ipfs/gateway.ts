/**
 * A trustless gateway as a route: `GET {base}/ipfs/{cid}?format=raw` with
 * `Accept: application/vnd.ipld.raw`, one block per request. Untrusted: the block is hashed
 * by the caller (blockRace.ts) before anyone sees it. A 404 means the gateway does not have the
 * block (no fault); 5xx, network errors and timeouts are failures; 429 is a rate limit.
 */
import type { CID } from 'multiformats/cid'
import { clip, plain } from '../shared/clip.ts'
import { ConfigError, SourceError } from '../shared/errors.ts'
import { readResponse, TooManyBytes } from '../shared/readBytes.ts'
import { parseRetryAfter } from '../shared/retryAfter.ts'
import { redactHost, redactUrl } from '../shared/url.ts'
import { networkErrors } from '../sources/networkError.ts'
import { scrubberFor } from '../sources/secrets.ts'
import { credentialsRefused } from './gatewayUrls.ts'
import { fetchSameOrigin, RedirectRefusedError } from './sameOrigin.ts'
import type { IpfsRoute, RouteAnswer } from './types.ts'

export type GatewayOptions = {
  /** Shown in status, events and errors. @default the URL's scheme, host and port */
  name?: string
  /** The fetch to use. @default globalThis.fetch */
  fetch?: typeof fetch
}

const RAW = 'application/vnd.ipld.raw'

/** A trustless gateway at `url` (its path and query are kept: some gateways take a key there). */
export function gateway(url: string, options: GatewayOptions = {}): IpfsRoute {
  let base: URL
  try {
    base = new URL(url)
  } catch {
    throw new ConfigError(`gateway(): ${redactUrl(url)} is not a URL.`)
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:')
    throw new ConfigError(`gateway(): ${redactUrl(url)} must be an http(s) URL.`)
  if (base.username || base.password)
    throw new ConfigError(`gateway(): ${credentialsRefused(redactUrl(url))}.`)
  const name = options.name ?? `gateway ${redactUrl(url)}`
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  // A gateway may echo the path or query it was asked at, key included, in what it answers.
  const scrub = scrubberFor(url)
  const fail = (kind: SourceError['kind'], message: string, extra = {}) =>
    new SourceError(name, kind, plain(scrub.text(message)), extra)
  const classify = networkErrors(fail, redactHost(base), 0)

  const blockUrl = (cid: CID) => {
    const u = new URL(base)
    u.pathname = `${base.pathname.replace(/\/+$/, '')}/ipfs/${cid.toString()}`
    u.searchParams.set('format', 'raw')
    return u
  }

  return {
    name,
    kind: 'gateway',
    async get(cid, { signal, maxBlockBytes }): Promise<RouteAnswer> {
      let response: Response
      try {
        response = await fetchSameOrigin(doFetch, blockUrl(cid), {
          headers: { accept: RAW },
          signal,
        })
      } catch (error) {
        if (error instanceof RedirectRefusedError)
          throw fail('http', error.message, error.status ? { status: error.status } : {})
        throw classify(error, signal)
      }
      const { status } = response
      if (status === 404 || status === 410) {
        await response.body?.cancel().catch(() => {})
        return { missing: `HTTP ${status}` }
      }
      if (status === 429) {
        await response.body?.cancel().catch(() => {})
        const retryAfter = parseRetryAfter(response.headers.get('retry-after'))
        throw fail('rate-limited', 'HTTP 429 (rate-limited)', { status, retryAfter })
      }
      if (status < 200 || status >= 300) {
        await response.body?.cancel().catch(() => {})
        throw fail('http', `HTTP ${status}`, { status })
      }
      const type = response.headers.get('content-type') ?? ''
      if (!type.toLowerCase().includes(RAW)) {
        await response.body?.cancel().catch(() => {})
        throw fail('body', `answered ${JSON.stringify(clip(scrub.text(type), 61))}, not ${RAW}`)
      }
      try {
        return { bytes: await readResponse(response, maxBlockBytes) }
      } catch (error) {
        if (error instanceof TooManyBytes)
          throw fail('body', `block larger than maxBlockBytes (${maxBlockBytes})`)
        throw classify(error, signal)
      }
    },
  }
}
