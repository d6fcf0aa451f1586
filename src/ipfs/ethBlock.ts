/**
 * An Ethereum block hash is a CID: version 1, codec eth-block (0x90), multihash keccak-256
 * (0x1b) over the RLP-encoded header. This file turns hashes into CIDs and back, and raw header
 * blocks into JSON-RPC header fields once they hash to the hash asked for. It is the whole
 * header path for browsers (a plain `fetch` plus keccak: no multiformats, no Helia), so it
 * hand-rolls the one CID prefix and base32 it needs.
 */
import { decode as rlpDecode, encode as rlpEncode } from '@ethereumjs/rlp'
import { clip } from '../shared/clip.ts'
import { VerificationError } from '../shared/errors.ts'
import { keccak256 } from '../shared/keccak.ts'
import type { Hex } from '../shared/types.ts'
import {
  blockHeaderFields,
  computeBlockHash,
  HEADER_FIELDS,
  type RpcBlockHeader,
} from '../verify/block.ts'
import { ContentError } from './errors.ts'
import { gatewayBytes } from './gatewayBytes.ts'
import { fetchSameOrigin } from './sameOrigin.ts'

/** The multicodec of an RLP-encoded Ethereum header. */
export const ETH_BLOCK_CODEC = 0x90
/** The multihash code of keccak-256. */
export const KECCAK_256 = 0x1b
/** The IPLD raw-block media type a trustless gateway answers with. */
export const RAW_BLOCK_TYPE = 'application/vnd.ipld.raw'

/** CID v1, varint(0x90) = 90 01, keccak-256, 32-byte digest: every eth-block CID's first bytes. */
const PREFIX = Uint8Array.of(0x01, 0x90, 0x01, KECCAK_256, 0x20)
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'
const HASH = /^0x[0-9a-fA-F]{64}$/

/** A header with the hash it was checked against. */
export type EthHeader = RpcBlockHeader & { hash: Hex }

/** The CID of the block whose hash is `hash` (base32, as gateways and Kubo print CIDs v1). */
export function blockCid(hash: string): string {
  if (typeof hash !== 'string' || !HASH.test(hash))
    throw new ContentError(String(hash), `Not a block hash: ${show(hash)} (0x and 64 hex digits).`)
  const bytes = new Uint8Array(PREFIX.length + 32)
  bytes.set(PREFIX)
  for (let i = 0; i < 32; i++)
    bytes[PREFIX.length + i] = Number.parseInt(hash.slice(2 + i * 2, 4 + i * 2), 16)
  return `b${base32(bytes)}`
}

/**
 * The block hash an eth-block CID names (lowercase). Throws a `ContentError` for anything else:
 * another codec, another hash function, not a base32 CID v1.
 */
export function hashOfCid(cid: string | { toString(): string }): Hex {
  const text = String(cid)
  let bytes: Uint8Array | undefined
  if (/^[bB][a-zA-Z2-7]+$/.test(text)) bytes = unbase32(text.slice(1).toLowerCase())
  if (bytes?.[0] !== 1)
    throw new ContentError(text, `Not an eth-block CID: ${show(text)} (expected CID v1, base32).`)
  if (bytes[1] !== PREFIX[1] || bytes[2] !== PREFIX[2])
    throw new ContentError(text, `${show(text)} is not an eth-block CID (codec 0x90).`)
  if (bytes[3] !== KECCAK_256 || bytes[4] !== 32 || bytes.length !== PREFIX.length + 32)
    throw new ContentError(text, `${show(text)} is not a keccak-256 block hash.`)
  let hex = '0x'
  for (const b of bytes.subarray(PREFIX.length)) hex += b.toString(16).padStart(2, '0')
  return hex as Hex
}

/** The header's raw block: its RLP encoding (what its hash is the keccak-256 of). */
export function encodeHeader(header: RpcBlockHeader): Uint8Array {
  return rlpEncode(blockHeaderFields(header))
}

/**
 * The JSON-RPC header fields (`eth_getBlockByHash`'s, without a body) of a raw header block,
 * after checking that keccak-256 of `rlp` is `expectedHash`. Throws a `VerificationError` for
 * bytes that hash to anything else, and for a layout this version does not know (a fork's new
 * field): it re-encodes what it decoded and compares, so a field it read wrong cannot pass.
 */
