/**
 * Where a token's metadata or a token list lives, as its publisher wrote it, and how to read it:
 * an IPFS address (`ipfs://`, `ipfs/…`, `/ipfs/…`, a bare CID, a gateway URL: fetched by CID,
 * every block verified), a `data:application/json` URI (the bytes are in the URI), or a plain
 * HTTP URL (refused unless the caller allows it: nothing binds what a server sends to what the
 * publisher meant). Pure, except `readDocument`, which fetches.
 */

import { clip } from '../shared/clip.ts'
import { readResponse, TooManyBytes } from '../shared/readBytes.ts'
import { redactUrl } from '../shared/url.ts'
import { parseAddress } from './address.ts'
import type { FetchOptions } from './types.ts'

/** How a document was had, and so what its bytes are bound to. */
export type DocumentOrigin =
  /** Fetched by CID: every byte hashed against it. */
  | 'ipfs'
  /** A `data:` URI: the bytes are the URI's own (for a token, the contract's answer). */
  | 'data'
  /** A plain HTTP fetch (`allowHttp`): not verified, whoever serves the URL decides. */
  | 'http'

export type DocumentLocation =
  | { origin: 'ipfs'; address: string }
  | { origin: 'data'; text: string }
  | { origin: 'http'; url: string }

/** A URI that names no document outlast can read, or one it refuses to read. */
export class UnreadableUriError extends Error {
  override name = 'UnreadableUriError'
}

/** Where `uri` points; an `UnreadableUriError` saying why when it points nowhere readable. */
export function locate(uri: string, maxBytes: number): DocumentLocation {
  const input = uri.trim()
  if (input === '') throw new UnreadableUriError('the URI is empty')
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(input)?.[1]?.toLowerCase()
  if (scheme === 'data') return { origin: 'data', text: readDataUri(input, maxBytes) }
  if (scheme === 'http' || scheme === 'https') {
    if (isIpfsAddress(input)) return { origin: 'ipfs', address: canonical(input) }
    return { origin: 'http', url: input }
  }
  if (scheme === 'ipfs') return { origin: 'ipfs', address: canonical(input) }
  if (scheme !== undefined)
    throw new UnreadableUriError(`${scheme}: URIs are not supported (ipfs, data, https are)`)
  if (isIpfsAddress(input)) return { origin: 'ipfs', address: canonical(input) }
  throw new UnreadableUriError(`${shown(input)} is neither a URL nor an IPFS path`)
}

const isIpfsAddress = (uri: string) => {
  try {
    parseAddress(uri)
    return true
  } catch {
    return false
  }
}

/** `ipfs://CID/path` for any IPFS address form (throws an `UnreadableUriError` for none). */
export function canonical(uri: string): string {
  try {
    const { cid, path } = parseAddress(uri)
    return ['ipfs:/', cid.toString(), ...path.map(encodeURIComponent)].join('/')
  } catch (error) {
    throw new UnreadableUriError((error as Error).message)
  }
}

/** ERC-1155's `{id}`: the id in hex, lowercase, zero-padded to 64 characters, no `0x`. */
export function erc1155Id(tokenId: bigint): string {
  return tokenId.toString(16).padStart(64, '0')
}

/** Every `{id}` in `uri` replaced as ERC-1155 says (in the URI and in URIs inside its JSON). */
export function substituteId(uri: string, tokenId: bigint): string {
  return uri.replaceAll('{id}', erc1155Id(tokenId))
}

const JSON_TYPES = new Set(['application/json', 'text/json', 'text/plain'])

/**
 * The JSON text of a `data:application/json[;charset=…][;base64],…` URI. Percent-encoding is
 * decoded when it is valid; contracts that build the URI on-chain often leave JSON's own
 * characters raw, so text that is not valid percent-encoding is read as it stands.
 */
export function readDataUri(uri: string, maxBytes: number): string {
  const comma = uri.indexOf(',')
  if (comma === -1) throw new UnreadableUriError('a data: URI without a comma')
  const params = uri
    .slice('data:'.length, comma)
    .split(';')
    .map((p) => p.trim().toLowerCase())
  const type = params[0] || 'text/plain'
  if (!JSON_TYPES.has(type))
    throw new UnreadableUriError(`a data: URI of ${JSON.stringify(type)}, not application/json`)
  const body = uri.slice(comma + 1)
  const base64 = params.includes('base64')
  // Refused before decoding when even the densest encoding could not fit: base64 inflates by
  // 4/3, percent-encoding by at most 3.
  if (body.length > (base64 ? Math.ceil((maxBytes * 4) / 3) + 4 : maxBytes * 3))
    throw new UnreadableUriError(`a data: URI of more than maxBytes (${maxBytes})`)
  if (base64) {
    let binary: string
    try {
      binary = atob(body.replace(/\s+/g, ''))
    } catch {
      throw new UnreadableUriError('a data: URI whose base64 does not decode')
    }
    if (binary.length > maxBytes)
      throw new UnreadableUriError(`a data: URI of more than maxBytes (${maxBytes})`)
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    } catch {
      throw new UnreadableUriError('a data: URI whose base64 is not UTF-8 text')
    }
  }
  let text: string
  try {
    text = decodeURIComponent(body)
  } catch {
    text = body
  }
  if (new TextEncoder().encode(text).byteLength > maxBytes)
    throw new UnreadableUriError(`a data: URI of more than maxBytes (${maxBytes})`)
  return text
}

