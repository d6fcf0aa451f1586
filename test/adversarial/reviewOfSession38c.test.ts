/**
 * Attacker's review, session 38c: errors as answers, batch framing and source-controlled text.
 * One hostile source in its own domain (`liar-host`), over the lab's proxy to real anvil; where
 * the raw body matters, over the real http() path with a fetch that rewrites it (`rawLiar`:
 * jsonRpc.ts reads it, batch.ts splits it). Each finding is an `it.fails('correct behaviour: …')`
 * (each checked to fail as a plain `it`, for the hole's own reason); `Held: …` are attacks that
 * failed; `Fixed: …` are findings fixed since (findings 1-4), each with a "Fixed:" sentence.
 *
 * Found:
 * 1. (high) One hostile domain's revert (or made-up result) stands against every honest domain's
 *    agreed node error. Only code 3, -32602 and messages holding "revert" are answers
 *    (errors.ts `RpcResponseError.deterministic`); any other node error object is that source's
 *    failure (tally.ts `judgeTrusted`: 'failed'). Attack: aws, gcp and home honest; the liar
 *    answers eth_call with code 3 "execution reverted: account frozen, migrate at evil.example"
 *    and its `Error(string)` data. The caller simulates a transfer from an empty account (a wallet
 *    or dApp before the user signs): every honest node says -32003 "Insufficient funds for gas *
 *    price + value" (geth: -32000 "insufficient funds…", "intrinsic gas too high", "gas required
 *    exceeds allowance", "execution aborted (timeout…)" alike). Observed: three domains "failed",
 *    the liar's is the one group left and `whenExhausted` degrades to it: the caller gets the
 *    liar's RpcResponseError (code 3, its words, its data), through outlast/viem an
 *    ExecutionRevertedError "Execution reverted with reason: … evil.example"; with the liar
 *    answering a word instead, 0x…01 (meta `degraded`, sources [liar]). An error carries no
 *    `degraded` label at all. With `onQuorumLoss: 'fail'`: a QuorumError, still not the nodes'
 *    agreed answer. Expected: the honest domains' -32003 (at worst a QuorumError, never the liar's
 *    word). "correct behaviour: the liar's made-up revert…", "…made-up eth_call result…".
 *    Responsible: errors.ts `deterministic`, tally.ts `judgeTrusted`, fanOutDecisions.ts
 *    `whenExhausted` (degrade when the rivals answered node errors). Fix: a trusted node's JSON-RPC
 *    error object to a read is an answer (verdict `nodeError`, keyed by code and data, else code
 *    and message, words fixed where they differ as now), except those that say the node cannot
 *    serve now (-32005 limit, -32603 internal, -32002, and the unknown-block/pruned rules as now);
 *    agreed like any answer; a lone group beside other domains' node errors is a split, never
 *    degraded.
 *    Fixed: nodeErrors.ts `isNodeAnswer` (used by tally.ts `judgeTrusted` and sourcePool.ts's
 *    attempter): a trusted node's error object to a read is an answer (`nodeError`, keyed by
 *    `nodeErrorKey`: code and data, else code and words, case and spacing aside) unless it says
 *    the node cannot serve now (`cannotServeNow`: -32005, -32603, -32002, -32601/-32600, 4xxx,
 *    HTTP-like codes, rate-limit/timeout/overload words), is pruned or "unknown block" (their
 *    rules, as before), or answers `eth_getLogs` (limits: logRanges.ts). Three honest domains'
 *    -32003 is agreed and thrown; two beside the liar's word make a split: QuorumError.
 * 2. (high, same root) The honest domains are charged for their right answer, and the liar
 *    becomes the last domain standing. Each -32003 is a failure (sourcePool.ts attempter:
 *    `answered` holds only `deterministic` errors; sourceState.ts `recordFailure` calls
 *    `breaker.failure()`), while the liar's code 3 is `recordSuccess`. Six simulations at once
 *    (one user re-estimating a swap it cannot pay for): aws and gcp 6 failures each, breakers open
 *    (`down`); the next eth_getBalance is the liar's MARK, `degraded`, sources [liar]. No attack
 *    traffic is needed: the liar waits for any user with an empty wallet. "correct behaviour:
 *    honest nodes' agreed refusal of a caller's call costs them nothing…". Fix: 1's; a node error
 *    that is an answer is `recordSuccess` (as a revert), never a breaker failure.
 *    Fixed: sourcePool.ts's attempter counts `isNodeAnswer` errors as answered
 *    (`recordSuccess`); aws and gcp stay at 0 failures, the balance is agreed.
 * 3. (medium, same root, no liar) Three domains agree on -32003 and the caller gets
 *    AllSourcesFailedError, code 4900 (EIP-1193 "disconnected"; viem: CallExecutionError "The
 *    Provider is disconnected from all chains.", not InsufficientFundsError), and every source is charged a failure (in the exploration run
 *    home's breaker opened after three). "correct behaviour: the nodes' agreed -32003 is the
 *    caller's answer…". Fix: 1's.
 *    Fixed: by 1's fix, the agreed -32003 comes back as the nodes' RpcResponseError (code
 *    -32003), no source charged.
 * 4. (medium) A revert reason is read as the node's own words. sourcePool.ts `failureOf` tests
 *    pruned.ts `isPruned` (the PRUNED regex over `reason`, the node's message) before anything
 *    else, so a contract reverting with Error("order pruned") (or "header not found", "missing
 *    trie node", "historical state", "state unavailable") is `unserved` at every source: the
 *    caller gets 4900 "All sources failed for eth_call" instead of the revert; and at an explicit
 *    block 16 or more below the heads, `notePruned` raises every source's `prunedTo` to that
 *    block, for the client's life (nothing lowers it): every later read of state at or below it
 *    fails ("state at block 4 is pruned on this node", three times). Whoever gets a dApp to read
 *    their contract at a past block (a balance chart, an explorer) blinds it to all history before
 *    that block. "correct behaviour: a contract reverting with Error("pruned")…". Fix: a
 *    `deterministic` error (a revert) is never pruned (`isPruned`: `!error.deterministic`), and
 *    test the node's message only for the codes nodes use for missing state (-32000, -32001,
 *    4444), never a code 3's.
 *    Fixed: pruned.ts `isPruned` reads the message only under -32000, -32001, -32002 (Nethermind),
 *    -32602 (anvil's BlockOutOfRangeError, checked against anvil 1.x) and 4444, and never one
 *    holding "revert": the revert comes back (code 3), state at that block stays readable.
 * 5. (medium-low) Source text is neither clipped nor neutralised. A node error's message
 *    (jsonRpc.ts `nodeError`: scrubbed, nothing else) goes whole into QuorumError /
 *    AllSourcesFailedError / DeadlineError / ProviderRpcError messages (tally.ts `Tally.list` quotes
 *    `g.error.shortMessage`; failures quote `reason`), `disagreement` event answers, `source`
 *    event reasons and `status().lastError`. A newline forges lines: the QuorumError showed
 *    "- aws (aws-us-east-1) answered 0x1234567890abcdef" (the liar's figure as aws's answer) above
 *    aws's real line; ANSI/OSC sequences (a terminal's title set, the screen cleared) and bidi
 *    overrides pass through; a 2 MB message is 2,000,100 characters of `status().lastError` and
 *    of the `source` event's reason. Answers previewed as strings (an unlisted method's) are raw
 *    too, within 80 characters. Outlast's own failures through the proxy and outlast/viem carry
 *    only their fixed short message (Held), so this bites apps that log or show `error.message`,
 *    `status()` or events (the demo's `fit` keeps every `ESC[` sequence and passes OSC).
 *    "correct behaviour: a source's error text adds no line…", "…2 MB error message is cut
 *    short…". Fix: one `shown(text, max)` in shared/clip.ts: C0/C1 controls, DEL and bidi controls
 *    (U+202A-202E, U+2066-2069) written as `\uXXXX`, then `clip` (a few hundred characters),
 *    applied to a node error's message in jsonRpc.ts (the whole kept in nothing that is shown)
 *    and to string previews in fanOut.ts `show`.
 *    Fixed: shared/clip.ts `plain(text, max)` writes C0/C1 controls (newline and tab too), DEL,
 *    the bidi and invisible format controls (U+061C, U+200B-200F, U+2028-202E, U+2060-206F,
 *    U+FEFF) as `\uXXXX`, then cuts with `clip` (400 by default). Applied after the scrub to a
 *    node error's message (jsonRpc.ts `nodeError`, 300), every failure a source's adapter writes
 *    (`fail`: a close reason, an id), an EIP-1193 wallet's message (eip1193.ts), and, for custom
 *    sources, `lastError` (sourceState.ts `recordFailure`), a node error in `Tally.list` and
 *    failure reasons (fanOut.ts, median.ts); string previews are escaped before their cut
 *    (fanOut.ts `show`: `plain(text, 80, preview)`). The QuorumError now quotes `boom\u000a- aws (aws-us-east-1) answered
 *    0x…` on the liar's one line; a 2 MB message is at most 400 characters everywhere.
 *
 * Held (asserted below):
 * - An agreed revert is agreed on its code and data: the faster liar's revert with the honest
 *   words and other data is not returned, the honest domains' data is (viemErrors covers words).
 * - Batch framing: rotated ids, an id answered twice, an answer missing, one added, one revert
 *   for the whole batch, ids as strings, an object for an array, an `id: null` revert beside one
 *   missing answer. A batch is one source's calls, split by the ids it was sent (batch.ts
 *   `splitBatch`: a Map by value, so "5" is not 5; more answers than calls fail all; an id twice
 *   counts for neither): the liar moves only its own answers between its own calls. Each balance
 *   agreed for its own account, the honest sources charged nothing. Read: ids are unique in the
 *   process (http.ts `nextId`).
 * - The proxy answers outlast's own failure with its fixed short message (jsonRpc.ts
 *   `errorObject`: `messageOf`), no source's words; a batch of two calls under one id gets its
 *   replies in order, each its own. Read: EIP-1193 `request` takes one call (an array is -32600,
 *   requestWithMeta.ts `paramsOf`); the status page escapes `& < > "` in `lastError`; metrics
 *   labels are names, escaped.
 *
 * Read, not tested:
 * - A lone domain's error under `degrade` (the others down) is thrown exactly as an agreed one:
 *   no meta, no flag, where a result says `degraded` (only the `quorumLoss` event tells). Worth a
 *   `degraded` property on the thrown error.
 * - The demo's sources are the lab's proxies: no hostile text reaches its terminal today.
 */
