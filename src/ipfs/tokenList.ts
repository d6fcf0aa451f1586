/**
 * A token list (https://tokenlists.org, the Uniswap schema) read from IPFS, verified by CID,
 * and checked field by field: only the fields checked here are returned, so a hostile list can
 * bloat nothing a wallet keeps. A plain HTTP URL is refused unless `allowHttp` is set, and then
 * flagged unverified.
 *
 * ```ts
 * const list = await fetchTokenList('ipfs://bafy…', { ipfs, chainId: 1 })
 * for (const t of list.tokens) console.log(t.symbol, t.address, t.decimals)
 * ```
 */
import { checkBoolean, checkNumber, checkObject, ms, whole } from '../core/options.ts'
import { clip } from '../shared/clip.ts'
import { BaseError, ConfigError } from '../shared/errors.ts'
import { redactUrl } from '../shared/url.ts'
import {
  type DocumentOrigin,
  type JsonReader,
  locate,
  readDocument,
  timedOutInside,
  withDeadline,
} from './tokenUri.ts'

export type TokenInfo = {
  chainId: number
  /** As the list writes it (checksummed or not). */
  address: string
  name: string
  symbol: string
  decimals: number
  logoURI?: string
  tags?: string[]
}

export type TokenList = {
  name: string
  /** ISO 8601, as the list writes it. */
  timestamp: string
  version: { major: number; minor: number; patch: number }
  /** Every token, or those of `chainId` when one was asked for. */
  tokens: TokenInfo[]
  logoURI?: string
  keywords?: string[]
  /** `ipfs`: fetched by CID, every byte verified. `http`: a plain fetch (`allowHttp`), NOT verified. */
  origin: Exclude<DocumentOrigin, 'data'>
  verified: boolean
}

export type FetchTokenListOptions = {
  /** Reads IPFS content verified: `createIpfs()`. */
  ipfs: JsonReader
  /** Keep only this chain's tokens. @default every chain */
  chainId?: number
  signal?: AbortSignal
  /** Deadline in ms. @default 30_000 */
  timeout?: number
  /** Largest list read, in bytes. @default 5_242_880 (5 MiB) */
  maxBytes?: number
  /** Largest number of tokens a list may hold (the schema's own bound). @default 10_000 */
  maxTokens?: number
  /** Fetch a plain http(s) URL that is no IPFS address (unverified: flagged in the result). @default false */
  allowHttp?: boolean
  /** The fetch used for `allowHttp`. @default globalThis.fetch */
  fetch?: typeof fetch
}

/** The list could not be had, or is not a token list; says where and why. */
export class TokenListError extends BaseError {
  override name = 'TokenListError'
  /** What was asked for (an http URL shown without its path and query). */
  readonly list: string
  /** Each field that is wrong, with its path (`tokens[3].decimals: …`), at most 10. */
  readonly problems: readonly string[]

  constructor(list: string, reason: string, problems: readonly string[] = [], cause?: unknown) {
    super(`Token list ${list}: ${reason}.`, {
      metaMessages: problems.map((p) => `- ${p}`),
      ...(cause === undefined ? {} : { cause }),
    })
    this.list = list
    this.problems = problems
  }
}

const WHERE = 'fetchTokenList()'
const KEYS = [
  'ipfs',
  'chainId',
  'signal',
  'timeout',
  'maxBytes',
  'maxTokens',
  'allowHttp',
  'fetch',
] as const

export async function fetchTokenList(
  cidOrUrl: string,
  options: FetchTokenListOptions,
): Promise<TokenList> {
  if (typeof cidOrUrl !== 'string') throw new ConfigError(`${WHERE}: give a CID or a URL.`)
  checkObject(WHERE, '', options, KEYS)
  if (typeof options.ipfs?.json !== 'function')
    throw new ConfigError(`${WHERE}: ipfs must be a client from createIpfs().`)
  const chainId = checkNumber(WHERE, 'chainId', options.chainId, whole(1))
  const timeout = checkNumber(WHERE, 'timeout', options.timeout, ms(1)) ?? 30_000
  const maxBytes = checkNumber(WHERE, 'maxBytes', options.maxBytes, whole(1)) ?? 5 * 1024 * 1024
  const maxTokens = checkNumber(WHERE, 'maxTokens', options.maxTokens, whole(1)) ?? 10_000
  const allowHttp = checkBoolean(WHERE, 'allowHttp', options.allowHttp) ?? false
  const shown = /^https?:\/\//i.test(cidOrUrl.trim())
    ? redactUrl(cidOrUrl.trim())
    : clip(cidOrUrl.trim(), 121)
  const fail = (reason: string, problems: string[] = [], cause?: unknown) =>
    new TokenListError(shown, reason, problems, cause)

  let location: ReturnType<typeof locate>
  try {
    location = locate(cidOrUrl, maxBytes)
  } catch (error) {
    throw fail((error as Error).message, [], error)
  }
  if (location.origin === 'data') throw fail('a data: URI is not a place to fetch a list from')
  const deadline = withDeadline(timeout, options.signal)
  let json: unknown
  let origin: DocumentOrigin
  try {
    ;({ json, origin } = await readDocument(location, {
      ipfs: options.ipfs,
      allowHttp,
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      signal: deadline.signal,
      remaining: deadline.remaining,
      maxBytes,
    }))
  } catch (error) {
    if (deadline.timedOut() || timedOutInside(error))
      throw fail(`not fetched within ${timeout} ms`, [], error)
    if (options.signal?.aborted) throw fail('aborted', [], error)
    const brief = (error as { shortMessage?: unknown }).shortMessage
    const reason = typeof brief === 'string' ? brief : (error as Error).message
    throw fail(`could not be read: ${reason.replace(/\.$/, '')}`, [], error)
  } finally {
    deadline.dispose()
  }
  const { list, problems } = checkTokenList(json, maxTokens)
  if (!list)
    throw fail(
      `not a valid token list (${problems.length} problem${problems.length === 1 ? '' : 's'})`,
      problems.slice(0, 10),
    )
  const tokens =
    chainId === undefined ? list.tokens : list.tokens.filter((t) => t.chainId === chainId)
  return {
    ...list,
    tokens,
    origin: origin === 'http' ? 'http' : 'ipfs',
    verified: origin !== 'http',
  }
}

