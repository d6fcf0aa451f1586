/** Decoding one WebSocket frame into JSON-RPC messages, within a size limit. */

export type DecodedFrame =
  /** The JSON-RPC messages in the frame (one, or a batch's elements). */
  | { kind: 'messages'; items: unknown[] }
  /** Larger than allowed: `head` is its start, for finding whom it answered. */
  | { kind: 'oversized'; head: string; size: number }
  | { kind: 'malformed'; reason: string }
  /** Not data (a control or unknown event payload). */
  | { kind: 'ignored' }

/**
 * Text or binary frame → JSON-RPC messages. The size is checked before parsing: in bytes for
 * binary frames, in UTF-8 bytes for text (measured only when the characters alone could exceed it).
 */
export function decodeFrame(data: unknown, maxBytes: number): DecodedFrame {
  let text: string
  if (typeof data === 'string') text = data
  else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    const bytes = ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data)
    if (bytes.length > maxBytes)
      return {
        kind: 'oversized',
        head: new TextDecoder().decode(bytes.subarray(0, 200)),
        size: bytes.length,
      }
    text = new TextDecoder().decode(bytes)
  } else return { kind: 'ignored' }
  if (text.length > maxBytes) return { kind: 'oversized', head: text, size: text.length }
  if (text.length * 3 > maxBytes) {
    const size = new TextEncoder().encode(text).length
    if (size > maxBytes) return { kind: 'oversized', head: text, size }
  }
  let message: unknown
  try {
    message = JSON.parse(text)
  } catch {
    return { kind: 'malformed', reason: `malformed frame (${text.length} characters of non-JSON)` }
  }
  return { kind: 'messages', items: Array.isArray(message) ? message : [message] }
}
