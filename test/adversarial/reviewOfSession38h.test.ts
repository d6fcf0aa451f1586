/**
 * Attacker's review, session 38h: today's node-error rules after 1df35a0 (with 237f1e5, a8c1bad):
 * nodeErrors.ts `revertData` (a revert with data keyed by its data whatever its code), `kindOf` /
 * `KIND_WORDS` (Besu's "upfront cost exceeds account balance", geth's "insufficient funds for
 * transfer"; a kind an answer whatever its code, before the not-now codes), tally.ts `wordless`
 * (a kind's fixed words and `KIND_CODES`, code 3 for reverts numbered differently), read.ts
 * (`degraded: true` on a lone domain's error), as a wallet, dApp or bot meets them through
 * outlast/viem, outlast/ethers and `outlast proxy` (proxy/jsonRpc.ts `errorObject`, metrics.ts).
 * Honest nodes of other clients are lab proxies to real anvil whose answers are rewritten into
 * those clients' words and codes; a hostile source, where used, is one more domain. Each finding
 * is an `it.fails('correct behaviour: …')`, each checked to fail as a plain `it` for the hole's
 * own reason; `Held: …` are attacks that failed.
 *
 * Found (all three fixed the same stop, their tests renamed "Fixed: …"):
 * 1. (medium-low; the viemErrors fix missing from the proxy) The proxy writes outlast's own
 *    failures (QuorumError, AllSourcesFailedError, DeadlineError…: -32603) as they are: code
 *    -32603 and their short message. viem reads -32603 with a message as a contract revert
 *    (getContractError: `[3, InternalRpcError.code].includes(code)`), which is why outlast/viem
 *    sends them as `OutlastRequestError` -32002 (adapters/viem.ts `forViem`); the proxy does not.
 *    Attack: quorum 2, two domains, one liar answering eth_call with another word; a viem
 *    public client over `http(proxyUrl)` calls `readContract`. Observed: the proxy answers
 *    {"code":-32603,"message":"No answer to eth_call was agreed by 2 failure domains."}; viem
 *    throws ContractFunctionExecutionError "The contract function "value" reverted with the
 *    following reason: No answer to eth_call was agreed by 2 failure domains."
 *    (ContractFunctionRevertedError in its chain): one liar makes any read of a dApp or bot on
 *    the proxy look like a revert (a simulation that "reverts" blocks a user's transaction, a bot
 *    takes the call as failing on chain), with outlast's text as the reason. Expected: no revert;
 *    "resource unavailable", as through outlast/viem. Responsible: proxy/jsonRpc.ts
 *    `errorObject` (`answer`, webSockets.ts alike). Fix: map outlast's own failures as `forViem`
 *    does (an error that is not an RpcResponseError or ProviderRpcError with code -32603 goes
 *    out as -32002, its short message only), keeping nodes' errors and provider errors as they
 *    are; one helper shared by adapters/viem.ts and the proxy. Fixed: proxy/jsonRpc.ts
 *    `errorObject` sends outlast's own -32603 as -32002 (by name, as `forViem`; not shared: the
 *    adapter's entry stays free of the proxy's code).
 * 2. (low; 38g finding 2's fix half-way for ethers) A kind is returned in its fixed words and
 *    code only where the members' words differ (tally.ts `add`: `wordless` runs only when the
 *    reasons differ). Where every domain that agreed is Besu, the agreed funds refusal is
 *    Besu's own: -32004 "Upfront cost exceeds account balance (…)". Attack (no liar needed):
 *    quorum 2, two Besu domains; a wallet on outlast/ethers estimates an empty account's
 *    1-ether transfer. Observed: engine -32004 "besu: JSON-RPC error -32004: Upfront cost
 *    exceeds account balance (…)"; ethers' estimateGas CALL_EXCEPTION "missing revert data"
 *    (ethers reads /insufficient funds/ for INSUFFICIENT_FUNDS), so the wallet says the
 *    transfer would revert; through the proxy a JSON-RPC client gets code -32004, EIP-1474's
 *    "limit exceeded" (viem over outlast/viem still finds InsufficientFundsError by Besu's
 *    words). With anvil and Besu agreeing (control, held) the same refusal is -32003 "insufficient
 *    funds for gas * price + value", named outlast, and ethers gives INSUFFICIENT_FUNDS: what a
 *    wallet shows depends on which two domains answered first, and (by reading `add`) one liar
 *    that echoes Besu's message word for word beside one Besu domain picks the -32004 form.
 *    Responsible: tally.ts `Tally.add` / `wordless`. Fix: return a kind in its fixed words and
 *    `KIND_CODES` code whenever its code is not the kind's or its words do not begin with
 *    `KINDS[kind]` (Besu's -32004, geth's "insufficient funds for transfer"), agreed alike or
 *    not; keep a node's own words only where they already begin with the kind's. Fixed so
 *    (tally.ts `asKind`, when a group is made).
 * 3. (low; observability, "read, not tested" in 38g) A lone domain's thrown error (read.ts sets
 *    `degraded: true`) reaches a proxy client exactly as the domains' agreed error does (the same
 *    code, message and data), and /metrics counts both `consistency="error"`: requestWithMeta.ts
 *    emits the failed `request` event with no meta and no `degraded`. Attack: two domains, one
 *    out for eth_call (connection refused); a reverting call before and after. Observed: the
 *    replies deep-equal; `outlast_requests_total{method="eth_call",consistency="error"} 3` for
 *    one agreed and two lone-domain errors. An operator cannot see that the proxy is answering
 *    with one domain's word (a liar's "insufficient funds" while the honest domain is out),
 *    though it can for results (`consistency="degraded"`). Responsible: requestWithMeta.ts
 *    (the failed `request` event), proxy/metrics.ts `onRequest`. Fix: emit `degraded: true` on a
 *    failed request whose error is degraded, and count it `consistency="degraded-error"` (or an
 *    `outcome` label); for the reply, a response header (`x-outlast-consistency: degraded`) on a
 *    single HTTP call, as for a degraded result. Fixed: the failed `request` event carries
 *    `degraded`, counted `consistency="degraded-error"`; a single call over HTTP carries the
 *    `x-outlast-consistency` header (its answer's consistency, `error` or `degraded-error`:
 *    proxy/jsonRpc.ts `consistencyOf`, the next session).
 *
 * Held (asserted below):
 * - Revert data spelled '0xABCD…' and '0xabcd…' is one answer (canonical.ts lower-cases hex).
 * - A liar's -32000 "execution reverted: …" with data of its own is keyed apart from the honest
 *   code-3 revert; with the honest data, answering first, its code and words are not returned
 *   (code 3, "execution reverted", named outlast). Lab: a liar's Error("lies") as -32000 beside two
 *   anvil domains' Error("nope"): code 3, NOPE, not degraded, three times.
 * - A liar's kind under a code of its choosing (429) and words with an address, answering first:
 *   the kind's fixed words and -32003.
 * - `kindOf` reads words only where data is null, undefined or "0x"; data {} / 0 / "" / false is
 *   no kind (keyed by code and data, apart from the kind: a liar gains nothing).
 * - Quorum 2 of 3: two anvil domains' estimate stands, agreed, against a liar's -32004 funds kind.
 * - Quorum 2 of 2, a liar's kind ("insufficient funds for transfer") beside the honest estimate:
 *   a QuorumError, never the liar's refusal or the honest figure labelled agreed. Before 1df35a0
 *   a -32004 kind was a failure (the honest figure stood, degraded), but a liar's -32000
 *   "insufficient funds for gas…" split it then too: no new power.
 * - The proxy gives an agreed revert as code 3 with its data, and anvil's and Besu's numbered
 *   differently as code 3 "execution reverted" with that data, named outlast.
 * - anvil's and Besu's funds refusals together: -32003, named outlast; ethers INSUFFICIENT_FUNDS,
 *   viem InsufficientFundsError.
 *
 * Read, not tested:
 * - Huge or deep error data: sourcePool.ts `failureOf` screens any RpcResponseError's data
 *   (bounds.ts `screen`) before tally.ts keys it, whatever its code; the new -32000 revert path
 *   goes through the same `canonical` as code 3 (test/adversarial/hugeAnswers.test.ts).
 * - The status page escapes every field it draws (statusPage.ts `esc`); a node answer is
 *   recorded as a success (sourcePool.ts), so a liar's error words never reach `lastError`.
 */
