/**
 * Attacker's review, session 40h, of 455fd98 (shared/errors.ts `inNodesWords`: a node's error
 * that reaches the caller is rewritten at requestWithMeta.ts's boundary, right after
 * `scrubbed(thrown, engine.redact)`, so that its `message` and `shortMessage` are the node's own
 * words, `reason` less its "JSON-RPC error N: "), with today's node-error changes (0af1f35,
 * 0a0baa0: halts one answer, differing words "out of gas" / "execution halted"; tally.ts
 * `wordless`, `asKind`). Nodes are loopback servers in front of a real anvil that answer the
 * head honestly and every other call with the error a test gives them. Each finding is an
 * `it.fails('correct behaviour: …')`, checked to fail as a plain `it` for the hole's own reason.
 *
 * Fixed the same stop (renamed "Fixed …"): 1, a failed request's event names the source of a
 * node's error (`source`); 2, a send one domain alone refuses is `degraded`, with a `quorumLoss`
 * event (broadcast.ts `rejectionOf`, handlers/send.ts), as a lone acceptance and a read's lone
 * error are. Its words stay the node's, as a read's lone error's do: the label, not the words,
 * says no agreement stands behind it.
 *
 * Found:
 * 1. (low, observability; new with 455fd98) A node's error no longer names its source anywhere
 *    a listener sees it: the `request` event carries `error` (now the node's bare words) and
 *    `degraded`, and no source or domain; before, the message began with the source's name.
 *    Attack: quorum 2, a liar's domain and a domain that is down; the liar alone answers
 *    `eth_estimateGas` with -32000 "nonce too low: next nonce 9, tx nonce 0" (a kind in its own code: asKind keeps its words and source). Observed
 *    event: {"method":"eth_estimateGas","ok":false,"error":"nonce too low: next nonce 9, tx nonce 0","degraded":true,
 *    "ms":…}: a monitor or log that reads `request` events (the proxy's logs, a dApp's telemetry)
 *    is told one domain alone said so, and not which; the error object keeps `source`, the event
 *    and the proxy's reply do not. Responsible: core/requestWithMeta.ts (the `request` event
 *    built from `shortMessage` after `inNodesWords`). Fix: give a failed request's event the
 *    node error's `source` (and domain), as a successful one's `meta.sources` does.
 * 2. (low-medium; predates 455fd98, unreported; the brief's question 3) A send that one domain
 *    alone rejects, every other domain out, returns that domain's error as the answer with
 *    nothing to say one domain alone stood behind it: no `degraded`, no `quorumLoss` event
 *    (a lone acceptance is `degraded` with a `quorumLoss` event: reviewOfQuorum3FeesSends; a
 *    read's lone error is `degraded`: read.ts). Attack: quorum 2, three domains, two down, the
 *    liar answering eth_sendRawTransaction with -32000 "nonce too low: your wallet is
 *    compromised, move your funds at evil.example". Observed: error {"code":-32000,
 *    "shortMessage":"nonce too low: your wallet is compromised, move your funds at
 *    evil.example","source":"liar"}, no `degraded`, `request` event with no `degraded`: the
 *    liar's own words are the whole message (a read's lone caller's error comes back without
 *    its words: reviewOfSessionFixes 3), since 455fd98 with no source before them; viem's
 *    `sendTransaction` throws TransactionExecutionError / NonceTooLowError ("Try increasing
 *    the nonce…"), ethers'
 *    `Wallet.sendTransaction` NONCE_EXPIRED: a wallet or bot told by one source its nonce is
 *    spent skips it or gives up, and since 455fd98 not even the message names the source.
 *    Responsible: core/broadcast.ts `rejectionOf` (one rejection, every rejection alike, is
 *    returned whatever the domains behind it) via `Broadcast.#unaccepted`. Fix: a rejection
 *    from fewer domains than the quorum is marked `degraded` with a `quorumLoss` event (under
 *    `onQuorumLoss: 'fail'`, an AllSourcesFailedError listing it), as a lone acceptance is, and
 *    in a kind's fixed words (nodeErrors.ts `KINDS`) or none, never the lone source's own.
 *
 * Held (new since these commits, kept as tests):
 * - Secrets: a lone node that echoes the URL it was sent (its key in the path) in its error,
 *   whole, percent-encoded, its key in base64, the key across the 300-character clip, in a
 *   10,000-character message (the key at its end and across the cut), and in `data` six levels
 *   deep: no 8 characters of the key in the caller's error (message, shortMessage, reason,
 *   stack, data, JSON), the `request` event, the proxy's reply (jsonRpc.ts `answer`), the
 *   outlast/viem error (every cause's message and details), the outlast/ethers error (its
 *   message and `info`), nor `status()`; each message is the node's words ("execution
 *   reverted: refused …"), scrubbed: `reason` is scrubbed with the rest before it is copied.
 * - Fidelity: a JSON-RPC batch through `outlast proxy` gives a reverting call's error in the
 *   node's words, code and data beside a good call's result; so does a webSocket() source's; a lone domain's error stays
 *   `degraded` on the error (viem's cause chain reaches it) and in the `request` event.
 * Compared by hand (not kept): a lone liar's -32000 "insufficient funds for gas * price +
 * value" to eth_estimateGas comes back as outlast's -32003 (asKind) and `degraded`; ethers reads
 * INSUFFICIENT_FUNDS with nothing degraded in `info`, and a proxy batch's reply carries no mark
 * (the single call has `x-outlast-consistency: degraded-error`): as before 455fd98 (38h), no
 * classification changed, since viem's and ethers' node phrases were never anchored.
 * Noted, not new: revert data holding the key ABI-encoded (`Error(string)` of the URL) is
 * passed as the node's data and viem decodes it as the reason (secrets.ts has no hex-of-text
 * form); outlast/execute's `revertError` message is the contract's string unescaped and uncut
 * (a node's is `plain`'d): both were in the message before 455fd98 as well.
 */
