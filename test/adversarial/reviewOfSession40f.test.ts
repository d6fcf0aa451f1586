/**
 * Attacker's review of 0af1f35 (and e33edd5 before it): nodeErrors.ts `halted`/`HALT` (every halt
 * without revert data is one answer keyed `error:halt`), `capped`/`OUT_OF_GAS` (a halt for want
 * of gas where the call names no `gas` charges no one who answered otherwise), the `intrinsic`
 * kind's anvil words; tally.ts `wordless`; fanOut.ts `#finish`. Real anvil behind the lab's
 * proxies (`startLiarLab`), quorum 2 domains, the head polled every 4 s. Another client or a node
 * configured otherwise is anvil with its answer translated, as in reviewOfSession40c: an RPC gas
 * cap of 100k (`capped100k`), geth's estimator (eth/gasestimator: a `gas` under 21000 is read as
 * none, the block's limit used). Each finding is an `it.fails('correct behaviour: …')`, checked
 * to fail as a plain `it` for the hole's own reason (observed text quoted).
 *
 * Fixed the same stop (renamed "Fixed …"): a halt for want of gas is keyed apart from other
 * halts (`error:gas`: another halt's words no longer join it and undo `capped`, 1), and is the
 * nodes' cap whatever gas the call names and whatever the method's params (nodeErrors.ts
 * `capped` reads no params: 2, 3, and 4 moot). The price: a liar's made-up result beside an
 * agreed out-of-gas halt is outvoted but not charged.
 *
 * Found:
 * 1. (medium, framing) The merged key lets a liar undo `capped`. `capped` reads the agreed
 *    group's error, and where its members' words differ that is tally.ts `wordless`'s "execution
 *    halted", which `HALT` does not match: so a liar answering ANY halt word other than "out of
 *    gas" ("EVM error InvalidFEOpcode") joins a low-cap honest node's "EVM error OutOfGas" in
 *    `error:halt`, the group is no longer `capped`, and the high-cap node that ran the call to its
 *    end is charged: 40c 1 again, the fix sidestepped by the word the liar picks. Three domains
 *    (`aws` anvil's own cap, `home` capped at 100k, the liar), a heavy view (about 215k gas,
 *    returns 42), no `gas`: observed "RpcResponseError -32603 outlast: JSON-RPC error -32603:
 *    execution halted" ×6; "aws closed degraded, home closed healthy, liar closed healthy".
 *    Responsible: fanOut.ts `#finish` (`capped(g.error, …)` on the merged error) with tally.ts
 *    `wordless` / nodeErrors.ts `capped`. Fix: decide `capped` from the group's members (any
 *    member's own error out of gas), not from its merged words; or key an out-of-gas halt apart
 *    from other halts (`error:halt:gas`), so a liar's other halt never agrees with it.
 * 2. (medium, framing; no liar needed beyond a second low cap) `capped` holds only where the call
 *    names no `gas`, but nodes cap a NAMED gas too: geth's `TransactionArgs.CallDefaults` ("Caller
 *    gas above allowance, capping") runs a call naming more than its RPC gas cap under the cap, as
 *    providers do under theirs. The same view named `gas: 0x1000000` (16M, under the block's
 *    limit): two 100k-capped domains' halts agree, the node that ran 16M is charged. Observed
 *    "RpcResponseError -32603 liar: JSON-RPC error -32603: EVM error OutOfGas" ×6; "aws closed
 *    degraded, home closed healthy, liar closed healthy". Responsible: nodeErrors.ts `capped`
 *    (`gas == null`). Fix: an out-of-gas halt is `capped` whatever the call names (the cost is
 *    only that a liar's result beside a true out-of-gas halt goes uncharged, as 40c accepted for
 *    calls with no gas); at least where the named gas is above the lowest cap a client applies.
 * 3. (low, framing; no liar) `gas: '0x0'` to eth_estimateGas is "named", so `capped` is false,
 *    but clients read it differently: anvil answers -32003 "Out of gas: gas required exceeds
 *    allowance: 0" (checked direct), geth's estimator takes a gas under 21000 as none and returns
 *    the estimate. A geth-like domain (`aws`, first to answer) and two anvil domains: anvil's
 *    halt is agreed (the caller gets "out of gas" for a call geth estimates) and the geth-like
 *    node is charged. Observed "RpcResponseError -32003 gcp: … gas required exceeds allowance: 0"
 *    ×6; "aws closed degraded, gcp closed healthy, home closed healthy". Responsible: nodeErrors.ts
 *    `capped` (reads '0x0' as a gas named). Fix: to eth_estimateGas a `gas` under 21000 is none
 *    (geth's rule): `capped`, so no node that estimated is charged.
 * 4. (low, unit) `capped` reads `params[0].gas`, the shape of eth_call; eth_simulateV1's first
 *    param is `{ blockStateCalls: [{ calls }] }`, eth_callMany's a list of bundles, so for them
 *    every out-of-gas halt is `capped` even where every call names its gas: a liar's made-up
 *    result beside the nodes' agreed halt goes uncharged. Observed: `capped(halt, [{
 *    blockStateCalls: [{ calls: [{ gas: '0x186a0' }] }] }])` true. Responsible: nodeErrors.ts
 *    `capped`. Fix: read each call's gas per method (simulateV1's calls, callMany's
 *    transactions); capped only if some call names none.
 *
 * Held (real anvil unless said): a liar's -32603 "EVM error OutOfGas" or code 3 "out of gas" to
 * eth_getBalance and eth_getLogs is its failure (`isNodeAnswer` false: HALT is for `EXECUTES`
 * only), the honest answer stands; the liar's "out of gas" where honest nodes revert WITH data:
 * the revert and its data are returned, the liar charged; the liar's halt WITH data ('0xdead') is
 * no halt, its failure; unit: `nodeErrorKey` is `error:halt` for data undefined, null, '0x', not
 * for a non-string or other data; `gas: null` is read as none (anvil answers as with no gas).
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { capped, isNodeAnswer, nodeErrorKey } from '../../src/core/nodeErrors.ts'
import { RpcResponseError, type Source } from '../../src/index.ts'
import type { Lab } from '../lab/index.ts'
import { hex, labNode, polled, settle, standing } from './fleet.ts'
import { BURNS, clean, lowCap, refusing, runShowing, WORD42 } from './halts.ts'
import { startLiarLab } from './proxiedLiar.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLiarLab()
  await lab.anvil.rpc('anvil_mine', ['0x20'])
}, 60_000)
afterAll(() => lab.stop())

/** Reverts with the word 42 as its data. */
const REVERTS = '0x602a60005260206000fd'

