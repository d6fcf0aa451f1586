/**
 * The relay's `/outlast/rpc/1.0.0` service: each stream carries call frames, one at a time, and
 * gets the node's answers back. guards.ts decides what is forwarded; a call past the peer's rate,
 * a refused method, a batch past the limit, a stream past the peer's open streams each get their
 * JSON-RPC error (the last half a strike: a client may burst past the limit a few times). A frame over
 * the size limit or a malformed one costs that peer the stream and a strike (penalties.ts), never
 * the relay. A lone call's answer is the node's own text, passed through
 * unparsed; a batch's answers are matched to its calls by id.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { lpStream, RateLimiter } from '@libp2p/utils'
import { SourceError } from '../../shared/errors.ts'
import { decodeFrame } from '../protocol.ts'
import { callsOf, idOf, type RpcErrorObject, refusal } from './guards.ts'
import { inFlightPer } from './inFlight.ts'
import type { NodeClient } from './nodeClient.ts'
import type { ScrubText } from './nodeSecrets.ts'
import type { Penalties } from './penalties.ts'
import type { RelaySettings } from './relayOptions.ts'
import { writeToPeer } from './writeToPeer.ts'

const encoder = new TextEncoder()

/** lpStream's errors for a frame whose length prefix is over the limit or not a length. */
const FRAME_ERRORS = new Set([
  'InvalidDataLengthError',
  'InvalidDataLengthLengthError',
  'InvalidMessageLengthError',
])

/** The guards the server applies (RelayOptions says what each means). */
type Guards = Pick<
  RelaySettings,
  'rate' | 'maxBatch' | 'maxFrameBytes' | 'maxStreamsPerPeer' | 'idleTimeout'
>

/** The stream handler: frames in, the node's answers (or refusals) out, one at a time. */
export function rpcServer(
  o: Guards,
  call: NodeClient,
  scrub: ScrubText,
  counts: { served: number },
  refuse: (why: string, peer: string) => void,
  penalties: Penalties,
) {
  const answer = answerer(o, call, scrub, counts, refuse)
  const open = new Map<string, number>()
  // A peer's node calls, held until each settles: a stream released at its reset (below) may
  // leave its call running, and resetting streams in a loop must not pile calls on the node.
  const calls = inFlightPer(o.maxStreamsPerPeer)
  const busy = JSON.stringify({
    jsonrpc: '2.0',
    id: null,
    error: { code: -32005, message: `at most ${o.maxStreamsPerPeer} calls in flight per peer` },
  })

  return async (stream: Stream, connection: Connection) => {
    const peer = connection.remotePeer.toString()
    if (penalties.banned(peer)) return stream.abort(new Error('banned'))
    const streams = (open.get(peer) ?? 0) + 1
    open.set(peer, streams)
    // Counted until the stream closes, reset by the peer included: a call the peer gave up on
    // while its node call runs on is no longer its stream (it may open another in its place).
    let counted = true
    const release = () => {
      if (!counted) return
      counted = false
      const left = (open.get(peer) ?? 1) - 1
      if (left > 0) open.set(peer, left)
      else open.delete(peer)
    }
    stream.addEventListener('close', release, { once: true })
    const lp = lpStream(stream, { maxDataLength: o.maxFrameBytes })
    // A peer that stops reading an answer holds the stream as one that stops sending does.
    const write = (text: string) => writeToPeer(lp, stream, encoder.encode(text), o.idleTimeout)
    try {
      if (streams > o.maxStreamsPerPeer) {
        refuse('streams', peer)
        const error = {
          code: -32005,
          message: `at most ${o.maxStreamsPerPeer} open streams per peer`,
        }
        await write(JSON.stringify({ jsonrpc: '2.0', id: null, error }))
        await stream.close()
        return
      }
      while (true) {
        const bytes = await lp.read({ signal: AbortSignal.timeout(o.idleTimeout) })
        let message: unknown
        try {
          message = decodeFrame(bytes.subarray())
        } catch {
          refuse('malformed', peer)
          stream.abort(new Error('malformed frame'))
          return
        }
        // Past the bound: refused, no strike (an honest client that gives up on calls gets here).
        const answered = calls.run(peer, () => answer(peer, message))
        await write(answered ? await answered : busy)
      }
    } catch (error) {
      const name = error instanceof Error ? error.name : ''
      if (FRAME_ERRORS.has(name)) refuse('frame', peer)
      // The peer closed its end (the usual end of a stream), went idle, stopped reading, or broke
      // the framing.
      stream.abort(error instanceof Error ? error : new Error(String(error)))
    } finally {
      release()
    }
  }
}

