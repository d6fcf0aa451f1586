/**
 * Attacker's review of 26613f5 and ea845d7 (the 39h … 39k fixes): tally.ts `onChain`, policy.ts
 * `isCallersError`/`NOT_SERVED`, pruned.ts `recentRead` with head.ts `heightOf`, handlers/read.ts
 * `pendingNonce`, rules.ts `pinBlock`. Real anvil (no auto-mining, blocks mined by the test), each
 * source its own domain; a node with other behaviour is anvil behind a rewrite (`hostile`): 39c's
 * load-balanced endpoint (its head current, its reads by hash from a backend a block behind),
 * a node a block behind altogether, a liar. Each finding was first an `it.fails('correct
 * behaviour: …')`, checked to fail as a plain `it` for the hole's own reason (message quoted).
 *
 * Fixed the same stop (renamed "Fixed: …"): 1, `onChain` is gone: "unknown block" about a block
 * named by the caller's hash stays a dissent, held or not (a split, never the lie; 39b 2 is left
 * in part for it: the liar is charged there, the reads split until its breaker opens); 2, a
 * refusal in a node's own words (`NOT_SERVED`, -32004, -32604) no longer outvotes an answer:
 * only -32601, -32600 and -32602 from two domains do (fanOutDecisions.ts `OUTVOTING`), and
 * "not available" is no longer read as "not served" (a provider's temporary words). Left
 * (`it.fails`): 3, a liar's pruned words by hash of a block the tracker did not keep (more than
 * one block between polls) go uncharged (pruned.ts `recentRead` takes an unknown height as old).
 *
 * Found:
 * 1. (high, wrong answer) A liar's made-up state by the new head's hash stands, degraded, beside
 *    honest domains that say "header for hash not found" for it. Two domains: `aws` a
 *    load-balanced endpoint whose head is current but whose state backend is a block behind (39c,
 *    39j) and the liar; three domains: that `aws`, `gcp` a block behind altogether, and the liar.
 *    The liar reports the true head (so the tracker confirms the new block with `aws`: `holds`)
 *    and answers `eth_getBalance(RICH, { blockHash: head })` with a balance no account holds.
 *    handlers/read.ts sets `onChain` (pruned.ts `confirmedBlock`), so tally.ts `judgeTrusted`
 *    makes each honest "unknown block" a `failed`, no dissent; the liar's answer is the only
 *    group, fanOutDecisions.ts `whenExhausted` degrades to it. Before 26613f5 `aws`'s "unknown
 *    block" was a dissent (a split: an error, never the lie). Worse, sourcePool.ts `working`
 *    finds no excuse for `aws` (it is not lagging by its head, the block is confirmed), so each
 *    such read charges the honest node ("aws closed degraded"). Observed (both fleets):
 *    '"0x1234567890abcdef" degraded ×4; aws closed degraded, …, liar closed healthy'. Any
 *    dApp reading at the block it was just shown by hash (wagmi/viem `blockHash` reads, logs by
 *    `blockHash`) right after a block gets the liar's state. Responsible: tally.ts `judgeTrusted`
 *    (`onChain` → `failed`), fanOutDecisions.ts `whenExhausted` (`degrade`). Fix: about a block
 *    the confirmed chain holds, "unknown block" is no dissent but neither is it a domain's
 *    absence: keep it a "not yet" (re-asked after `RECHECK_DELAYS`, as a `null` receipt is), and
 *    never degrade to a lone answer beside a live domain's "not yet"; at most an error once the
 *    deadline passes (the 39b split then ends by re-asking, not by dropping the dissent).
 * 2. (medium) A liar turns a method outside the table that an honest domain serves into an
 *    error, for good and uncharged, by echoing the words of a domain that lacks it. Three
 *    domains: `aws` serves `debug_traceTransaction`, `gcp` is Besu without the DEBUG api
 *    (-32604 "Method not enabled"), the liar says the same. policy.ts `NOT_SERVED` makes both
 *    the caller's, fanOutDecisions.ts `whenExhausted` finds two domains' caller's error and
 *    outvotes `aws`'s trace. Observed: "ProviderRpcError -32604 ×3; aws closed healthy, gcp
 *    closed healthy, liar closed healthy". Before 26613f5 both were failures and `aws`'s trace
 *    stood, degraded. (The same held for -32601 before; NOT_SERVED widens it to any code whose
 *    words match, -32004/-32604/-32000, so to every provider's plan-gate wording.) Responsible:
 *    policy.ts `isCallersError` + fanOutDecisions.ts `whenExhausted` (`callersError` first).
 *    Fix: "not served" is one node's absence, not a verdict on the request: it is the caller's
 *    only when no domain answered (all.length === 0); a real answer from another domain stands
 *    (degraded) beside it, and the not-serving sources stay uncharged.
 * 3. (medium) A liar's pruned words ("missing trie node … is not available") to a read by hash
 *    of a block two below the head, mined between two polls (the tracker jumped three blocks):
 *    head.ts `#descendFrom` keeps the head's parent only (no header for the grandparent: the
 *    heights below are dropped), so `heightOf` is undefined, pruned.ts `recentRead` is false,
 *    sourcePool.ts `failureOf` makes it `unserved` (no charge, `notePruned`), and in two domains
 *    every such read is degraded while the liar stays healthy. Observed: '"0x21e19e0a387cf2b5fff"
 *    degraded ×6; aws closed healthy, liar closed healthy'. Responsible: pruned.ts `recentRead`
 *    (unknown height taken as old), head.ts `#descendFrom`. Fix: learn the height of a hash
 *    read by hash (the answer's own block number where one is answered, or fetch the missing
 *    headers down to the kept chain, bounded) and judge pruned words at it; a hash of no known
 *    height whose block another domain answers at is not "old" for free.
 *
 * Held: three domains, the liar's pending nonce five above the truth: never the answer
 * (`pendingNonce` takes agreement first).
 *
 * Not tested (suspected): the `onChain` degrade for logs by `blockHash` and EIP-1898 `eth_call`
 * (same path); NOT_SERVED matching a transient provider refusal ("method … not available" under
 * a rate limit) to an unlisted method, making it the caller's and uncharged; the liar's "not
 * supported" to every unlisted method is never charged (as -32601 was); `pendingNonce` with a
 * shown block above the head takes `latest` at the shown block from `engine.request`, which can
 * itself be a degraded lone answer (finding 1's path with a pinned read) - a pushed-up nonce
 * would leave the wallet's transaction stuck behind a gap.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, RpcResponseError, type Source } from '../../src/index.ts'
import { CHAIN_ID } from '../helpers.ts'
import { type Anvil, devAccounts, startAnvil } from '../lab/index.ts'
import { settle } from './fleet.ts'
import { hostile } from './hostile.ts'

const hex = (n: number | bigint) => `0x${n.toString(16)}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let anvil: Anvil
let pingTx: string
beforeAll(async () => {
  anvil = await startAnvil({ noMining: true })
  pingTx = await anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[0]!.address, to: devAccounts[1]!.address, value: '0x1' },
  ])
  await anvil.rpc('evm_mine')
  await anvil.rpc('evm_mine')
}, 60_000)
afterAll(() => anvil?.stop())

type Block = { number: string; hash: string }
const RICH = devAccounts[0]!.address
/** The balance the liar claims: no account holds it. */
const MARK = '0x1234567890abcdef'