type CheckedList = Omit<TokenList, 'origin' | 'verified'>

const ADDRESS = /^0x[0-9a-fA-F]{40}$/
const isObject = (x: unknown): x is Record<string, unknown> =>
  x !== null && typeof x === 'object' && !Array.isArray(x)
const short = (x: unknown) => {
  if (typeof x === 'string') return JSON.stringify(clip(x, 41))
  if (Array.isArray(x)) return 'an array'
  return x === null || typeof x !== 'object' ? String(x) : 'an object'
}

/**
 * A token list's fields, checked (pure): the list made of checked fields alone, or every
 * problem found, each with its path. Bounds follow the schema's (names ≤ 60 characters, symbols
 * ≤ 20, decimals 0–255, at most `maxTokens` tokens) loosely enough for real lists.
 */
export function checkTokenList(
  json: unknown,
  maxTokens = 10_000,
): { list: CheckedList; problems: [] } | { list: undefined; problems: string[] } {
  const problems: string[] = []
  const text = (path: string, value: unknown, max: number, required = true) => {
    if (value === undefined && !required) return undefined
    if (typeof value !== 'string' || (required && value.length === 0) || value.length > max) {
      problems.push(`${path} must be a string of 1 to ${max} characters, got ${short(value)}`)
      return undefined
    }
    return value
  }
  const int = (path: string, value: unknown, min: number, max: number) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${path} must be an integer from ${min} to ${max}, got ${short(value)}`)
      return 0
    }
    return value
  }
  const strings = (path: string, value: unknown, max: number) => {
    if (value === undefined) return undefined
    if (
      !Array.isArray(value) ||
      value.length > max ||
      value.some((v) => typeof v !== 'string' || v.length > 60)
    ) {
      problems.push(`${path} must be at most ${max} strings of at most 60 characters`)
      return undefined
    }
    return [...(value as string[])]
  }
  if (!isObject(json))
    return { list: undefined, problems: [`the list must be a JSON object, got ${short(json)}`] }
  const name = text('name', json.name, 60)
  const timestamp = text('timestamp', json.timestamp, 40)
  if (timestamp !== undefined && Number.isNaN(Date.parse(timestamp)))
    problems.push(`timestamp must be an ISO 8601 date-time, got ${short(timestamp)}`)
  const v = json.version
  const version = { major: 0, minor: 0, patch: 0 }
  if (!isObject(v)) problems.push(`version must be { major, minor, patch }, got ${short(v)}`)
  else
    for (const k of ['major', 'minor', 'patch'] as const)
      version[k] = int(`version.${k}`, v[k], 0, Number.MAX_SAFE_INTEGER)
  const logoURI = text('logoURI', json.logoURI, 2_048, false)
  const keywords = strings('keywords', json.keywords, 20)
  const tokens: TokenInfo[] = []
  /** chain:address → where it was first named: one token named twice (other decimals) is ambiguous. */
  const named = new Map<string, string>()
  if (!Array.isArray(json.tokens))
    problems.push(`tokens must be an array, got ${short(json.tokens)}`)
  else if (json.tokens.length > maxTokens)
    problems.push(`tokens holds ${json.tokens.length} entries, more than maxTokens (${maxTokens})`)
  else
    json.tokens.forEach((t: unknown, i) => {
      // Past a few dozen problems the list is junk: stop collecting.
      if (problems.length >= 50) return
      const at = `tokens[${i}]`
      if (!isObject(t)) {
        problems.push(`${at} must be an object, got ${short(t)}`)
        return
      }
      const before = problems.length
      const token: TokenInfo = {
        chainId: int(`${at}.chainId`, t.chainId, 1, Number.MAX_SAFE_INTEGER),
        address: typeof t.address === 'string' && ADDRESS.test(t.address) ? t.address : '',
        name: text(`${at}.name`, t.name, 60) ?? '',
        symbol: text(`${at}.symbol`, t.symbol, 20) ?? '',
        decimals: int(`${at}.decimals`, t.decimals, 0, 255),
      }
      if (token.address === '')
        problems.push(
          `${at}.address must be a 0x-prefixed 20-byte address, got ${short(t.address)}`,
        )
      const logo = text(`${at}.logoURI`, t.logoURI, 2_048, false)
      const tags = strings(`${at}.tags`, t.tags, 10)
      if (problems.length > before) return
      const key = `${token.chainId}:${token.address.toLowerCase()}`
      const first = named.get(key)
      if (first) {
        problems.push(`${at} names chain ${token.chainId}'s ${token.address} again (as ${first})`)
        return
      }
      named.set(key, at)
      if (logo !== undefined) token.logoURI = logo
      if (tags !== undefined) token.tags = tags
      tokens.push(token)
    })
  if (problems.length) return { list: undefined, problems }
  return {
    list: {
      name: name!,
      timestamp: timestamp!,
      version,
      tokens,
      ...(logoURI === undefined ? {} : { logoURI }),
      ...(keywords === undefined ? {} : { keywords }),
    },
    problems: [],
  }
}
