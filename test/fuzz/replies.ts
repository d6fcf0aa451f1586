/**
 * What a malformed source answers, as data fast-check can generate and shrink, and how that
 * data becomes bytes on the wire for a given JSON-RPC call. `verdict` says, from the JSON-RPC
 * spec alone, whether those bytes are a well-formed answer to the call and what its `result` is.
 */
import fc from 'fast-check'
import { honestResult } from './chain.ts'
import type { Call, Framing, Rendered } from './server.ts'

// ---------------------------------------------------------------------------------------------
// Specs
// ---------------------------------------------------------------------------------------------

/** How the `id` member relates to the call's id. */
export type IdSpec =
  | { kind: 'same' }
  | { kind: 'offset'; by: number }
  | { kind: 'string' }
  | { kind: 'missing' }
  | { kind: 'null' }
  | { kind: 'fraction' }

/** A way to spoil a valid value: bad hex, wrong type, a field broken or removed. */
export type How =
  | 'noPrefix'
  | 'leadingZero'
  | 'badChar'
  | 'oddLength'
  | 'empty'
  | 'bare0x'
  | 'number'
  | 'bigNumber'
  | 'null'
  | 'array'
  | 'object'
  | 'bool'
  | 'spaces'
  | 'negative'
  | 'upperPrefix'
  | 'huge'
  | 'deleteField'

/** Spoils the honest result: strings directly, objects (blocks, transactions) in one field or whole. */
export type Mutation = { how: How; pos: number; ch: string; n: number; field: number }

export type ResultSpec =
  | { kind: 'honest' }
  | { kind: 'mutated'; mutation: Mutation }
  | { kind: 'any'; value: unknown }

export type Envelope = {
  kind: 'envelope'
  id: IdSpec
  /** `undefined`: no `jsonrpc` member. */
  jsonrpc: unknown
  result: ResultSpec | undefined
  /** Absent when `undefined`; `null` and every other JSON value are sent as they are. */
  error: unknown
}

/** A body for a single call (or, in a batch, one item when it is JSON). */
export type BodySpec =
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'html' }
  | { kind: 'empty' }
  | { kind: 'json'; value: unknown }
  | Envelope

/** A body for a batch of calls. */
export type BatchSpec =
  | { kind: 'nonArray'; body: BodySpec }
  | {
      kind: 'array'
      /** One item per call (cycled). */
      items: BodySpec[]
      order: 'same' | 'reverse' | 'rotate'
      /** Calls whose item is left out (cycled). */
      drop: boolean[]
      /** A second item with the same id as the first call's. */
      duplicate: BodySpec | undefined
      /** Items that answer no call. */
      extra: unknown[]
    }

/** The HTTP around a body. */
export type Wrapper = {
  status: number
  contentType: string | undefined
  retryAfter: string | undefined
  framing: Framing
  /** Pads the body with spaces to more than maxResponseBytes. */
  oversize: 'no' | 'declared' | 'streamed'
  delay: number
}

export type Reply = { wrapper: Wrapper; single: BodySpec; batch: BatchSpec }

/**
 * Inputs that reach a bug found by this fuzzing. The main properties leave them out (so that
 * they stay green and keep guarding everything else); each has a `todo` test that reproduces it.
 */
export type Gates = {
  /** Head polls: a block with a broken (or missing) header field still sets the head. */
  headShape: boolean
  /** Verified answers: a broken field that the hash does not cover (tx `from`, block `size`). */
  unhashedFields: boolean
  /** Verified answers: hashed quantity fields with leading zeros hash the same and pass. */
  leadingZeroFields: boolean
  /** Quantities over 256 bits and `0X` prefixes pass the shape checks. */
  hexEdges: boolean
  /** A batch answer with two items for one id: the last one is taken. */
  duplicateIds: boolean
  /** A transaction whose `hash` is not a string crashes the engine's check. */
  txHashType: boolean
}

