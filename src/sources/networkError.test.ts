import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { describe, it } from 'vitest'
import { jsonRpc } from './jsonRpc.ts'
import { closeError, errorCode, networkErrors } from './networkError.ts'
import { scrubberFor } from './secrets.ts'

const URL_WITH_KEY = 'https://rpc.example.io/v3/TOPSECRETKEY42'
const { fail } = jsonRpc('s', scrubberFor(URL_WITH_KEY))
const classify = networkErrors(fail, 'rpc.example.io', 500)
const fired = { aborted: true }
const quiet = { aborted: false }

/** undici's shape: `TypeError: fetch failed` with the system error as its `cause`. */
const undici = (code: string, message = `${code} ${URL_WITH_KEY}`) =>
  new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code }) })
const domException = (name: string) => new DOMException('signal', name)

const shown = (e: { kind: string; reason: string }) => ({ kind: e.kind, reason: e.reason })

describe('networkErrors: a thrown fetch error, classified', () => {
  const cases: [
    string,
    unknown,
    typeof fired | undefined,
    typeof fired | undefined,
    string,
    string,
  ][] = [
    // The signals say who ended the attempt, whatever was thrown (a caller may abort with any reason).
    [
      'the caller cancelled',
      domException('AbortError'),
      fired,
      quiet,
      'aborted',
      'attempt cancelled',
    ],
    [
      'the caller cancelled with its own TimeoutError',
      domException('TimeoutError'),
      fired,
      quiet,
      'aborted',
      'attempt cancelled',
    ],
    [
      'both fired: the caller first',
      domException('TimeoutError'),
      fired,
      fired,
      'aborted',
      'attempt cancelled',
    ],
    [
      'our time limit ran out',
      domException('TimeoutError'),
      quiet,
      fired,
      'timeout',
      'no answer within 500 ms',
    ],
    [
      'our time limit, with an undici error thrown',
      undici('UND_ERR_SOCKET'),
      undefined,
      fired,
      'timeout',
      'no answer within 500 ms',
    ],
    // An abort that no signal of ours explains is the network's (a custom fetch gave up).
    [
      'an AbortError no signal explains',
      domException('AbortError'),
      quiet,
      quiet,
      'network',
      'network error',
    ],
    [
      'a TimeoutError no signal explains',
      domException('TimeoutError'),
      undefined,
      undefined,
      'network',
      'network error',
    ],
    // Codes, on the error or down its cause chain.
    ['refused', undici('ECONNREFUSED'), quiet, quiet, 'refused', 'connection refused'],
    [
      'refused on every address (happy eyeballs: an AggregateError with a code)',
      new TypeError('fetch failed', {
        cause: Object.assign(new AggregateError([undici('ECONNREFUSED')]), {
          code: 'ECONNREFUSED',
        }),
      }),
      undefined,
      undefined,
      'refused',
      'connection refused',
    ],
    [
      'no such host',
      undici('ENOTFOUND'),
      quiet,
      quiet,
      'dns',
      'DNS lookup failed for rpc.example.io (ENOTFOUND)',
    ],
    [
      'DNS unavailable',
      undici('EAI_AGAIN'),
      quiet,
      quiet,
      'dns',
      'DNS lookup failed for rpc.example.io (EAI_AGAIN)',
    ],
    ['reset', undici('ECONNRESET'), quiet, quiet, 'network', 'network error (ECONNRESET)'],
    [
      'the other side closed',
      undici('UND_ERR_SOCKET'),
      quiet,
      quiet,
      'network',
      'network error (UND_ERR_SOCKET)',
    ],
    [
      'undici connect timeout',
      undici('UND_ERR_CONNECT_TIMEOUT'),
      quiet,
      quiet,
      'network',
      'network error (UND_ERR_CONNECT_TIMEOUT)',
    ],
    [
      'undici headers timeout',
      undici('UND_ERR_HEADERS_TIMEOUT'),
      quiet,
      quiet,
      'network',
      'network error (UND_ERR_HEADERS_TIMEOUT)',
    ],
    [
      'a host unreachable',
      undici('EHOSTUNREACH'),
      quiet,
      quiet,
      'network',
      'network error (EHOSTUNREACH)',
    ],
    [
      'TLS: expired certificate',
      undici('CERT_HAS_EXPIRED'),
      quiet,
      quiet,
      'network',
      'network error (CERT_HAS_EXPIRED)',
    ],
    [
      'TLS: self-signed',
      undici('DEPTH_ZERO_SELF_SIGNED_CERT'),
      quiet,
      quiet,
      'network',
      'network error (DEPTH_ZERO_SELF_SIGNED_CERT)',
    ],
    [
      'TLS: wrong host',
      undici('ERR_TLS_CERT_ALTNAME_INVALID'),
      quiet,
      quiet,
      'network',
      'network error (ERR_TLS_CERT_ALTNAME_INVALID)',
    ],
    [
      'a code on the error itself',
      Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
      quiet,
      quiet,
      'refused',
      'connection refused',
    ],
    [
      'a plain object with a code (ws)',
      { code: 'ENOTFOUND' },
      undefined,
      undefined,
      'dns',
      'DNS lookup failed for rpc.example.io (ENOTFOUND)',
    ],
    [
      'a numeric code is no system code',
      Object.assign(new Error('x'), { code: 1006 }),
      quiet,
      quiet,
      'network',
      'network error',
    ],
    // Browsers say nothing more than "it failed".
    ['Chrome', new TypeError('Failed to fetch'), quiet, quiet, 'network', 'network error'],
    [
      'Firefox',
      new TypeError('NetworkError when attempting to fetch resource.'),
      quiet,
      quiet,
      'network',
      'network error',
    ],
    ['Safari', new TypeError('Load failed'), quiet, quiet, 'network', 'network error'],
    ['a string thrown', 'boom', undefined, undefined, 'network', 'network error'],
    ['nothing thrown', undefined, undefined, undefined, 'network', 'network error'],
  ]
  for (const [what, error, cancelled, timer, kind, reason] of cases)
    it(what, () => assert.deepEqual(shown(classify(error, cancelled, timer)), { kind, reason }))

  it('never repeats the error text (a custom fetch may put the URL and key in it), nor keeps it as cause', () => {
    const e = classify(undici('ECONNRESET', `reset by ${URL_WITH_KEY}`))
    assert.doesNotMatch(`${e.message} ${JSON.stringify(e)}`, /TOPSECRETKEY42|rpc\.example\.io\/v3/)
    assert.equal(e.cause, undefined)
  })

  it('a WebSocket source names a failed connection its own way', () => {
    const ws = networkErrors(fail, 'h', 1, 'could not connect')
    assert.deepEqual(shown(ws({ code: 'ECONNRESET' })), {
      kind: 'network',
      reason: 'could not connect (ECONNRESET)',
    })
    assert.deepEqual(shown(ws(undefined)), { kind: 'network', reason: 'could not connect' })
    assert.deepEqual(shown(ws({ code: 'ECONNREFUSED' })), {
      kind: 'refused',
      reason: 'connection refused',
    })
  })

  it('reads codes down the cause chain, five deep at most', () => {
    const nested = (depth: number) => {
      let e: unknown = Object.assign(new Error('root'), { code: 'ECONNRESET' })
      for (let i = 1; i < depth; i++) e = new Error(`level ${i}`, { cause: e })
      return e
    }
    assert.equal(errorCode(nested(5)), 'ECONNRESET')
    assert.equal(errorCode(nested(6)), undefined)
  })

  it("matches what this platform's fetch really throws", async () => {
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as { port: number }
    await new Promise((r) => server.close(r)) // the port is free: connecting is refused
    const thrown = async (url: string) =>
      fetch(url).then(
        () => assert.fail('answered'),
        (e) => e,
      )
    assert.equal(classify(await thrown(`http://127.0.0.1:${port}/`)).kind, 'refused')
    // The fetch standard's blocked ports fail before any connection, with no code.
    assert.deepEqual(shown(classify(await thrown('http://127.0.0.1:1/'))), {
      kind: 'network',
      reason: 'network error',
    })
  })
})