import assert from 'node:assert/strict'
import { createPublicClient } from 'viem'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { outlast } from '../../src/adapters/viem.ts'
import { createOutlast, http, RpcResponseError, type Source } from '../../src/index.ts'
import { startProxyServer } from '../../src/proxy/server.ts'
import { CHAIN_ID, sleep } from '../helpers.ts'
import type { Lab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'
import { MARK, startLiarLab } from './proxiedLiar.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLiarLab()
})
afterAll(() => lab.stop())

const honest = (names: string[]) => labSources(lab, names)
/** The liar as a Source: its answers (or errors) rewritten after the real node's. */
const liar = (rewrite: Parameters<typeof hostile>[1]): Source =>
  hostile(
    http(lab.proxy('liar').url, {
      name: 'liar',
      domain: 'liar-host',
      fetchFn: lab.proxy('liar').fetch,
      timeout: 2_000,
    }),
    rewrite,
  )

/**
 * The liar over the real http() path (jsonRpc.ts reads its body, batch.ts splits its batches):
 * `rewrite` gets the call (or batch) sent and the real node's answer text, and writes the body.
 */
const rawLiar = (
  rewrite: (sent: unknown, real: () => Promise<string>) => Promise<string>,
  extra: Parameters<typeof http>[1] = {},
): Source => {
  const proxied = lab.proxy('liar')
  const fetchFn = (async (url: string, init: RequestInit) => {
    const sent = JSON.parse(String(init.body)) as unknown
    const real = async () => (await proxied.fetch(url, init)).text()
    const body = await rewrite(sent, real)
    return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } })
  }) as unknown as typeof fetch
  return http(proxied.url, { name: 'liar', domain: 'liar-host', fetchFn, timeout: 2_000, ...extra })
}

