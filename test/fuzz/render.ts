/**
 * Replies as bytes on the wire for given JSON-RPC calls, honest replies, and the oracle:
 * `verdicts` says, from the JSON-RPC spec alone, whether bytes are a well-formed answer to each
 * call and what its `result` is.
 */
import { honestResult } from './chain.ts'
import type { BatchSpec, BodySpec, Gates, Reply } from './replies.ts'
import type { Call, Framing, Rendered } from './server.ts'
import { spoil } from './spoil.ts'

const HTML =
  '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>oops</body></html>'

/** The JSON value of a body item for `call` (`undefined` when the body is not JSON). */
function itemValue(spec: BodySpec, call: Call, gates: Gates, inBatch = false): unknown {
  if (spec.kind === 'json') return spec.value
  if (spec.kind !== 'envelope') return undefined
  const out: Record<string, unknown> = {}
  if (spec.jsonrpc !== undefined) out.jsonrpc = spec.jsonrpc
  const id = call.id as number
  switch (spec.id.kind) {
    case 'same':
      out.id = id
      break
    case 'offset':
      // In a batch a near id would be another call's: a wrong id there stays far from all.
      out.id = id + spec.id.by * (inBatch ? 1_000_003 : 1)
      break
    case 'string':
      out.id = String(id)
      break
    case 'null':
      out.id = null
      break
    case 'fraction':
      out.id = id + 0.5
      break
  }
  const r = spec.result
  if (r?.kind === 'honest') out.result = honestResult(call.method, call.params) ?? null
  else if (r?.kind === 'mutated') out.result = spoil(call, r.mutation, gates)
  else if (r?.kind === 'any') out.result = r.value
  if (spec.error !== undefined) out.error = spec.error
  return out
}

function bodyText(spec: BodySpec, call: Call, gates: Gates): Uint8Array {
  switch (spec.kind) {
    case 'text':
      return Buffer.from(spec.text)
    case 'bytes':
      return spec.bytes
    case 'html':
      return Buffer.from(HTML)
    case 'empty':
      return new Uint8Array()
    default:
      return Buffer.from(JSON.stringify(itemValue(spec, call, gates)))
  }
}

const honestItem = (c: Call) => {
  const result = honestResult(c.method, c.params)
  return result === undefined
    ? { jsonrpc: '2.0', id: c.id, error: { code: -32601, message: 'method not found' } }
    : { jsonrpc: '2.0', id: c.id, result }
}

function batchText(spec: BatchSpec, calls: Call[], gates: Gates, fuzzed: Fuzzed): Uint8Array {
  const first = calls.find(fuzzed) ?? calls[0]!
  if (spec.kind === 'nonArray') return bodyText(spec.body, first, gates)
  const items: unknown[] = []
  let firstItem: unknown
  calls.forEach((call, i) => {
    if (!fuzzed(call)) {
      items.push(honestItem(call))
      return
    }
    if (spec.drop[i % spec.drop.length]) return
    const item = spec.items[i % spec.items.length]!
    const value = itemValue(item, call, gates, true)
    // A non-JSON item in an array is sent as a string (the closest JSON can get).
    const sent = value === undefined ? Buffer.from(bodyText(item, call, gates)).toString() : value
    if (call === first) firstItem = sent
    items.push(sent)
  })
  // A duplicate is a second answer for an id the batch already answers; without the first
  // (dropped, or not an answer with that id) it would just be the answer.
  const answered = (firstItem as { id?: unknown } | undefined)?.id === first.id
  if (spec.duplicate && answered) {
    const value = itemValue(spec.duplicate, first, gates, true)
    if (value !== undefined) items.push(value)
  }
  if (spec.order === 'reverse') items.reverse()
  if (spec.order === 'rotate' && items.length > 1) items.push(items.shift())
  items.push(...spec.extra)
  return Buffer.from(JSON.stringify(items))
}

