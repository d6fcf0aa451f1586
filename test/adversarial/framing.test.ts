/**
 * Framing and denial of service: one hostile source (one failure domain of three) that does
 * not try to get a wrong answer through so much as to make outlast give up on the two honest
 * domains — mark them silent, lying, lagging, breaker-open — or make reads slow or fail.
 * The bar: with two honest domains of three, every read succeeds, agreed, with latency near the
 * honest sources', and no honest source is set aside because of the hostile one. Each test failed
 * on the code before its fix (the comment above it says what happened then).
 */
import assert from 'node:assert/strict'
import { keccak256 } from 'viem'
import { afterAll, beforeAll, describe, it } from 'vitest'
import {
  createOutlast,
  http,
  type Outlast,
  RpcResponseError,
  type Source,
} from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { CHAIN_ID, sleep, transfers } from '../helpers.ts'
import { type Anvil, devAccounts, startAnvil } from '../lab/index.ts'
import { hostile, lateImporter as lateImporterOf, paced } from './hostile.ts'

let anvil: Anvil
beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 1 })
})
afterAll(() => anvil?.stop())

/** An honest node at its own pace (`slowFor`: other delays for the methods named). */
const honest = (name: string, ms: number, slowFor: Record<string, number> = {}) =>
  paced(anvil, name, ms, slowFor)

/** Everything outlast says about a source being set aside, by source. */
function watch(rpc: Outlast) {
  const lies: string[] = []
  const moves: string[] = []
  rpc.on('lie', (e) => lies.push(e.source))
  rpc.on('source', (e) => moves.push(`${e.source}:${e.from}->${e.to}`))
  return { lies, moves }
}

const ADDRESS = `0x${'42'.repeat(20)}`

describe('a liar that looks slow answers a slow read at once', () => {
  // Holds (coverage): the liar answers every call 100 ms late (so it looks no faster than the
  // honest domains, 20 and 40 ms) but answers `eth_call` at once with a made-up result, while
  // the honest domains take 600 ms for it. fanOutDecisions.ts `outpaced` could take the liar's
  // quick answer as proof that the honest attempts are lost (then `whenExhausted` would degrade
  // to the liar's answer); the liveness probe each overdue honest source answers at once keeps
  // them counted, and the read waits for them and is agreed.
  it('a disagreeing quick answer does not outpace the honest domains', async () => {
    const liar = hostile(
      http(anvil.url, { name: 'liar', domain: 'liar', timeout: 5_000 }),
      async (method, _params, answer) => {
        if (method === 'eth_call') return '0x0bad'
        await sleep(100)
        return answer()
      },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 500,
      sources: [honest('aws', 20, { eth_call: 600 }), honest('gcp', 40, { eth_call: 600 }), liar],
    })
    try {
      await rpc.connect()
      for (let i = 0; i < 5; i++)
        await rpc.request({ method: 'eth_getBalance', params: [ADDRESS, 'latest'] })
      const started = Date.now()
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_call',
        params: [{ to: ADDRESS, data: '0x' }, 'latest'],
      })
      const ms = Date.now() - started
      assert.equal(result, '0x', `the liar's result came back (${meta.consistency}, ${ms} ms)`)
      assert.equal(meta.consistency, 'agreed')
    } finally {
      await rpc.close()
    }
  })
})

describe('proofs at a block no domain can prove (anvil genesis), one domain hostile', () => {
  let genesis: Anvil
  beforeAll(async () => {
    genesis = await startAnvil({ blockTime: 0 })
  })
  afterAll(() => genesis?.stop())

  // Attack: where every honest domain's proof misses the trusted root the same way (anvil's
  // genesis, or any state the nodes cannot prove), the hostile domain sends a proof that fails
  // another way (here an empty account proof beside a balance). At commit fac6228,
  // handlers/prove.ts `blame` called the failures "unprovable" only when *every* trusted domain
  // failed the same way: one odd failure made every failed source `markLying` (both honest
  // domains cut off for `lieCooloff`) and the read threw. An uncommitted change to prove.ts in
  // this working tree (`alikeUnanchored`, not this review's) fixes it: failures alike in two
  // domains or more are "unproven", only the odd one is a liar, and the read is agreed. A plain
  // `it`, so that the fix stays.
  it('an odd failed proof does not make the honest domains liars', async () => {
    assert.equal(await genesis.rpc('eth_blockNumber'), '0x0')
    const liar = hostile(
      http(genesis.url, { name: 'liar', domain: 'liar' }),
      async (method, _params, answer) => {
        const a = await answer()
        return method === 'eth_getProof' ? { ...(a as object), accountProof: [] } : a
      },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      prover: proofs(),
      sources: [
        http(genesis.url, { name: 'aws', domain: 'aws' }),
        http(genesis.url, { name: 'gcp', domain: 'gcp' }),
        liar,
      ],
    })
    const seen = watch(rpc)
    try {
      // The agreed head's header reaches the trust store (asynchronously) before the read.
      await rpc.connect()
      await sleep(300)
      const address = devAccounts[0]!.address
      const read = await rpc
        .requestWithMeta({ method: 'eth_getBalance', params: [address, 'latest'] })
        .catch((e: Error) => e)
      assert.deepEqual(
        seen.lies.filter((s) => s !== 'liar'),
        [],
        `honest sources called liars: ${seen.lies.join(', ')}`,
      )
      assert.ok(!(read instanceof Error), `the read failed: ${String(read)}`)
      assert.equal(read.result, await genesis.rpc('eth_getBalance', [address, 'latest']))
    } finally {
      await rpc.close()
    }
  })
})