/** geth's estimator: a `gas` under 21000 to eth_estimateGas is none. */
function gethEstimator(name: string): Source {
  const inner = labNode(lab, name, name)
  return {
    config: inner.config,
    request: (body, options) => {
      const [tx, ...rest] = (body.params ?? []) as [Record<string, unknown>, ...unknown[]]
      if (body.method !== 'eth_estimateGas' || tx.gas == null || Number(tx.gas) >= 21_000)
        return inner.request(body, options)
      const { gas: _, ...bare } = tx
      return inner.request({ ...body, params: [bare, ...rest] }, options)
    },
  }
}

/** `times` requests of `method`: each outcome in short. */
const run = runShowing(JSON.stringify)

describe("finding 1: a liar's other halt word undoes `capped`", () => {
  it("Fixed: the liar's 'EVM error InvalidFEOpcode' beside a low-cap node's out of gas costs the high-cap node nothing", async () => {
    const liar = refusing(
      lab,
      /^eth_call$/,
      () => new RpcResponseError('liar', { code: -32603, message: 'EVM error InvalidFEOpcode' }),
    )
    const rpc = polled(
      [labNode(lab, 'aws', 'aws'), lowCap(lab, 'home', { named: true }), liar],
      2,
      4_000,
    )
    try {
      const out = await run(rpc, 'eth_call', () => [{ data: BURNS }, 'latest'])
      assert.ok(clean(rpc, 'aws'), `${out.join(' | ')}; ${standing(rpc).join(', ')}`)
    } finally {
      await rpc.close()
    }
  }, 20_000)
})

describe('finding 2: a named gas above two nodes’ caps frames the node that ran it', () => {
  it('Fixed: a view naming gas 16M, two 100k-capped domains halt: the node that answered 42 is not charged', async () => {
    const rpc = polled(
      [
        labNode(lab, 'aws', 'aws'),
        lowCap(lab, 'home', { named: true }),
        lowCap(lab, 'liar', { named: true, viaLiar: true }),
      ],
      2,
      4_000,
    )
    try {
      const out = await run(rpc, 'eth_call', () => [{ data: BURNS, gas: '0x1000000' }, 'latest'])
      assert.ok(clean(rpc, 'aws'), `${out.join(' | ')}; ${standing(rpc).join(', ')}`)
    } finally {
      await rpc.close()
    }
  }, 20_000)
})