export const NO_GATES: Gates = {
  headShape: false,
  unhashedFields: false,
  leadingZeroFields: false,
  hexEdges: false,
  duplicateIds: false,
  txHashType: false,
}

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

const KNOWN =
  /already known|known transaction|already imported|already exists|alreadyknown|already in (the )?(mem)?pool|tx already/i

/** Error messages that are not answers in themselves (a revert) nor "already known". */
const message = fc.oneof(
  fc.constantFrom('internal error', 'header not found', 'limit exceeded', 'missing trie node'),
  fc.string({ maxLength: 40 }).filter((m) => !/revert/i.test(m) && !KNOWN.test(m)),
)
/** Codes other than the deterministic ones (3, -32602) that make an error an agreed answer. */
const code = fc
  .oneof(
    fc.constantFrom(-32603, -32000, -32005, -32601, -32700, -32600, 4001, 0),
    fc.integer({ min: -40_000, max: 40_000 }),
    fc.double({ noNaN: true }),
  )
  .filter((c) => c !== 3 && c !== -32602)

/** Every shape of `error` member, well-formed or not; never an answer every node would agree on. */
export const errorMember = fc.oneof(
  fc.record({ code, message }),
  fc.record({ code, message, data: fc.jsonValue({ maxDepth: 1 }) }),
  fc.record(
    {
      code: fc.oneof(code, fc.string({ maxLength: 6 }), fc.constant(null), fc.boolean()),
      message: fc.oneof(message, fc.integer(), fc.constant(null), fc.constant(['x'])),
    },
    { requiredKeys: [] },
  ),
  fc.constant(null),
  fc.string({ maxLength: 10 }),
  fc.integer(),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 2 }),
)

const hows = (gates: Gates): How[] => [
  'noPrefix',
  'leadingZero',
  'badChar',
  'oddLength',
  'empty',
  'bare0x',
  'number',
  'bigNumber',
  'null',
  'array',
  'object',
  'bool',
  'spaces',
  'negative',
  'deleteField',
  ...(gates.hexEdges ? (['upperPrefix', 'huge'] as const) : []),
]

export const mutation = (gates: Gates): fc.Arbitrary<Mutation> =>
  fc.record({
    how: fc.constantFrom(...hows(gates)),
    pos: fc.nat({ max: 80 }),
    ch: fc.constantFrom('g', 'z', 'G', ' ', '-', '.', 'x', '\u00e9', '\u0000'),
    n: fc.integer({ min: 1, max: 200 }),
    field: fc.integer({ min: -1, max: 40 }),
  })

const idSpec: fc.Arbitrary<IdSpec> = fc.oneof(
  fc.record({ kind: fc.constant('offset' as const), by: fc.integer({ min: -3, max: 3 }) }),
  fc.constantFrom<IdSpec>(
    { kind: 'string' },
    { kind: 'missing' },
    { kind: 'null' },
    { kind: 'fraction' },
  ),
)
const wrongId = idSpec.filter((s) => !(s.kind === 'offset' && s.by === 0))
const jsonrpc = fc.oneof(
  { weight: 6, arbitrary: fc.constant('2.0') },
  fc.constantFrom(undefined, '1.0', 2, null),
)

/**
 * A single-call body. `valid` adds well-formed answers (the honest result, or any value, under
 * the right id); without it, every body is malformed or a failure, never an answer.
 */
