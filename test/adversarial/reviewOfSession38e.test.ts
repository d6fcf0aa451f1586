/**
 * Attacker's review, session 38e: a trusted node's error to a read is its answer (666787f,
 * d8c3b3e: nodeErrors.ts `isNodeAnswer` / `cannotServeNow` / `nodeErrorKey`, tally.ts
 * `judgeTrusted`, sourcePool.ts attempter, pruned.ts `isPruned`, fanOutDecisions.ts
 * `whenExhausted`). One hostile source in its own domain, and honest nodes of other
 * implementations, each a lab proxy to real anvil whose answers are rewritten (`hostile`) into
 * the words geth, Erigon, reth and Nethermind send (read from their sources). Each finding is an
 * `it.fails('correct behaviour: …')` (each checked to fail as a plain `it`, for the hole's own
 * reason); `Held: …` are attacks that failed.
 *
 * Found (all seven fixed the same stop, their tests renamed "Fixed: …"):
 * 1. (high) Pruned nodes' refusals that `isPruned` does not read are now their agreed answer,
 *    thrown to the caller instead of asking the archive nodes. Erigon answers eth_getProof at a
 *    block past its rewind window with -32000 "requested block is too old, block must be within
 *    100000 blocks of the head block number (currently N)" (erigon rpc eth_getProof). Not PRUNED
 *    (pruned.ts), not NOT_NOW (nodeErrors.ts), not deterministic: `isNodeAnswer` says answer.
 *    Attack (no liar needed): quorum 2 domains; two Erigon full nodes (fastest) and two archive
 *    domains; `eth_getProof(RICH, [], '0x1')`. Observed: RpcResponseError -32000 "requested block
 *    is too old…" from the two Erigon domains, the archives' proof never waited for; no source
 *    charged. Before 666787f the two refusals were failures and the archives' agreed proof was the
 *    answer. Any -32000 wording of "state gone / too far back" outside the two regexes does the
 *    same (Sei/Cosmos "could not find block for height N", a provider's "archive node required").
 *    Expected: the archives' proof. Responsible: nodeErrors.ts `isNodeAnswer` (every -32000 not
 *    matching NOT_NOW is an answer, whatever the read's block), pruned.ts `PRUNED`. Fix: add the
 *    wordings (/too old|within \d+ blocks|archive|no state available|could not find block/) to
 *    PRUNED or NOT_NOW; and structurally, for a read at an explicit block more than `BEHIND`
 *    below the agreed head only `deterministic` errors are answers (the other errors there say
 *    what the node keeps, not what the chain says), or an agreed non-deterministic node error
 *    does not finish the fan-out while a domain not asked yet or in flight may still answer.
 *    Fixed: the wordings in PRUNED, and the structural rule: at a block old for the node
 *    (pruned.ts `oldFor`, the read's `block`), only a revert or invalid params is an answer
 *    (nodeErrors.ts `isNodeAnswer`'s `old`); the source is not charged for the others.
 * 2. (medium) Pruned refusals charged as failures until the breakers open. reth answers a read at
 *    pruned state with -32603 "state at block #N is pruned" (ProviderError::StateAtBlockPruned ->
 *    EthApiError::Internal -> internal_rpc_err); 666787f's MISSING_STATE_CODES leaves -32603 out
 *    (its comment says reth uses -32000), so it is no longer `unserved` (a regression: before, the
 *    message alone made it so). Nethermind answers -32002 "No state available for block 0x… (N)"
 *    (ErrorCodes.ResourceUnavailable), which PRUNED never read. Both are `cannotServeNow`: a
 *    failure. Attack (no liar): a dApp reads a balance at block 1 three times (a chart); reth and
 *    Nethermind full nodes beside two archive domains. Observed: the archives' balance is agreed,
 *    but reth and Nethermind have 3 failures each, breaker `open` (down for every read, recent ones
 *    too), `limits.prunedTo` undefined (asked again each time). Expected: 0 failures, prunedTo 1,
 *    as geth's "missing trie node" gets. Responsible: pruned.ts `isPruned` (MISSING_STATE_CODES,
 *    PRUNED). Fix: add -32603 to MISSING_STATE_CODES (the message test still needs pruned words
 *    and no "revert"; -32603 is never a contract's) and /no state available/ to PRUNED. Fixed so.
 * 3. (medium, left open) Honest nodes of different implementations word one refusal differently,
 *    so a mixed fleet's agreed refusal is a QuorumError. `nodeErrorKey` is code and data, else
 *    code and exact words (case and spacing aside). Attack (no liar): an empty account's transfer
 *    simulated (`eth_call`, a wallet's pre-sign check) on anvil (-32003 "Insufficient funds for gas
 *    * price + value"), geth (-32000 "insufficient funds for gas * price + value: address 0x… have
 *    0 want N") and reth (-32003 "insufficient funds for gas * price + value: have 0 want N"):
 *    three groups, a re-ask, QuorumError (-32603); through outlast/viem CallExecutionError
 *    "Requested resource not available." where an anvil-only fleet gives viem's
 *    InsufficientFundsError ("The total cost … exceeds the balance of the account"); through
 *    ethers a QuorumError. A revert without data: geth -32000 "execution reverted" (no data)
 *    beside anvil/reth code 3 "execution reverted": QuorumError, viem "Requested resource not
 *    available." for `call` and `estimateGas` instead of an ExecutionRevertedError (nonce and
 *    intrinsic-gas refusals alike). Expected: the refusal, as its class (insufficient funds, a
 *    revert without data). Responsible: nodeErrors.ts `nodeErrorKey`. Fix: key well-known
 *    refusals by class (/insufficient funds/, /nonce too (low|high)/, /intrinsic gas too low/,
 *    and a revert with no data or "0x" data as one), code aside, thrown with fixed words. Fixed:
 *    nodeErrors.ts `kindOf` and `KINDS` (insufficient funds, a revert with no data, nonce too
 *    low/high, intrinsic gas too low): one key whatever the code, the kind's words when the
 *    nodes' differ.
 * 4. (low) The liar signs and blanks the nodes' agreed refusal. It answers the honest words in
 *    capitals ("INSUFFICIENT FUNDS FOR GAS * PRICE + VALUE", -32003), first; `nodeErrorKey`
 *    lowercases, so it joins the honest group, and `Tally.add` replaces the group's error by
 *    `wordless(first)`: the caller gets "liar: JSON-RPC error -32003: an error the nodes word
 *    differently" (the liar named as its source, the words gone); viem "Transaction creation
 *    failed." instead of InsufficientFundsError. Expected: the honest words (or their normalised
 *    form, which is the agreed key), named after no lone source. Responsible: tally.ts `Tally.add`
 *    / `wordless`. Fix: where only case and spacing differ keep the normalised words; take
 *    `source` from an agreeing honest member (or none). Fixed: `wordless` keeps the normalised
 *    words (or the kind's), and names the error's source `outlast`.
 * 5. (low-medium) A lone domain's made-up node error beside failures is thrown as the answer,
 *    unmarked. `whenExhausted` degrades to a lone error group like a result, but an error carries
 *    no `degraded` (38c "read, not tested"); since 666787f this is any -32000 words, not only a
 *    revert. Attack: aws and gcp rate-limited (-32005) for eth_call; the liar answers -32000
 *    "insufficient funds for gas * price + value: …" for a rich account. Observed: that
 *    RpcResponseError thrown, nothing telling it is one domain's. Expected: marked degraded (a
 *    `degraded: true` on the error, as `meta.consistency`), or under `fail` a QuorumLostError.
 *    Responsible: fanOut.ts (the resolve of a degraded error group), fanOutDecisions.ts
 *    `whenExhausted`. Fix: set `degraded` on an error thrown from a degraded group. Fixed:
 *    read.ts `agreeOn` sets `RpcResponseError.degraded` on an error of a lost read.
 * 6. (low, unit) geth's batch response limit is -32003 "response too large" (rpc/handler.go,
 *    errcodeResponseTooLarge): `cannotServeNow` misses it (-32003 is no NOT_NOW code, the words
 *    no NOT_NOW phrase), so two geth domains sent one large batch agree on it and it is thrown.
 *    Fix: /too large|too big/ in NOT_NOW. Fixed so.
 *
 * 7. (medium, found while fixing 1-6; no wrong answer, a liveness hole) Since 666787f a liar's
 *    made-up error to every receipt read splits each read (two domains: aws's `null`, later its
 *    receipt, beside the liar's error): receiptOf ended a sync send's wait at the first split with
 *    code 4, and once mined the honest receipt still could not stand beside the error. Fixed:
 *    agreedChain.ts `receiptOf` keeps polling past a read's error (the cause if none comes), and
 *    fanOutDecisions.ts `whenExhausted` checks a lone receipt's inclusion beside node errors too
 *    (`includes`); checked, it stands ("Fixed: a sync send mined 3 s after…", last below).
 *
 * Held (asserted below):
 * - A liar's made-up -32000 error (every read) beside three honest domains' agreed result: the
 *   honest result stands, agreed, and the liar (first in) is charged; same for eth_getLogs and
 *   for a receipt "not found" (null agreed, not a split).
 * - geth's -32000 "missing trie node" from two full-node domains: the archives' proof is the
 *   answer, the full nodes charged nothing and noted pruned.
 * - An untrusted source's node error counts for nothing (tally.ts `judge`); a liar answering
 *   "cannot serve now" (-32005) is charged a failure.
 *
 * Read, not tested:
 * - With two domains left (quorum 2 of aws, gcp and the liar, gcp down), the liar's made-up
 *   error beside aws's result is a split (QuorumError) where its failure left aws's answer
 *   standing degraded; no worse than a made-up result, which splits the same.
 * - Node-config errors are answers too: geth's "gas required exceeds allowance (50000000)" and
 *   a call's "out of gas" under the node's RPC gas cap; two default-cap domains agree on them
 *   where a provider with a higher cap answers.
 */