export function decodeHeader(rlp: Uint8Array, expectedHash: string): EthHeader {
  const hash = keccak256(rlp)
  if (hash !== expectedHash.toLowerCase())
    throw new VerificationError(`Header bytes hash to ${hash}, not to the block ${expectedHash}.`)
  let items: unknown
  try {
    items = rlpDecode(rlp)
  } catch (error) {
    throw new VerificationError(`Header ${hash} is not RLP: ${(error as Error).message}`)
  }
  if (!Array.isArray(items) || items.some((i) => !(i instanceof Uint8Array)))
    throw new VerificationError(`Header ${hash} is not a list of byte strings.`)
  if (items.length < 15 || items.length > HEADER_FIELDS.length)
    throw new VerificationError(
      `Header ${hash} has ${items.length} fields; this version reads 15 to ${HEADER_FIELDS.length} (Frontier to Prague).`,
    )
  const header: Record<string, Hex> = {}
  ;(items as Uint8Array[]).forEach((item, i) => {
    const { name, quantity } = HEADER_FIELDS[i]!
    header[name] = quantity ? quantityOf(item) : hexOf(item)
  })
  header.hash = hash
  let again: Hex | undefined
  try {
    again = computeBlockHash(header as unknown as RpcBlockHeader)
  } catch (error) {
    throw new VerificationError(`Header ${hash} has a malformed field: ${(error as Error).message}`)
  }
  if (again !== hash)
    throw new VerificationError(
      `Header ${hash} does not re-encode to its own hash (not canonical).`,
    )
  return header as unknown as EthHeader
}

/**
 * A header by hash from one trustless gateway: `GET {gateway}/ipfs/{cid}?format=raw`, checked by
 * `decodeHeader`. Resolves `undefined` when the gateway does not have it (404/410); rejects on
 * anything else (an HTTP error, a body over `maxBytes`, bytes that do not hash: a
 * `VerificationError`; no answer within `timeout` ms, 5 s unless told, as `ipfsHeaders`' per
 * route: a `TimeoutError`). The plain-fetch path: it needs nothing else of `outlast/ipfs`.
 */
export async function fetchHeader(
  gateway: string,
  hash: string,
  options: { fetch?: typeof fetch; signal?: AbortSignal; maxBytes?: number; timeout?: number } = {},
): Promise<EthHeader | undefined> {
  const { timeout = 5_000, signal, ...rest } = options
  if (!(timeout > 0 && (timeout <= 2_147_483_647 || timeout === Infinity)))
    throw new RangeError(
      `fetchHeader: timeout must be ms in 1..2147483647, or Infinity for none; got ${timeout}`,
    )
  const deadline = timeout === Infinity ? undefined : AbortSignal.timeout(timeout)
  const signals = [signal, deadline].filter((s) => s !== undefined)
  const bytes = await fetchRawBlock(gateway, blockCid(hash), {
    ...rest,
    ...(signals.length ? { signal: AbortSignal.any(signals) } : {}),
  })
  return bytes && decodeHeader(bytes, hash)
}

/** One raw block from a trustless gateway, or `undefined` on 404/410; its size bounded. */
export async function fetchRawBlock(
  gateway: string,
  cid: string,
  options: { fetch?: typeof fetch; signal?: AbortSignal; maxBytes?: number } = {},
): Promise<Uint8Array | undefined> {
  const { fetch: fetchFn = globalThis.fetch, signal, maxBytes = 65_536 } = options
  const url = new URL(`${gateway.replace(/\/+$/, '')}/ipfs/${cid}?format=raw`)
  const response = await fetchSameOrigin(fetchFn, url, {
    headers: { accept: RAW_BLOCK_TYPE },
    ...(signal ? { signal } : {}),
  })
  return gatewayBytes(response, maxBytes, signal)
}

function hexOf(bytes: Uint8Array): Hex {
  let hex = '0x'
  for (const b of bytes) hex += b.toString(16).padStart(2, '0')
  return hex as Hex
}

/** An RLP integer as a JSON-RPC QUANTITY (no leading zeros; zero is `0x0`). */
function quantityOf(bytes: Uint8Array): Hex {
  const digits = hexOf(bytes).slice(2).replace(/^0+/, '')
  return `0x${digits || '0'}`
}

function base32(bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const b of bytes) {
    value = (value << 8) | b
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31]
  return out
}

function unbase32(text: string): Uint8Array | undefined {
  const out: number[] = []
  let bits = 0
  let value = 0
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch)
    if (v < 0) return undefined
    value = ((value << 5) | v) & 0xffff
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Uint8Array.from(out)
}

const show = (v: unknown) => JSON.stringify(typeof v === 'string' ? clip(v, 81) : v) ?? String(v)