export const body = (gates: Gates, valid = false): fc.Arbitrary<BodySpec> => {
  const env = (
    id: fc.Arbitrary<IdSpec>,
    result: fc.Arbitrary<ResultSpec | undefined>,
    error = false,
  ) =>
    fc.record({
      kind: fc.constant('envelope' as const),
      id,
      jsonrpc,
      result,
      error: error ? errorMember : fc.constant(undefined),
    })
  const same = fc.constant<IdSpec>({ kind: 'same' })
  const mutated = mutation(gates).map((m): ResultSpec => ({ kind: 'mutated', mutation: m }))
  const honest = fc.constant<ResultSpec>({ kind: 'honest' })
  const any = fc.jsonValue({ maxDepth: 2 }).map((value): ResultSpec => ({ kind: 'any', value }))
  const bodies: fc.Arbitrary<BodySpec>[] = [
    fc.string({ maxLength: 60 }).map((text) => ({ kind: 'text' as const, text })),
    fc
      .constantFrom('{', '{"jsonrpc":"2.0","id":', '[', '{"result":"0x1"', 'null,', '"0x1')
      .map((text) => ({ kind: 'text' as const, text })),
    fc
      .uint8Array({ minLength: 1, maxLength: 64 })
      .map((bytes) => ({ kind: 'bytes' as const, bytes })),
    fc.constant({ kind: 'html' as const }),
    fc.constant({ kind: 'empty' as const }),
    fc.jsonValue({ maxDepth: 2 }).map((value) => ({ kind: 'json' as const, value })),
    // Right id, result spoiled.
    env(same, mutated),
    // Right id, neither result nor error; or an error (of any shape), with or without a result.
    env(same, fc.constant(undefined)),
    env(same, fc.option(honest, { nil: undefined }), true),
    // Wrong id: whatever it carries, it answers another call.
    env(wrongId, fc.oneof(honest, mutated, any)),
    env(wrongId, fc.constant(undefined), true),
  ]
  if (valid) bodies.push(env(same, honest), env(same, honest), env(same, any))
  return fc.oneof(...bodies)
}

const batch = (gates: Gates, valid = false): fc.Arbitrary<BatchSpec> =>
  fc.oneof(
    {
      weight: 1,
      arbitrary: body(gates, valid).map((b) => ({ kind: 'nonArray' as const, body: b })),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('array' as const),
        items: fc.array(body(gates, valid), { minLength: 1, maxLength: 3 }),
        order: fc.constantFrom('same' as const, 'reverse' as const, 'rotate' as const),
        drop: fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }),
        // A duplicate next to a valid item reaches the "last one wins" bug.
        duplicate:
          gates.duplicateIds || !valid
            ? fc.option(body(gates, gates.duplicateIds), { nil: undefined })
            : fc.constant(undefined),
        extra: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 2 }),
      }),
    },
  )

const STATUSES = [
  201, 202, 204, 301, 302, 304, 400, 401, 402, 403, 404, 408, 413, 429, 500, 502, 503, 504, 520,
]

/** `hang` weighs stalls and half-sent bodies (each costs a timeout) against 75 for the rest. */
export const wrapper = (valid = false, hang = 5): fc.Arbitrary<Wrapper> =>
  fc.record({
    status: fc.oneof({ weight: 20, arbitrary: fc.constant(200) }, fc.constantFrom(...STATUSES)),
    contentType: fc.oneof(
      { weight: 6, arbitrary: fc.constant('application/json') },
      fc.constantFrom(
        'application/json; charset=utf-8',
        'text/html; charset=utf-8',
        'text/plain',
        'application/octet-stream',
        undefined,
      ),
    ),
    retryAfter: fc.option(
      fc.constantFrom('0', '1', '-5', 'soon', 'Wed, 21 Oct 2015 07:28:00 GMT'),
      {
        nil: undefined,
      },
    ),
    framing: fc.oneof(
      { weight: 50, arbitrary: fc.constant<Framing>({ kind: 'length' }) },
      { weight: 15, arbitrary: fc.constant<Framing>({ kind: 'chunked' }) },
      {
        weight: 10,
        arbitrary: fc.nat({ max: 200 }).map((cut): Framing => ({ kind: 'destroy', cut })),
      },
      {
        weight: hang,
        arbitrary: fc.nat({ max: 200 }).map((cut): Framing => ({ kind: 'short', cut })),
      },
      { weight: hang, arbitrary: fc.constant<Framing>({ kind: 'stall' }) },
    ),
    oversize: fc.oneof(
      { weight: valid ? 12 : 8, arbitrary: fc.constant('no' as const) },
      fc.constantFrom('declared' as const, 'streamed' as const),
    ),
    delay: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 40 })),
  })