import assert from 'node:assert/strict'
import { createPublicClient, encodeErrorResult, parseAbi, http as viemHttp } from 'viem'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { OutlastProvider } from '../../src/adapters/ethers.ts'
import { outlast } from '../../src/adapters/viem.ts'
import { kindOf, nodeErrorKey } from '../../src/core/nodeErrors.ts'
import type { SourceState } from '../../src/core/sourceState.ts'
import { Tally } from '../../src/core/tally.ts'
import { type Outlast, RpcResponseError, type Source, SourceError } from '../../src/index.ts'
import { startProxyServer } from '../../src/proxy/server.ts'
import type { Hex } from '../../src/shared/types.ts'
import type { Lab } from '../lab/index.ts'
import { ETHER, fleet, hex, labNode, POOR, RICH, settle } from './fleet.ts'
import type { Rewrite } from './hostile.ts'
import { startLiarLab } from './proxiedLiar.ts'
import { warm } from './syncSends.ts'

const err = (code: number, message: string, data?: unknown, source = 'n') =>
  new RpcResponseError(source, data === undefined ? { code, message } : { code, message, data })

/** The group errors of a tally fed `errors` (domain, error) as judge keys them. */
const grouped = (errors: [string, RpcResponseError][]) => {
  const t = new Tally({ sources: 2, domains: 2 })
  for (const [d, e] of errors)
    t.add({ name: d, domain: d } as unknown as SourceState, nodeErrorKey(e), undefined, e)
  return t.all()
}

