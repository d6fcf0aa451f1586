/**
 * Attacker's review, session 38g: the current node-error rules end to end (237f1e5, a8c1bad,
 * 666787f: nodeErrors.ts `isNodeAnswer` / `kindOf` / `KINDS` / `KIND_CODES` / `nodeErrorKey`,
 * tally.ts `wordless`, pruned.ts `oldFor`, read.ts `agreeOn`), beside today's send and routing
 * rules (send.ts `minedAlready`, route.ts `handsOn`, policy.ts `classify`), as a wallet or dApp
 * meets them through outlast/viem and the engine. Honest nodes of other implementations are lab
 * proxies to real anvil whose answers are rewritten into the words and codes those clients send
 * (read from their sources: Besu's RpcErrorType, geth's gasestimator); a hostile source, where
 * used, is one more domain. Each finding is an `it.fails('correct behaviour: …')` (each checked
 * to fail as a plain `it`, for the hole's own reason); `Held: …` are attacks that failed.
 *
 * Found (all three fixed the same stop, their tests renamed "Fixed: …"):
 * 1. (medium; no liar needed) A revert with reason data is keyed by its code and data, so honest
 *    clients that number a revert differently never agree on it. Besu answers a reverting
 *    eth_call / eth_estimateGas with -32000 "Execution reverted: <reason>" and the revert data
 *    (RpcErrorType.REVERT_ERROR), geth, reth, Erigon, Nethermind and anvil with code 3 and the
 *    same data. `kindOf` makes only a bare revert (no data) a kind, so a reasoned one is
 *    `error:-32000:<data>` beside `error:3:<data>`: two groups, a re-ask, a QuorumError. Attack
 *    (no liar): quorum 2 domains, aws as anvil and gcp as Besu; a contract reverting with
 *    Error("nope"). Observed: QuorumError (-32603) "No answer to eth_call was agreed by 2
 *    failure domains"; through outlast/viem CallExecutionError "Requested resource not
 *    available." with no revert data in its chain (`simulateContract` cannot decode
 *    Error("nope") or a custom error; a wallet shows no reason). Expected: the revert,
 *    code 3, its data. Responsible: nodeErrors.ts `nodeErrorKey` / `kindOf`. Fix: key a revert
 *    that carries data (code 3, or a -32000 whose words begin "execution reverted") by its data
 *    alone (`error:revert:<data>`), and where the members' codes differ return it as code 3
 *    "execution reverted" with that data (tally.ts `wordless`, KIND_CODES.revert). Fixed so
 *    (nodeErrors.ts `revertData`).
 * 2. (medium; reviewOfSession38c 1-2 back for Besu fleets, 38e 3 for geth's estimate) The kinds
 *    read only anvil/geth/reth's "insufficient funds for gas * price + value". Besu refuses an
 *    unaffordable eth_estimateGas (and a strict eth_call) with -32004 "Upfront cost exceeds
 *    account balance (transaction up-front cost 0x… exceeds transaction sender account balance
 *    0x0)" (besu#9022, RpcErrorType.TRANSACTION_UPFRONT_COST_EXCEEDS_BALANCE); -32004 is a
 *    NOT_NOW code, so `cannotServeNow` makes it the source's failure. Attack: quorum 2; two
 *    Besu domains and the liar, which answers every eth_estimateGas "0x5208"; a wallet estimates
 *    an empty account's 1-ether transfer. Observed: the liar's 0x5208, `degraded`, from [liar], besu-a and besu-b
 *    one failure each
 *    (a wallet then asks the user to sign a transfer that cannot be paid, or a dApp shows a
 *    fee), and each Besu source charged a failure per estimate (its breaker opens on a user
 *    re-estimating). Expected: the Besu domains' agreed refusal (insufficient funds), no source
 *    charged. Likewise geth's eth_estimateGas with fee fields (viem fills them for a local
 *    account) answers a transfer of the balance or more with -32000 "insufficient funds for
 *    transfer" (core.ErrInsufficientFundsForTransfer, gasestimator.go): no kind, so geth beside
 *    anvil or reth ("insufficient funds for gas * price + value") is a split (unit below).
 *    Responsible: nodeErrors.ts `NOT_NOW_CODES` (-32004) / `cannotServeNow`, `KINDS`. Fix: read
 *    the kinds before the NOT_NOW codes (a kind is an answer whatever its code), and add Besu's
 *    "upfront cost exceeds account balance" and geth's "insufficient funds for transfer" to the
 *    funds kind (returned as its fixed words and -32003). Fixed so (`KIND_WORDS`; a kind is an
 *    answer before the NOT_NOW codes are read).
 * 3. (medium-low; a read broken, a regression of 00ea08b/adaf142) `handsOn` reads "send"
 *    anywhere after the namespace, so reads with "Sender" in their name are taken for methods
 *    that hand transactions on: `eth_getTransactionBySenderAndNonce` (reth) and
 *    `ots_getTransactionBySenderAndNonce` (Otterscan: Erigon, reth, anvil) are `single` and
 *    `named`. Observed through the engine (anvil serves the ots_ method): 4200 "… hands
 *    transactions on: outlast asks it only of a source whose methods.include names it, and
 *    none does"; a source that names it would be asked alone (`single`: one source's word for
 *    which transaction an account sent). Before 00ea08b they were quorum reads, agreed.
 *    Responsible: shared/route.ts `handsOn` (`.*(send|…)`). Fix: match the verb at a word
 *    start and not as part of "sender" (e.g. `send(?!er)`), or match `send` only as the name's
 *    first word after an optional `eth_`/namespace (`^[a-z0-9]+[_.](?:[a-z]*_)?send(?!er)`);
 *    keep a unit list of read names that must stay quorum. Fixed: `send(?!er)`.
 *
 * Held (asserted below):
 * - Control for 1: two anvil domains give the reasoned revert (code 3, its data) through the
 *   engine, and viem's call error chain carries the data.
 * - Bundler reads a wallet makes through viem's bundler client stay quorum reads:
 *   eth_estimateUserOperationGas, eth_getUserOperationByHash, eth_getUserOperationReceipt,
 *   eth_supportedEntryPoints; eth_sendUserOperation is `named` (handed on).
 * - A bare revert from Besu (-32000 "Execution reverted", no data) beside anvil's code 3: one
 *   kind, the revert (code 3) through `request`.
 * - 'strict', a private route refusing with "nonce too low" because the nonce was used by
 *   another transaction (a replacement mined): minedAlready finds no receipt for this hash and
 *   the refusal stands; never the hash of a transaction that was never mined.
 *
 * Read, not tested:
 * - The proxy (proxy/jsonRpc.ts `errorObject`) writes an error's code, message and data only: a
 *   `degraded` error (one domain's) reaches a JSON-RPC client as the nodes' answer, as degraded
 *   results do (the proxy carries no meta); metrics.ts counts it 'error', not 'degraded'.
 * - Besu's NONCE_TOO_LOW is -32001, which pruned.ts `isUnknownBlock` reads as "unknown block"
 *   (code alone); to a read pinned by the engine a failure, to one at a caller's block by hash
 *   a dissent keyed as an unknown block. Nodes do not check nonces in eth_call, so only sends
 *   meet it (broadcast.ts reads sends' refusals by their own rules).
 */