describe('a method no honest node serves', () => {
  // Attack: the dApp calls a method outlast does not list and the nodes do not serve (a
  // provider-specific extension the app expected). Both honest domains refuse it as the
  // caller's error (-32601); the hostile domain answers it with a made-up value. The caller's
  // error stands only when *every* failure is one (fanOutDecisions.ts `whenExhausted`:
  // `callersErrors.length === failures`, checked only when no answer came); with one answer
  // beside two refusals, `whenExhausted` takes "one answer, every other domain failed" and
  // degrades to the hostile's value. What should happen: two domains' "no such method" is an
  // agreed answer (the caller's error, -32601), not two failed domains.
  it('two domains\' "method not found" outvote one domain\'s answer', async () => {
    const liar = hostile(
      http(anvil.url, { name: 'liar', domain: 'liar' }),
      async (method, _params, answer) => (method === 'acme_tokenPrice' ? '0x1337' : answer()),
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 500,
      sources: [honest('aws', 20), honest('gcp', 40), liar],
    })
    try {
      await rpc.connect()
      const read = await rpc
        .requestWithMeta({ method: 'acme_tokenPrice', params: [] })
        .catch((e: Error & { code?: number }) => e)
      assert.ok(read instanceof Error, `the hostile's value came back: ${JSON.stringify(read)}`)
      assert.equal((read as { code?: number }).code, -32601)
    } finally {
      await rpc.close()
    }
  })

  // The same, with the hostile failing instead of answering (an HTTP 500 to that method): the
  // two refusals are no longer "every failure", and the caller gets `AllSourcesFailedError`
  // (4900, "disconnected") instead of the nodes' -32601.
  it('two domains\' "method not found" is the answer when a third fails', async () => {
    const liar = hostile(
      http(anvil.url, { name: 'liar', domain: 'liar' }),
      async (method, _params, answer) => {
        if (method === 'acme_tokenPrice') throw new Error('HTTP 500')
        return answer()
      },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 500,
      sources: [honest('aws', 20), honest('gcp', 40), liar],
    })
    try {
      await rpc.connect()
      const read = await rpc
        .request({ method: 'acme_tokenPrice', params: [] })
        .catch((e: Error & { code?: number }) => e)
      assert.ok(read instanceof Error)
      assert.equal((read as { code?: number }).code, -32601, String(read))
    } finally {
      await rpc.close()
    }
  })
})

/** Resolves after `ms`, or rejects once `signal` aborts (a hostile that holds a call open). */
const hold = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(t)
      reject(new Error('aborted'))
    })
  })

describe('a domain that looks slow and never answers fee figures', () => {
  // Attack: the hostile answers everything 400 ms late (so its expected latency is ~600 ms) and
  // holds every `eth_gasPrice` open. median.ts asks three domains at once; once the two honest
  // ones answered (20 and 40 ms), `patience` waits min(1 s, 2 × the silent one's expected
  // latency) for a tie-breaker that never comes. The attempt is then aborted by us, which
  // `recordFailure` does not count (kind `aborted`): the hostile is never penalized, its
  // breaker never opens, and it is asked (and waited for) on every fee read. What happened: every
  // fee read takes ~1 s where the honest domains answer in 40 ms. What should happen: with two
  // domains' figures in, the tie-breaker's wait is bounded by the answering domains' pace (or a
  // tie-breaker cut off by that wait counts as that source's timeout, so it stops being waited for).
  it('fee reads are not held up by a tie-breaker that never answers', async () => {
    const inner = http(anvil.url, { name: 'liar', domain: 'liar', timeout: 5_000 })
    const liar: Source = {
      config: inner.config,
      request: async (body, options) => {
        await hold(body.method === 'eth_gasPrice' ? 60_000 : 400, options?.signal)
        return inner.request(body, options)
      },
    }
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 500,
      sources: [honest('aws', 20), honest('gcp', 40), liar],
    })
    try {
      await rpc.connect()
      for (let i = 0; i < 5; i++) await rpc.request({ method: 'eth_blockNumber' })
      const times: number[] = []
      for (let i = 0; i < 8; i++) {
        const started = Date.now()
        const { meta } = await rpc.requestWithMeta({ method: 'eth_gasPrice' })
        times.push(Date.now() - started)
        assert.equal(meta.consistency, 'median')
      }
      assert.ok(
        // Held up, each took ~1,050 ms; the margin is for a loaded machine.
        times.filter((ms) => ms > 700).length <= 2,
        `fee reads took ${times.join(', ')} ms (honest domains: 20 and 40 ms)`,
      )
    } finally {
      await rpc.close()
    }
  })
})

