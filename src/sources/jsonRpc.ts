/**
 * Reading what a node sends back: JSON-RPC 2.0 responses, single or batched, and what a socket
 * pushes, with the errors of one source, their messages (and a node error's data) scrubbed.
 * Pure: no I/O, no state. http.ts (batch.ts splits its batches) and the WebSocket's call matching
 * (wsCalls.ts) read every answer here.
 *
 * Two leniencies, both deliberate: `jsonrpc: "2.0"` is not required (an answer is judged by its
 * id, result and error), and when a response carries both `error` and `result` the error wins (a
 * node that sets `"result": null` beside its error means the error).
 */
import { plain } from '../shared/clip.ts'
import { RpcResponseError, SourceError, type SourceFailureKind } from '../shared/errors.ts'
import type { RpcRequest } from '../shared/types.ts'
import type { Scrubber } from './secrets.ts'

/** A JSON-RPC 2.0 call as sent. */
export type Call = { jsonrpc: '2.0'; id: number; method: string; params: readonly unknown[] }

export const callOf = (id: number, body: RpcRequest): Call => ({
  jsonrpc: '2.0',
  id,
  method: body.method,
  params: body.params ?? [],
})

/** A failure of the source, its message scrubbed, then made `plain` (it may quote the source). */
export type Fail = (
  kind: SourceFailureKind,
  message: string,
  extra?: { status?: number; retryAfter?: number | undefined },
) => SourceError

/** One source's reader of JSON-RPC answers: every error it makes names the source, scrubbed. */
export type JsonRpc = {
  fail: Fail
  /** `showId`, scrubbed of this source's secrets before it is cut short. */
  showId(id: unknown): string
  /**
   * A node's JSON-RPC error object as an `RpcResponseError` (message and data scrubbed, the
   * message then `plain`: one line, at most 300 characters), or, if
   * it is not one (`{ code: number, message: string, data? }`), a `body` failure saying why.
   */
  nodeError(error: unknown): SourceError
  /**
   * The result of call `id` from its response, or the `SourceError` it stands for, thrown: the
   * node's error, or a `body` failure naming what is wrong (not an object, another call's id,
   * neither result nor error). `id: null` with an error is the node saying it could not read
   * the call: that error is the answer.
   */
  resultOf(response: unknown, id: number): unknown
}

/** A JSON-RPC response as it may come: judged by its id, result and error. */
export type Envelope = { id?: unknown; result?: unknown; error?: unknown }

const isObject = (value: unknown): value is object =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * A node-chosen id, shown in a message: a scalar as JSON (at most 40 characters), else `[…]`,
 * `{…}`. Scrubbed (`clean`) before it is cut: a key cut in half no longer looks like the key.
 */
export const showId = (id: unknown, clean: (text: string) => string = (t) => t): string =>
  typeof id === 'object' && id !== null
    ? Array.isArray(id)
      ? '[…]'
      : '{…}'
    : clean(String(JSON.stringify(id))).slice(0, 40)

export function jsonRpc(name: string, scrub: Scrubber): JsonRpc {
  const fail: Fail = (kind, message, extra) =>
    new SourceError(name, kind, plain(scrub.text(message)), extra)

  const nodeError = (error: unknown): SourceError => {
    const e = error as { code?: unknown; message?: unknown; data?: unknown }
    const wrong = !isObject(error)
      ? 'not an object'
      : typeof e.code !== 'number'
        ? 'code must be a number'
        : typeof e.message !== 'string' && 'message must be a string'
    if (wrong) return fail('body', `malformed JSON-RPC error object (${wrong})`)
    const { code, message, data } = e as { code: number; message: string; data?: unknown }
    return new RpcResponseError(name, {
      code,
      // Scrubbed whole, then escaped and cut: a cut made first could leave part of a secret.
      message: plain(scrub.text(message), 300),
      data: scrub.data(data),
    })
  }

  const resultOf = (response: unknown, id: number): unknown => {
    if (!isObject(response)) throw fail('body', 'response is not a JSON-RPC object')
    const r = response as Envelope
    if (r.id === null && r.error !== undefined) throw nodeError(r.error)
    if (r.id !== id)
      throw fail('body', `response id ${showId(r.id, scrub.text)} does not match ${id}`)
    if (r.error !== undefined) throw nodeError(r.error)
    if (!('result' in r)) throw fail('body', 'response has neither result nor error')
    return r.result
  }

  return { fail, nodeError, resultOf, showId: (id) => showId(id, scrub.text) }
}

/** One message a socket delivered (each element of a batch frame is one), by its envelope. */
export type Incoming =
  /** Not a JSON object: it cannot be attributed to any call. */
  | { kind: 'invalid' }
  /** An `eth_subscription` notification carrying a result. */
  | { kind: 'notification'; subscription: string; result: unknown }
  /** An error with `id: null`: the node could not read a call and does not say which. */
  | { kind: 'unread'; error: unknown }
  /** An answer to call `id` (for `resultOf`); `id` is whatever the node sent. */
  | { kind: 'answer'; id: unknown }
  /** A notification without a result: nothing to deliver. */
  | { kind: 'ignored' }

export function incoming(message: unknown): Incoming {
  if (typeof message !== 'object' || message === null) return { kind: 'invalid' }
  const m = message as Envelope & { method?: unknown; params?: unknown }
  if (m.method === 'eth_subscription') {
    const p = m.params
    if (typeof p !== 'object' || p === null || !('result' in p)) return { kind: 'ignored' }
    const { subscription, result } = p as { subscription?: unknown; result: unknown }
    // Subscription ids are strings: an object or array is no one's (and `String()` of one nested
    // 200,000 deep would overflow the stack, inside the socket's message handler).
    if (typeof subscription === 'object' && subscription !== null) return { kind: 'ignored' }
    return { kind: 'notification', subscription: String(subscription), result }
  }
  if (m.id === null && m.error !== undefined) return { kind: 'unread', error: m.error }
  return { kind: 'answer', id: m.id }
}
