/**
 * Hostile class: a node that echoes the credentials it was sent. Keys sit in every place a key
 * can be configured (path segment, query value, userinfo, header values); hostile http() and
 * webSocket() nodes in front of a real anvil echo the full request URL and every header they
 * received in JSON-RPC error messages, error data and WebSocket close reasons. Property: no
 * secret, nor its encoded or base64 form, reaches anything outlast emits.
 */
import assert from 'node:assert/strict'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, it } from 'vitest'
import WS, { WebSocketServer } from 'ws'
import { createOutlast, http, type Outlast, webSocket } from '../../src/index.ts'
import { type Anvil, devAccounts, startAnvil } from '../lab/index.ts'

const CHAIN_ID = 31337
/** Methods the hostile nodes answer honestly, so that they stay in use (chain id, head). */
const HONEST = new Set(['eth_chainId', 'net_version', 'eth_blockNumber', 'eth_getBlockByNumber'])
const EVENTS = [
  'source',
  'request',
  'lie',
  'disagreement',
  'quorumLoss',
  'broadcast',
  'streamError',
]

type Seen = { url: string; headers: IncomingHttpHeaders }
type Call = { id?: unknown; method?: string }

/** A JSON-RPC error that quotes everything the node received, in its message and its data. */
function echo(seen: Seen, method: string | undefined) {
  const text = `refused ${seen.url} sent with ${JSON.stringify(seen.headers)}`
  const deep: unknown[] = [text]
  for (let i = 0; i < 50; i++) deep.splice(0, 1, [deep[0]])
  return {
    // A revert is the caller's answer (it reaches the caller with its data); others fail the source.
    code: method === 'eth_call' ? 3 : -32000,
    message: text,
    data: { url: seen.url, headers: seen.headers, deep, [seen.url]: seen.headers.authorization },
  }
}

let anvil: Anvil
const forward = async (body: string) =>
  (
    await fetch(anvil.url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    })
  ).text()

/** Answers what it must honestly (through anvil), echoes the credentials in every other error. */
async function answer(seen: Seen, text: string): Promise<string> {
  const parsed = JSON.parse(text) as Call | Call[]
  const one = async (call: Call) =>
    HONEST.has(call.method ?? '')
      ? JSON.parse(await forward(JSON.stringify(call)))
      : { jsonrpc: '2.0', id: call.id, error: echo(seen, call.method) }
  return JSON.stringify(
    Array.isArray(parsed) ? await Promise.all(parsed.map(one)) : await one(parsed),
  )
}

type Hostile = { httpUrl: string; wsUrl: string; closing: boolean; stop(): Promise<void> }