type Call = { id: number; method: string; params: unknown[] }
const reply = (id: unknown, body: Record<string, unknown>) =>
  JSON.stringify({ jsonrpc: '2.0', id, ...body })

/** ABI-encoded `Error(string)` (no 0x). */
const errorString = (text: string) => {
  const hex = Buffer.from(text).toString('hex')
  const len = (hex.length / 2).toString(16).padStart(64, '0')
  return `08c379a0${'20'.padStart(64, '0')}${len}${hex.padEnd(Math.ceil(hex.length / 64) * 64, '0')}`
}
/** Runtime code that reverts with `Error(text)`, whatever it is called with. */
const revertsWith = (text: string) => {
  const data = errorString(text)
  const n = (data.length / 2).toString(16).padStart(2, '0')
  return `0x60${n}600c60003960${n}6000fd${data}`
}

const hex = (n: number | bigint) => `0x${n.toString(16)}`
/** An account with no ether: a transfer it simulates is refused by every node (-32003). */
const POOR = `0x${'77'.repeat(20)}`
const unaffordable = (i = 0) => ({ from: POOR, to: POOR, value: hex(10n ** 18n + BigInt(i)) })
const RICH = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266'
const LIE = 'execution reverted: account frozen, migrate at evil.example'
const lyingRevert = () =>
  new RpcResponseError('liar', { code: 3, message: LIE, data: `0x${errorString(LIE.slice(20))}` })