/** A whole reply; `valid` lets it be a well-formed answer (for the http source property). */
export const reply = (gates: Gates, { valid = false, hang = 5 } = {}): fc.Arbitrary<Reply> =>
  fc.record({
    wrapper: wrapper(valid, hang),
    single: body(gates, valid),
    batch: batch(gates, valid),
  })

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

type Kind = 'quantity' | 'data' | 'bytesN' | 'block' | 'tx'

const RESULT_KIND: Record<string, Kind> = {
  eth_chainId: 'quantity',
  eth_blockNumber: 'quantity',
  eth_getBalance: 'quantity',
  eth_gasPrice: 'quantity',
  eth_call: 'data',
  eth_sendRawTransaction: 'bytesN',
  eth_getBlockByNumber: 'block',
  eth_getBlockByHash: 'block',
  eth_getTransactionByHash: 'tx',
}

const HASHED_BLOCK = new Set([
  'hash',
  'parentHash',
  'sha3Uncles',
  'miner',
  'stateRoot',
  'transactionsRoot',
  'receiptsRoot',
  'logsBloom',
  'difficulty',
  'number',
  'gasLimit',
  'gasUsed',
  'timestamp',
  'extraData',
  'mixHash',
  'nonce',
  'baseFeePerGas',
  'withdrawalsRoot',
  'blobGasUsed',
  'excessBlobGas',
  'parentBeaconBlockRoot',
  'requestsHash',
])
/** The fields of the fixture's type-2 transaction that its hash covers. */
const HASHED_TX = new Set([
  'hash',
  'type',
  'chainId',
  'nonce',
  'maxPriorityFeePerGas',
  'maxFeePerGas',
  'gas',
  'to',
  'value',
  'input',
  'accessList',
  'yParity',
  'v',
  'r',
  's',
])
const OPTIONAL = new Set(['v', 'yParity', 'accessList'])
const NOT_STRING = new Set<How>([
  'number',
  'bigNumber',
  'null',
  'array',
  'object',
  'bool',
  'deleteField',
])
/** The kind of each non-quantity field of a block or transaction. */
const FIELD_KIND: Record<string, Kind> = {
  hash: 'bytesN',
  parentHash: 'bytesN',
  sha3Uncles: 'bytesN',
  miner: 'bytesN',
  stateRoot: 'bytesN',
  transactionsRoot: 'bytesN',
  receiptsRoot: 'bytesN',
  logsBloom: 'bytesN',
  mixHash: 'bytesN',
  nonce: 'bytesN', // a block's nonce is 8 bytes; a transaction's is a quantity (below)
  withdrawalsRoot: 'bytesN',
  parentBeaconBlockRoot: 'bytesN',
  requestsHash: 'bytesN',
  blockHash: 'bytesN',
  from: 'bytesN',
  to: 'bytesN',
  extraData: 'data',
  input: 'data',
}

/** A spoiled copy of a valid string of `kind`; never valid for that kind. */
function spoilString(value: string, kind: Kind, m: Mutation): unknown {
  const digits = value.slice(2)
  const at = 2 + (m.pos % (digits.length + 1))
  switch (m.how) {
    case 'noPrefix':
      return digits
    case 'leadingZero':
      return `0x0${digits}`
    case 'oddLength':
      return kind === 'quantity' ? `${value.slice(0, at)}${m.ch}${value.slice(at)}` : `${value}0`
    case 'empty':
    case 'deleteField':
      return ''
    case 'bare0x':
      return kind === 'data' ? '0x0' : '0x'
    case 'number':
      return Number.parseInt(value, 16) || m.n
    case 'bigNumber':
      return 1e30 * m.n
    case 'null':
      return kind === 'quantity' || kind === 'data' || kind === 'bytesN' ? null : true
    case 'array':
      return [value]
    case 'object':
      return { value }
    case 'bool':
      return m.n % 2 === 0
    case 'spaces':
      return ` ${value}`
    case 'negative':
      return `-${value}`
    case 'upperPrefix':
      return `0X${digits}`
    case 'huge':
      return kind === 'quantity' ? `0x${'f'.repeat(64 + m.n)}` : `${value}0`
    default:
      return `${value.slice(0, at)}${m.ch}${value.slice(at)}`
  }
}

