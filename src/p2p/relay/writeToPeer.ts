/**
 * A frame written to a peer, given up when the peer stops reading it. A write waits for the
 * stream to drain, and a peer that reads nothing more (its flow-control window shut) never lets
 * it: the stream, the peer's slot among its streams and the answer in the relay's memory would be
 * held for ever. So a write during which not one byte leaves the stream's buffer for `idle` ms
 * (checked every `idle` ms: given up within twice that) rejects, and the caller aborts the
 * stream. A slow reader that keeps reading is never cut off, however large the answer.
 */
import type { Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

export class WriteStalledError extends Error {
  override name = 'WriteStalledError'
}

export async function writeToPeer(
  lp: Pick<LengthPrefixedStream, 'write'>,
  stream: Pick<Stream, 'writeBufferLength'>,
  bytes: Uint8Array,
  idle: number,
): Promise<void> {
  const stalled = new AbortController()
  let left = Number.POSITIVE_INFINITY
  const watch = setInterval(() => {
    const now = stream.writeBufferLength
    if (now < left) left = now
    else stalled.abort(new WriteStalledError(`the peer read nothing of an answer in ${idle} ms`))
  }, idle)
  try {
    await lp.write(bytes, { signal: stalled.signal })
  } finally {
    clearInterval(watch)
  }
}