describe('closeError: a WebSocket closed', () => {
  const cases: [string, { code: number; reason: string; wasClean: boolean }, boolean, string][] = [
    [
      'in the handshake',
      { code: 1006, reason: '', wasClean: false },
      true,
      'closed during the handshake (code 1006)',
    ],
    [
      'in the handshake, with a reason',
      { code: 4001, reason: 'bad key', wasClean: true },
      true,
      'closed during the handshake (code 4001: bad key)',
    ],
    [
      'once open, without a close frame',
      { code: 1006, reason: '', wasClean: false },
      false,
      'connection lost (code 1006, no close frame)',
    ],
    [
      'once open, closed cleanly',
      { code: 1000, reason: 'bye', wasClean: true },
      false,
      'connection lost (code 1000: bye)',
    ],
    [
      'once open, the server going away',
      { code: 1001, reason: '', wasClean: true },
      false,
      'connection lost (code 1001)',
    ],
    [
      'a reason that echoes the key, scrubbed',
      { code: 4001, reason: 'bad key TOPSECRETKEY42', wasClean: true },
      false,
      'connection lost (code 4001: bad key …)',
    ],
  ]
  for (const [what, event, handshake, reason] of cases)
    it(what, () =>
      assert.deepEqual(shown(closeError(fail, event, handshake)), { kind: 'network', reason }),
    )
})