describe("finding 3: eth_estimateGas with gas '0x0' between anvil and geth", () => {
  it("Fixed: gas '0x0' to eth_estimateGas: the geth-like node that estimated is not charged", async () => {
    const rpc = polled(
      [gethEstimator('aws'), labNode(lab, 'gcp', 'gcp'), labNode(lab, 'home', 'home')],
      2,
      4_000,
    )
    try {
      const out = await run(rpc, 'eth_estimateGas', () => [{ data: BURNS, gas: '0x0' }, 'latest'])
      assert.ok(clean(rpc, 'aws'), `${out.join(' | ')}; ${standing(rpc).join(', ')}`)
    } finally {
      await rpc.close()
    }
  }, 20_000)
})

describe('finding 4: `capped` reads only the first param’s gas', () => {
  const halt = new RpcResponseError('n', { code: -32603, message: 'EVM error OutOfGas' })
  it('Fixed (moot): no params are read: a halt for want of gas is the nodes’ cap whatever gas a call names', () => {
    // Any method's shape (eth_simulateV1's blockStateCalls, eth_callMany's bundles): the same.
    assert.equal(capped(halt), true)
    const other = new RpcResponseError('n', { code: -32603, message: 'EVM error InvalidFEOpcode' })
    assert.equal(capped(other), false)
  })
})

describe('held', () => {
  for (const [what, error] of [
    ['-32603 EVM error OutOfGas', { code: -32603, message: 'EVM error OutOfGas' }],
    ['3 out of gas', { code: 3, message: 'out of gas' }],
  ] as const)
    it(`Held: the liar's ${what} to eth_getBalance and eth_getLogs is its failure, the honest answer stands`, async () => {
      const liar = refusing(
        lab,
        /^eth_(?:getBalance|getLogs)$/,
        () => new RpcResponseError('liar', error),
      )
      const rpc = polled([labNode(lab, 'aws', 'aws'), labNode(lab, 'gcp', 'gcp'), liar], 2, 4_000)
      try {
        const rich = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266'
        const bal = await run(rpc, 'eth_getBalance', (h) => [rich, hex(h - 20)], 3)
        const logs = await run(rpc, 'eth_getLogs', (h) => [{ fromBlock: hex(h - 5) }], 3)
        assert.ok(
          [...bal, ...logs].every((o) => !/Error/.test(o)),
          `${bal.join(' | ')} ${logs.join(' | ')}`,
        )
        for (const m of ['eth_getBalance', 'eth_getLogs', 'eth_blockNumber'])
          assert.equal(
            isNodeAnswer(new RpcResponseError('x', { ...error, code: -32603 }), m),
            false,
          )
      } finally {
        await rpc.close()
      }
    }, 20_000)

  it("Held: the liar's 'out of gas' where honest nodes revert with data: the revert and its data stand, the liar charged", async () => {
    const liar = refusing(
      lab,
      /^eth_call$/,
      () => new RpcResponseError('liar', { code: -32000, message: 'out of gas' }),
    )
    const rpc = polled([labNode(lab, 'aws', 'aws'), labNode(lab, 'gcp', 'gcp'), liar], 2, 4_000)
    try {
      await rpc.connect()
      for (let i = 0; i < 6; i++) {
        const r = await settle(rpc.request({ method: 'eth_call', params: [{ data: REVERTS }] }))
        assert.equal((r.error as RpcResponseError | undefined)?.data, WORD42, String(r.error))
      }
      assert.ok(!clean(rpc, 'liar'), standing(rpc).join(', '))
    } finally {
      await rpc.close()
    }
  }, 20_000)

  it("Held: the liar's halt WITH data is no halt: its failure, the honest result stands", async () => {
    const liar = refusing(
      lab,
      /^eth_call$/,
      () =>
        new RpcResponseError('liar', {
          code: -32603,
          message: 'EVM error OutOfGas',
          data: '0xdead',
        }),
    )
    const rpc = polled([labNode(lab, 'aws', 'aws'), liar], 2, 4_000)
    try {
      const out = await run(rpc, 'eth_call', (h) => [{ data: BURNS }, hex(h - 20)])
      assert.deepEqual(out, Array(6).fill(JSON.stringify(WORD42)))
    } finally {
      await rpc.close()
    }
  }, 20_000)

  it('Held: nodeErrorKey reads a halt by its data: undefined, null, 0x a halt; anything else not', () => {
    const key = (data: unknown) =>
      nodeErrorKey(new RpcResponseError('n', { code: -32603, message: 'EVM error OutOfGas', data }))
    // Out of gas is keyed apart from other halts (`error:gas`, since 40f 1).
    for (const d of [undefined, null, '0x']) assert.equal(key(d), 'error:gas', String(d))
    for (const d of [0, {}, '0xdead', false]) assert.notEqual(key(d), 'error:gas', String(d))
  })
})
