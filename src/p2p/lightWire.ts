/**
 * The frames of `/outlast/lc/1.0.0` (protocol.ts), pure and browser-safe. A request is one small
 * binary frame: its kind, then a block root (bootstrap) or a start period and a count (updates).
 * An answer is a status byte, then SSZ: for one object its 4-byte fork digest and the container,
 * for updates the Beacon API's SSZ list ([u64 length][digest][update] per period); or, when the
 * relay has nothing for the request, its beacon node failed, or the peer is over its rate, a
 * short UTF-8 reason.
 */
import { concatBytes } from '@noble/hashes/utils'

export type LightRequest =
  | { kind: 'bootstrap'; root: Uint8Array }
  | { kind: 'updates'; start: number; count: number }
  | { kind: 'finality' }
  | { kind: 'optimistic' }

/** What an answer frame's first byte says. */
export const LIGHT_OK = 0
/** The relay (its beacon node) has nothing for this request: no failure, no lie. */
export const LIGHT_NONE = 1
/** The peer is past its rate: the stream stays open, the request may be sent again later. */
export const LIGHT_LIMITED = 2
/** The relay's beacon node did not answer (down, slow, broken): the relay cannot serve now. */
export const LIGHT_UNAVAILABLE = 3

/** The most updates one request may ask for (the Beacon API's MAX_REQUEST_LIGHT_CLIENT_UPDATES). */
export const MAX_LIGHT_UPDATES = 128

const KINDS = ['bootstrap', 'updates', 'finality', 'optimistic'] as const

export function encodeLightRequest(r: LightRequest): Uint8Array {
  const kind = KINDS.indexOf(r.kind) + 1
  if (r.kind === 'bootstrap') return concatBytes(new Uint8Array([kind]), r.root)
  if (r.kind !== 'updates') return new Uint8Array([kind])
  const out = new Uint8Array(10)
  out[0] = kind
  new DataView(out.buffer).setBigUint64(1, BigInt(r.start), true)
  out[9] = r.count
  return out
}

/** A request frame, or undefined when it is none (wrong length, unknown kind, count outside 1…128). */
export function decodeLightRequest(frame: Uint8Array): LightRequest | undefined {
  const kind = KINDS[(frame[0] ?? 0) - 1]
  if (kind === 'bootstrap') return frame.length === 33 ? { kind, root: frame.slice(1) } : undefined
  if (kind === 'updates') {
    if (frame.length !== 10) return undefined
    const start = new DataView(frame.buffer, frame.byteOffset).getBigUint64(1, true)
    const count = frame[9]!
    if (start > BigInt(Number.MAX_SAFE_INTEGER) || count < 1 || count > MAX_LIGHT_UPDATES)
      return undefined
    return { kind, start: Number(start), count }
  }
  return kind && frame.length === 1 ? { kind } : undefined
}

const encoder = new TextEncoder()

/** An answer frame: `LIGHT_OK` with SSZ, or another status with a reason. */
export const lightAnswer = (status: number, body: Uint8Array | string): Uint8Array =>
  concatBytes(new Uint8Array([status]), typeof body === 'string' ? encoder.encode(body) : body)