const numberOf = async (hash: string) =>
  Number((await anvil.rpc<Block | null>('eth_getBlockByHash', [hash, false]))?.number ?? 1e9)

/**
 * An honest node in its own domain whose reads by hash come from a backend held at block
 * `view.frozen` while it is set (39c's load-balanced endpoint): a block above it is geth's
 * "header for hash not found". `headToo`: its head is held there too (a node a block behind).
 */
function lagging(name: string, headToo = false) {
  const view = { frozen: undefined as number | undefined }
  const source = hostile(
    http(anvil.url, { name, domain: name, timeout: 2_000 }),
    async (method, params, answer) => {
      const f = view.frozen
      if (f === undefined) return answer()
      if (headToo && method === 'eth_blockNumber') return hex(f)
      if (headToo && method === 'eth_getBlockByNumber') {
        const at = params[0] === 'latest' || params[0] === 'pending' ? f : Number(params[0])
        return at > f ? null : anvil.rpc('eth_getBlockByNumber', [hex(at), params[1]])
      }
      if (method === 'eth_getBlockByHash')
        return (await numberOf(String(params[0]))) > f ? null : answer()
      for (const p of params)
        if (p && typeof p === 'object' && 'blockHash' in p)
          if ((await numberOf(String((p as { blockHash: string }).blockHash))) > f)
            throw new RpcResponseError(name, { code: -32000, message: 'header for hash not found' })
      return answer()
    },
    { name, domain: name },
  )
  return { source, view }
}

