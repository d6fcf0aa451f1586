/**
 * What a gossiped message must be before anyone acts on it or passes it on: pure checks, shared
 * by relays and by dApps' nodes. A header must hash to its `hash` (built from its own fields); a
 * transaction must decode as the type its first byte names, be for this chain, and fit the size
 * limit. Neither makes the message true: a header is a hint until the domains agree on it, a
 * transaction is judged by the nodes it reaches.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils'
import * as Eip1559 from 'ox/TxEnvelopeEip1559'
import * as Eip2930 from 'ox/TxEnvelopeEip2930'
import * as Eip4844 from 'ox/TxEnvelopeEip4844'
import * as Eip7702 from 'ox/TxEnvelopeEip7702'
import * as Legacy from 'ox/TxEnvelopeLegacy'
import type { Hex } from '../shared/types.ts'
import { checkedHeader, computeBlockHash, type RpcBlockHeader } from '../verify/block.ts'
import { rawTransactionHash } from '../verify/rawTransaction.ts'
import { decodeFrame, encodeFrame, MAX_HEAD_BYTES, MAX_TX_BYTES } from './protocol.ts'
import type { Signature } from './signatureShape.ts'

/** A check's outcome: the decoded value, or why the message is junk. */
export type Checked<T> = { ok: true; value: T } | { ok: false; why: string }

/** A header as gossiped: only the fields its hash covers, and the hash. */
export const encodeHead = (header: Record<string, unknown>): Uint8Array =>
  encodeFrame(checkedHeader(header))

/** A gossiped header, checked: JSON of a header object that hashes to its own `hash`. */
export function checkHead(data: Uint8Array): Checked<Record<string, unknown> & { hash: Hex }> {
  if (data.length > MAX_HEAD_BYTES) return { ok: false, why: `larger than ${MAX_HEAD_BYTES} bytes` }
  let header: unknown
  try {
    header = decodeFrame(data)
  } catch {
    return { ok: false, why: 'not JSON' }
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    return { ok: false, why: 'not a header object' }
  const h = header as Record<string, unknown>
  try {
    const hash = computeBlockHash(h as unknown as RpcBlockHeader)
    if (typeof h.hash !== 'string' || h.hash.toLowerCase() !== hash)
      return { ok: false, why: 'its fields do not hash to its hash' }
    return { ok: true, value: { ...checkedHeader(h), hash } }
  } catch (error) {
    return { ok: false, why: error instanceof Error ? error.message : 'malformed header' }
  }
}

/** What a transaction's decoding gives the checks: its chain and its signature. */
type Decoded = Signature & { chainId?: number | bigint | undefined }

const decoders: Record<number, (raw: Hex) => Decoded> = {
  1: (raw) => Eip2930.deserialize(raw as Eip2930.Serialized),
  2: (raw) => Eip1559.deserialize(raw as Eip1559.Serialized),
  3: (raw) => Eip4844.deserialize(raw as Eip4844.Serialized),
  4: (raw) => Eip7702.deserialize(raw as Eip7702.Serialized),
}

/** A raw transaction as checked: its bytes, hash, chain and signature (unchecked: signatureShape.ts). */
export type GossipedTransaction = { raw: Hex; hash: Hex; chainId: number; signature: Signature }

/** A raw transaction, decoded as the type its first byte names: its chain, hash and signature. */
export function decodeTransaction(data: Uint8Array): Checked<GossipedTransaction> {
  if (data.length === 0 || data.length > MAX_TX_BYTES)
    return { ok: false, why: `empty or larger than ${MAX_TX_BYTES} bytes` }
  const raw = toHex(data)
  const type = data[0]!
  try {
    // A legacy transaction is an RLP list (first byte >= 0xc0); a typed one starts with its type.
    const decode = type >= 0xc0 ? (r: Hex) => Legacy.deserialize(r) : decoders[type]
    if (!decode) return { ok: false, why: `unknown transaction type ${type}` }
    const { chainId, r, s, yParity } = decode(raw)
    // Legacy transactions from before EIP-155 name no chain: they replay anywhere, never gossiped.
    if (chainId === undefined) return { ok: false, why: 'names no chain (before EIP-155)' }
    const signature = { r, s, yParity }
    const hash = rawTransactionHash(raw)
    return { ok: true, value: { raw, hash, chainId: Number(chainId), signature } }
  } catch (error) {
    return { ok: false, why: `does not decode (${error instanceof Error ? error.name : 'error'})` }
  }
}

/** A gossiped raw transaction, checked: it decodes and is for `chainId`. */
export function checkTransaction(data: Uint8Array, chainId: number): Checked<GossipedTransaction> {
  const tx = decodeTransaction(data)
  if (tx.ok && tx.value.chainId !== chainId)
    return { ok: false, why: `for chain ${tx.value.chainId}, not ${chainId}` }
  return tx
}

export const toHex = (bytes: Uint8Array): Hex => `0x${bytesToHex(bytes)}`

export const fromHex = (hex: string): Uint8Array =>
  hexToBytes(hex.startsWith('0x') ? hex.slice(2) : hex)