import assert from 'node:assert/strict'
import { createPublicClient } from 'viem'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { OutlastProvider } from '../../src/adapters/ethers.ts'
import { outlast } from '../../src/adapters/viem.ts'
import { isNodeAnswer } from '../../src/core/nodeErrors.ts'
import { judge } from '../../src/core/tally.ts'
import { createOutlast, RpcResponseError, type Source } from '../../src/index.ts'
import { CHAIN_ID, transfers } from '../helpers.ts'
import type { Lab } from '../lab/index.ts'
import { ETHER, fleet, hex, labNode, POOR, RICH, settle } from './fleet.ts'
import type { Rewrite } from './hostile.ts'
import { startLiarLab } from './proxiedLiar.ts'
import { sendSync, warm } from './syncSends.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLiarLab()
  // Block 1 well past `BEHIND` (pruned.ts): a refusal there is noted as pruned.
  await lab.anvil.rpc('anvil_mine', ['0x20'])
})
afterAll(() => lab.stop())

const node = (proxy: string, name: string, rewrite?: Rewrite, extra = {}): Source =>
  labNode(lab, proxy, name, rewrite, extra)

/** The node's own error rewritten by `as` (another implementation's words for it). */
const rewording =
  (as: (e: RpcResponseError) => RpcResponseError | undefined): Rewrite =>
  async (_method, _params, answer) => {
    try {
      return await answer()
    } catch (e) {
      throw (e instanceof RpcResponseError && as(e)) || e
    }
  }

