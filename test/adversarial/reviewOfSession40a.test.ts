/**
 * Attacker's review of bbaf801 (the 39 fixes as they stand) through the lens of HONEST fleets and
 * unusual but legitimate callers: nodeErrors.ts (`isNodeAnswer`, `cannotServeNow`, `KINDS`),
 * tally.ts `judgeTrusted`, sourcePool.ts's attempter (`failureOf`, `working`), policy.ts
 * `isCallersError`, pruned.ts, params.ts, rules.ts `pinBlock`/`pinLogs`. Real anvil behind the
 * lab's proxies (`startLiarLab`), three honest sources each in its own domain, no rewrite: every
 * node is the same anvil, so every answer and every error is the same from each. Each request
 * was first asked of anvil directly, then of outlast, and the two compared. Each finding is an
 * `it.fails('correct behaviour: …')`, checked to fail as a plain `it` for the hole's own reason
 * (the observed message quoted below); held attacks are plain `it('Held: …')`.
 *
 * Fixed the same stop (renamed "Fixed: …"): 1 and 2, an execution's end in the clients' words
 * ("EVM error <Halt>", "out of gas", "invalid opcode", "intrinsic gas too high", "gas required
 * exceeds allowance" …) is the nodes' answer whatever its code, at an old block too
 * (nodeErrors.ts `ranAndFailed`). 3 is kept by choice (`Kept: …`): geth, the reference client,
 * refuses those percentiles itself, and asked of the nodes they would bring back 39b 5 (one
 * domain's made-up fee history the last answer standing beside the others' refusal).
 *
 * Found:
 * 1. (high, outage) A call that halts the EVM without a revert: a view that loops until it runs
 *    out of gas (an unbounded loop over a long array: every dApp's `getAll()`), a contract
 *    hitting INVALID (Solidity < 0.8 `assert`, 0xfe), a bad jump. anvil (revm) answers such an
 *    `eth_call` / `eth_estimateGas` / `eth_createAccessList` with -32603 "EVM error OutOfGas"
 *    ("EVM error InvalidFEOpcode", "EVM error InvalidJump", "EVM error StackUnderflow"), the
 *    same from every node at that state. nodeErrors.ts `isNodeAnswer` gives it to
 *    `cannotServeNow` (-32603 is in NOT_NOW_CODES, "internal error"), so it is every source's
 *    failure: outlast says 4900 "All sources failed for eth_call." (viem:
 *    ProviderDisconnectedError; the dApp shows "disconnected") and within three calls every
 *    honest breaker is open: the whole fleet is out for every other read. Observed (head polled
 *    every 4 s): "AllSourcesFailedError 4900 ×6; aws open down, gcp open down, home open down"
 *    (eth_call and eth_createAccessList of the loop, eth_call and eth_estimateGas of 0xfe);
 *    with the head polled every 100 ms the polls' successes keep the breakers closed, but every
 *    source is marked degraded ("aws closed degraded", errorRate 0.23 … 0.43). anvil
 *    directly: {"code":-32603,"message":"EVM error OutOfGas"}. Responsible: nodeErrors.ts
 *    `isNodeAnswer`/`cannotServeNow` (code -32603 read as "not now" for an execution) with
 *    sourcePool.ts `working` (recordFailure). Fix: to a method in `EXECUTES`, revm's halt words
 *    ("EVM error <Halt>": OutOfGas, InvalidFEOpcode, InvalidJump, StackUnderflow, OpcodeNotFound,
 *    …; geth's "out of gas", "invalid opcode", "invalid jump destination", "stack underflow")
 *    are a kind (`KINDS` 'halt'), an answer whatever the code, as "insufficient funds" is.
 * 2. (medium, wrong error) The same execution refused in words that are no kind, at an old
 *    block (16 or more below a source's head: a number, `earliest`): a historical `eth_call`
 *    (viem `readContract({ blockNumber })`) with a gas cap, anvil's -32000 "intrinsic gas too
 *    high -- CallGasCostMoreThanGasLimit"; an `eth_estimateGas` at an old block, anvil's -32003
 *    "Out of gas: gas required exceeds allowance: 21000". At `latest`, `safe` and `finalized`
 *    (pinned by hash) outlast returns the nodes' error; at head-20 or `earliest`, 4900 "All
 *    sources failed for eth_call." every time. Observed: "AllSourcesFailedError 4900 ×6".
 *    Breakers stay closed (sourcePool.ts `working` reads it without `old`): the two halves
 *    disagree. Responsible: tally.ts `judgeTrusted` passing `oldFor(s, rules.block)` to
 *    nodeErrors.ts `isNodeAnswer`, which then reads no non-kind error as an answer. Fix: at an
 *    old block, only words that could mean missing history (pruned.ts `PRUNED`, unknown block,
 *    `cannotServeNow`) are no answer; an execution's own words (intrinsic gas, gas required
 *    exceeds allowance, out of gas, invalid opcode) stay answers; or take a non-kind error at an
 *    old block as the answer when two domains agree on it and none answered otherwise.
 * 3. (low, refused locally) `eth_feeHistory` with reward percentiles not rising (`[75, 25]`)
 *    or above 100 (`[101]`): anvil answers both (its rewards), outlast refuses them before any
 *    source is asked: -32602 "eth_feeHistory: param 2 is no list of percentiles from 0 to 100,
 *    rising.". geth refuses both itself, so against a geth fleet the caller sees a -32602
 *    either way; against anvil/Hardhat fleets (a dApp's local dev, a test suite) the call that
 *    works direct fails through outlast. Responsible: params.ts `feeHistoryParams`. Fix: ask
 *    the nodes (their -32602 is already the caller's, `isCallersError`); refuse locally only
 *    what no node reads (a count that is no number, non-numeric percentiles).
 *
 * Held (each asked of anvil and of outlast, same answer, every breaker closed and healthy):
 * `eth_getLogs` by `blockHash` (with an address list), topics `[[t, null]]`, `[null]`, `[]`,
 * `address: []`, `safe`..`finalized`, `0x5`..`pending`, `pending`..`pending`, `earliest`..
 * `latest`, a range past the head, `latest`..`0x5` ([]), an unknown `blockHash` (the nodes'
 * -32000 "unknown block"); `eth_getBalance` at `safe`, `finalized`, `earliest`, `pending`,
 * `{ blockNumber }`, `{ blockHash, requireCanonical: true|false }`, an unknown hash (-32001),
 * above the head (-32602); `eth_feeHistory` with `pending`, `safe`, `earliest`, a block past the
 * head, counts `'4'`, `4`, `'0x0'`, `'0x401'`, `'1025'`, percentiles `null` (the nodes' -32602);
 * `eth_getBlockReceipts` by number, hash, `{ blockHash }`, `latest`, `pending` (null), `safe`,
 * `earliest`, an unknown hash, above the head; `eth_call` reverting (with and without data,
 * at latest, old numbers and by hash), with state and block overrides, at `pending`, `safe`,
 * `{ blockHash }`, omitted; `eth_estimateGas` / `eth_createAccessList` reverting or fine;
 * `eth_simulateV1` (and its -32602 for a call without `to`); `eth_getProof` at `latest`,
 * `earliest`, `pending`, a number; `debug_traceTransaction` (unknown hash too),
 * `debug_traceCall` (a reverting one), `debug_traceBlockByNumber/ByHash`, `trace_transaction`,
 * `trace_block`, `trace_filter`, `ots_getApiLevel`, `eth_getAccount`; transaction lookups by
 * block and index out of range (null); uncle and transaction counts by hash, number, tag,
 * unknown hash, above the head; `eth_getBlockByNumber` with `pending`, `safe`, `finalized`,
 * `earliest`, above the head (null) and without its flag (the nodes' -32602);
 * `eth_getTransactionCount` at `pending` and `earliest`; `eth_getCode` at `safe`;
 * `eth_getStorageAt` at `finalized`; `eth_getHeaderByNumber` (the nodes' -32601); `eth_newFilter` +
 * `eth_getFilterLogs` (emulated) from `0x0`, `earliest`, `safe`, with an address list, topics
 * `[[null]]`, an upper-case address: the logs anvil's own filter gives.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import type { Lab } from '../lab/index.ts'
import { deployAnswer, PING_INIT, sendPing } from '../workload.ts'
import { labNode, type Polled, polled, RICH, settle, standing } from './fleet.ts'
import { startLiarLab } from './proxiedLiar.ts'

let lab: Lab
let emitter: `0x${string}`
beforeAll(async () => {
  lab = await startLiarLab()
  emitter = await deployAnswer(lab.anvil, PING_INIT)
  await sendPing(lab.anvil, emitter, 7)
  await lab.anvil.rpc('anvil_mine', ['0x20'])
}, 60_000)
afterAll(() => lab.stop())

/** Three honest anvils, the head polled every 4 s (a 12 s chain's client polls no faster). */
const honest3 = () =>
  polled(
    [labNode(lab, 'aws', 'aws'), labNode(lab, 'gcp', 'gcp'), labNode(lab, 'home', 'home')],
    2,
    4_000,
  )