function spoilObject(
  value: Record<string, unknown>,
  kind: 'block' | 'tx',
  m: Mutation,
  gates: Gates,
): unknown {
  const hashed = kind === 'block' ? HASHED_BLOCK : HASHED_TX
  const keys = Object.keys(value).filter((k) => gates.unhashedFields || hashed.has(k))
  if (m.field < 0 || keys.length === 0)
    return m.how === 'array'
      ? [value]
      : m.how === 'number'
        ? m.n
        : m.how === 'bool'
          ? true
          : `${JSON.stringify(value).slice(0, m.n)}`
  const key = keys[m.field % keys.length]!
  const out = { ...value }
  // Without v (or yParity, or an empty access list) a type-2 transaction is still well-formed.
  if (m.how === 'deleteField' && hashed.has(key) && !OPTIONAL.has(key)) {
    delete out[key]
    return out
  }
  const field = out[key]
  const fieldKind: Kind =
    kind === 'tx' && key === 'nonce' ? 'quantity' : (FIELD_KIND[key] ?? 'quantity')
  const how: How =
    (m.how === 'leadingZero' && fieldKind === 'quantity' && !gates.leadingZeroFields) ||
    (kind === 'tx' && key === 'hash' && !gates.txHashType && NOT_STRING.has(m.how))
      ? 'badChar'
      : m.how === 'null' || m.how === 'deleteField'
        ? 'bool'
        : m.how
  out[key] =
    typeof field === 'string'
      ? spoilString(field, fieldKind, { ...m, how })
      : m.n % 2
        ? 'garbage'
        : { field }
  return out
}

/** The honest result spoiled by `m`: guaranteed not to be a well-formed answer to `call`. */
export function spoil(call: Call, m: Mutation, gates: Gates): unknown {
  const honest = honestResult(call.method, call.params)
  const kind = RESULT_KIND[call.method]
  if (kind === undefined) return { spoiled: honest ?? null }
  if (kind === 'block' || kind === 'tx') {
    if (honest === null || typeof honest !== 'object') return m.n % 2 ? 'null' : []
    // The head tracker only checks a head's number and hash: spoil one of those (or the shape).
    if (call.method === 'eth_getBlockByNumber' && !gates.headShape) {
      const key = m.field % 2 ? 'hash' : 'number'
      if (m.field < 0) return spoilObject(honest as Record<string, unknown>, kind, m, gates)
      const out = { ...(honest as Record<string, unknown>) }
      const how = m.how === 'null' || m.how === 'deleteField' ? 'badChar' : m.how
      out[key] = spoilString(out[key] as string, key === 'hash' ? 'bytesN' : 'quantity', {
        ...m,
        how,
      })
      return out
    }
    return spoilObject(honest as Record<string, unknown>, kind, m, gates)
  }
  return spoilString(honest as string, kind, m)
}

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
  calls.forEach((call, i) => {
    if (!fuzzed(call)) {
      items.push(honestItem(call))
      return
    }
    if (spec.drop[i % spec.drop.length]) return
    const item = spec.items[i % spec.items.length]!
    const value = itemValue(item, call, gates, true)
    // A non-JSON item in an array is sent as a string (the closest JSON can get).
    items.push(value === undefined ? Buffer.from(bodyText(item, call, gates)).toString() : value)
  })
  if (spec.duplicate) {
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
 * equals the call's, with a `result` and no `error` member.
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
  if (!Array.isArray(parsed)) return none
  return list.map((call) => {
    const mine = parsed.filter(
      (item) =>
        typeof item === 'object' && item !== null && (item as { id?: unknown }).id === call.id,
    )
    return mine.length === 1 ? answer(mine[0], call) : { ok: false }
  })
}