const NOPE = encodeErrorResult({
  abi: [{ type: 'error', name: 'Error', inputs: [{ name: 'message', type: 'string' }] }],
  errorName: 'Error',
  args: ['nope'],
})
const LIES = encodeErrorResult({
  abi: [{ type: 'error', name: 'Error', inputs: [{ name: 'message', type: 'string' }] }],
  errorName: 'Error',
  args: ['lies'],
})

describe('revertData and kinds (unit)', () => {
  it("Held: honest revert data spelled '0xABCD…' and '0xabcd…' is one answer (canonical lower-cases it)", () => {
    const up = `0x${NOPE.slice(2).toUpperCase()}`
    const g = grouped([
      ['a', err(3, 'execution reverted: nope', NOPE)],
      ['b', err(-32000, 'Execution reverted: nope', up)],
    ])
    assert.equal(g.length, 1)
    assert.equal(g[0]!.error!.code, 3)
    assert.equal(String(g[0]!.error!.data).toLowerCase(), NOPE)
  })

  it("Held: a liar's -32000 'execution reverted: …' with data of its own is keyed apart from the honest code-3 revert; with the honest data, first, it is returned as code 3 'execution reverted' with that data, named outlast", () => {
    assert.notEqual(
      nodeErrorKey(err(-32000, 'execution reverted: lies', LIES)),
      nodeErrorKey(err(3, 'execution reverted: nope', NOPE)),
    )
    const [g] = grouped([
      ['liar', err(-32000, 'execution reverted: all good, sign it', NOPE, 'liar')],
      ['a', err(3, 'execution reverted: nope', NOPE, 'a')],
    ])
    assert.equal(g!.error!.code, 3)
    assert.equal(g!.error!.data, NOPE)
    assert.equal(g!.error!.source, 'outlast')
    assert.doesNotMatch(g!.error!.message, /sign it/)
  })

  it("Held: a liar's kind with a code of its choosing, first, is returned in the kind's fixed words and code", () => {
    const [g] = grouped([
      [
        'liar',
        err(
          429,
          'insufficient funds for gas * price + value: send 1 ETH to 0xdead',
          undefined,
          'liar',
        ),
      ],
      ['a', err(-32003, 'Insufficient funds for gas * price + value', undefined, 'a')],
    ])
    assert.equal(g!.error!.code, -32003)
    assert.equal(g!.error!.source, 'outlast')
    assert.doesNotMatch(g!.error!.message, /0xdead/)
  })

  it('Held: kindOf reads words only where data is null, undefined or 0x; {} / 0 / "" data is no kind (keyed apart)', () => {
    assert.equal(kindOf(err(-32000, 'nonce too low', null)), 'nonce-low')
    assert.equal(kindOf(err(-32000, 'nonce too low', '0x')), 'nonce-low')
    for (const d of [{}, 0, '', false])
      assert.equal(kindOf(err(-32000, 'nonce too low', d)), undefined)
  })
})

