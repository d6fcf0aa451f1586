/**
 * Hostile class: fee figures, broadcasts and batches, from the paths earlier reviews left out.
 * Each test but the controls is a hole an attacker review found; each failed on the code before
 * its fix for the hole's own reason: a domain with two endpoints set the fee figure, a fee figure
 * ignored onQuorumLoss 'fail', a lone acceptance was `verified`, rejected synchronous sends took
 * the sources down, duplicated batch ids held the event loop, and a key echoed inside a quoted
 * answer reached errors, events and status().
 */
import assert from 'node:assert/strict'
import type { ServerResponse } from 'node:http'
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest'
import {
  AllSourcesFailedError,
  createOutlast,
  http,
  type OutlastEvents,
  type Source,
} from '../../src/index.ts'
import { SourceError } from '../../src/shared/errors.ts'
import {
  CHAIN_ID,
  type Handler,
  resetLab,
  serve as serveOn,
  threeDomains,
  transfers,
} from '../helpers.ts'
import { type Lab, startLab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const serve = (handler: Handler) => serveOn(handler, cleanups)

const send = (res: ServerResponse, body: string | Buffer) => {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(body)
}

/** The longest the event loop was held while `work` ran (a 5 ms heartbeat's longest gap). */
async function longestStall(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now()
  let worst = 0
  const beat = setInterval(() => {
    const now = performance.now()
    worst = Math.max(worst, now - last)
    last = now
  }, 5)
  try {
    await work().catch(() => {})
  } finally {
    clearInterval(beat)
  }
  return Math.max(worst, performance.now() - last)
}

describe('batches: a hostile batch answer costs the host no more than its bytes', () => {
  // A batch answer of ~2 MiB (well under the 16 MiB default cap): a million elements that are
  // no envelope at all (`1`), so each reads as "id: undefined", answered again and again.
  const FLOOD = Buffer.from(`[${'1,'.repeat(1_000_000)}1]`)

  // Correct: an answer with more elements than the batch had calls, or one id answered twice, is
  // that source's malformed body, judged in time proportional to parsing it (one failure for the
  // duplicated id, not one SourceError built per duplicate). Now splitBatch (src/sources/batch.ts)
  // builds a SourceError (message, scrubbing, stack) for every repeated id, synchronously: the
  // event loop is held for seconds by one answer, where the same bytes unbatched cost a parse.
  it('a flood of repeated ids in one batch answer does not hold the event loop', async () => {
    const url = await serve((_req, res) => send(res, FLOOD))
    const batched = http(url, { name: 'flood', batch: true, timeout: 60_000 })
    const stall = await longestStall(() => batched.request({ method: 'eth_chainId' }))
    // Parsing 2 MiB of JSON takes well under half a second on any machine these tests run on.
    assert.ok(stall < 1_000, `one batch answer held the event loop for ${Math.round(stall)} ms`)
  })

  it('(control, holds) the same bytes unbatched are one malformed answer, quickly', async () => {
    const url = await serve((_req, res) => send(res, FLOOD))
    const plain = http(url, { name: 'flood', timeout: 60_000 })
    let error: unknown
    const stall = await longestStall(() =>
      plain.request({ method: 'eth_chainId' }).catch((e: unknown) => {
        error = e
      }),
    )
    assert.ok(error instanceof SourceError && error.kind === 'body', String(error))
    assert.ok(stall < 1_000, `unbatched, the answer held the event loop for ${stall} ms`)
  })
})

describe('secrets: what a node answers to a send is scrubbed like what it says', () => {
  // An Ankr-style key: 64 hex digits in the URL path, the shape of a transaction hash.
  const KEY = 'a3f9c2d47e1b08f6a5c3e29d7b4c1a60f8e2d9c7b5a3f1e0d2c4b6a8e9f7d1c3'

  // Correct: every configured secret is scrubbed from everything outlast emits (DESIGN.md, trust
  // rules), "including node messages that echo it". Now a source whose answer to
  // eth_sendRawTransaction is not the computed hash is quoted raw in the failure reason
  // (src/core/broadcast.ts `answerVerdict`: `answered hash ${String(answer)}`), and that reason
  // goes unscrubbed into the AllSourcesFailedError thrown to the caller (only the `broadcast`
  // event is passed through `redact`, src/core/handlers/send.ts). A node (or a gateway in front of
  // it) that echoes its own key as the "hash" puts the key in the dApp's error toast and logs.
  it('a send answered with the key as its hash: the key is not in the error', async () => {
    const echo = await serve((_req, res, body) => {
      const { id, method } = JSON.parse(body) as { id: number; method: string }
      if (method === 'eth_chainId')
        return send(res, JSON.stringify({ jsonrpc: '2.0', id, result: '0x7a69' }))
      if (method === 'eth_sendRawTransaction')
        return send(res, JSON.stringify({ jsonrpc: '2.0', id, result: `0x${KEY}` }))
      send(res, JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32601, message: 'no' } }))
    })
    const down = await serve((_req, res) => {
      res.writeHead(503)
      res.end()
    })
    const events: unknown[] = []
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [
        http(`${echo}/eth/${KEY}`, { name: 'keyed', domain: 'keyed-cloud' }),
        http(down, { name: 'down', domain: 'other-cloud' }),
      ],
    })
    rpc.on('broadcast', (e) => events.push(e))
    try {
      const error = await rpc
        // A real signed transaction (EIP-2930, Ropsten, from ethers v5's tests): sends decode it.
        .request({
          method: 'eth_sendRawTransaction',
          params: [
            '0x01f87c030d8465cf89a0825b689432162f3581e88a5f62e8a61892b42c46e2c18f7b8080d7d6940000000000000000000000000000000000000000c080a09659cba42376dbea1433cd6afc9c8ffa38dbeff5408ffdca0ebde6207281a3eca027efbab3e6ed30b088ce0a50533364778e101c9e52acf318daec131da64e7758',
          ],
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      assert.ok(error instanceof AllSourcesFailedError, `not the error expected: ${error}`)
      // The event is scrubbed already; the thrown error must be too.
      assert.ok(!JSON.stringify(events).toLowerCase().includes(KEY), 'the key in an event')
      const shown = `${error.message}\n${JSON.stringify(error.failures)}`.toLowerCase()
      assert.ok(!shown.includes(KEY), `the key in the error thrown: ${error.message}`)
    } finally {
      await rpc.close()
    }
  })
})

