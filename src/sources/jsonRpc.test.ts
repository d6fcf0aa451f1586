import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { RpcResponseError, SourceError } from '../shared/errors.ts'
import { splitBatch } from './batch.ts'
import { incoming, jsonRpc, showId } from './jsonRpc.ts'
import { scrubberFor } from './secrets.ts'

const KEY = 'TOPSECRETKEY42'
const rpc = jsonRpc('s', scrubberFor(`https://rpc.example.io/v3/${KEY}`))
const deep = JSON.parse(`{"id":${'['.repeat(200_000)}1${']'.repeat(200_000)}}`).id as unknown

/** What a call's outcome was: its result, or the error's class, kind, message (and code). */
function outcome(fn: () => unknown): unknown {
  try {
    return { result: fn() }
  } catch (e) {
    assert.ok(e instanceof SourceError, `threw ${e}`)
    const code = e instanceof RpcResponseError ? { code: e.code, data: e.data } : {}
    return { [e.constructor.name]: e.kind, reason: e.reason, ...code }
  }
}
const body = (reason: string) => ({ SourceError: 'body', reason })
const node = (code: number, reason: string, data?: unknown) => ({
  RpcResponseError: 'rpc',
  reason,
  code,
  data,
})

describe('resultOf: one response to call 5', () => {
  const cases: [string, unknown, unknown][] = [
    ['a result', { jsonrpc: '2.0', id: 5, result: '0x1' }, { result: '0x1' }],
    ['a null result', { jsonrpc: '2.0', id: 5, result: null }, { result: null }],
    ['no jsonrpc member (lenient)', { id: 5, result: 1 }, { result: 1 }],
    ['jsonrpc "1.0" (lenient)', { jsonrpc: '1.0', id: 5, result: 1 }, { result: 1 }],
    ['null', null, body('response is not a JSON-RPC object')],
    ['a number', 5, body('response is not a JSON-RPC object')],
    ['a string', '{"id":5}', body('response is not a JSON-RPC object')],
    ['an array', [{ id: 5, result: 1 }], body('response is not a JSON-RPC object')],
    ['no id', { result: 1 }, body('response id undefined does not match 5')],
    ['another id', { id: 6, result: 1 }, body('response id 6 does not match 5')],
    ['the id as a string', { id: '5', result: 1 }, body('response id "5" does not match 5')],
    [
      'id null without an error',
      { id: null, result: 1 },
      body('response id null does not match 5'),
    ],
    ['an object id', { id: { a: 1 }, result: 1 }, body('response id {…} does not match 5')],
    [
      'an id nested 200,000 deep',
      { id: deep, result: 1 },
      body('response id […] does not match 5'),
    ],
    [
      'a long string id, cut',
      { id: 'x'.repeat(1_000), result: 1 },
      body(`response id "${'x'.repeat(39)} does not match 5`),
    ],
    ['neither result nor error', { id: 5 }, body('response has neither result nor error')],
    [
      'an error',
      { id: 5, error: { code: 3, message: 'execution reverted', data: '0x08c379a0' } },
      node(3, 'JSON-RPC error 3: execution reverted', '0x08c379a0'),
    ],
    [
      'an error beside a null result: the error wins',
      { id: 5, result: null, error: { code: -32000, message: 'header not found' } },
      node(-32000, 'JSON-RPC error -32000: header not found'),
    ],
    [
      'an error beside a result: the error wins',
      { id: 5, result: '0x1', error: { code: -32000, message: 'no' } },
      node(-32000, 'JSON-RPC error -32000: no'),
    ],
    [
      'id null with an error: the node could not read the call',
      { id: null, error: { code: -32700, message: 'parse error' } },
      node(-32700, 'JSON-RPC error -32700: parse error'),
    ],
    ['error null', { id: 5, error: null }, body('malformed JSON-RPC error object (not an object)')],
    [
      'error a string',
      { id: 5, error: 'boom' },
      body('malformed JSON-RPC error object (not an object)'),
    ],
    [
      'error an array',
      { id: 5, error: [] },
      body('malformed JSON-RPC error object (not an object)'),
    ],
    [
      'error code a string',
      { id: 5, error: { code: '3', message: 'x' } },
      body('malformed JSON-RPC error object (code must be a number)'),
    ],
    [
      'error without a code',
      { id: 5, error: { message: 'x' } },
      body('malformed JSON-RPC error object (code must be a number)'),
    ],
    [
      'error without a message',
      { id: 5, error: { code: 3 } },
      body('malformed JSON-RPC error object (message must be a string)'),
    ],
    [
      'error message not a string',
      { id: 5, error: { code: 3, message: { text: 'x' } } },
      body('malformed JSON-RPC error object (message must be a string)'),
    ],
    [
      'id null with a malformed error',
      { id: null, error: { code: 'x' } },
      body('malformed JSON-RPC error object (code must be a number)'),
    ],
  ]
  for (const [what, response, expected] of cases)
    it(what, () =>
      assert.deepEqual(
        outcome(() => rpc.resultOf(response, 5)),
        expected,
      ),
    )

  it('scrubs what the node echoes: message, data (keys too) and a shown id', () => {
    const error = { code: -32000, message: `bad key ${KEY}`, data: { [KEY]: [`k ${KEY}`] } }
    assert.deepEqual(
      outcome(() => rpc.resultOf({ id: 5, error }, 5)),
      node(-32000, 'JSON-RPC error -32000: bad key …', { '…': ['k …'] }),
    )
    assert.deepEqual(
      outcome(() => rpc.resultOf({ id: KEY, result: 1 }, 5)),
      body('response id "…" does not match 5'),
    )
  })

  it("a node's message on one line, controls shown as \\uXXXX, cut after the scrub", () => {
    const forged = `boom\n- aws answered 0x1\u001b[2J\u202e ${KEY}`
    assert.deepEqual(
      outcome(() => rpc.resultOf({ id: 5, error: { code: 3, message: forged } }, 5)),
      node(3, 'JSON-RPC error 3: boom\\u000a- aws answered 0x1\\u001b[2J\\u202e …'),
    )
    // The key is scrubbed whole before the cut: a cut inside it could keep what no longer matches.
    const long = `${'word '.repeat(58)}${KEY}${'A'.repeat(2_000_000)}`
    const { reason } = outcome(() =>
      rpc.resultOf({ id: 5, error: { code: -32000, message: long } }, 5),
    ) as { reason: string }
    assert.ok(reason.length <= 320 && !reason.includes(KEY.slice(0, 8)), reason.slice(-40))
    assert.ok(reason.endsWith('word …AAA…'), reason.slice(-40))
    // A close reason or a shown id is made plain too (`fail`).
    assert.equal(
      rpc.fail('network', 'lost (code 1000: a\u2066b\n)').reason,
      'lost (code 1000: a\\u2066b\\u000a)',
    )
  })
})