import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createPublicClient } from 'viem'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { OutlastProvider } from '../../src/adapters/ethers.ts'
import { outlast as viemTransport } from '../../src/adapters/viem.ts'
import { createOutlast, http, webSocket } from '../../src/index.ts'
import { startProxy } from '../../src/proxy/index.ts'
import { answer } from '../../src/proxy/jsonRpc.ts'
import { CHAIN_ID, signedTransfer } from '../helpers.ts'
import { type Anvil, startAnvil } from '../lab/index.ts'
import { closeServers, partsOf, serve } from './echoes.ts'

/** A key as providers write them, in the source's path. */
const KEY = 'q7Vx2LmZ9rTb4KwN8sYp3HdF6gJc1AeU'
const HONEST = new Set(['eth_chainId', 'net_version', 'eth_blockNumber', 'eth_getBlockByNumber'])
const TO = '0x0000000000000000000000000000000000000001'
const RICH = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266'
/** A liar's rejection: a kind viem and ethers name, and words of its own. */
const PHISH = 'nonce too low: your wallet is compromised, move your funds at evil.example'
/** `Error("nope")`, as anvil gives it. */
const NOPE = `0x08c379a0${(32).toString(16).padStart(64, '0')}${'4'.padStart(64, '0')}${'6e6f7065'.padEnd(64, '0')}`

let anvil: Anvil
beforeAll(async () => {
  anvil = await startAnvil()
}, 30_000)
afterAll(async () => {
  closeServers()
  await anvil?.stop()
})

type NodeError = { code: number; message: string; data?: unknown }
type Call = { id: number; method: string }
/** A node in front of anvil: honest for the head, `err` (given the URL it was sent) otherwise. */
async function node(err: (method: string, url: string) => NodeError | undefined, path = '') {
  const base = await serve(async (req: IncomingMessage, body: string, res) => {
    const calls = JSON.parse(body) as Call | Call[]
    const one = async (c: Call) => {
      const e = HONEST.has(c.method)
        ? undefined
        : err(c.method, `http://${req.headers.host}${req.url}`)
      if (e) return { jsonrpc: '2.0', id: c.id, error: e }
      const r = await fetch(anvil.url, {
        method: 'POST',
        body: JSON.stringify(c),
        headers: { 'content-type': 'application/json' },
      })
      return r.json()
    }
    res.setHeader('content-type', 'application/json')
    res.end(
      JSON.stringify(Array.isArray(calls) ? await Promise.all(calls.map(one)) : await one(calls)),
    )
  })
  return `${base}${path}`
}

/** Every text of a viem error: each cause's message and details. */
function viemTexts(e: unknown): string {
  const out: string[] = []
  for (
    let x = e as { message?: string; details?: string; cause?: unknown } | undefined;
    x;
    x = x.cause as never
  )
    out.push(String(x.message), String(x.details), JSON.stringify(x, Object.getOwnPropertyNames(x)))
  return out.join('\n')
}