const untouched = (rpc: Polled) =>
  rpc.status().sources.every((s) => s.breaker === 'closed' && s.condition === 'healthy')

/** What anvil itself says to a call: its result, or its error's code and message. */
async function direct(method: string, params: unknown[]) {
  const res = await fetch(lab.anvil.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  return (await res.json()) as { result?: unknown; error?: { code: number; message: string } }
}

/**
 * Runs `method` six times on three honest anvils: each outcome, whether any source was ever
 * charged (its breaker not closed or its condition not healthy), and the worst standing seen.
 */
async function looped(method: string, params: (head: number) => unknown[]) {
  const rpc = honest3()
  try {
    await rpc.connect()
    const head = Number(await rpc.request({ method: 'eth_blockNumber' }))
    const out: string[] = []
    let worst = standing(rpc).join(', ')
    let clean = true
    for (let i = 0; i < 6; i++) {
      const r = await settle(rpc.request({ method, params: params(head) }))
      out.push(r.error ? `${r.error.name} ${r.error.code}` : 'ok')
      if (!untouched(rpc)) [clean, worst] = [false, standing(rpc).join(', ')]
    }
    return { out, untouched: clean, standing: worst }
  } finally {
    await rpc.close()
  }
}

/** JUMPDEST PUSH1 0 JUMP: a loop until the gas runs out (a view over an unbounded array). */
const LOOPS = '0x5b600056'
/** INVALID (0xfe): Solidity < 0.8's `assert`. */
const INVALID = '0xfe'

describe("finding 1: the nodes' -32603 'EVM error …' to an execution is 4900 and opens every breaker", () => {
  const cases: [string, string, string][] = [
    ['eth_call', LOOPS, 'EVM error OutOfGas'],
    ['eth_call', INVALID, 'EVM error InvalidFEOpcode'],
    ['eth_estimateGas', INVALID, 'EVM error InvalidFEOpcode'],
    ['eth_createAccessList', LOOPS, 'EVM error OutOfGas'],
  ]
  for (const [method, data, words] of cases)
    it(`Fixed: ${method} of ${data} at latest is the nodes' -32603 "${words}", nothing charged`, async () => {
      const params = () => [{ data }, 'latest']
      const own = await direct(method, params())
      assert.equal(own.error?.code, -32603, JSON.stringify(own)) // anvil's own answer
      assert.equal(own.error?.message, words)
      const r = await looped(method, params)
      assert.ok(
        r.out.every((o) => o.endsWith(' -32603')) && r.untouched,
        `${r.out.join(', ')}; ${r.standing}`,
      )
    }, 30_000)
})

describe("finding 2: an execution's non-kind error at an old block is 4900", () => {
  /** A call to the emitter with 21000 gas: anvil's "intrinsic gas too high". */
  const capped = () => ({ to: emitter, data: '0x01', gas: '0x5208' })
  const hx = (n: number) => `0x${n.toString(16)}`

  it("Held: at latest, safe and finalized it is the nodes' -32000, nothing charged", async () => {
    for (const tag of ['latest', 'safe', 'finalized']) {
      const r = await looped('eth_call', () => [capped(), tag])
      assert.ok(
        r.out.every((o) => o === 'RpcResponseError -32000') && r.untouched,
        `${tag}: ${r.out.join(', ')}; ${r.standing}`,
      )
    }
  }, 30_000)

  for (const [name, at] of [
    ['head-20 by number', (h: number) => hx(h - 20)],
    ['earliest', () => 'earliest'],
  ] as const)
    it(`Fixed: eth_call with a gas cap at ${name} is the nodes' -32000, as at latest`, async () => {
      const head = Number((await direct('eth_blockNumber', [])).result)
      const own = await direct('eth_call', [capped(), at(head)])
      assert.equal(own.error?.code, -32000, JSON.stringify(own))
      const r = await looped('eth_call', (h) => [capped(), at(h)])
      assert.ok(
        r.out.every((o) => o === 'RpcResponseError -32000') && r.untouched,
        `${r.out.join(', ')}; ${r.standing}`,
      )
    }, 30_000)

  it("Fixed: eth_estimateGas with a gas cap at head-20 is the nodes' -32003 'gas required exceeds allowance'", async () => {
    const call = { from: RICH, to: emitter, data: '0x01', gas: '0x5208' }
    const head = Number((await direct('eth_blockNumber', [])).result)
    const own = await direct('eth_estimateGas', [call, hx(head - 20)])
    assert.equal(own.error?.code, -32003, JSON.stringify(own))
    const r = await looped('eth_estimateGas', (h) => [call, hx(h - 20)])
    assert.ok(
      r.out.every((o) => o === 'RpcResponseError -32003') && r.untouched,
      `${r.out.join(', ')}; ${r.standing}`,
    )
  }, 30_000)
})

describe('finding 3: fee-history percentiles anvil reads are refused locally', () => {
  for (const percentiles of [[75, 25], [101]])
    it(`Kept: eth_feeHistory(4, latest, ${JSON.stringify(percentiles)}) is refused locally (-32602), as geth refuses it, though anvil answers`, async () => {
      const rpc = honest3()
      try {
        await rpc.connect()
        const head = await rpc.request({ method: 'eth_blockNumber' })
        const params = ['0x4', head, percentiles]
        const own = await direct('eth_feeHistory', params)
        assert.ok(own.result, JSON.stringify(own)) // anvil answers it
        const r = await settle(rpc.request({ method: 'eth_feeHistory', params }))
        assert.equal(r.error?.code, -32602, String(r.error ?? JSON.stringify(r.value)))
        assert.match(r.error.message, /percentiles from 0 to 100, rising/)
        assert.ok(untouched(rpc), standing(rpc).join(', '))
      } finally {
        await rpc.close()
      }
    }, 20_000)
})

describe('Held: unusual callers, three honest anvils', () => {
  const tries: [string, (head: number) => unknown[]][] = [
    ['eth_getLogs', () => [{ fromBlock: 'earliest', toBlock: 'latest', topics: [[null]] }]],
    ['eth_getLogs', () => [{ fromBlock: 'latest', toBlock: '0x5' }]],
    ['eth_call', () => [{ data: '0x60006000fd' }, 'earliest']],
    ['eth_getBalance', () => [RICH, 'pending']],
    ['eth_feeHistory', () => ['4', 'pending', [25, 75]]],
    ['eth_getBlockReceipts', () => ['safe']],
  ]
  for (const [method, params] of tries)
    it(`Held: ${method} ${JSON.stringify(params(0))}: anvil's own answer, nothing charged`, async () => {
      const rpc = honest3()
      try {
        const head = Number((await direct('eth_blockNumber', [])).result)
        const own = await direct(method, params(head))
        await rpc.connect()
        const r = await settle(rpc.request({ method, params: params(head) }))
        if (own.error) assert.equal(r.error?.code, own.error.code, String(r.error ?? r.value))
        else assert.deepEqual(r.value, own.result)
        assert.ok(untouched(rpc), standing(rpc).join(', '))
      } finally {
        await rpc.close()
      }
    }, 20_000)
})