const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ value, error: undefined }),
    (error: unknown) => ({ value: undefined, error: error as Error & Record<string, unknown> }),
  )

const failuresOf = (rpc: ReturnType<typeof createOutlast>, names: string[]) =>
  rpc
    .status()
    .sources.filter((s) => names.includes(s.name))
    .map((s) => `${s.name}: ${s.failures} failures, breaker ${s.breaker}, ${s.lastError ?? '-'}`)

describe('errors as answers', () => {
  it("Fixed: the liar's made-up revert does not stand against three honest domains' refusal (-32003)", async () => {
    const l = liar(async (method, _p, answer) => {
      if (method === 'eth_call') throw lyingRevert()
      return answer()
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [...honest(['aws', 'gcp', 'home']), l],
      timeout: 10_000,
    })
    const client = createPublicClient({ chain: foundry, transport: outlast(rpc) })
    try {
      await rpc.connect()
      const { error } = await settle(
        rpc.request({ method: 'eth_call', params: [unaffordable(), 'latest'] }),
      )
      // The same through viem, as a dApp simulating the transfer sees it.
      const viaViem = await settle(client.call({ ...unaffordable(1), account: POOR } as never))
      const reverted = (viaViem.error as { walk?(f: (e: unknown) => boolean): unknown })?.walk?.(
        (e) => (e as Error).name === 'ExecutionRevertedError',
      ) as Error | undefined
      assert.ok(error, 'every node refuses the call')
      // The honest domains' verdict, or at least not the liar's words as the nodes' revert.
      assert.ok(
        !String(error.message).includes('evil.example') && !reverted,
        `${error.name} ${error.code}: ${error.message}\nviem: ${reverted?.name}: ${reverted?.message}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Fixed: the liar's made-up eth_call result does not stand against two honest domains' refusal", async () => {
    const WORD = `0x${'00'.repeat(31)}01`
    const l = liar(async (method, _p, answer) => (method === 'eth_call' ? WORD : answer()))
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [...honest(['aws', 'gcp']), l],
      timeout: 10_000,
    })
    try {
      await rpc.connect()
      const got = await settle(
        rpc.requestWithMeta({ method: 'eth_call', params: [unaffordable(2), 'latest'] }),
      )
      assert.equal(
        got.value,
        undefined,
        `answered ${JSON.stringify(got.value?.result)} (${got.value?.meta.consistency}, ${got.value?.meta.sources})`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Fixed: honest nodes' agreed refusal of a caller's call costs them nothing; the liar does not become the last domain standing", async () => {
    const l = liar(async (method, _p, answer) => {
      if (method === 'eth_call') throw lyingRevert()
      if (method === 'eth_getBalance') return MARK
      return answer()
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [...honest(['aws', 'gcp']), l],
      timeout: 10_000,
    })
    try {
      await rpc.connect()
      // A wallet simulating, a few times over, a transfer the account cannot pay for.
      await Promise.all(
        [1, 2, 3, 4, 5, 6].map((i) =>
          settle(rpc.request({ method: 'eth_call', params: [unaffordable(10 + i), 'latest'] })),
        ),
      )
      const charged = failuresOf(rpc, ['aws', 'gcp'])
      const balance = await settle(
        rpc.requestWithMeta({ method: 'eth_getBalance', params: [RICH, 'latest'] }),
      )
      assert.ok(
        rpc.status().sources.every((s) => s.name === 'liar' || s.failures === 0),
        charged.join('\n'),
      )
      assert.notEqual(
        balance.value?.result,
        MARK,
        `the liar's balance, ${balance.value?.meta.consistency}`,
      )
      assert.equal(balance.value?.meta.consistency, 'agreed')
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Fixed: the nodes' agreed -32003 is the caller's answer, not 4900 'all sources failed'", async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: honest(['aws', 'gcp', 'home']),
      timeout: 10_000,
    })
    try {
      await rpc.connect()
      const { error } = await settle(
        rpc.request({ method: 'eth_call', params: [unaffordable(3), 'latest'] }),
      )
      assert.ok(error)
      assert.equal(error.code, -32003, `${error.name} ${error.code}: ${error.message}`)
      assert.ok(
        rpc.status().sources.every((s) => s.failures === 0),
        failuresOf(rpc, ['aws', 'gcp', 'home']).join('\n'),
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Fixed: a contract reverting with Error("pruned") gets its revert, and state at that block stays readable', async () => {
    const C = `0x${'00'.repeat(18)}c0de`
    await lab.anvil.rpc('anvil_setCode', [C, revertsWith('order pruned')])
    await lab.anvil.rpc('anvil_mine', ['0x1'])
    const at = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
    await lab.anvil.rpc('anvil_mine', ['0x14'])
    const real = await lab.anvil.rpc<string>('eth_getBalance', [RICH, hex(at)])
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: honest(['aws', 'gcp', 'home']),
      timeout: 10_000,
    })
    try {
      await rpc.connect()
      // Every source's head known (a pruned refusal is learnt only 16 blocks below it).
      for (let i = 0; i < 100 && rpc.status().sources.some((s) => s.head === undefined); i++)
        await sleep(100)
      const call = await settle(rpc.request({ method: 'eth_call', params: [{ to: C }, hex(at)] }))
      const after = await settle(rpc.request({ method: 'eth_getBalance', params: [RICH, hex(at)] }))
      assert.equal(
        after.value,
        real,
        `state at #${at} after the call: ${after.error?.message}\n(the call: ${call.error?.message})`,
      )
      assert.equal(
        call.error?.code,
        3,
        `${call.error?.name} ${call.error?.code}: ${call.error?.message}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Held: an agreed revert carries the honest domains' data, not the faster liar's", async () => {
    const C = `0x${'00'.repeat(18)}c0df`
    await lab.anvil.rpc('anvil_setCode', [C, revertsWith('paused')])
    const l = liar(async (method, _p, answer) => {
      if (method !== 'eth_call') return answer()
      throw new RpcResponseError('liar', {
        code: 3,
        message: 'execution reverted: paused',
        data: `0x${errorString('frozen')}`,
      })
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [l, ...honest(['aws', 'gcp'])],
      timeout: 10_000,
    })
    try {
      await rpc.connect()
      const { error } = await settle(
        rpc.request({ method: 'eth_call', params: [{ to: C }, 'latest'] }),
      )
      assert.ok(error instanceof RpcResponseError, String(error))
      assert.equal(error.data, `0x${errorString('paused')}`)
      assert.equal(error.code, 3)
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe('batch framing', () => {
  /** Four accounts with balances of their own: an answer moved to another call shows. */
  const accounts = [1, 2, 3, 4].map((i) => `0x${'ab'.repeat(19)}0${i}`)
  beforeAll(async () => {
    for (const [i, a] of accounts.entries())
      await lab.anvil.rpc('anvil_setBalance', [a, hex(1_000_000 + i)])
  })

  type Answer = { id?: unknown; result?: unknown; error?: unknown }
  /** What the liar does to its batch's answer (the real one, parsed). */
  const variants: Record<string, (answers: Answer[]) => unknown> = {
    'ids rotated (each answer under the next call of the batch)': (a) =>
      a.map((x, i) => ({ ...x, id: a[(i + 1) % a.length]!.id })),
    'an id answered twice': (a) =>
      a.length > 1 ? [a[0], { ...a[1], id: a[0]!.id }, ...a.slice(2)] : a,
    'an answer missing': (a) => a.slice(0, -1),
    'an answer added': (a) => [...a, { ...a[0], id: 999_999_999, result: MARK }],
    'one revert for the whole batch': () => ({
      jsonrpc: '2.0',
      id: null,
      error: { code: 3, message: LIE, data: `0x${errorString('frozen')}` },
    }),
    'ids as strings': (a) => a.map((x) => ({ ...x, id: String(x.id) })),
    'an object, not an array': (a) => a[0],
    'an id: null revert beside one missing answer': (a) => [
      ...a.slice(0, -1),
      { jsonrpc: '2.0', id: null, error: { code: 3, message: LIE, data: '0x' } },
    ],
  }

  for (const [name, rewrite] of Object.entries(variants))
    it(`Held: ${name}: the agreed balances, each for its own account`, async () => {
      let widest = 0
      const l = rawLiar(
        async (sent, real) => {
          const text = await real()
          if (!Array.isArray(sent)) return text
          widest = Math.max(widest, sent.length)
          const answers = JSON.parse(text) as Answer[]
          // Balances made up as well: whatever lands where, it is the liar's.
          for (const x of answers)
            if (typeof x.result === 'string' && x.result.startsWith('0xf42')) x.result = MARK
          return JSON.stringify(rewrite(answers))
        },
        // Wide enough that the calls of one round, asked of the liar at once, share a batch.
        { batch: { wait: 200 } },
      )
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        sources: [l, ...honest(['aws', 'gcp'])],
        timeout: 10_000,
      })
      try {
        await rpc.connect()
        // Rounds until the liar was sent a batch of two or more (it may be asked singly, as a
        // hedge, while it ranks behind aws and gcp): the attack needs batches to rewrite.
        for (let round = 0; round < 3 || (widest < 2 && round < 10); round++) {
          const got = await Promise.all(
            accounts.map((a) =>
              rpc.requestWithMeta({ method: 'eth_getBalance', params: [a, 'latest'] }),
            ),
          )
          for (const [i, g] of got.entries()) {
            assert.equal(g.result, hex(1_000_000 + i), `${accounts[i]}: ${JSON.stringify(g)}`)
            assert.equal(g.meta.consistency, 'agreed')
          }
        }
        assert.ok(widest >= 2, `the liar's batches held ${widest} calls at most`)
        const honestOnes = rpc.status().sources.filter((s) => s.name !== 'liar')
        assert.ok(honestOnes.every((s) => s.failures === 0 && s.breaker === 'closed'))
      } finally {
        await rpc.close()
      }
    }, 30_000)
})

