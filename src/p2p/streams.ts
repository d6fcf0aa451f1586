/**
 * Call/answer exchanges with one peer over `/outlast/rpc/1.0.0` streams: a stream carries one
 * exchange at a time and is kept for the next (a new stream costs a round trip of protocol
 * negotiation, ~3–5 ms on loopback; a kept one ~1 ms). A stream that failed or was cancelled
 * mid-exchange is aborted, never reused: its next frame could be the old answer.
 */
import type { Stream } from '@libp2p/interface'
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils'

/** Sends one frame and resolves with the peer's answer frame. */
export type Exchange = (frame: Uint8Array, signal: AbortSignal) => Promise<Uint8Array>

/** A stream and its framing (`lp.unwrap()` would end the framing: the stream is kept beside it). */
type Lp = { lp: LengthPrefixedStream<Stream>; stream: Stream }

/** Streams kept open per peer between exchanges. */
const MAX_IDLE = 8

export function streamExchange(
  dial: (signal: AbortSignal) => Promise<Stream>,
  maxAnswerBytes: number,
): Exchange & { close(): void } {
  const idle: Lp[] = []

  const once = async (kept: Lp, frame: Uint8Array, signal: AbortSignal) => {
    const { lp, stream } = kept
    try {
      await lp.write(frame, { signal })
      const answer = await lp.read({ signal })
      if (idle.length < MAX_IDLE && stream.status === 'open') idle.push(kept)
      else void stream.close().catch(() => {})
      return answer.subarray()
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)))
      throw error
    }
  }

  const exchange = async (frame: Uint8Array, signal: AbortSignal) => {
    let kept = idle.pop()
    while (kept && kept.stream.status !== 'open') kept = idle.pop()
    if (kept) {
      try {
        return await once(kept, frame, signal)
      } catch (error) {
        // A kept stream the peer closed meanwhile (it restarted): once more on a new one.
        if (signal.aborted) throw error
      }
    }
    const stream = await dial(signal)
    return once({ lp: lpStream(stream, { maxDataLength: maxAnswerBytes }), stream }, frame, signal)
  }

  return Object.assign(exchange, {
    close() {
      for (const { stream } of idle.splice(0)) void stream.close().catch(() => {})
    },
  })
}