/** Which calls of a request get the fuzzed reply; the others (in a batch) get honest items. */
export type Fuzzed = (call: Call) => boolean

/** Bytes, status and framing for `reply` to `calls`; `maxBytes` is the sources' maxResponseBytes. */
export function render(
  reply: Reply,
  calls: Call | Call[],
  maxBytes: number,
  gates: Gates,
  fuzzed: Fuzzed = () => true,
): Rendered {
  const w = reply.wrapper
  let body = Array.isArray(calls)
    ? batchText(reply.batch, calls, gates, fuzzed)
    : bodyText(reply.single, calls, gates)
  if (w.oversize !== 'no') {
    const padded = new Uint8Array(maxBytes + 1 + (body.length % 7))
    padded.fill(0x20)
    padded.set(body.subarray(0, Math.min(body.length, maxBytes)))
    body = padded
  }
  const headers: Record<string, string> = {}
  if (w.contentType !== undefined) headers['content-type'] = w.contentType
  if (w.retryAfter !== undefined && w.status === 429) headers['retry-after'] = w.retryAfter
  const framing: Framing =
    w.oversize === 'declared'
      ? { kind: 'length' }
      : w.oversize === 'streamed'
        ? { kind: 'chunked' }
        : w.framing
  return { status: w.status, headers, body, framing, delay: w.delay }
}

/** A 200 JSON reply carrying `value` as it is. */
export function jsonReply(value: unknown): Rendered {
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(value)),
    framing: { kind: 'length' },
    delay: 0,
  }
}

/** An honest answer to `calls`; batches are answered in reverse order (valid, and a test of it). */
export function honest(calls: Call | Call[]): Rendered {
  return jsonReply(Array.isArray(calls) ? calls.map(honestItem).reverse() : honestItem(calls))
}

/** Answers each call with `result(call)` under the right id (honest results by default). */
export function answering(result: (call: Call) => unknown): (calls: Call | Call[]) => Rendered {
  const item = (c: Call) => {
    const r = result(c)
    return {
      jsonrpc: '2.0',
      id: c.id,
      result: r === undefined ? honestResult(c.method, c.params) : r,
    }
  }
  return (calls) => jsonReply(Array.isArray(calls) ? calls.map(item) : item(calls))
}

// ---------------------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------------------

export type Verdict = { ok: true; result: unknown } | { ok: false }

/**
 * Whether `rendered` is, by the JSON-RPC and HTTP specs, a well-formed answer to each call:
 * a complete 2xx JSON (not HTML) body within `maxBytes`, with exactly one object whose `id`
 * equals the call's, with a `result` and no `error` member; a batch's answer has no more items
 * than the batch had calls (the spec's one response per call).
 */
export function verdicts(rendered: Rendered, calls: Call | Call[], maxBytes: number): Verdict[] {
  const list = Array.isArray(calls) ? calls : [calls]
  const none = list.map((): Verdict => ({ ok: false }))
  const { status, body, framing, headers } = rendered
  if (framing.kind !== 'length' && framing.kind !== 'chunked') return none
  if (status < 200 || status > 299 || status === 204 || status === 205) return none
  if ((headers['content-type'] ?? '').includes('html')) return none
  if (body.length > maxBytes) return none
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder().decode(body))
  } catch {
    return none
  }
  const answer = (item: unknown, call: Call): Verdict => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return { ok: false }
    const o = item as Record<string, unknown>
    if (o.id !== call.id || 'error' in o || !('result' in o)) return { ok: false }
    return { ok: true, result: o.result }
  }
  if (!Array.isArray(calls)) return [answer(parsed, calls)]
  if (!Array.isArray(parsed) || parsed.length > list.length) return none
  return list.map((call) => {
    const mine = parsed.filter(
      (item) =>
        typeof item === 'object' && item !== null && (item as { id?: unknown }).id === call.id,
    )
    return mine.length === 1 ? answer(mine[0], call) : { ok: false }
  })
}