describe('splitBatch: the answer to calls 1, 2 and 3', () => {
  const calls = [{ id: 1 }, { id: 2 }, { id: 3 }]
  const ok = (id: unknown, result: unknown = `r${id}`) => ({ jsonrpc: '2.0', id, result })
  const refused = { code: -32700, message: 'parse error' }
  const shown = (items: unknown[]) =>
    items.map((item) =>
      item instanceof SourceError
        ? outcome(() => {
            throw item
          })
        : { item },
    )
  const cases: [string, unknown, unknown[]][] = [
    ['in order', [ok(1), ok(2), ok(3)], [{ item: ok(1) }, { item: ok(2) }, { item: ok(3) }]],
    ['in any order', [ok(3), ok(1), ok(2)], [{ item: ok(1) }, { item: ok(2) }, { item: ok(3) }]],
    [
      'a whole batch refused with one error object',
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'batches disabled' } },
      Array(3).fill(node(-32600, 'JSON-RPC error -32600: batches disabled')),
    ],
    [
      'an object without error',
      { id: 1, result: 1 },
      Array(3).fill(body('batch answered with a non-array')),
    ],
    ['null', null, Array(3).fill(body('batch answered with a non-array'))],
    ['a string', 'oops', Array(3).fill(body('batch answered with a non-array'))],
    [
      'an id answered twice counts for neither',
      [ok(1), ok(2), ok(2, 'other')],
      [{ item: ok(1) }, body('batch answers id 2 twice'), body('batch answer lacks id 3')],
    ],
    [
      'a missing answer',
      [ok(1), ok(2)],
      [{ item: ok(1) }, { item: ok(2) }, body('batch answer lacks id 3')],
    ],
    [
      'junk elements and unknown ids are ignored',
      [null, ok(9), ok(1)],
      [{ item: ok(1) }, body('batch answer lacks id 2'), body('batch answer lacks id 3')],
    ],
    [
      'more answers than calls fail them all (a flood of them is no work)',
      [ok(1), ok(2), ok(3), ok(1)],
      Array(3).fill(body('batch answered 4 times to 3 calls')),
    ],
    [
      'id null with one call unanswered: that call gets the error',
      [ok(1), { id: null, error: refused }, ok(3)],
      [{ item: ok(1) }, node(-32700, 'JSON-RPC error -32700: parse error'), { item: ok(3) }],
    ],
    [
      'id null with two calls unanswered: each failure quotes it',
      [ok(1), { id: null, error: refused }],
      [
        { item: ok(1) },
        body(
          'batch answer lacks id 2; a call it could not read got JSON-RPC error -32700: parse error',
        ),
        body(
          'batch answer lacks id 3; a call it could not read got JSON-RPC error -32700: parse error',
        ),
      ],
    ],
    [
      'id null with a malformed error, two calls unanswered',
      [ok(1), { id: null, error: 'nope' }],
      [
        { item: ok(1) },
        body(
          'batch answer lacks id 2; a call it could not read got malformed JSON-RPC error object (not an object)',
        ),
        body(
          'batch answer lacks id 3; a call it could not read got malformed JSON-RPC error object (not an object)',
        ),
      ],
    ],
    [
      'an element with a nested id is no one’s',
      [ok(deep, 'r'), ok(1), ok(2)],
      [{ item: ok(1) }, { item: ok(2) }, body('batch answer lacks id 3')],
    ],
  ]
  for (const [what, answer, expected] of cases)
    it(what, () => assert.deepEqual(shown(splitBatch(rpc, answer, calls)), expected))

  it('a refused batch gives each call its own error', () => {
    const [a, b] = splitBatch(rpc, { error: refused }, calls)
    assert.ok(a instanceof RpcResponseError && b instanceof RpcResponseError && a !== b)
  })
})