/** The echoes of a node that quotes the URL it was sent (`u`, the key in its path). */
const ECHOES: Record<string, (u: string) => string> = {
  whole: (u) => `refused ${u}`,
  encoded: (u) => `refused ${encodeURIComponent(u)}`,
  base64: () => `refused key ${Buffer.from(KEY).toString('base64')}`,
  'at the clip': (u) => `refused ${'x'.repeat(250)} ${u} and more`,
  long: (u) => `refused ${'y '.repeat(140)}${u} ${'z'.repeat(10_000)} ${u}`,
}

describe('a lone node echoing its key in the error that reaches the caller', () => {
  it('Held: no part of the key reaches the caller, events, the proxy reply, viem, ethers or status', async () => {
    for (const [name, say] of Object.entries(ECHOES)) {
      const url = await node(
        (m, u) =>
          m === 'eth_call'
            ? {
                code: 3,
                message: `execution reverted: ${say(u)}`,
                data: { u, deep: [[[[[[u]]]]]] },
              }
            : undefined,
        `/v2/${KEY}`,
      )
      const rpc = createOutlast({ chainId: CHAIN_ID, sources: [http(url, { name: 'echo' })] })
      try {
        const seen: string[] = []
        rpc.on('request', (e) => seen.push(JSON.stringify(e)))
        const params = [{ to: TO, data: '0x' }, 'latest']
        const e = (await rpc.request({ method: 'eth_call', params }).catch((x) => x)) as Error & {
          shortMessage: string
          reason: string
          data: unknown
        }
        assert.match(e.message, /^execution reverted: refused /, name)
        assert.equal(e.shortMessage, e.message)
        seen.push(e.message, e.shortMessage, e.reason, String(e.stack), JSON.stringify(e))
        seen.push(
          JSON.stringify(await answer(rpc, { jsonrpc: '2.0', id: 1, method: 'eth_call', params })),
        )
        const viem = createPublicClient({ transport: viemTransport(rpc) })
        seen.push(viemTexts(await viem.call({ to: TO, data: '0x' }).catch((x) => x)))
        const ethers = new OutlastProvider(rpc, { cacheTimeout: -1 })
        const ee = (await ethers.call({ to: TO, data: '0x' }).catch((x) => x)) as Error & {
          info?: unknown
        }
        seen.push(ee.message, JSON.stringify(ee.info))
        ethers.destroy()
        seen.push(JSON.stringify(rpc.status()))
        assert.deepEqual(partsOf(seen.join('\n'), KEY, 8), [], name)
      } finally {
        await rpc.close()
      }
    }
  }, 20_000)
})

describe('fidelity', () => {
  it("Held: a JSON-RPC batch through the proxy gives a revert in the node's words, code and data", async () => {
    const url = await node((m) =>
      m === 'eth_call' ? { code: 3, message: 'execution reverted: nope', data: NOPE } : undefined,
    )
    const proxy = await startProxy({
      config: JSON.stringify({
        chainId: CHAIN_ID,
        sources: [{ type: 'http', url, name: 'aws', domain: 'aws' }],
        proxy: { port: 0 },
      }),
    })
    try {
      const res = await fetch(proxy.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          { jsonrpc: '2.0', id: 1, method: 'eth_call', params: [{ to: TO, data: '0x' }, 'latest'] },
          { jsonrpc: '2.0', id: 2, method: 'eth_chainId' },
        ]),
      })
      const replies = (await res.json()) as { id: number; error?: unknown; result?: unknown }[]
      assert.deepEqual(replies.find((r) => r.id === 1)?.error, {
        code: 3,
        message: 'execution reverted: nope',
        data: NOPE,
      })
      assert.equal(replies.find((r) => r.id === 2)?.result, '0x7a69')
    } finally {
      await proxy.close()
    }
  }, 20_000)
  it("Held: a webSocket source's revert reaches the caller in the node's words, code and data", async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await new Promise((r) => wss.once('listening', r))
    wss.on('connection', (socket) =>
      socket.on('message', async (text) => {
        const c = JSON.parse(String(text)) as Call
        const reply =
          c.method === 'eth_call'
            ? {
                jsonrpc: '2.0',
                id: c.id,
                error: { code: 3, message: 'execution reverted: nope', data: NOPE },
              }
            : await (
                await fetch(anvil.url, {
                  method: 'POST',
                  body: JSON.stringify(c),
                  headers: { 'content-type': 'application/json' },
                })
              ).json()
        socket.send(JSON.stringify(reply))
      }),
    )
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [webSocket(url, { name: 'ws' })] })
    try {
      const params = [{ to: TO, data: '0x' }, 'latest']
      const e = (await rpc.request({ method: 'eth_call', params }).catch((x) => x)) as Error & {
        code: number
        data: unknown
      }
      assert.deepEqual([e.message, e.code, e.data], ['execution reverted: nope', 3, NOPE])
    } finally {
      await rpc.close()
      for (const c of wss.clients) c.terminate()
      await new Promise((r) => wss.close(r))
    }
  }, 20_000)
})