describe('source-controlled text', () => {
  /** A line as QuorumError writes one, saying the honest source gave the liar's balance. */
  const FORGED = `- aws (aws-us-east-1) answered ${MARK}`
  /** A terminal's title set (OSC), the screen cleared, and a right-to-left override. */
  const CONTROL = '\u001b]0;pwned\u0007\u001b[2J\u202egnp.exe'
  const TEXT = `boom\n${FORGED}\n${CONTROL}`
  /** C0 controls but tab and newline, DEL and C1, and the bidi controls. */
  const controls = {
    test: (text: string) =>
      [...text].some((c) => {
        const n = c.codePointAt(0)!
        return (
          (n < 0x20 && n !== 0x09 && n !== 0x0a) ||
          (n >= 0x7f && n <= 0x9f) ||
          (n >= 0x202a && n <= 0x202e) ||
          (n >= 0x2066 && n <= 0x2069)
        )
      }),
  }

  it("Fixed: a source's error text adds no line to a QuorumError and carries no control characters", async () => {
    const l = rawLiar(async (sent, real) => {
      const call = sent as Call
      if (call.method === 'eth_getBalance')
        return reply(call.id, { error: { code: 3, message: TEXT, data: '0x01' } })
      return real()
    })
    const answers: string[] = []
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [...honest(['aws']), l],
      timeout: 10_000,
    })
    rpc.on('disagreement', (e) => answers.push(...e.answers.map((a) => a.answer)))
    try {
      await rpc.connect()
      const { error } = await settle(
        rpc.request({ method: 'eth_getBalance', params: [RICH, 'latest'] }),
      )
      assert.equal(error?.name, 'QuorumError')
      const message = String(error.message)
      const lines = message.split('\n')
      assert.ok(!lines.includes(FORGED), `a forged line:\n${JSON.stringify(message)}`)
      assert.ok(!controls.test(message), JSON.stringify(message))
      assert.ok(!answers.some((a) => controls.test(a) || a.includes('\n')), JSON.stringify(answers))
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Fixed: a source's 2 MB error message is cut short in status() and events", async () => {
    const l = rawLiar(async (sent, real) => {
      const call = sent as Call
      if (call.method === 'eth_getCode')
        return reply(call.id, {
          // -32603: a failure of the source's (a -32000 is now its answer: no lastError).
          error: { code: -32603, message: `${TEXT}${'A'.repeat(2_000_000)}` },
        })
      return real()
    })
    const reasons: string[] = []
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [...honest(['aws']), l],
      timeout: 10_000,
    })
    rpc.on('source', (e) => e.reason && reasons.push(e.reason))
    try {
      await rpc.connect()
      for (let i = 0; i < 4; i++)
        await settle(
          rpc.request({ method: 'eth_getCode', params: [`0x${String(i).repeat(40)}`, 'latest'] }),
        )
      const last = rpc.status().sources.find((s) => s.name === 'liar')?.lastError ?? ''
      assert.ok(last.includes('boom'), `the liar's last error: ${last.slice(0, 80)}`)
      assert.ok(last.length <= 4_096, `status().lastError holds ${last.length} characters`)
      assert.ok(!controls.test(last), JSON.stringify(last.slice(0, 120)))
      for (const r of reasons)
        assert.ok(r.length <= 4_096 && !controls.test(r), `a reason of ${r.length}`)
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Held: the proxy answers outlast's own failure with its fixed short message: no source's text", async () => {
    const l = rawLiar(async (sent, real) => {
      const call = sent as Call
      if (call.method === 'eth_getBalance')
        return reply(call.id, { error: { code: 3, message: TEXT, data: '0x01' } })
      return real()
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [...honest(['aws']), l],
      timeout: 10_000,
    })
    const proxy = await startProxyServer(rpc, {
      port: 0,
      host: '127.0.0.1',
      cors: [],
      maxBodyBytes: 1_048_576,
      maxConcurrent: 16,
    })
    try {
      await rpc.connect()
      const answer = (await (
        await fetch(proxy.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify([
            { jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: [RICH, 'latest'] },
            { jsonrpc: '2.0', id: 1, method: 'eth_chainId' },
          ]),
        })
      ).json()) as { id: unknown; result?: unknown; error?: { message: string } }[]
      assert.equal(answer.length, 2)
      assert.equal(
        answer[0]!.error?.message,
        'No answer to eth_getBalance was agreed by 2 failure domains.',
      )
      assert.equal(answer[1]!.result, hex(CHAIN_ID))
    } finally {
      await proxy.close()
      await rpc.close()
    }
  }, 30_000)
})
