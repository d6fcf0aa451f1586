/**
 * A token's metadata, as a wallet's collectibles tab needs it: `tokenURI(id)` (ERC-721) or
 * `uri(id)` (ERC-1155) read through outlast (so the URI is what a quorum of sources agreed),
 * `{id}` substituted, then the JSON it names fetched verified by CID from whichever route has
 * it (the gateway a minter wrote into the URI is never trusted, nor needed), or read from a
 * `data:` URI. A plain HTTP URI is refused unless `allowHttp` is set, and then flagged
 * unverified.
 *
 * ```ts
 * const { metadata, image } = await tokenMetadata(rpc, { contract, tokenId: 42n }, { ipfs })
 * const picture = image?.startsWith('ipfs://') ? await ipfs.fetch(image) : image
 * ```
 */
import * as AbiParameters from 'ox/AbiParameters'
import { checkBoolean, checkNumber, checkObject, checkOneOf, ms, whole } from '../core/options.ts'
import { BaseError, ConfigError } from '../shared/errors.ts'
import {
  type DocumentOrigin,
  imageAddress,
  type JsonReader,
  locate,
  readDocument,
  substituteId,
  timedOutInside,
  withDeadline,
} from './tokenUri.ts'

export type TokenStandard = 'erc721' | 'erc1155'

/** What reads the chain: an outlast client (`createOutlast`), or any EIP-1193 provider. */
export type ChainReader = {
  request(args: { method: string; params?: readonly unknown[] }): Promise<unknown>
}

export type TokenRef = {
  /** The token contract's address. */
  contract: string
  /** The token id: a bigint, a safe integer, or a decimal or 0x-hex string. */
  tokenId: bigint | number | string
  /** Which function names the URI: `tokenURI(uint256)` or `uri(uint256)`. @default 'erc721' */
  standard?: TokenStandard
}

export type TokenMetadataOptions = {
  /** Reads IPFS content verified: `createIpfs()`. */
  ipfs: JsonReader
  signal?: AbortSignal
  /** Deadline of the whole call (the contract call and the fetch), in ms. @default 30_000 */
  timeout?: number
  /** Largest metadata document read, in bytes. @default 1_048_576 (1 MiB) */
  maxBytes?: number
  /** Fetch a plain http(s) URI that is no IPFS address (unverified: flagged in the result). @default false */
  allowHttp?: boolean
  /** The fetch used for `allowHttp`. @default globalThis.fetch */
  fetch?: typeof fetch
  /** The block the URI is read at. @default 'latest' */
  blockTag?: string
}

/** A token's metadata and how far it can be trusted. */
export type TokenMetadata<T = Record<string, unknown>> = {
  /** The URI as the contract returned it. */
  uri: string
  /** The metadata document (a JSON object). */
  metadata: T
  /**
   * The image's address: `ipfs://CID/path` for every IPFS form (fetch it with `ipfs.fetch`),
   * http(s) and `data:image/…` as given; undefined when the metadata names none it can read.
   */
  image?: string
} & (
  | {
      /** Fetched by CID, every byte hashed against it. */
      origin: 'ipfs'
      verified: true
    }
  | {
      /** From a `data:` URI: the contract's own answer, as outlast read it. */
      origin: 'data'
      verified: true
    }
  | {
      /** A plain HTTP fetch (`allowHttp`): NOT verified; the server decides what it says. */
      origin: 'http'
      verified: false
    }
)

/** The metadata could not be had; names the contract, the token and the reason. */
export class TokenMetadataError extends BaseError {
  override name = 'TokenMetadataError'
  readonly contract: string
  readonly tokenId: bigint

  constructor(contract: string, tokenId: bigint, reason: string, cause?: unknown) {
    super(`Token ${tokenId} of ${contract}: ${reason}.`, cause === undefined ? {} : { cause })
    this.contract = contract
    this.tokenId = tokenId
  }
}

const WHERE = 'tokenMetadata()'
const OPTION_KEYS = [
  'ipfs',
  'signal',
  'timeout',
  'maxBytes',
  'allowHttp',
  'fetch',
  'blockTag',
] as const
/** `tokenURI(uint256)` and `uri(uint256)`: keccak-256 of the signature, first 4 bytes. */
export const SELECTORS: Record<TokenStandard, `0x${string}`> = {
  erc721: '0xc87b56dd',
  erc1155: '0x0e89341c',
}
const FUNCTION: Record<TokenStandard, string> = { erc721: 'tokenURI', erc1155: 'uri' }
const LABEL: Record<TokenStandard, string> = { erc721: 'ERC-721', erc1155: 'ERC-1155' }
const MAX_UINT256 = (1n << 256n) - 1n