import assert from 'node:assert/strict'
import { createPublicClient, encodeErrorResult } from 'viem'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { outlast } from '../../src/adapters/viem.ts'
import { kindOf } from '../../src/core/nodeErrors.ts'
import { classify } from '../../src/core/policy.ts'
import { createOutlast, RpcResponseError, type Source } from '../../src/index.ts'
import { CHAIN_ID, transfers } from '../helpers.ts'
import type { Lab } from '../lab/index.ts'
import { ETHER, fleet, hex, labNode, POOR, RICH, settle } from './fleet.ts'
import type { Rewrite } from './hostile.ts'
import { startLiarLab } from './proxiedLiar.ts'
import { warm } from './syncSends.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLiarLab()
})
afterAll(() => lab.stop())

const node = (proxy: string, name: string, rewrite?: Rewrite, extra = {}): Source =>
  labNode(lab, proxy, name, rewrite, extra)

const PLAIN = 'eth_sendRawTransaction'

/** The node's own error rewritten by `as` (another client's words and code for it). */
const rewording =
  (as: (e: RpcResponseError) => RpcResponseError | undefined): Rewrite =>
  async (_method, _params, answer) => {
    try {
      return await answer()
    } catch (e) {
      throw (e instanceof RpcResponseError && as(e)) || e
    }
  }

/** Besu's revert: -32000 "Execution reverted[: reason]", the revert data as it is (RpcErrorType). */
const besu = rewording((e) =>
  e.code === 3
    ? new RpcResponseError('besu', {
        code: -32000,
        message: e.data && e.data !== '0x' ? 'Execution reverted: nope' : 'Execution reverted',
        ...(e.data && e.data !== '0x' ? { data: e.data } : {}),
      })
    : undefined,
)