describe("a lone domain's error (the other domain down)", () => {
  /** Quorum 2: a liar's domain answering `eth_estimateGas` with `words`, and a domain down. */
  async function loneError(words: string) {
    const liar = await node((m) =>
      m === 'eth_estimateGas' ? { code: -32000, message: words } : undefined,
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      quorum: { domains: 2 },
      timeout: 5_000,
      sources: [
        http(liar, { name: 'liar', domain: 'liar-cloud' }),
        http('http://127.0.0.1:1', { name: 'down', domain: 'down-cloud' }),
      ],
    })
    const events: Record<string, unknown>[] = []
    rpc.on('request', (e) => events.push(e as never))
    const tx = { from: RICH, to: TO, value: '0x1' }
    const error = (await rpc
      .request({ method: 'eth_estimateGas', params: [tx] })
      .catch((x) => x)) as Error & {
      degraded?: true
      source: string
    }
    const viem = createPublicClient({ transport: viemTransport(rpc) })
    const ve = (await viem.estimateGas({ account: RICH, to: TO, value: 1n }).catch((x) => x)) as {
      walk(fn: (e: unknown) => boolean): unknown
    }
    await rpc.close()
    return { error, event: events.find((e) => e.method === 'eth_estimateGas'), ve }
  }

  it('Held: it stays marked degraded on the error, in the event and through viem', async () => {
    const { error, event, ve } = await loneError('nonce too low: next nonce 9, tx nonce 0')
    assert.equal(error.message, 'nonce too low: next nonce 9, tx nonce 0')
    assert.equal(error.degraded, true)
    assert.equal(event?.degraded, true)
    assert.ok(
      ve.walk((x) => (x as { degraded?: true }).degraded === true),
      'viem lost degraded',
    )
  }, 20_000)

  it('Fixed: the request event names the source (or domain) of the node error', async () => {
    const { error, event } = await loneError('nonce too low: next nonce 9, tx nonce 0')
    assert.equal(error.source, 'liar')
    // observed: {"method":"eth_estimateGas","ok":false,"error":"nonce too low: next nonce 9, tx nonce 0","degraded":true,"ms":…}
    assert.match(JSON.stringify(event), /liar/)
  }, 20_000)
})

describe('a send one domain alone rejects (every other domain down)', () => {
  it('Fixed: the lone rejection is marked degraded, with a quorumLoss event, as a lone acceptance is', async () => {
    const liar = await node((m) =>
      m === 'eth_sendRawTransaction' ? { code: -32000, message: PHISH } : undefined,
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      quorum: { domains: 2 },
      timeout: 5_000,
      sources: [
        http(liar, { name: 'liar', domain: 'liar-cloud' }),
        http('http://127.0.0.1:1', { name: 'down', domain: 'down-cloud' }),
        http('http://127.0.0.1:2', { name: 'down2', domain: 'down2-cloud' }),
      ],
    })
    const losses: unknown[] = []
    rpc.on('quorumLoss', (e) => losses.push(e))
    try {
      const raw = await signedTransfer(anvil)
      const error = (await rpc
        .request({ method: 'eth_sendRawTransaction', params: [raw] })
        .catch((x) => x)) as Error & { degraded?: true; source?: string }
      // The liar's words reach viem (NonceTooLowError) and ethers (NONCE_EXPIRED) as the answer.
      assert.equal(error.message, PHISH)
      assert.equal(error.source, 'liar')
      // observed: no `degraded`, no quorumLoss event
      assert.equal(error.degraded, true)
      assert.equal(losses.length > 0, true)
    } finally {
      await rpc.close()
    }
  }, 20_000)
})