/** `method` at block `at` refused with `error`; everything else answered. */
const refusing =
  (method: string, at: string, error: () => RpcResponseError): Rewrite =>
  async (m, params, answer) => {
    if (m === method && params.includes(at)) throw error()
    return answer()
  }

const standing = (rpc: ReturnType<typeof createOutlast>, names: string[]) =>
  rpc
    .status()
    .sources.filter((s) => names.includes(s.name))
    .map((s) => `${s.name}: ${s.failures} failures, ${s.breaker}, prunedTo ${s.limits.prunedTo}`)

describe("pruned nodes' refusals", () => {
  it('Fixed: two Erigon full nodes\' "requested block is too old" to eth_getProof at an old block does not stand against the archives\' proof', async () => {
    const head = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
    const erigon = refusing(
      'eth_getProof',
      '0x1',
      () =>
        new RpcResponseError('erigon', {
          code: -32000,
          message: `requested block is too old, block must be within 100000 blocks of the head block number (currently ${head})`,
        }),
    )
    const rpc = fleet([
      node('liar', 'erigon-a', erigon),
      node('aws', 'erigon-b', erigon),
      node('gcp', 'archive-a'),
      node('home', 'archive-b'),
    ])
    try {
      await rpc.connect()
      const got = await settle(
        rpc.requestWithMeta({ method: 'eth_getProof', params: [RICH, [], '0x1'] }),
      )
      assert.ok(got.value, `${got.error?.name} ${got.error?.code}: ${got.error?.message}`)
      assert.deepEqual([...got.value.meta.sources].sort(), ['archive-a', 'archive-b'])
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Held: two geth full nodes\' "missing trie node" to eth_getProof at an old block: the archives\' proof, the full nodes uncharged and noted pruned', async () => {
    const geth = refusing(
      'eth_getProof',
      '0x1',
      () => new RpcResponseError('geth', { code: -32000, message: 'missing trie node 0xabc' }),
    )
    const rpc = fleet([
      node('liar', 'geth-a', geth),
      node('aws', 'geth-b', geth),
      node('gcp', 'archive-a'),
      node('home', 'archive-b'),
    ])
    try {
      await rpc.connect()
      const got = await settle(
        rpc.requestWithMeta({ method: 'eth_getProof', params: [RICH, [], '0x1'] }),
      )
      assert.ok(got.value, `${got.error?.name}: ${got.error?.message}`)
      assert.deepEqual([...got.value.meta.sources].sort(), ['archive-a', 'archive-b'])
      for (const s of rpc.status().sources)
        if (s.name.startsWith('geth')) {
          assert.equal(s.failures, 0, standing(rpc, [s.name]).join())
          assert.equal(s.limits.prunedTo, 1)
        }
    } finally {
      await rpc.close()
    }
  }, 30_000)

  /** Three reads at block 1 with `full` refusing each; its standing after. */
  const threeOldReads = async (full: Source) => {
    const rpc = fleet([full, node('gcp', 'archive-a'), node('home', 'archive-b')])
    try {
      await rpc.connect()
      for (let i = 0; i < 3; i++) {
        const got = await rpc.requestWithMeta({ method: 'eth_getBalance', params: [RICH, '0x1'] })
        assert.deepEqual([...got.meta.sources].sort(), ['archive-a', 'archive-b'])
      }
      return rpc.status().sources.find((s) => s.name === full.config.name)!
    } finally {
      await rpc.close()
    }
  }

  it('Fixed: reth\'s -32603 "state at block #1 is pruned" is pruned state: not charged, noted, breaker closed', async () => {
    const s = await threeOldReads(
      node(
        'liar',
        'reth',
        refusing(
          'eth_getBalance',
          '0x1',
          () =>
            new RpcResponseError('reth', { code: -32603, message: 'state at block #1 is pruned' }),
        ),
      ),
    )
    assert.deepEqual(
      { failures: s.failures, breaker: s.breaker, prunedTo: s.limits.prunedTo },
      { failures: 0, breaker: 'closed', prunedTo: 1 },
    )
  }, 30_000)

  it('Fixed: Nethermind\'s -32002 "No state available for block …" is pruned state: not charged, noted, breaker closed', async () => {
    const s = await threeOldReads(
      node(
        'liar',
        'nethermind',
        refusing(
          'eth_getBalance',
          '0x1',
          () =>
            new RpcResponseError('nethermind', {
              code: -32002,
              message: `No state available for block 0x${'ab'.repeat(32)} (1)`,
            }),
        ),
      ),
    )
    assert.deepEqual(
      { failures: s.failures, breaker: s.breaker, prunedTo: s.limits.prunedTo },
      { failures: 0, breaker: 'closed', prunedTo: 1 },
    )
  }, 30_000)
})

describe('honest nodes word one refusal differently', () => {
  const geth = rewording((e) =>
    e.code === -32003
      ? new RpcResponseError('geth', {
          code: -32000,
          message: `insufficient funds for gas * price + value: address ${POOR} have 0 want ${ETHER}`,
        })
      : e.code === 3 && (e.data === undefined || e.data === '0x')
        ? new RpcResponseError('geth', { code: -32000, message: 'execution reverted' })
        : undefined,
  )
  const reth = rewording((e) =>
    e.code === -32003
      ? new RpcResponseError('reth', {
          code: -32003,
          message: `insufficient funds for gas * price + value: have 0 want ${ETHER}`,
        })
      : undefined,
  )

  it("Fixed: anvil, geth and reth refusing an empty account's transfer give the caller insufficient funds (viem InsufficientFundsError), not a QuorumError", async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [node('aws', 'anvil'), node('gcp', 'geth', geth), node('home', 'reth', reth)],
      timeout: 10_000,
    })
    const client = createPublicClient({ chain: foundry, transport: outlast(rpc) })
    const provider = new OutlastProvider(rpc)
    try {
      await rpc.connect()
      const viaViem = await settle(client.call({ account: POOR, to: POOR, value: ETHER } as never))
      const viaEthers = await settle(provider.call({ from: POOR, to: POOR, value: ETHER + 1n }))
      const shown = `viem ${viaViem.error?.name}: ${viaViem.error?.message}\nethers ${viaEthers.error?.name}: ${viaEthers.error?.message}`
      const funds = (viaViem.error as { walk?(f: (e: unknown) => boolean): unknown })?.walk?.(
        (e) => (e as Error).name === 'InsufficientFundsError',
      )
      assert.ok(funds, shown)
      assert.notEqual(viaEthers.error?.name, 'QuorumError', shown)
    } finally {
      provider.destroy()
      await rpc.close()
    }
  }, 30_000)

  it('Fixed: a revert without data from geth (-32000) and anvil (code 3) is the revert, not a QuorumError', async () => {
    const C = `0x${'00'.repeat(18)}dead`
    await lab.anvil.rpc('anvil_setCode', [C, '0x60006000fd']) // revert(0, 0)
    await lab.anvil.rpc('anvil_mine', ['0x1'])
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [node('aws', 'anvil'), node('gcp', 'geth', geth)],
      timeout: 10_000,
    })
    const client = createPublicClient({ chain: foundry, transport: outlast(rpc) })
    try {
      await rpc.connect()
      const call = await settle(client.call({ to: C } as never))
      const estimate = await settle(client.estimateGas({ account: RICH, to: C } as never))
      for (const { error } of [call, estimate]) {
        const reverted = (error as { walk?(f: (e: unknown) => boolean): unknown })?.walk?.(
          (e) => (e as Error).name === 'ExecutionRevertedError',
        )
        assert.ok(reverted, `${error?.name}: ${error?.message}`)
      }
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe("a liar's node errors", () => {
  it("Fixed: the liar's capitalised copy of the honest refusal neither blanks the nodes' words nor signs the error", async () => {
    const shouting: Rewrite = async (method, _p, answer) => {
      if (method === 'eth_call')
        throw new RpcResponseError('liar', {
          code: -32003,
          message: 'INSUFFICIENT FUNDS FOR GAS * PRICE + VALUE',
        })
      return answer()
    }
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [
        node('liar', 'liar', shouting),
        node('aws', 'aws'),
        node('gcp', 'gcp'),
        node('home', 'home'),
      ],
      timeout: 10_000,
    })
    const client = createPublicClient({ chain: foundry, transport: outlast(rpc) })
    try {
      await rpc.connect()
      const { error } = await settle(
        rpc.request({
          method: 'eth_call',
          params: [{ from: POOR, to: POOR, value: hex(ETHER + 5n) }, 'latest'],
        }),
      )
      assert.ok(error instanceof RpcResponseError, String(error))
      const viaViem = await settle(
        client.call({ account: POOR, to: POOR, value: ETHER + 6n } as never),
      )
      const funds = (viaViem.error as { walk?(f: (e: unknown) => boolean): unknown })?.walk?.(
        (e) => (e as Error).name === 'InsufficientFundsError',
      )
      assert.ok(
        error.source !== 'liar' && /insufficient funds/i.test(error.message) && funds,
        `${error.source}: ${error.message}\nviem ${viaViem.error?.name}: ${viaViem.error?.message}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Fixed: a lone domain's made-up node error beside rate-limited domains is marked degraded, not thrown as the nodes' answer", async () => {
    const limited =
      (name: string): Rewrite =>
      async (method, _p, answer) => {
        if (method === 'eth_call')
          throw new RpcResponseError(name, { code: -32005, message: 'rate limit exceeded' })
        return answer()
      }
    const made: Rewrite = async (method, _p, answer) => {
      if (method === 'eth_call')
        throw new RpcResponseError('liar', {
          code: -32000,
          message: `insufficient funds for gas * price + value: address ${RICH} have 0 want 1`,
        })
      return answer()
    }
    const rpc = fleet([
      node('liar', 'liar', made),
      node('aws', 'aws', limited('aws')),
      node('gcp', 'gcp', limited('gcp')),
    ])
    try {
      await rpc.connect()
      const { error } = await settle(
        rpc.request({ method: 'eth_call', params: [{ from: RICH, to: RICH }, 'latest'] }),
      )
      assert.ok(error, 'no node answered')
      assert.ok(
        !(error instanceof RpcResponseError) || (error as { degraded?: boolean }).degraded === true,
        `${error.name} ${error.code}: ${error.message} (no mark of one domain's word)`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Held: a liar\'s made-up -32000 error to every read stands against no honest agreement (eth_call, eth_getLogs, a receipt\'s "not found"), and costs it', async () => {
    const made: Rewrite = async (method, _p, answer) => {
      if (['eth_call', 'eth_getLogs', 'eth_getTransactionReceipt'].includes(method))
        throw new RpcResponseError('liar', { code: -32000, message: 'insufficient funds' })
      return answer()
    }
    const rpc = fleet([
      node('liar', 'liar', made),
      node('aws', 'aws'),
      node('gcp', 'gcp'),
      node('home', 'home'),
    ])
    try {
      await rpc.connect()
      const call = await rpc.requestWithMeta({
        method: 'eth_call',
        params: [{ to: RICH }, 'latest'],
      })
      assert.equal(call.result, '0x')
      assert.equal(call.meta.consistency, 'agreed')
      const logs = await rpc.requestWithMeta({
        method: 'eth_getLogs',
        params: [{ fromBlock: '0x1', toBlock: '0x5' }],
      })
      assert.deepEqual(logs.result, [])
      assert.equal(logs.meta.consistency, 'agreed')
      const receipt = await rpc.requestWithMeta({
        method: 'eth_getTransactionReceipt',
        params: [`0x${'ab'.repeat(32)}`],
      })
      assert.equal(receipt.result, null)
      assert.equal(receipt.meta.consistency, 'agreed')
      const liar = rpc.status().sources.find((s) => s.name === 'liar')!
      assert.ok(liar.failures >= 1, `liar: ${liar.failures} failures`)
      assert.ok(
        rpc.status().sources.every((s) => s.name === 'liar' || s.failures === 0),
        standing(rpc, ['aws', 'gcp', 'home']).join('\n'),
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Held: a liar answering 'cannot serve now' is charged; an untrusted source's node error counts for nothing", async () => {
    const busy: Rewrite = async (method, _p, answer) => {
      if (method === 'eth_getBalance')
        throw new RpcResponseError('liar', { code: -32005, message: 'limit exceeded' })
      return answer()
    }
    const rpc = fleet([node('liar', 'liar', busy), node('aws', 'aws'), node('gcp', 'gcp')])
    try {
      await rpc.connect()
      for (let i = 0; i < 2; i++) {
        const got = await rpc.requestWithMeta({
          method: 'eth_getBalance',
          params: [RICH, 'latest'],
        })
        assert.equal(got.meta.consistency, 'agreed')
      }
      const liar = rpc.status().sources.find((s) => s.name === 'liar')!
      assert.ok(liar.failures >= 1, `liar: ${liar.failures} failures`)
    } finally {
      await rpc.close()
    }
    const stranger = {
      name: 'u',
      domain: 'U',
      untrusted: true,
    } as unknown as Parameters<typeof judge>[1]
    const refusal = new RpcResponseError('u', { code: -32003, message: 'insufficient funds' })
    assert.equal(judge({ method: 'eth_call' }, stranger, undefined, refusal).kind, 'failed')
  }, 30_000)
})

describe("nodes' limits read as answers", () => {
  it('Fixed: geth\'s batch limit, -32003 "response too large", is the node\'s "cannot serve now", not its answer', () => {
    const tooLarge = new RpcResponseError('geth', { code: -32003, message: 'response too large' })
    assert.equal(isNodeAnswer(tooLarge, 'eth_getBlockReceipts'), false)
  })
})

describe('a sync send and a liar that answers receipt reads with an error', () => {
  const { sign, nonceNext } = transfers(() => lab.anvil)

  it('Fixed: a sync send mined 3 s after it was sent returns its receipt though the liar answers every receipt read with a made-up error (two domains: each read a split; the first ended the wait with code 4)', async () => {
    const made: Rewrite = async (method, _p, answer) => {
      if (method === 'eth_getTransactionReceipt')
        throw new RpcResponseError('liar', { code: -32000, message: 'receipt store corrupted' })
      return answer()
    }
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [node('liar', 'liar', made), node('aws', 'aws')],
      timeout: 20_000,
    })
    await warm(rpc)
    await lab.anvil.rpc('evm_setAutomine', [false])
    let miner: ReturnType<typeof setTimeout> | undefined
    try {
      const raw = await sign(await nonceNext())
      miner = setTimeout(() => void lab.anvil.rpc('evm_mine').catch(() => {}), 3_000)
      const { result, error, took } = await sendSync(rpc, [raw, '0x2710'])
      assert.equal(error, undefined, `told ${error?.code} "${error?.message}" after ${took} ms`)
      assert.equal(result?.status, '0x1')
    } finally {
      clearTimeout(miner)
      await lab.anvil.rpc('evm_setAutomine', [true])
      await lab.anvil.rpc('evm_mine')
      await rpc.close()
    }
  }, 30_000)
})