/** Error("nope") as a contract reverts with it. */
const NOPE = encodeErrorResult({
  abi: [{ type: 'error', name: 'Error', inputs: [{ name: 'message', type: 'string' }] }],
  errorName: 'Error',
  args: ['nope'],
})

/** Code that reverts with `data`: CODECOPY it to memory, REVERT(0, len). */
const revertingWith = (data: string) => {
  const body = data.slice(2)
  const len = (body.length / 2).toString(16).padStart(4, '0')
  return `0x61${len}61000f600039 61${len}6000fd${body}`.replace(' ', '')
}

describe('reverts numbered differently by honest clients', () => {
  it('Fixed: a reasoned revert from anvil/geth (code 3, Error("nope") data) and Besu (-32000, the same data) is the revert with its data, not a QuorumError; viem\'s call carries the revert data', async () => {
    const C = `0x${'00'.repeat(18)}beef`
    await lab.anvil.rpc('anvil_setCode', [C, revertingWith(NOPE)])
    await lab.anvil.rpc('anvil_mine', ['0x1'])
    const direct = await settle(lab.anvil.rpc('eth_call', [{ to: C }, 'latest']))
    assert.match(String(direct.error?.message), /execution reverted: nope/, 'anvil reverts')
    const rpc = fleet([node('aws', 'anvil'), node('gcp', 'besu', besu)])
    const client = createPublicClient({ chain: foundry, transport: outlast(rpc) })
    try {
      await rpc.connect()
      const { error } = await settle(rpc.request({ method: 'eth_call', params: [{ to: C }] }))
      const viaViem = await settle(client.call({ to: C } as never))
      const withData = (viaViem.error as { walk?(f: (e: unknown) => boolean): unknown })?.walk?.(
        (e) => (e as { data?: unknown }).data === NOPE,
      )
      assert.ok(
        error instanceof RpcResponseError && error.data === NOPE && withData,
        `engine ${error?.name} ${error?.code}: ${error?.message}\nviem ${viaViem.error?.name}: ${viaViem.error?.message}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Held (control): two anvil domains give the reasoned revert with its data, through the engine and viem's call", async () => {
    const C = `0x${'00'.repeat(18)}beef`
    await lab.anvil.rpc('anvil_setCode', [C, revertingWith(NOPE)])
    await lab.anvil.rpc('anvil_mine', ['0x1'])
    const rpc = fleet([node('aws', 'aws'), node('gcp', 'gcp')])
    const client = createPublicClient({ chain: foundry, transport: outlast(rpc) })
    try {
      await rpc.connect()
      const { error } = await settle(rpc.request({ method: 'eth_call', params: [{ to: C }] }))
      const viaViem = await settle(client.call({ to: C } as never))
      const withData = (viaViem.error as { walk?(f: (e: unknown) => boolean): unknown })?.walk?.(
        (e) => (e as { data?: unknown }).data === NOPE,
      )
      assert.ok(
        error instanceof RpcResponseError && error.code === 3 && error.data === NOPE && withData,
        `engine ${error?.name} ${error?.code}: ${error?.message}\nviem ${viaViem.error?.name}: ${viaViem.error?.message}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Held: a bare revert from Besu (-32000 "Execution reverted", no data) beside anvil\'s code 3 is one kind: the revert, code 3', async () => {
    const C = `0x${'00'.repeat(18)}dead`
    await lab.anvil.rpc('anvil_setCode', [C, '0x60006000fd']) // revert(0, 0)
    await lab.anvil.rpc('anvil_mine', ['0x1'])
    const rpc = fleet([node('aws', 'anvil'), node('gcp', 'besu', besu)])
    try {
      await rpc.connect()
      const { error } = await settle(rpc.request({ method: 'eth_call', params: [{ to: C }] }))
      assert.ok(error instanceof RpcResponseError, String(error))
      assert.equal(error.code, 3, `${error.source}: ${error.message}`)
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe("insufficient funds in other clients' words", () => {
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

  it("Fixed: two Besu domains' agreed refusal of an empty account's estimate (-32004 \"Upfront cost exceeds account balance\") stands against a lone liar's made-up gas figure, and costs them nothing", async () => {
    const made: Rewrite = async (method, _p, answer) =>
      method === 'eth_estimateGas' ? '0x5208' : answer()
    const rpc = fleet([
      node('liar', 'liar', made),
      node('aws', 'besu-a', besuEstimate),
      node('gcp', 'besu-b', besuEstimate),
    ])
    try {
      await rpc.connect()
      await warm(rpc)
      const got = await settle(
        rpc.requestWithMeta({
          method: 'eth_estimateGas',
          params: [{ from: POOR, to: RICH, value: hex(ETHER) }],
        }),
      )
      const charged = rpc
        .status()
        .sources.filter((s) => s.name.startsWith('besu'))
        .map((s) => `${s.name} ${s.failures} failures`)
      assert.ok(
        got.error,
        `the liar's ${got.value?.result} stood (${got.value?.meta.consistency}, from ${got.value?.meta.sources}); ${charged.join(', ')}`,
      )
      assert.match(String(got.error.message), /insufficient funds|upfront cost/i)
      for (const s of rpc.status().sources)
        if (s.name.startsWith('besu')) assert.equal(s.failures, 0, charged.join(', '))
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Fixed (unit): geth\'s estimate refusal "insufficient funds for transfer" is the insufficient-funds kind, as anvil\'s "Insufficient funds for gas * price + value"', () => {
    const geth = new RpcResponseError('geth', {
      code: -32000,
      message: 'insufficient funds for transfer',
    })
    const anvil = new RpcResponseError('anvil', {
      code: -32003,
      message: 'Insufficient funds for gas * price + value',
    })
    assert.equal(kindOf(anvil), 'funds', "anvil's words are the kind")
    assert.equal(kindOf(geth), 'funds', `geth's words: kind ${kindOf(geth)}`)
  })
})

describe('handsOn and reads', () => {
  it('Fixed: ots_getTransactionBySenderAndNonce (a read anvil, Erigon and reth serve) is a quorum read, agreed, not refused with 4200 as a method that hands transactions on', async () => {
    const rpc = fleet([node('aws', 'aws'), node('gcp', 'gcp')])
    const { account } = transfers(() => lab.anvil)
    try {
      await rpc.connect()
      const direct = await settle(
        lab.anvil.rpc('ots_getTransactionBySenderAndNonce', [RICH, '0x0']),
      )
      assert.ok(!direct.error, `anvil serves it: ${direct.error?.message}`)
      const got = await settle(
        rpc.requestWithMeta({
          method: 'ots_getTransactionBySenderAndNonce',
          params: [account.address, '0x0'],
        }),
      )
      assert.ok(got.value, `${got.error?.code}: ${got.error?.message}`)
      assert.equal(got.value.meta.consistency, 'agreed')
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Fixed (unit): reads named for a sender (reth's eth_getTransactionBySenderAndNonce, Otterscan's ots_…) are classified quorum, not named", () => {
    for (const m of ['eth_getTransactionBySenderAndNonce', 'ots_getTransactionBySenderAndNonce'])
      assert.deepEqual(classify(m), { class: 'quorum' }, m)
  })

  it("Held (unit): bundler reads (viem's bundler client) stay quorum reads; eth_sendUserOperation is handed on", () => {
    for (const m of [
      'eth_estimateUserOperationGas',
      'eth_getUserOperationByHash',
      'eth_getUserOperationReceipt',
      'eth_supportedEntryPoints',
    ])
      assert.deepEqual(classify(m), { class: 'quorum' }, m)
    assert.deepEqual(classify('eth_sendUserOperation'), { class: 'single', named: true })
  })
})

describe('minedAlready and a replaced nonce', () => {
  it('Held: \'strict\', the private route refusing "nonce too low" because another transaction with that nonce was mined: the refusal stands (no receipt for this hash), never the hash', async () => {
    const { sign, nonceNow } = transfers(() => lab.anvil)
    const protect = node('liar', 'protect', undefined, {
      methods: { include: [PLAIN, 'eth_chainId'] },
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [node('aws', 'aws'), node('gcp', 'gcp'), protect],
      privateTransactions: 'strict',
      timeout: 8_000,
    })
    try {
      await rpc.connect()
      await warm(rpc)
      const nonce = await nonceNow()
      const replacement = await sign(nonce, 2n)
      const original = await sign(nonce, 1n)
      assert.notEqual(original, replacement)
      const first = await settle(rpc.request({ method: PLAIN, params: [replacement] }))
      assert.ok(!first.error, `the replacement is sent: ${first.error?.message}`)
      for (let i = 0; i < 40 && (await nonceNow()) === nonce; i++)
        await new Promise((r) => setTimeout(r, 100))
      assert.equal(await nonceNow(), nonce + 1, 'the replacement is mined')
      const again = await settle(rpc.request({ method: PLAIN, params: [original] }))
      assert.ok(again.error, `told ${String(again.value)} for a transaction never mined`)
      assert.match(String(again.error.message), /nonce/i)
    } finally {
      await rpc.close()
    }
  }, 30_000)
})