export async function tokenMetadata<T = Record<string, unknown>>(
  client: ChainReader,
  token: TokenRef,
  options: TokenMetadataOptions,
): Promise<TokenMetadata<T>> {
  if (typeof client?.request !== 'function')
    throw new ConfigError(`${WHERE}: client must be an outlast client (or an EIP-1193 provider).`)
  checkObject(WHERE, 'token', token, ['contract', 'tokenId', 'standard'])
  checkObject(WHERE, '', options, OPTION_KEYS)
  const contract = checkAddress(token.contract)
  const tokenId = checkTokenId(token.tokenId)
  const standard = checkOneOf(WHERE, 'standard', token.standard, ['erc721', 'erc1155']) ?? 'erc721'
  if (typeof options.ipfs?.json !== 'function')
    throw new ConfigError(`${WHERE}: ipfs must be a client from createIpfs().`)
  const timeout = checkNumber(WHERE, 'timeout', options.timeout, ms(1)) ?? 30_000
  const maxBytes = checkNumber(WHERE, 'maxBytes', options.maxBytes, whole(1)) ?? 1024 * 1024
  const allowHttp = checkBoolean(WHERE, 'allowHttp', options.allowHttp) ?? false
  const blockTag = options.blockTag ?? 'latest'
  if (typeof blockTag !== 'string') throw new ConfigError(`${WHERE}: blockTag must be a string.`)
  const fail = (reason: string, cause?: unknown) =>
    new TokenMetadataError(contract, tokenId, reason, cause)

  const deadline = withDeadline(timeout, options.signal)
  try {
    const uri = await deadline.race(
      readUri(client, contract, tokenId, standard, blockTag, fail),
      () => fail(`${FUNCTION[standard]}(${tokenId}) had no answer within ${timeout} ms`),
      () => fail('aborted', options.signal?.reason),
    )
    if (uri.trim() === '') throw fail(`${FUNCTION[standard]}(${tokenId}) returned an empty URI`)
    const resolved = standard === 'erc1155' ? substituteId(uri, tokenId) : uri
    let location: ReturnType<typeof locate>
    try {
      location = locate(resolved, maxBytes)
    } catch (error) {
      throw fail(`cannot read its URI: ${(error as Error).message}`, error)
    }
    let document: { json: unknown; origin: DocumentOrigin }
    try {
      document = await readDocument(location, {
        ipfs: options.ipfs,
        allowHttp,
        fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
        signal: deadline.signal,
        remaining: deadline.remaining,
        maxBytes,
      })
    } catch (error) {
      if (deadline.timedOut() || timedOutInside(error))
        throw fail(`no metadata within ${timeout} ms`, error)
      if (options.signal?.aborted) throw fail('aborted', error)
      throw fail(`its metadata could not be read: ${reasonOf(error)}`, error)
    }
    const { json, origin } = document
    if (json === null || typeof json !== 'object' || Array.isArray(json))
      throw fail(
        `its metadata is not a JSON object (${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json})`,
      )
    const metadata = json as Record<string, unknown>
    const rawImage = metadata.image ?? metadata.image_url
    const image = imageAddress(
      standard === 'erc1155' && typeof rawImage === 'string'
        ? substituteId(rawImage, tokenId)
        : rawImage,
    )
    const trust =
      origin === 'http'
        ? ({ origin, verified: false } as const)
        : ({ origin, verified: true } as const)
    return {
      uri,
      metadata: metadata as T,
      ...(image === undefined ? {} : { image }),
      ...trust,
    }
  } finally {
    deadline.dispose()
  }
}

/** The URI the contract returns for the token, read with `eth_call` through the client. */
async function readUri(
  client: ChainReader,
  contract: string,
  tokenId: bigint,
  standard: TokenStandard,
  blockTag: string,
  fail: (reason: string, cause?: unknown) => TokenMetadataError,
): Promise<string> {
  const call = `${FUNCTION[standard]}(${tokenId})`
  const data = `${SELECTORS[standard]}${AbiParameters.encode([{ type: 'uint256' }], [tokenId]).slice(2)}`
  let result: unknown
  try {
    result = await client.request({
      method: 'eth_call',
      params: [{ to: contract, data }, blockTag],
    })
  } catch (error) {
    if (isRevert(error))
      throw fail(`${call} reverted (no such token, or not an ${LABEL[standard]})`, error)
    throw fail(`${call} could not be read: ${reasonOf(error)}`, error)
  }
  if (typeof result !== 'string' || !/^0x([0-9a-f]{2})*$/i.test(result))
    throw fail(`${call} returned no hex data`)
  if (result === '0x')
    throw fail(`${call} returned nothing (no contract there, or not an ${LABEL[standard]})`)
  try {
    const [uri] = AbiParameters.decode([{ type: 'string' }], result as `0x${string}`)
    return uri
  } catch (error) {
    throw fail(`${call} did not return an ABI-encoded string`, error)
  }
}

/** A revert, as outlast (an error with code 3, or a message naming it) or a node reports it. */
function isRevert(error: unknown): boolean {
  let e: unknown = error
  for (let depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown }
    if (code === 3 || (typeof message === 'string' && /revert/i.test(message))) return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}

const reasonOf = (error: unknown): string => {
  const short = (error as { shortMessage?: unknown })?.shortMessage
  const text = typeof short === 'string' ? short : (error as Error)?.message
  return typeof text === 'string' ? text.replace(/\.$/, '') : String(error)
}

function checkAddress(value: unknown): string {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value))
    throw new ConfigError(`${WHERE}: contract must be a 0x-prefixed 20-byte address.`)
  return value
}

function checkTokenId(value: unknown): bigint {
  let id: bigint | undefined
  if (typeof value === 'bigint') id = value
  else if (typeof value === 'number' && Number.isSafeInteger(value)) id = BigInt(value)
  else if (typeof value === 'string' && /^(0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$/.test(value))
    id = BigInt(value)
  if (id === undefined || id < 0n || id > MAX_UINT256)
    throw new ConfigError(
      `${WHERE}: tokenId must be a uint256 (a bigint, a safe integer, or a decimal or 0x-hex string).`,
    )
  return id
}