describe('an idle chain, one domain that answers its head polls late', () => {
  let idle: Anvil
  beforeAll(async () => {
    idle = await startAnvil({ blockTime: 0 })
  })
  afterAll(() => idle?.stop())

  // Attack: on a chain whose head is older than `maxHeadAge` (an idle chain: a quiet L2, a
  // devnet; here `maxHeadAge` 1 s over an anvil that mines nothing), head.ts `pollAll` does not
  // settle on the two honest domains' old head while a third is still to answer
  // (`waitForOthers`), up to `patience`, which createOutlast.ts computes from that silent
  // source's own expected latency (3 of its round trips, up to 3 × hedge.max = 6 s). The hostile
  // answers every call 5 s late: its expected latency is capped at 2 s, the patience is 6 s, and
  // each head refresh waits ~5 s for it. A read after an idle spell (`get()` awaits the refresh
  // once the head is 3 polling intervals old) takes ~5 s where the honest domains answer in
  // 40 ms. What should happen: the wait for a tie-breaker on an old head is bounded by the
  // answering domains' pace (or a fixed second), not by the silent source's self-made slowness.
  it('a read after an idle spell is not held up by the slow domain', async () => {
    const slowHonest = (name: string, ms: number) =>
      hostile(http(idle.url, { name, domain: name }), async (_m, _p, answer) => {
        await sleep(ms)
        return answer()
      })
    const liar = hostile(
      http(idle.url, { name: 'liar', domain: 'liar', timeout: 20_000 }),
      async (_method, _params, answer) => {
        await sleep(5_000)
        return answer()
      },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 1_000,
      maxHeadAge: 1_000,
      sources: [slowHonest('aws', 20), slowHonest('gcp', 40), liar],
    })
    try {
      await rpc.connect()
      await rpc.request({ method: 'eth_getBalance', params: [ADDRESS, 'latest'] })
      await sleep(6_000) // idle: the head is three polling intervals old, no poll in flight
      const started = Date.now()
      const { meta } = await rpc.requestWithMeta({
        method: 'eth_getBalance',
        params: [ADDRESS, 'latest'],
      })
      const ms = Date.now() - started
      assert.equal(meta.consistency, 'agreed')
      assert.ok(ms < 1_500, `the read took ${ms} ms (honest domains: 20 and 40 ms)`)
    } finally {
      await rpc.close()
    }
  }, 40_000)
})

describe('a transaction both honest domains reject', () => {
  // Attack: the caller resends a transaction whose nonce is used (both honest domains answer
  // "nonce too low", -32000); the hostile domain rejects it in other words ("insufficient funds").
  // broadcast.ts `rejectionOf` returns the nodes' rejection only when *every* rejecting source
  // gave the same one; one odd rejection turns two domains' agreed "nonce too low" into
  // `AllSourcesFailedError` (code 4900, "disconnected"), which wallets read as an outage, not as
  // a nonce to bump. What should happen: the rejection two domains agree on is the answer.
  it("two domains' rejection is returned, whatever a third says", async () => {
    const { sign, nonceNow } = transfers(() => anvil)
    const nonce = await nonceNow()
    const first = await sign(nonce)
    await anvil.rpc('eth_sendRawTransaction', [first])
    const mined = () => anvil.rpc('eth_getTransactionReceipt', [keccak256(first)])
    for (let i = 0; i < 50 && (await mined()) === null; i++) await sleep(100)
    // Another transaction at the used nonce: no node holds it (the same one again would be the
    // mined send's, and sent: reviewOfSyncSendsAndPushes).
    const raw = await sign(nonce, 2n)
    const liar = hostile(
      http(anvil.url, { name: 'liar', domain: 'liar' }),
      async (method, _params, answer) => {
        if (method !== 'eth_sendRawTransaction') return answer()
        throw new RpcResponseError('liar', {
          code: -32000,
          message: 'insufficient funds for gas * price + value',
        })
      },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 500,
      sources: [honest('aws', 20), honest('gcp', 40), liar],
    })
    try {
      const sent = await rpc
        .request({ method: 'eth_sendRawTransaction', params: [raw] })
        .catch((e: Error & { code?: number }) => e)
      assert.ok(sent instanceof Error, 'a used nonce is rejected')
      const e = sent as Error & { code?: number }
      assert.match(e.message, /nonce too low/i, `${e.name} (${e.code}): ${e.message}`)
      assert.equal(e.code, -32003) // anvil's code for "nonce too low"
    } finally {
      await rpc.close()
    }
  })
})