/**
 * An image address a wallet can use: IPFS forms as `ipfs://CID/path` (to fetch verified),
 * http(s) and `data:image/…` URIs as they are. Anything else (another scheme, a relative path,
 * not a string) is no address: undefined.
 */
export function imageAddress(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const input = value.trim()
  if (input === '') return undefined
  if (/^data:image\//i.test(input)) return input
  if (/^(ipfs:|ipfs\/|\/ipfs\/)/i.test(input) || /^https?:\/\//i.test(input)) {
    if (isIpfsAddress(input)) return canonical(input)
    return /^https?:\/\//i.test(input) ? input : undefined
  }
  // A bare CID (a few collections store just that).
  return isIpfsAddress(input) && !input.includes(':') ? canonical(input) : undefined
}

/** What reads verified JSON by IPFS address: `createIpfs()`, or anything with its `json`. */
export type JsonReader = {
  json<T = unknown>(url: string, options?: FetchOptions): Promise<T>
}

export type ReadOptions = {
  ipfs: JsonReader
  allowHttp: boolean
  fetch: typeof fetch
  signal: AbortSignal
  /** Ms left before the caller's deadline. */
  remaining: () => number
  maxBytes: number
}

/** A document's JSON and how it was had; errors say why, for the caller to name its subject. */
export async function readDocument(
  location: DocumentLocation,
  options: ReadOptions,
): Promise<{ json: unknown; origin: DocumentOrigin }> {
  if (location.origin === 'ipfs') {
    const json = await options.ipfs.json(location.address, {
      signal: options.signal,
      timeout: Math.max(1, options.remaining()),
      maxBytes: options.maxBytes,
    })
    return { json, origin: 'ipfs' }
  }
  if (location.origin === 'data')
    return { json: parseJson(location.text, 'the data: URI'), origin: 'data' }
  if (!options.allowHttp)
    throw new UnreadableUriError(
      `${redactUrl(location.url)} is a plain HTTP URL, not an IPFS address: its content cannot be verified (pass allowHttp: true to fetch it unverified)`,
    )
  return { json: await fetchHttpJson(location.url, options), origin: 'http' }
}

/** A plain fetch with the same size cap and deadline (the caller's signal ends it). */
async function fetchHttpJson(url: string, options: ReadOptions): Promise<unknown> {
  const where = redactUrl(url)
  let response: Response
  try {
    response = await options.fetch(url, {
      headers: { accept: 'application/json' },
      signal: options.signal,
    })
  } catch (error) {
    if (options.signal.aborted) throw error
    throw new HttpDocumentError(`${where} could not be reached`, { cause: error })
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {})
    throw new HttpDocumentError(`${where} answered HTTP ${response.status}`)
  }
  let bytes: Uint8Array
  try {
    bytes = await readResponse(response, options.maxBytes)
  } catch (error) {
    if (error instanceof TooManyBytes)
      throw new HttpDocumentError(`${where} sent more than maxBytes (${options.maxBytes})`)
    if (options.signal.aborted) throw error
    throw new HttpDocumentError(`${where}: the body could not be read`, { cause: error })
  }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new HttpDocumentError(`${where} sent ${bytes.byteLength} bytes that are not UTF-8 text`)
  }
  return parseJson(text, where)
}

/** A document fetched over plain HTTP could not be had (the caller names its subject). */
export class HttpDocumentError extends Error {
  override name = 'HttpDocumentError'
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    const size = new TextEncoder().encode(text).byteLength
    throw new UnreadableUriError(`${where} is not JSON (${size} bytes)`, { cause: error })
  }
}

function shown(s: string): string {
  if (/^https?:\/\//i.test(s)) return redactUrl(s)
  const plain = s.replace(/[?#].*$/, '')
  return JSON.stringify(clip(plain, 81))
}

/**
 * The IPFS fetch ran out of the time left to the caller's deadline (it is given what is left, so
 * its error, which lists what each route did, is the deadline's).
 */
export const timedOutInside = (error: unknown): boolean =>
  (error as { name?: unknown })?.name === 'ContentTimeoutError'

/** The call's deadline and the caller's signal as one signal, and which of them ended it. */
export function withDeadline(timeout: number, caller?: AbortSignal) {
  const ac = new AbortController()
  const started = Date.now()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    ac.abort()
  }, timeout)
  const onAbort = () => ac.abort()
  if (caller?.aborted) ac.abort()
  else caller?.addEventListener('abort', onAbort, { once: true })
  return {
    signal: ac.signal,
    timedOut: () => timedOut,
    remaining: () => timeout - (Date.now() - started),
    /** `work`, or the error of whichever ends the call first (the work goes on, unheard). */
    race<T>(work: Promise<T>, onTimeout: () => Error, onAbort: () => Error): Promise<T> {
      if (ac.signal.aborted) return Promise.reject(timedOut ? onTimeout() : onAbort())
      return new Promise<T>((resolve, reject) => {
        const stop = () => reject(timedOut ? onTimeout() : onAbort())
        ac.signal.addEventListener('abort', stop, { once: true })
        work.then(
          (v) => {
            ac.signal.removeEventListener('abort', stop)
            resolve(v)
          },
          (e) => {
            ac.signal.removeEventListener('abort', stop)
            reject(e)
          },
        )
      })
    },
    dispose() {
      clearTimeout(timer)
      caller?.removeEventListener('abort', onAbort)
    },
  }
}