describe('with the lab', () => {
  let lab: Lab
  beforeAll(async () => {
    lab = await startLab({
      blockTime: 0,
      sources: [
        ...threeDomains,
        { name: 'liar', domain: 'liar-host', latency: 0 },
        // The same provider's second endpoint (its WebSocket, a backup URL): the same domain.
        { name: 'liar2', domain: 'liar-host', latency: 0 },
      ],
    })
  })
  afterAll(() => lab.stop())

  const honest = (names: string[]) => labSources(lab, names)
  const inner = (name = 'liar') => http(lab.proxy(name).url, { name, domain: 'liar-host' })

  const { sign, nonceNow, nonceNext } = transfers(() => lab.anvil)

  // Correct: as above, every configured secret is scrubbed from events and `status()`. Now the
  // reason a source is called a liar quotes its own data raw: src/core/txRules.ts `checkHashes`
  // ("transaction does not hash to ${tx.hash}", a hash the source chose), passed by
  // src/core/rules.ts `verifyingCall` to `markLying` (src/core/sourcePool.ts), which emits the
  // `lie` event and sets `lastError` (shown by `status()`) without `redact`. An Infura-style key
  // (32 hex digits) fits inside any 32-byte hash a source answers with.
  it('a lie whose hash quotes the key: the key is in neither the lie event nor status()', async () => {
    await resetLab(lab)
    const KEY = '7d3e9a41c0b25f86e1a4d9c37b20f5e8'
    const keyed = http(`${lab.proxy('liar').url}/v3/${KEY}`, { name: 'keyed', domain: 'liar-host' })
    const echoing = hostile(keyed, async (method, params, answer) => {
      const block = (await answer()) as { transactions?: Record<string, unknown>[] } | null
      if (method !== 'eth_getBlockByHash' || params[1] !== true || !block?.transactions?.length)
        return block
      const [first, ...rest] = block.transactions
      return { ...block, transactions: [{ ...first, hash: `0x${KEY}${'0'.repeat(32)}` }, ...rest] }
    })
    const raw = await sign(await nonceNext())
    const hash = await lab.anvil.rpc<string>('eth_sendRawTransaction', [raw])
    // Mined on arrival (blockTime 0), its receipt a moment later.
    let receipt: { blockHash: string } | null = null
    for (let i = 0; i < 50 && !receipt; i++) {
      receipt = await lab.anvil.rpc('eth_getTransactionReceipt', [hash])
      if (!receipt) await new Promise((r) => setTimeout(r, 100))
    }
    assert.ok(receipt, 'the transaction was not mined')
    const { blockHash } = receipt
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [echoing, ...honest(['aws', 'gcp'])] })
    const lies: OutlastEvents['lie'][] = []
    rpc.on('lie', (e) => lies.push(e))
    try {
      for (let i = 0; i < 3; i++) await rpc.request({ method: 'eth_blockNumber' })
      await rpc.request({ method: 'eth_getBlockByHash', params: [blockHash, true] })
      assert.ok(lies.length > 0, 'the liar was not asked (ranking): nothing tested')
      const shown = `${JSON.stringify(lies)}\n${JSON.stringify(rpc.status().sources)}`
      assert.ok(!shown.toLowerCase().includes(KEY), `the key is shown: ${lies[0]?.reason}`)
    } finally {
      await rpc.close()
    }
  })

  // Correct: a fee figure is the median of one figure per failure domain; one domain can at
  // most pull it down (DESIGN.md: "Nothing one failure domain says alone becomes agreed: ... not
  // a fee figure"). Now src/core/median.ts asks a second source of a domain nobody has answered
  // for yet (`unasked`: `again`), so with two domains, one of them configured with two endpoints
  // (a provider's http and WebSocket URLs), all three sources are asked at once and `medianOf`
  // takes the middle of three figures, two of them the same domain's: that domain's figure, any
  // figure, is the answer, labelled `median` "from two domains".
  it('a domain with two endpoints cannot outvote the other domain on a fee figure', async () => {
    await resetLab(lab)
    const inflate = (name: string): Source =>
      hostile(inner(name), async (method, _params, answer) => {
        if (method !== 'eth_gasPrice' && method !== 'eth_maxPriorityFeePerGas') return answer()
        return `0x${(BigInt((await answer()) as string) * 100n).toString(16)}`
      })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [...honest(['aws']), inflate('liar'), inflate('liar2')],
    })
    try {
      for (const method of ['eth_gasPrice', 'eth_maxPriorityFeePerGas']) {
        const real = BigInt(await lab.anvil.rpc<string>(method))
        const { result, meta } = await rpc.requestWithMeta({ method })
        const got = BigInt(result as string)
        assert.ok(
          got <= real,
          `${method}: ${got} is ${got / (real || 1n)}x the chain's ${real} (${meta.consistency}, from ${meta.domains.join(', ')})`,
        )
      }
    } finally {
      await rpc.close()
    }
  })

  // Correct: "sent" on one domain's word alone (the others silent or failing) is that domain's
  // claim, not a check: labelled `degraded`, with a `quorumLoss` event, as a lone domain's fee
  // figure or read is (DESIGN.md: "Nothing one failure domain says alone becomes agreed"; "A
  // label names exactly what was checked"). Now src/core/handlers/send.ts labels every broadcast
  // with an acceptance `verified`, whatever number of domains accepted: a source that answers the
  // hash and drops the transaction, while the honest domains are unreachable, gets a `verified`
  // "sent" for a transaction no honest node ever saw.
  it('a lone fake acceptance is labelled degraded, not verified', async () => {
    await resetLab(lab)
    const fakeAccept: Source = hostile(inner(), async (method, params, answer) => {
      if (method !== 'eth_sendRawTransaction') return answer()
      const { keccak256 } = await import('viem')
      return keccak256(params[0] as `0x${string}`) // answered, never sent
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [fakeAccept, ...honest(['aws', 'gcp', 'home'])],
    })
    const losses: OutlastEvents['quorumLoss'][] = []
    rpc.on('quorumLoss', (e) => losses.push(e))
    try {
      for (const name of ['aws', 'gcp', 'home']) await lab.proxy(name).setMode({ kind: 'refused' })
      const raw = await sign(await nonceNext())
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_sendRawTransaction',
        params: [raw],
      })
      const { keccak256 } = await import('viem')
      assert.equal(result, keccak256(raw))
      // No honest node has it: the "sent" rests on the liar's word alone.
      assert.equal(await lab.anvil.rpc('eth_getTransactionByHash', [result]), null)
      assert.deepEqual(meta.domains, ['liar-host'])
      assert.equal(meta.consistency, 'degraded', `one domain's "sent" labelled ${meta.consistency}`)
      assert.ok(
        losses.some((l) => l.method === 'eth_sendRawTransaction'),
        'no quorumLoss event',
      )
    } finally {
      await rpc.close()
      await resetLab(lab)
    }
  })

  // Correct: with `onQuorumLoss: 'fail'` a read that only one domain answers is an error
  // (DESIGN.md: "reads degrade to the single source ... unless configured to fail"); handlers/
  // read.ts honours it. Now src/core/handlers/fees.ts never reads `config.onQuorumLoss`: a lone
  // domain's fee figure is returned (flagged `degraded`) even to an app that said "fail", so the
  // one reachable source sets the gas price, here 100 times the chain's.
  it("onQuorumLoss 'fail': a lone domain's fee figure is refused", async () => {
    await resetLab(lab)
    const inflating: Source = hostile(inner(), async (method, _params, answer) => {
      if (method !== 'eth_gasPrice') return answer()
      return `0x${(BigInt((await answer()) as string) * 100n).toString(16)}`
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [inflating, ...honest(['aws'])],
      onQuorumLoss: 'fail',
    })
    try {
      await rpc.request({ method: 'eth_blockNumber' })
      await lab.proxy('aws').setMode({ kind: 'refused' })
      const real = BigInt(await lab.anvil.rpc<string>('eth_gasPrice'))
      const outcome = await rpc.requestWithMeta({ method: 'eth_gasPrice' }).then(
        (answer) => ({ answer }),
        (error: unknown) => ({ error }),
      )
      assert.ok(
        'error' in outcome,
        `answered ${'answer' in outcome ? `${BigInt(outcome.answer.result as string) / real}x the chain's gas price (${outcome.answer.meta.consistency})` : ''}`,
      )
    } finally {
      await rpc.close()
      await resetLab(lab)
    }
  })

  // Correct: a node's verdict on the caller's transaction (nonce too low) is an answer, for every
  // send method: "A caller's own error ... is the caller's, ... never counted against sources".
  // Now src/core/sourcePool.ts (the `answered` test in the attempt) spares only
  // `eth_sendRawTransaction`: a rejected eth_sendRawTransactionSync (or Conditional) is recorded
  // as each source's failure, so a few bad transactions open every breaker, every source turns
  // `down` and EIP-1193 `disconnect` fires. Through `outlast proxy`, one client sending stale
  // transactions takes the sources down for all of them.
  it('(control, holds) rejected plain sends leave the sources up', async () => {
    await resetLab(lab)
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: honest(['aws', 'gcp', 'home']) })
    try {
      await rpc.request({ method: 'eth_blockNumber' })
      const used = await nonceNow()
      await lab.anvil.rpc('eth_sendRawTransaction', [await sign(used)])
      const stale = await Promise.all([7n, 8n, 9n, 10n, 11n].map((v) => sign(used, v)))
      await Promise.allSettled(
        stale.map((raw) => rpc.request({ method: 'eth_sendRawTransaction', params: [raw] })),
      )
      const down = rpc.status().sources.filter((s) => s.breaker !== 'closed')
      assert.deepEqual(down, [])
    } finally {
      await rpc.close()
    }
  })

  it('rejected synchronous sends do not take the sources down', async () => {
    await resetLab(lab)
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: honest(['aws', 'gcp', 'home']) })
    const disconnects: unknown[] = []
    rpc.on('disconnect', (e) => disconnects.push(e))
    try {
      await rpc.request({ method: 'eth_blockNumber' })
      const used = await nonceNow()
      await lab.anvil.rpc('eth_sendRawTransaction', [await sign(used)])
      // Five transactions whose nonce is spent: every node refuses them, the caller's mistake.
      const stale = await Promise.all([2n, 3n, 4n, 5n, 6n].map((v) => sign(used, v)))
      const outcomes = await Promise.allSettled(
        stale.map((raw) => rpc.request({ method: 'eth_sendRawTransactionSync', params: [raw] })),
      )
      assert.ok(
        outcomes.every((o) => o.status === 'rejected'),
        'a stale transaction was accepted',
      )
      const down = rpc
        .status()
        .sources.filter((s) => s.condition === 'down' || s.breaker !== 'closed')
        .map((s) => `${s.name}: ${s.condition}, breaker ${s.breaker}`)
      assert.deepEqual(down, [], 'sources taken down by the caller’s own rejected transactions')
      assert.equal(disconnects.length, 0, 'disconnect fired')
    } finally {
      await rpc.close()
    }
  })
})
