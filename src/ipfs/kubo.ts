/**
 * A Kubo node as a route, through any client with kubo-rpc-client's API (`block.get`; the old
 * ipfs-http-client too). Kubo clients check nothing they return: the block is hashed by the
 * caller (blockRace.ts) like any other route's.
 */
import { SourceError } from '../shared/errors.ts'
import { errorCode } from '../sources/networkError.ts'
import type { IpfsRoute, KuboClient, RouteAnswer } from './types.ts'

export type KuboOptions = {
  /** Shown in status, events and errors. @default `kubo` and the API's host */
  name?: string
}

/** Kubo's words for a block it does not have (offline, or `ipfs block get` on a local node). */
const NOT_FOUND = /not found|could not find|no such block|ipld: could not/i

export function kubo(client: KuboClient, options: KuboOptions = {}): IpfsRoute {
  const name = options.name ?? defaultName(client)
  const fail: Fail = (kind, message, extra = {}) => new SourceError(name, kind, message, extra)
  return {
    name,
    kind: 'kubo',
    async get(cid, { signal, maxBlockBytes }): Promise<RouteAnswer> {
      let bytes: Uint8Array
      try {
        bytes = await client.block.get(cid, { signal })
      } catch (error) {
        if (signal.aborted) throw fail('aborted', 'attempt cancelled')
        const judged = classify(error, fail)
        if ('missing' in judged) return judged
        throw judged
      }
      // The client buffers the whole body before we see it; the cap still keeps it from us.
      if (!(bytes instanceof Uint8Array)) throw fail('body', 'block.get returned no bytes')
      if (bytes.byteLength > maxBlockBytes)
        throw fail('body', `block larger than maxBlockBytes (${maxBlockBytes})`)
      return { bytes }
    },
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
  if (e?.name === 'TimeoutError') return fail('timeout', 'Kubo timed out looking for the block')
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
  try {
    const c = client.getEndpointConfig?.()
    // kubo-rpc-client's `host` already holds the port (it is the URL's `host`).
    if (c?.host) return `kubo ${c.protocol ?? 'http'}://${c.host}`
  } catch {}
  return 'kubo'
}