/** One HTTP and one WebSocket hostile node on 127.0.0.1. */
async function startHostile(): Promise<Hostile> {
  const server: Server = createServer(async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    const seen = { url: `http://${req.headers.host}${req.url}`, headers: req.headers }
    res.setHeader('content-type', 'application/json')
    res.end(await answer(seen, body))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((r) => wss.once('listening', r))
  let closes = 0
  const hostile: Hostile = {
    httpUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    wsUrl: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    closing: false,
    async stop() {
      for (const c of wss.clients) c.terminate()
      await new Promise((r) => wss.close(r))
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    },
  }
  wss.on('connection', (socket, req) => {
    const seen = { url: `ws://${req.headers.host}${req.url}`, headers: req.headers }
    socket.on('message', async (data) => {
      if (hostile.closing) {
        // A close reason holds 123 bytes: quote one credential per close, in turn.
        const parts = [...req.url!.split(/[/?&=]/), ...Object.values(req.headers).map(String)]
        const secretish = parts.filter((p) => p.length >= 6)
        const reason = Buffer.from(`bye ${secretish[closes++ % secretish.length]}`)
        return socket.close(4000, reason.subarray(0, 123).toString())
      }
      if (socket.readyState === WS.OPEN) socket.send(await answer(seen, String(data)))
    })
  })
  return hostile
}

// A URL part that is a plain word ("mainnet") is not a secret by design (see sources/secrets.ts).
const PLAIN_WORD = /^[a-z]+(?:[-_.][a-z]+)*$/i
const chars = (alphabet: string, min: number, max: number) =>
  fc
    .string({ unit: fc.constantFrom(...alphabet), minLength: min, maxLength: max })
    // Random like a real key: a run of one character ("00000000") is in every block's hex.
    .filter((s) => !(s.length <= 15 && PLAIN_WORD.test(s)) && new Set(s).size >= 5)
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
const secretsArb = fc.record({
  path: chars(`${ALNUM}-_.~!$'()*+,;=@:%/ `, 8, 24),
  query: chars(`${ALNUM}-_.~+/=&% ?#`, 8, 24),
  user: chars(`${ALNUM}-_.~!$`, 8, 16),
  password: chars(`${ALNUM}-_.~!$@:/%`, 6, 16),
  apiKey: chars(`${ALNUM}!#$%&'*+-.^_|~"\\/`, 6, 24),
  bearer: chars(`${ALNUM}-._~+/`, 8, 32),
})
type Secrets = typeof secretsArb extends fc.Arbitrary<infer T> ? T : never

const base64 = (s: string) => Buffer.from(s).toString('base64')
/** Every form of every secret that must never be seen. */
function forbidden(s: Secrets): string[] {
  const raw = Object.values(s)
  const pair = `${s.user}:${s.password}`
  const b64 = [pair, ...raw].map(base64)
  return [...raw, ...raw.map(encodeURIComponent), ...b64, ...b64.map((b) => b.replace(/=+$/, ''))]
}

function sourcesFor(h: Hostile, s: Secrets) {
  const e = encodeURIComponent
  const where = (base: string) =>
    `${base.replace('//', `//${e(s.user)}:${e(s.password)}@`)}/v3/${e(s.path)}/rpc?network=mainnet&apikey=${e(s.query)}`
  const headers = { 'x-api-key': s.apiKey, 'x-token': `Bearer ${s.bearer}` }
  return [
    http(where(h.httpUrl), { name: 'evil-http', domain: 'evil-a', headers, timeout: 1_000 }),
    webSocket(where(h.wsUrl), {
      name: 'evil-ws',
      domain: 'evil-b',
      headers,
      webSocketImpl: WS,
      timeout: 1_000,
      reconnect: { delay: 20, maxDelay: 100 },
    }),
  ]
}

/** Everything a client emits, serialized: events, errors (message, stack, data, causes), status. */
function recorder(rpc: Outlast) {
  const out: string[] = []
  const serialize = (v: unknown) =>
    JSON.stringify(v, (_k, x) =>
      x instanceof Error
        ? { ...x, name: x.name, message: x.message, stack: x.stack, cause: x.cause }
        : x,
    )
  for (const name of EVENTS) rpc.on(name as 'source', (e: unknown) => out.push(serialize(e)))
  return {
    out,
    error(e: unknown) {
      out.push(String(e), serialize(e))
      const err = e as {
        message?: string
        stack?: string
        data?: unknown
        walk?: (fn: (cause: unknown) => boolean) => unknown
      }
      out.push(err.message ?? '', err.stack ?? '', serialize(err.data))
      err.walk?.((cause) => {
        out.push(serialize(cause), String(cause), (cause as Error).stack ?? '')
        return false
      })
    },
    status() {
      const status = rpc.status()
      out.push(String(status), serialize(status))
    },
  }
}

function assertClean(out: string[], s: Secrets) {
  const hay = out.join('\n').toLowerCase()
  // The echoes did arrive (scrubbed): in messages, in error data, in close reasons.
  for (const mark of ['refused http', 'refused ws', '"deep":[[[', 'bye '])
    assert.ok(hay.includes(mark), `the echo never reached the output: ${mark}`)
  for (const secret of forbidden(s))
    assert.ok(!hay.includes(secret.toLowerCase()), `leaked ${JSON.stringify(secret)}`)
}

let hostile: Hostile
let rawTx: string
beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 1 })
  hostile = await startHostile()
  rawTx = await privateKeyToAccount(devAccounts[3].privateKey as `0x${string}`).signTransaction({
    chainId: CHAIN_ID,
    type: 'eip1559',
    nonce: 1_000,
    to: devAccounts[0].address,
    value: 1n,
    gas: 21_000n,
    maxFeePerGas: 10n ** 11n,
    maxPriorityFeePerGas: 1n,
  })
})
afterAll(async () => {
  await hostile.stop()
  await anvil.stop()
})