/** A node answering honestly but through `rewrite` (the liar), in its own domain. */
const liar = (
  rewrite: (m: string, p: readonly unknown[], answer: () => Promise<unknown>) => Promise<unknown>,
  name = 'liar',
): Source =>
  hostile(http(anvil.url, { name, domain: name, timeout: 2_000 }), rewrite, { name, domain: name })
const honest = (name: string) => http(anvil.url, { name, domain: name, timeout: 2_000 })

const fleet = (sources: Source[], domains = 2) =>
  createOutlast({
    chainId: CHAIN_ID,
    quorum: { domains },
    sources,
    timeout: 5_000,
    pollingInterval: 100,
  })
type Fleet = ReturnType<typeof fleet>
const standing = (rpc: Fleet) =>
  rpc.status().sources.map((s) => `${s.name} ${s.breaker} ${s.condition}`)

/** Mines a block and waits until `rpc`'s agreed head is it: its hash. */
async function newHead(rpc: Fleet): Promise<Block> {
  await anvil.rpc('evm_mine')
  const b = await anvil.rpc<Block>('eth_getBlockByNumber', ['latest', false])
  for (let t = 0; t < 200; t++) {
    if (Number(await rpc.request({ method: 'eth_blockNumber' })) >= Number(b.number)) break
    await sleep(25)
  }
  return b
}

const shown = async (p: Promise<{ result: unknown; meta: { consistency: string } }>) => {
  const r = await settle(p)
  return r.error
    ? `${r.error.name} ${r.error.code}`
    : `${JSON.stringify(r.value!.result).slice(0, 60)} ${r.value!.meta.consistency}`
}

