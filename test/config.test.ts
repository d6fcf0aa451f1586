import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { ConfigError, createOutlast, http, webSocket } from '../src/index.ts'

const a = http('https://a.example/v3/SECRETKEY123', { name: 'a', domain: 'aws' })
const b = http('https://b.example/key/SECRETKEY456', { name: 'b', domain: 'gcp' })

const rejects = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof ConfigError && pattern.test(e.message))

describe('bad configuration fails at construction with a clear error', () => {
  it('no sources', () => {
    rejects(() => createOutlast({ chainId: 1, sources: [] }), /sources must be a non-empty array/)
    rejects(() => createOutlast({ chainId: 1 } as never), /sources must be a non-empty array/)
  })
  it('not a source', () => {
    rejects(
      () => createOutlast({ chainId: 1, sources: ['https://x'] as never }),
      /sources\[0\] is not a source/,
    )
  })
  it('invalid URL', () => {
    rejects(() => http('not a url'), /invalid URL/)
    rejects(() => http('ftp://example.com'), /must be http: or https:/)
  })
  it('bad source options name the source and the option', () => {
    rejects(() => http('https://x.example', { name: 'x', timeout: 0 }), /http\(x\): timeout/)
    rejects(() => http('https://x.example', { timeout: Number.NaN }), /timeout must be a number/)
    rejects(() => http('https://x.example', { timeout: Infinity }), /timeout must be a number/)
    rejects(() => http('https://x.example', { weight: -1 }), /weight must be > 0/)
    rejects(() => http('https://x.example', { name: '' }), /name must be a non-empty string/)
    rejects(() => http('https://x.example', { fetchFn: 5 as never }), /fetchFn/)
    rejects(() => webSocket('wss://x.example', { maxResponseBytes: 0 }), /maxResponseBytes/)
    rejects(() => webSocket('https://x.example'), /must be ws: or wss:/)
    rejects(() => http('https://x.example', { timeout: 3e9 }), /<= 2147483647/)
    rejects(
      () => http('https://x.example', { name: 'x', kind: 'p2p' as never }),
      /http\(x\): kind must be one of 'cloud', 'self-hosted', 'wallet', got "p2p"/,
    )
    rejects(() => webSocket('wss://x.example', { kind: 'cluod' as never }), /kind must be one of/)
    rejects(
      () => webSocket('wss://x.example', { heartbeat: { interval: Infinity } }),
      /heartbeat interval and timeout/,
    )
    rejects(
      () => webSocket('wss://x.example', { reconnect: { maxDelay: Infinity } }),
      /reconnect needs/,
    )
  })
  it('a fractional timeout is rounded up, not a crash at the first request', async () => {
    const fetchFn = (async () => Response.json({ jsonrpc: '2.0', id: 1, result: '0x1' })) as never
    const s = http('https://x.example', { timeout: 250.5, fetchFn })
    assert.equal(await s.request({ method: 'eth_chainId' }), '0x1')
  })
  it('prover: one or a list, each checked', () => {
    const p = {
      methods: new Set(['eth_getBalance']),
      stateMethods: new Set<string>(),
      answer: async () => undefined,
    }
    createOutlast({ chainId: 1, sources: [a], prover: p })
    createOutlast({ chainId: 1, sources: [a], prover: [p, p] })
    rejects(
      () => createOutlast({ chainId: 1, sources: [a], prover: [p, {} as never] }),
      /prover\[1\] must be a prover/,
    )
    rejects(
      () => createOutlast({ chainId: 1, sources: [a], prover: 'yes' as never }),
      /prover must be a prover/,
    )
  })
  it('duplicate source', () => {
    rejects(() => createOutlast({ chainId: 1, sources: [a, a] }), /listed twice/)
    const a2 = http('https://other.example', { name: 'a', domain: 'x' })
    rejects(() => createOutlast({ chainId: 1, sources: [a, a2] }), /duplicate source name "a"/)
  })
  it('quorum larger than the domains', () => {
    rejects(
      () => createOutlast({ chainId: 1, sources: [a, b], quorum: { domains: 3 } }),
      /quorum.domains is 3 but the sources span only 2 failure domain\(s\): aws, gcp/,
    )
    rejects(
      () => createOutlast({ chainId: 1, sources: [a, b], quorum: { domains: 0 } }),
      /quorum.domains/,
    )
  })
  it('wrong chain id type', () => {
    rejects(
      () => createOutlast({ chainId: '1' as never, sources: [a] }),
      /chainId must be an integer between 1 and 9007199254740991, got "1"/,
    )
    rejects(() => createOutlast({ chainId: 1.5, sources: [a] }), /chainId/)
    rejects(() => createOutlast({ chainId: -1, sources: [a] }), /chainId/)
  })
  it('unknown and out-of-range options', () => {
    rejects(
      () => createOutlast({ chainId: 1, sources: [a], qourum: {} } as never),
      /unknown option "qourum"/,
    )
    rejects(
      () => createOutlast({ chainId: 1, sources: [a], timeout: -5 }),
      /createOutlast\(\): timeout must be an integer number of ms between 1 and 2147483647, got -5\./,
    )
    rejects(
      () => createOutlast({ chainId: 1, sources: [a], onQuorumLoss: 'ignore' as never }),
      /onQuorumLoss/,
    )
    rejects(
      () => createOutlast({ chainId: 1, sources: [a], policies: { eth_call: 'maybe' as never } }),
      /policies.eth_call/,
    )
    rejects(
      () => http('https://x.example', { timeout: 0 }),
      /timeout must be a number of ms > 0 and <= 2147483647, got 0/,
    )
  })
  it('a single source is allowed (quorum defaults to what the domains allow)', () => {
    const rpc = createOutlast({ chainId: 1, sources: [a] })
    assert.equal(rpc.status().quorum.domains, 1)
  })
})

describe('secrets never appear', () => {
  it('status shows hosts only', () => {
    const rpc = createOutlast({ chainId: 1, sources: [a, b] })
    const text = JSON.stringify(rpc.status()) + String(rpc.status())
    assert.doesNotMatch(text, /SECRETKEY/)
    assert.match(text, /https:\/\/a\.example\/…/)
  })
  it('basic-auth is hidden', () => {
    const s = http('https://user:hunter2@node.example:8545/rpc?key=abcdef123')
    assert.equal(s.config.label, 'https://node.example:8545/…')
    assert.equal(s.config.name, 'node.example:8545')
  })
})