/** What a frame is answered with, as JSON text; refusals counted (and struck) on the way. */
function answerer(
  o: Pick<Guards, 'rate' | 'maxBatch'>,
  call: NodeClient,
  scrub: ScrubText,
  counts: { served: number },
  refuse: (why: string, peer: string) => void,
): (peer: string, message: unknown) => Promise<string> {
  const limiter = new RateLimiter({ points: o.rate, duration: 1 })
  /** Counts `calls` against the peer's rate; true when they are past it. */
  const overRate = (peer: string, calls: number) => {
    try {
      limiter.consume(peer, calls)
      return false
    } catch {
      return true
    }
  }

  /**
   * The frame's answer as JSON text: a lone call's is the node's own text, passed through. Every
   * text from the node is scrubbed of its URLs' secrets (nodeSecrets.ts): a node may echo them.
   */
  return async (peer, message) => {
    const frame = callsOf(message, o.maxBatch)
    if ('code' in frame) {
      // Refused whole, yet read and parsed whole: it costs its sender a part of a strike, and
      // its calls count against the rate, so that endless oversized batches end in a ban.
      refuse('batch', peer)
      if (overRate(peer, Array.isArray(message) ? Math.max(message.length, 1) : 1))
        refuse('rate', peer)
      return JSON.stringify({ jsonrpc: '2.0', id: null, error: frame })
    }
    // A frame past the rate counts once, however many calls it holds: a burst is not a ban.
    const limited = overRate(peer, frame.calls.length)
    if (limited) refuse('rate', peer)
    const replies = new Map<unknown, unknown>()
    const forward: unknown[] = []
    for (const c of frame.calls) {
      const no: RpcErrorObject | undefined = limited
        ? { code: -32005, message: `rate limited: at most ${o.rate} calls per second per peer` }
        : refusal(c)
      if (no) {
        if (!limited) refuse('method', peer)
        replies.set(c, { jsonrpc: '2.0', id: idOf(c), error: no })
      } else forward.push(c)
    }
    counts.served += forward.length
    if (!frame.batch) {
      const [c] = frame.calls
      if (replies.has(c)) return JSON.stringify(replies.get(c))
      return call.text(c).then(scrub, (error) => JSON.stringify(unanswered(c, error)))
    }
    if (forward.length === 0) return JSON.stringify(frame.calls.map((c) => replies.get(c)))
    let got: unknown
    try {
      got = await call.json(forward)
    } catch (error) {
      got = error
    }
    // Matched by the id the node echoes, compared as JSON text: a peer's id may be any JSON value.
    const byId = new Map((Array.isArray(got) ? got : []).map((r) => [idKey(r), r]))
    for (const c of forward) replies.set(c, byId.get(idKey(c)) ?? unanswered(c, got))
    return `[${frame.calls.map((c) => scrub(JSON.stringify(replies.get(c)))).join(',')}]`
  }
}

/** The reply to a call the node gave no answer to, saying why (the node client's reasons name no URL). */
function unanswered(c: unknown, error: unknown) {
  const why = error instanceof SourceError ? `: ${error.reason}` : ''
  return {
    jsonrpc: '2.0',
    id: idOf(c),
    error: { code: -32603, message: `the relay's node did not answer${why}` },
  }
}

/** A call's or an answer's id as a map key: the same for an id and its echo, whatever JSON it is. */
const idKey = (message: unknown): string =>
  JSON.stringify((message as { id?: unknown } | null)?.id ?? null)
