/**
 * What a malformed source answers, as data fast-check can generate and shrink. spoil.ts turns
 * a mutation into a bad value, render.ts a whole reply into bytes on the wire for a call.
 */
import fc from 'fast-check'
import { isNodeAnswer } from '../../src/core/nodeErrors.ts'
import { RpcResponseError } from '../../src/shared/errors.ts'
import type { Framing } from './server.ts'

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
 * Inputs that reached a bug found by this fuzzing; `true` includes them. While a bug is open its
 * gate is `false` (the properties stay green and keep guarding everything else) and a `todo`
 * test reproduces it; all seven found so far are fixed, so every gate is open.
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

/** Every input is generated: the bugs these gates once held back are fixed (see the regression tests). */
export const NO_GATES: Gates = {
  headShape: true,
  unhashedFields: true,
  leadingZeroFields: true,
  hexEdges: true,
  duplicateIds: true,
  txHashType: true,
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

/**
 * A well-formed error object that is no node's answer (nodeErrors.ts `isNodeAnswer`: one that
 * is, -32000 "abc", is a contradiction like a wrong result, not a malformed reply).
 */
const notAnAnswer = (e: { code: number; message: string }) =>
  !isNodeAnswer(new RpcResponseError('fuzz', e), 'eth_call')

/** Every shape of `error` member, well-formed or not; never an answer every node would agree on. */
export const errorMember = fc.oneof(
  fc.record({ code, message }).filter(notAnAnswer),
  fc.record({ code, message, data: fc.jsonValue({ maxDepth: 1 }) }).filter(notAnAnswer),
  fc
    .record(
      {
        code: fc.oneof(code, fc.string({ maxLength: 6 }), fc.constant(null), fc.boolean()),
        message: fc.oneof(message, fc.integer(), fc.constant(null), fc.constant(['x'])),
      },
      { requiredKeys: [] },
    )
    .filter(
      (e) =>
        typeof e.code !== 'number' ||
        typeof e.message !== 'string' ||
        notAnAnswer(e as { code: number; message: string }),
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