describe('attack 1: "unknown block" about a held block is no dissent (tally.ts onChain)', () => {
  const balanceLiar = () =>
    liar(async (m, p, answer) => {
      if (m === 'eth_getBalance' && p[1] && typeof p[1] === 'object') return MARK
      return answer()
    })

  it('Fixed: two domains, one load-balanced a block behind for reads by hash: a balance by the new head’s hash is never the liar’s', async () => {
    const aws = lagging('aws')
    const rpc = fleet([aws.source, balanceLiar()])
    try {
      await rpc.connect()
      aws.view.frozen = Number(await anvil.rpc<string>('eth_blockNumber'))
      const out: string[] = []
      for (let i = 0; i < 4; i++) {
        const b = await newHead(rpc)
        aws.view.frozen = Number(b.number) - 1
        out.push(
          await shown(
            rpc.requestWithMeta({
              method: 'eth_getBalance',
              params: [RICH, { blockHash: b.hash }],
            }),
          ),
        )
      }
      const seen = `${out.join('; ')}; ${standing(rpc).join(', ')}`
      assert.ok(!out.some((o) => o.includes(MARK.slice(2))), seen)
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Fixed: three domains, two a block behind (one load-balanced): a balance by the new head’s hash is never the liar’s', async () => {
    const aws = lagging('aws')
    const gcp = lagging('gcp', true)
    const rpc = fleet([aws.source, gcp.source, balanceLiar()])
    try {
      await rpc.connect()
      const out: string[] = []
      for (let i = 0; i < 4; i++) {
        gcp.view.frozen = Number(await anvil.rpc<string>('eth_blockNumber'))
        const b = await newHead(rpc)
        aws.view.frozen = Number(b.number) - 1
        out.push(
          await shown(
            rpc.requestWithMeta({
              method: 'eth_getBalance',
              params: [RICH, { blockHash: b.hash }],
            }),
          ),
        )
      }
      const seen = `${out.join('; ')}; ${standing(rpc).join(', ')}`
      assert.ok(!out.some((o) => o.includes(MARK.slice(2))), seen)
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe('attack 2: "not supported" words to a method outside the table (policy.ts NOT_SERVED)', () => {
  it('Fixed: three domains: aws serves debug_traceTransaction, gcp is Besu without DEBUG (-32604 "Method not enabled"), the liar echoes gcp: aws’s trace is answered', async () => {
    const notEnabled = (name: string) =>
      liar(async (m, _p, answer) => {
        if (m.startsWith('debug_'))
          throw new RpcResponseError(name, { code: -32604, message: 'Method not enabled' })
        return answer()
      }, name)
    const rpc = fleet([honest('aws'), notEnabled('gcp'), notEnabled('liar')])
    try {
      await rpc.connect()
      const out: string[] = []
      for (let i = 0; i < 3; i++)
        out.push(
          await shown(rpc.requestWithMeta({ method: 'debug_traceTransaction', params: [pingTx] })),
        )
      assert.ok(
        out.every((o) => !o.includes('Error')),
        `${out.join('; ')}; ${standing(rpc).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe('attack 3: pruned words about a block by hash mined between polls (pruned.ts recentRead)', () => {
  it.fails('correct behaviour: two domains: the liar’s "missing trie node" by hash of a block mined between two polls (two below the head) is charged', async () => {
    const pruner = liar(async (_m, p, answer) => {
      if (p.some((x) => x && typeof x === 'object' && 'blockHash' in x))
        throw new RpcResponseError('liar', {
          code: -32000,
          message: `missing trie node ${'ab'.repeat(32)} (path ) state 0x${'cd'.repeat(32)} is not available`,
        })
      return answer()
    })
    const rpc = fleet([honest('aws'), pruner])
    try {
      await rpc.connect()
      // Three blocks at once: the tracker's next poll jumps over two of them.
      await anvil.rpc('anvil_mine', ['0x3'])
      const top = await anvil.rpc<Block>('eth_getBlockByNumber', ['latest', false])
      for (let t = 0; t < 200; t++) {
        if (Number(await rpc.request({ method: 'eth_blockNumber' })) >= Number(top.number)) break
        await sleep(25)
      }
      const mid = await anvil.rpc<Block>('eth_getBlockByNumber', [
        hex(Number(top.number) - 2),
        false,
      ])
      const out: string[] = []
      for (let i = 0; i < 6; i++)
        out.push(
          await shown(
            rpc.requestWithMeta({
              method: 'eth_getBalance',
              params: [RICH, { blockHash: mid.hash }],
            }),
          ),
        )
      const liarStanding = rpc.status().sources.find((s) => s.name === 'liar')!
      assert.ok(
        liarStanding.breaker !== 'closed' || liarStanding.condition !== 'healthy',
        `${out.join('; ')}; ${standing(rpc).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe('attack 4: the pending nonce (handlers/read.ts pendingNonce)', () => {
  it('Held: three domains: the liar’s pending nonce five above the truth is never the answer', async () => {
    const pusher = liar(async (m, p, answer) => {
      const r = await answer()
      return m === 'eth_getTransactionCount' && p[1] === 'pending' ? hex(Number(r) + 5) : r
    })
    const rpc = fleet([honest('aws'), honest('gcp'), pusher])
    try {
      await rpc.connect()
      const truth = Number(await anvil.rpc<string>('eth_getTransactionCount', [RICH, 'pending']))
      const out: string[] = []
      for (let i = 0; i < 3; i++)
        out.push(
          await shown(
            rpc.requestWithMeta({ method: 'eth_getTransactionCount', params: [RICH, 'pending'] }),
          ),
        )
      assert.ok(
        out.every((o) => o.startsWith(`"${hex(truth)}"`)),
        `${out.join('; ')} (truth ${hex(truth)})`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})