/** Every kind of request, each allowed to fail; every error it throws is recorded. */
async function exercise(rpc: Outlast, rec: ReturnType<typeof recorder>) {
  const calls = [
    { method: 'eth_getBalance', params: [devAccounts[0].address, 'latest'] },
    { method: 'eth_call', params: [{ to: devAccounts[1].address, data: '0x' }, 'latest'] },
    { method: 'eth_getTransactionCount', params: [devAccounts[2].address, 'latest'] },
    { method: 'eth_sendRawTransaction', params: [rawTx] },
    { method: 'eth_getBlockByHash', params: [`0x${'ab'.repeat(32)}`, false] },
    { method: 'eth_gasPrice' },
  ]
  for (const call of calls) await rpc.request(call).catch(rec.error)
  const sub = await rpc.subscribe(['newHeads'], () => {}).catch(rec.error)
  await new Promise((r) => setTimeout(r, 300))
  await sub?.unsubscribe().catch(rec.error)
  rec.status()
}

describe('secrets echoed by a hostile node', () => {
  it('never reach errors, status or events (any secret, in any place)', async () => {
    await fc.assert(
      fc.asyncProperty(secretsArb, async (secrets) => {
        // Each hostile node alone (its errors, data included, reach the caller as they are),
        // then both beside an honest node (disagreements, degraded reads, quorum loss).
        const alone = { quorum: { domains: 1, sources: 1 } }
        const setups = [
          () => ({ sources: [sourcesFor(hostile, secrets)[0]!], ...alone }),
          () => ({ sources: [sourcesFor(hostile, secrets)[1]!], ...alone }),
          () => ({
            sources: [
              ...sourcesFor(hostile, secrets),
              http(anvil.url, { name: 'honest', domain: 'home' }),
            ],
          }),
        ]
        const out: string[] = []
        for (const setup of setups) {
          const rpc = createOutlast({
            chainId: CHAIN_ID,
            timeout: 3_000,
            pollingInterval: 300,
            ...setup(),
          })
          const rec = recorder(rpc)
          try {
            await exercise(rpc, rec)
            hostile.closing = true // the WebSocket node now hangs up, quoting a key
            await exercise(rpc, rec)
          } finally {
            hostile.closing = false
            await rpc.close()
          }
          out.push(...rec.out)
        }
        assertClean(out, secrets)
      }),
      { numRuns: 6 },
    )
  })

  it('the echo itself carries every secret (the test can fail)', async () => {
    const [secrets] = fc.sample(secretsArb, { numRuns: 1, seed: 7 })
    const s = secrets!
    const e = encodeURIComponent
    const url = `${hostile.httpUrl.replace('//', `//${e(s.user)}:${e(s.password)}@`)}/v3/${e(s.path)}?apikey=${e(s.query)}`
    const res = await fetch(url.replace(`${e(s.user)}:${e(s.password)}@`, ''), {
      method: 'POST',
      headers: {
        authorization: `Basic ${base64(`${s.user}:${s.password}`)}`,
        'x-api-key': s.apiKey,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: [] }),
    })
    const text = await res.text()
    assert.ok(text.includes(base64(`${s.user}:${s.password}`)))
    assert.ok(text.includes(e(s.path)) && text.includes(JSON.stringify(s.apiKey).slice(1, -1)))
  })
})

describe('a key echoed inside an answer (a result, not an error)', () => {
  it('is scrubbed from disagreement events and quorum errors', async () => {
    const key = 'k3yInTheResult0123456789abcdef'
    const echo = http(`${anvil.url}/?apikey=${key}`, { name: 'echo', domain: 'echo-host' })
    const liar = {
      config: echo.config,
      request: async (body: { method: string; params?: readonly unknown[] }) =>
        body.method === 'eth_feeHistory'
          ? { note: `apikey=${key}`, oldestBlock: '0x0', baseFeePerGas: [] }
          : echo.request(body),
    }
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [liar, http(anvil.url, { name: 'honest', domain: 'honest-host' })],
    })
    const seen: string[] = []
    for (const e of EVENTS)
      rpc.on(e as never, (payload: unknown) => seen.push(JSON.stringify(payload)))
    try {
      const error = await rpc
        .request({ method: 'eth_feeHistory', params: ['0x1', 'latest', []] })
        .then(
          () => undefined,
          (e: Error) => e,
        )
      assert.ok(error, 'the split is an error')
      const text = [error.message, error.stack, ...seen].join('\n')
      assert.ok(text.includes('answered'), 'answers are listed')
      assert.equal(text.includes(key), false, 'the key is not shown')
      assert.equal(text.includes(key.slice(0, 12)), false, 'not even cut short')
    } finally {
      await rpc.close()
    }
  })
})