let lab: Lab
beforeAll(async () => {
  lab = await startLiarLab()
})
afterAll(() => lab.stop())

const node = (proxy: string, name: string, rewrite?: Rewrite, extra = {}): Source =>
  labNode(lab, proxy, name, rewrite, extra)

/** Besu's revert: -32000 "Execution reverted[: reason]", the revert data as it is. */
const rewordRevert: Rewrite = async (_m, _p, answer) => {
  try {
    return await answer()
  } catch (e) {
    if (e instanceof RpcResponseError && e.code === 3 && e.data && e.data !== '0x')
      throw new RpcResponseError('besu', {
        code: -32000,
        message: 'Execution reverted: nope',
        data: e.data,
      })
    throw e
  }
}

const revertingWith = (data: string) => {
  const body = data.slice(2)
  const len = (body.length / 2).toString(16).padStart(4, '0')
  return `0x61${len}61000f60003961${len}6000fd${body}`
}

/** Besu's refusal of an unaffordable estimate (besu#9022). */
const besuEstimate: Rewrite = async (method, params, answer) => {
  const tx = params[0] as { from?: string } | undefined
  if (method === 'eth_estimateGas' && tx?.from?.toLowerCase() === POOR)
    throw new RpcResponseError('besu', {
      code: -32004,
      message: `Upfront cost exceeds account balance (transaction up-front cost ${hex(ETHER + 21_000n)} exceeds transaction sender account balance 0x0)`,
    })
  return answer()
}