describe('incoming: one message a socket delivered', () => {
  const cases: [string, unknown, unknown][] = [
    ['null', null, { kind: 'invalid' }],
    ['a number', 7, { kind: 'invalid' }],
    ['a string', 'x', { kind: 'invalid' }],
    ['an answer', { id: 3, result: 1 }, { kind: 'answer', id: 3 }],
    ['an error', { id: 3, error: {} }, { kind: 'answer', id: 3 }],
    ['an array: an answer to no one', [], { kind: 'answer', id: undefined }],
    [
      'id null with an error',
      { id: null, error: { code: 1 } },
      { kind: 'unread', error: { code: 1 } },
    ],
    ['id null without an error', { id: null, result: 1 }, { kind: 'answer', id: null }],
    [
      'a notification',
      { method: 'eth_subscription', params: { subscription: '0xa', result: { n: 1 } } },
      { kind: 'notification', subscription: '0xa', result: { n: 1 } },
    ],
    [
      'a notification with a null result',
      { method: 'eth_subscription', params: { subscription: '0xa', result: null } },
      { kind: 'notification', subscription: '0xa', result: null },
    ],
    [
      'a numeric subscription id, as a string',
      { method: 'eth_subscription', params: { subscription: 10, result: 1 } },
      { kind: 'notification', subscription: '10', result: 1 },
    ],
    [
      'a notification without result',
      { method: 'eth_subscription', params: { subscription: '0xa' } },
      { kind: 'ignored' },
    ],
    ['a notification without params', { method: 'eth_subscription' }, { kind: 'ignored' }],
    ['params a number', { method: 'eth_subscription', params: 5 }, { kind: 'ignored' }],
    [
      'a subscription id nested 200,000 deep',
      { method: 'eth_subscription', params: { subscription: deep, result: 1 } },
      { kind: 'ignored' },
    ],
  ]
  for (const [what, message, expected] of cases)
    it(what, () => assert.deepEqual(incoming(message), expected))
})

describe('showId', () => {
  it('shows scalars as JSON, cut at 40 characters, and other values by their shape', () => {
    assert.equal(showId(7), '7')
    assert.equal(showId('7'), '"7"')
    assert.equal(showId(null), 'null')
    assert.equal(showId(undefined), 'undefined')
    assert.equal(showId(true), 'true')
    assert.equal(showId([1]), '[…]')
    assert.equal(showId({}), '{…}')
    assert.equal(showId('y'.repeat(100)).length, 40)
  })
})
