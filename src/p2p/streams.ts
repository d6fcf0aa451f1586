/**
 * Call/answer exchanges with one peer over `/outlast/rpc/1.0.0` streams: a stream carries one
 * exchange at a time and is kept for the next (a new stream costs a round trip of protocol
 * negotiation, ~3–5 ms on loopback; a kept one ~1 ms). A stream that failed or was cancelled
 * mid-exchange is aborted, never reused: its next frame could be the old answer. So is one whose
 * answer the caller found not to be the answer to its call (a peer that sent one answer too
 * many would otherwise stay one answer behind on that stream for good). At most `maxStreams`
 * exchanges with a peer run at once (a relay refuses, and counts against the peer, streams past
 * its own limit: 32 by default); more calls wait their turn, first come first served, each until
 * its signal aborts.
 */
import type { Stream } from '@libp2p/interface'
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils'
import { turnstile } from '../shared/turnstile.ts'

/**
 * Sends one frame and resolves with the peer's answer frame. `answers(frame)`, when given, says
 * whether that frame answers this call; when it does not, the stream is not kept.
 */
export type Exchange = (
  frame: Uint8Array,
  signal: AbortSignal,
  answers?: (answer: Uint8Array) => boolean,
) => Promise<Uint8Array>

/** A stream and its framing (`lp.unwrap()` would end the framing: the stream is kept beside it). */
type Lp = { lp: LengthPrefixedStream<Stream>; stream: Stream }

/** Streams kept open per peer between exchanges. */
const MAX_IDLE = 8
/** Exchanges with one peer at once: with the idle ones, 24 streams, under a relay's 32. */
export const MAX_STREAMS = 16

export function streamExchange(
  dial: (signal: AbortSignal) => Promise<Stream>,
  maxAnswerBytes: number,
  maxStreams = MAX_STREAMS,
): Exchange & { close(): void } {
  const idle: Lp[] = []
  const turns = turnstile(maxStreams)

  const once = async (
    kept: Lp,
    frame: Uint8Array,
    signal: AbortSignal,
    answers?: (answer: Uint8Array) => boolean,
  ) => {
    const { lp, stream } = kept
    try {
      await lp.write(frame, { signal })
      const answer = (await lp.read({ signal })).subarray()
      if (answers && !answers(answer)) stream.abort(new Error('an answer to another call'))
      else if (idle.length < MAX_IDLE && stream.status === 'open') idle.push(kept)
      else void stream.close().catch(() => {})
      return answer
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)))
      throw error
    }
  }

  const exchange: Exchange = async (frame, signal, answers) => {
    await turns.enter(signal)
    try {
      return await exchangeNow(frame, signal, answers)
    } finally {
      turns.leave()
    }
  }

  const exchangeNow: Exchange = async (frame, signal, answers) => {
    let kept = idle.pop()
    while (kept && kept.stream.status !== 'open') kept = idle.pop()
    if (kept) {
      try {
        return await once(kept, frame, signal, answers)
      } catch (error) {
        // A kept stream the peer closed meanwhile (it restarted): once more on a new one.
        if (signal.aborted) throw error
      }
    }
    const stream = await dial(signal)
    // The buffer must hold a whole frame: its default (4 MiB) would cap every answer there.
    const lp = lpStream(stream, {
      maxDataLength: maxAnswerBytes,
      maxBufferSize: maxAnswerBytes + 16,
    })
    return once({ lp, stream }, frame, signal, answers)
  }

  return Object.assign(exchange, {
    close() {
      for (const { stream } of idle.splice(0)) void stream.close().catch(() => {})
    },
  })
}