describe('lab: kinds and reverts beside honest answers', () => {
  it("Held: quorum 2 of 3 domains, two anvil domains' estimate stands against a liar's Besu-worded funds kind (-32004)", async () => {
    const liar: Rewrite = async (method, _p, answer) => {
      if (method === 'eth_estimateGas')
        throw new RpcResponseError('liar', {
          code: -32004,
          message:
            'Upfront cost exceeds account balance (transaction up-front cost 0x1 exceeds transaction sender account balance 0x0)',
        })
      return answer()
    }
    const rpc = fleet([node('liar', 'liar', liar), node('aws', 'aws'), node('gcp', 'gcp')])
    try {
      await rpc.connect()
      await warm(rpc)
      const got = await settle(
        rpc.requestWithMeta({
          method: 'eth_estimateGas',
          params: [{ from: RICH, to: POOR, value: '0x1' }],
        }),
      )
      assert.ok(got.value, `${got.error?.message}`)
      assert.equal(got.value.result, '0x5208')
      assert.equal(got.value.meta.consistency, 'agreed')
      assert.ok(!got.value.meta.sources.includes('liar'))
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Held: quorum 2 of 2 domains, a liar's kind error beside the honest estimate is a QuorumError, never the liar's refusal nor the honest figure labelled agreed", async () => {
    const liar: Rewrite = async (method, _p, answer) => {
      if (method === 'eth_estimateGas')
        throw new RpcResponseError('liar', {
          code: -32000,
          message: 'insufficient funds for transfer',
        })
      return answer()
    }
    const rpc = fleet([node('liar', 'liar', liar), node('aws', 'aws')])
    try {
      await rpc.connect()
      await warm(rpc)
      const got = await settle(
        rpc.requestWithMeta({
          method: 'eth_estimateGas',
          params: [{ from: RICH, to: POOR, value: '0x1' }],
        }),
      )
      console.log('2of2', got.error?.name, got.error?.message, got.value?.meta.consistency)
      assert.ok(got.error, `${got.value?.result} ${got.value?.meta.consistency}`)
      assert.ok(!(got.error instanceof RpcResponseError), got.error.message)
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Held: a liar's -32000 'execution reverted: lies' with data of its own beside two anvil domains' Error(\"nope\") (code 3): their revert, code 3, NOPE, not degraded", async () => {
    const C = `0x${'00'.repeat(18)}be01`
    await lab.anvil.rpc('anvil_setCode', [C, revertingWith(NOPE)])
    await lab.anvil.rpc('anvil_mine', ['0x1'])
    const liar: Rewrite = async (method, _p, answer) => {
      if (method === 'eth_call')
        throw new RpcResponseError('liar', {
          code: -32000,
          message: 'execution reverted: lies',
          data: LIES,
        })
      return answer()
    }
    const rpc = fleet([node('liar', 'liar', liar), node('aws', 'aws'), node('gcp', 'gcp')])
    try {
      await rpc.connect()
      await warm(rpc)
      for (let i = 0; i < 3; i++) {
        const { error } = await settle(rpc.request({ method: 'eth_call', params: [{ to: C }] }))
        assert.ok(error instanceof RpcResponseError, String(error))
        assert.equal(error.code, 3)
        assert.equal(error.data, NOPE)
        assert.equal(error.degraded, undefined)
      }
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

/** anvil's (and reth's) refusal of the same estimate. */
const anvilEstimate: Rewrite = async (method, params, answer) => {
  const tx = params[0] as { from?: string } | undefined
  if (method === 'eth_estimateGas' && tx?.from?.toLowerCase() === POOR)
    throw new RpcResponseError('anvil', {
      code: -32003,
      message: 'Insufficient funds for gas * price + value',
    })
  return answer()
}

/** What the engine, viem (outlast/viem) and ethers (OutlastProvider) make of an unaffordable estimate. */
async function estimateThrough(sources: Source[]) {
  const rpc = fleet(sources)
  const client = createPublicClient({ chain: foundry, transport: outlast(rpc) })
  const provider = new OutlastProvider(rpc)
  try {
    await rpc.connect()
    await warm(rpc)
    const engine = await settle(
      rpc.request({
        method: 'eth_estimateGas',
        params: [{ from: POOR, to: RICH, value: hex(ETHER) }],
      }),
    )
    const viem = await settle(
      client.estimateGas({ account: POOR as Hex, to: RICH as Hex, value: ETHER }),
    )
    const ethers = await settle(provider.estimateGas({ from: POOR, to: RICH, value: ETHER }))
    return {
      engine: engine.error,
      viem: viem.error,
      ethers: ethers.error as (Error & { code?: string }) | undefined,
    }
  } finally {
    provider.destroy()
    await rpc.close()
  }
}

const viemFunds = (e: Error | undefined) =>
  !!(e as { walk?(f: (x: unknown) => boolean): unknown } | undefined)?.walk?.(
    (x) => (x as Error).name === 'InsufficientFundsError',
  )

describe("the funds kind in Besu's words, through the adapters", () => {
  it("Held (control): anvil's and Besu's refusals, worded differently, come back in the kind's words and code (-32003, named outlast): ethers' estimateGas gives INSUFFICIENT_FUNDS, viem's InsufficientFundsError", async () => {
    const got = await estimateThrough([
      node('aws', 'anvil', anvilEstimate),
      node('gcp', 'besu', besuEstimate),
    ])
    assert.ok(got.engine instanceof RpcResponseError, String(got.engine))
    assert.equal(got.engine.code, -32003)
    assert.equal(got.engine.source, 'outlast')
    assert.ok(viemFunds(got.viem), `viem ${got.viem?.name}: ${got.viem?.message}`)
    assert.equal(got.ethers?.code, 'INSUFFICIENT_FUNDS', got.ethers?.message)
  }, 30_000)

  it("Fixed: two Besu domains' agreed refusal of an unaffordable estimate (-32004 \"Upfront cost exceeds account balance\", the funds kind) reaches ethers' estimateGas as INSUFFICIENT_FUNDS, as anvil's and Besu's together do", async () => {
    const got = await estimateThrough([
      node('aws', 'besu-a', besuEstimate),
      node('gcp', 'besu-b', besuEstimate),
    ])
    assert.ok(got.engine instanceof RpcResponseError, String(got.engine))
    assert.ok(viemFunds(got.viem), `viem ${got.viem?.name}: ${got.viem?.message}`)
    assert.equal(
      got.ethers?.code,
      'INSUFFICIENT_FUNDS',
      `engine ${got.engine.code} "${got.engine.shortMessage}"; ethers ${got.ethers?.code}: ${got.ethers?.message.split('\n')[0]}`,
    )
  }, 30_000)
})

describe('the proxy and node errors', () => {
  const post = async (url: string, body: unknown) =>
    (await (
      await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    ).json()) as { error?: { code: number; message: string; data?: unknown } }

  const served = (rpc: Outlast) =>
    startProxyServer(rpc, {
      port: 0,
      host: '127.0.0.1',
      cors: [],
      maxBodyBytes: 1_048_576,
      maxConcurrent: 256,
    })

  it('Held: the proxy gives an agreed revert as code 3 with its data, and anvil\'s and Besu\'s numbered differently as code 3 "execution reverted" with that data, named outlast', async () => {
    const C = `0x${'00'.repeat(18)}be02`
    await lab.anvil.rpc('anvil_setCode', [C, revertingWith(NOPE)])
    await lab.anvil.rpc('anvil_mine', ['0x1'])
    const besu = rewordRevert
    for (const sources of [
      [node('aws', 'aws'), node('gcp', 'gcp')],
      [node('aws', 'anvil'), node('gcp', 'besu', besu)],
    ]) {
      const rpc = fleet(sources)
      const proxy = await served(rpc)
      try {
        await rpc.connect()
        const r = await post(proxy.url, {
          jsonrpc: '2.0',
          id: 1,
          method: 'eth_call',
          params: [{ to: C }, 'latest'],
        })
        assert.equal(r.error?.code, 3, JSON.stringify(r))
        assert.equal(r.error?.data, NOPE)
        assert.match(String(r.error?.message), /execution reverted/)
      } finally {
        await proxy.close()
        await rpc.close()
      }
    }
  }, 30_000)

  it("Fixed: a split read through the proxy (one liar of two domains) does not reach a viem http client as a contract revert (ContractFunctionRevertedError with outlast's failure as the reason), as it does not through outlast/viem", async () => {
    const C = `0x${'00'.repeat(18)}c0de`
    await lab.anvil.rpc('anvil_setCode', [C, '0x602a60005260206000f3'])
    await lab.anvil.rpc('anvil_mine', ['0x1'])
    const liar: Rewrite = async (method, _p, answer) =>
      method === 'eth_call' ? `0x${'00'.repeat(31)}63` : answer()
    const rpc = fleet([node('aws', 'aws'), node('liar', 'liar', liar)])
    const proxy = await served(rpc)
    const client = createPublicClient({
      chain: foundry,
      transport: viemHttp(proxy.url, { retryCount: 0 }),
    })
    try {
      await rpc.connect()
      await warm(rpc)
      const raw = await post(proxy.url, {
        jsonrpc: '2.0',
        id: 1,
        method: 'eth_call',
        params: [{ to: C, data: '0x3fa4f245' }, 'latest'],
      })
      const { error } = await settle(
        client.readContract({
          address: C as Hex,
          abi: parseAbi(['function value() view returns (uint256)']),
          functionName: 'value',
        }),
      )
      assert.ok(error, 'the split was no error')
      const reverted = (error as { walk?(f: (x: unknown) => boolean): unknown }).walk?.(
        (x) => (x as Error).name === 'ContractFunctionRevertedError',
      )
      assert.ok(
        !reverted,
        `proxy ${JSON.stringify(raw.error)}; viem ${error.name}: ${error.message.split('\n').slice(0, 2).join(' ')}`,
      )
    } finally {
      await proxy.close()
      await rpc.close()
    }
  }, 30_000)

  it("Fixed: the proxy's /metrics tells a lone domain's thrown error (degraded: true) from the domains' agreed errors, not both consistency=\"error\"", async () => {
    const C = `0x${'00'.repeat(18)}be03`
    await lab.anvil.rpc('anvil_setCode', [C, revertingWith(NOPE)])
    await lab.anvil.rpc('anvil_mine', ['0x1'])
    let down = false
    const flaky: Rewrite = async (method, _p, answer) => {
      if (down && method === 'eth_call')
        throw new SourceError('gcp', 'network', 'connection refused')
      return answer()
    }
    const rpc = fleet([node('aws', 'aws'), node('gcp', 'gcp', flaky)])
    const proxy = await served(rpc)
    try {
      await rpc.connect()
      await warm(rpc)
      const call = (id: number, data: string) =>
        post(proxy.url, {
          jsonrpc: '2.0',
          id,
          method: 'eth_call',
          params: [{ to: C, data }, 'latest'],
        })
      const agreed = await call(1, '0x')
      down = true
      const direct = await settle(
        rpc.request({ method: 'eth_call', params: [{ to: C, data: '0x02' }] }),
      )
      assert.equal(
        (direct.error as RpcResponseError | undefined)?.degraded,
        true,
        'the engine marks it',
      )
      const lone = await call(2, '0x01')
      assert.deepEqual(lone.error, agreed.error, 'the replies are alike')
      const lines = (await (await fetch(`${proxy.url}/metrics`)).text())
        .split('\n')
        .filter((l) => l.startsWith('outlast_requests_total{method="eth_call"'))
      assert.ok(
        lines.some((l) => /degraded/.test(l)),
        `three eth_call errors, one agreed and two from one domain alone: ${lines.join('; ')}`,
      )
    } finally {
      await proxy.close()
      await rpc.close()
    }
  }, 30_000)

  it("Fixed: a single call over HTTP says how far its answer was checked (x-outlast-consistency): agreed, error, and one domain's word (degraded, degraded-error) once the other is out", async () => {
    const C = `0x${'00'.repeat(18)}be04`
    await lab.anvil.rpc('anvil_setCode', [C, revertingWith(NOPE)])
    await lab.anvil.rpc('anvil_mine', ['0x1'])
    let down = false
    const flaky: Rewrite = async (method, _p, answer) => {
      if (down && (method === 'eth_call' || method === 'eth_getBalance'))
        throw new SourceError('gcp', 'network', 'connection refused')
      return answer()
    }
    const rpc = fleet([node('aws', 'aws'), node('gcp', 'gcp', flaky)])
    const proxy = await served(rpc)
    const header = async (method: string, params: readonly unknown[]) =>
      (
        await fetch(proxy.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
        })
      ).headers.get('x-outlast-consistency')
    try {
      await rpc.connect()
      await warm(rpc)
      const balance = ['eth_getBalance', [`0x${'00'.repeat(18)}be05`, 'latest']] as const
      const revert = ['eth_call', [{ to: C, data: '0x' }, 'latest']] as const
      const before = [await header(...balance), await header(...revert)]
      down = true
      const after = [await header(...balance), await header(...revert)]
      assert.deepEqual([...before, ...after], ['agreed', 'error', 'degraded', 'degraded-error'])
    } finally {
      await proxy.close()
      await rpc.close()
    }
  }, 30_000)
})
