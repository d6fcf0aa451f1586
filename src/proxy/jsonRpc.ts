/**
 * JSON-RPC 2.0 as the proxy speaks it, over HTTP and WebSocket alike: one call answered by the
 * client (in a slot of `maxConcurrent`), errors as JSON-RPC errors, batches bounded, and
 * notifications (a call with no `id`) run but never answered.
 */
import type { Outlast } from '../core/createOutlast.ts'
import { messageOf } from '../shared/errors.ts'
import { type CallSlots, SlotsBusy } from './callSlots.ts'

export type Call = { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown }
export type Reply = {
  jsonrpc: '2.0'
  id: unknown
  result?: unknown
  error?: { code: number; message: string; data?: unknown }
}

/** Calls one batch (or WebSocket frame) may hold. */
export const MAX_BATCH = 100

/** The call's id as a reply carries it: a string or number, else null. */
export const idOf = (call: Call): string | number | null =>
  typeof call?.id === 'string' || typeof call?.id === 'number' ? call.id : null

/**
 * A notification: a well-formed call with no `id` member. It is run, but JSON-RPC 2.0 sends no
 * reply for it (and leaves it out of a batch's replies). A malformed call with no `id` is not
 * one: it is answered with an error and `id: null`.
 */
export const isNotification = (call: unknown): boolean =>
  typeof call === 'object' &&
  call !== null &&
  !Array.isArray(call) &&
  !Object.hasOwn(call, 'id') &&
  typeof (call as Call).method === 'string'

/** What the proxy answers for one call: the client's answer, or its error as a JSON-RPC error. */
export async function answer(rpc: Outlast, call: Call): Promise<Reply> {
  const id = idOf(call)
  if (typeof call !== 'object' || call === null || typeof call.method !== 'string')
    return { jsonrpc: '2.0', id, error: { code: -32600, message: 'invalid request: no method' } }
  if (call.params !== undefined && !Array.isArray(call.params))
    return {
      jsonrpc: '2.0',
      id,
      error: { code: -32602, message: 'invalid params: params must be an array' },
    }
  try {
    const { result, meta } = await rpc.requestWithMeta({
      method: call.method,
      params: (call.params as unknown[]) ?? [],
    })
    return checked({ jsonrpc: '2.0', id, result }, meta.consistency)
  } catch (error) {
    const degraded = (error as { degraded?: unknown })?.degraded === true
    return checked({ jsonrpc: '2.0', id, error: errorObject(error) }, degraded ? DEGRADED : 'error')
  }
}

/**
 * How far the client checked a reply: its answer's `meta.consistency`, `error`, or
 * `degraded-error` (one domain's error, the others out: reviewOfSession38h). A single call over
 * HTTP carries it as the `x-outlast-consistency` header; JSON-RPC's body has no place for it.
 */
export const consistencyOf = (reply: Reply): string | undefined => consistencies.get(reply)
const consistencies = new WeakMap<Reply, string>()
const DEGRADED = 'degraded-error'
const checked = (reply: Reply, consistency: string) => {
  consistencies.set(reply, consistency)
  return reply
}

/**
 * `answer` in a slot; a call the slots' queue has no room for is answered busy (-32005). One
 * whose client is `gone()` by the time its slot comes is not run: nobody would read its answer,
 * and a client reconnecting would run its calls twice over.
 */
export const answerInSlot = (
  rpc: Outlast,
  slots: CallSlots,
  call: Call,
  gone: () => boolean = () => false,
): Promise<Reply> =>
  slots
    .run(() => (gone() ? Promise.resolve(GONE) : answer(rpc, call)))
    .catch((error: unknown) => {
      if (error instanceof SlotsBusy) return busy(idOf(call))
      throw error
    })

/** The reply no one reads: the call's client left before its turn. */
const GONE: Reply = { jsonrpc: '2.0', id: null, error: { code: -32603, message: 'client gone' } }

/**
 * An error as JSON-RPC carries it: its code (EIP-1193 or the node's), its short message, its data.
 * outlast's own failures (no agreement, a deadline) go as -32002, resource unavailable, where
 * they had -32603, as adapters/viem.ts gives them: viem reads -32603 as a contract revert, so one
 * liar's split made any read through the proxy look reverted (reviewOfSession38h).
 */
export function errorObject(error: unknown): { code: number; message: string; data?: unknown } {
  const e = error as { code?: unknown; data?: unknown; name?: unknown }
  const node = e?.name === 'RpcResponseError' || e?.name === 'ProviderRpcError'
  const code = typeof e?.code !== 'number' ? -32603 : e.code === -32603 && !node ? -32002 : e.code
  const message = messageOf(error)
  return e?.data === undefined ? { code, message } : { code, message, data: e.data }
}

/** Why a batch of `n` calls is refused, or undefined. */
export const batchProblem = (n: number) =>
  n === 0
    ? 'invalid request: empty batch'
    : n > MAX_BATCH
      ? `invalid request: a batch of ${n} calls, more than ${MAX_BATCH}`
      : undefined

/** The reply to a call turned away because the proxy is full (-32005, "limit exceeded"). */
export const busy = (id: unknown = null): Reply => ({
  jsonrpc: '2.0',
  id,
  error: { code: -32005, message: 'too many requests in flight; try again in a second' },
})

/** A batch's replies, its notifications' left out. */
export const batchReplies = (calls: unknown[], replies: Reply[]): Reply[] =>
  replies.filter((_, i) => !isNotification(calls[i]))

/** The reply to a body or frame that is not JSON (`what`: "the body", "the frame"). */
export const parseError = (what: string): Reply => ({
  jsonrpc: '2.0',
  id: null,
  error: { code: -32700, message: `parse error: ${what} is not JSON` },
})