describe('a made-up receipt beside two honest "not yet"s', () => {
  // Attack: a wallet polls `eth_getTransactionReceipt` for a transaction not mined yet; both
  // honest domains answer `null`. The hostile (fastest) answers a made-up receipt for it. Beside
  // a real answer, a `null` is "not yet" (fanOut.ts `recheckPending`): each honest `null` is
  // withdrawn and asked again 200 ms, then 800 ms later (RECHECK_DELAYS), so the two honest
  // domains' agreed `null` stands only after ~1 s, on every poll. What should happen: two
  // domains' `null` is agreed at once (a lone receipt is not a reason to doubt two domains); or
  // the re-checks stop once the lone receipt is refuted. The poll answers in ~honest latency.
  it('two domains\' "not yet" is not held up by one made-up receipt', async () => {
    const unknown = `0x${'5e'.repeat(32)}`
    const liar = hostile(
      http(anvil.url, { name: 'liar', domain: 'liar' }),
      async (method, params, answer) => {
        if (method !== 'eth_getTransactionReceipt' || params[0] !== unknown) return answer()
        const block = await anvil.rpc<Record<string, string>>('eth_getBlockByNumber', [
          'latest',
          false,
        ])
        return {
          transactionHash: unknown,
          transactionIndex: '0x0',
          blockHash: block.hash,
          blockNumber: block.number,
          from: devAccounts[1]!.address.toLowerCase(),
          to: devAccounts[2]!.address.toLowerCase(),
          cumulativeGasUsed: '0x5208',
          gasUsed: '0x5208',
          effectiveGasPrice: '0x3b9aca00',
          contractAddress: null,
          logs: [],
          logsBloom: `0x${'00'.repeat(256)}`,
          status: '0x1',
          type: '0x2',
        }
      },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 500,
      sources: [honest('aws', 20), honest('gcp', 40), liar],
    })
    try {
      await rpc.connect()
      for (let i = 0; i < 5; i++) await rpc.request({ method: 'eth_blockNumber' })
      const times: number[] = []
      for (let i = 0; i < 4; i++) {
        const started = Date.now()
        const r = await rpc.requestWithMeta({
          method: 'eth_getTransactionReceipt',
          params: [unknown],
        })
        times.push(Date.now() - started)
        assert.equal(r.result, null)
      }
      assert.ok(
        // Held up, each took ~1,130 ms; the margin is for a loaded machine.
        times.every((ms) => ms < 800),
        `receipt polls took ${times.join(', ')} ms (honest domains: 20 and 40 ms)`,
      )
    } finally {
      await rpc.close()
    }
  })
})

describe('an honest domain that imports blocks later than the others', () => {
  // Attack: the hostile domain is a fast, truthful node: the moment a block appears it reports
  // it, so the agreed head (hostile + the fastest honest domain) moves before the slower honest
  // domain imported it (here 400 ms later, as a node further from the producer). Reads pinned to
  // that head ask the slow domain for a block it does not have yet: its "header for hash not
  // found" is a dissent (tally.ts `judgeTrusted`), and once hostile + fast domain agree,
  // fanOut.ts `finish` penalizes every source outside the winning group whose value is not
  // `null` ("disagreed with the quorum", breaker `failure()`): a node that is merely a block
  // behind is counted failing; three such reads in a row open its breaker ("down"). While it is
  // down, the hostile and the one honest domain left are the quorum. What should happen: an
  // "unknown block" for a block at the edge is "not yet", not a contradiction; the honest node
  // is not penalized for it, and its breaker stays closed.
  it('a node a block behind is not penalized for "unknown block"', async () => {
    const slow = lateImporterOf(anvil, 'gcp', 400)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 250,
      sources: [
        honest('aws', 20),
        slow,
        hostile(http(anvil.url, { name: 'liar', domain: 'liar' }), (_m, _p, answer) => answer()),
      ],
    })
    const seen = watch(rpc)
    try {
      await rpc.connect()
      const end = Date.now() + 6_000
      while (Date.now() < end) {
        await Promise.all(
          Array.from({ length: 4 }, () =>
            rpc.request({ method: 'eth_getBalance', params: [ADDRESS, 'latest'] }).catch(() => {}),
          ),
        )
        await sleep(30)
      }
      const framed = seen.moves.filter((m) => m.startsWith('gcp:') && /->(down|degraded)/.test(m))
      assert.deepEqual(framed, [], `the slower honest node was set aside: ${framed.join(', ')}`)
    } finally {
      slow.stop()
      await rpc.close()
    }
  }, 20_000)
})
