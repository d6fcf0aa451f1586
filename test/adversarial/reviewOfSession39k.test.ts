/**
 * Attacker's review of the error-classification rules as they stand at ea845d7: nodeErrors.ts
 * (`isNodeAnswer`, `EXECUTES`, `chainData`, `cannotServeNow`), policy.ts `isCallersError`,
 * sourcePool.ts's attempter (`failureOf`, `working`), pruned.ts (`recentRead`, `isPruned`,
 * `notYetImported`, `unconfirmedBlock`, `aboveHeadOf`), fanOut.ts `#finish`'s -32602 charge,
 * params.ts. Real anvil behind the lab's proxies (`startLiarLab`), each source its own domain; a
 * node with other behaviour is a lab proxy rewritten (`hostile`), the odd one out over the `liar`
 * proxy (no added latency: it is asked first, so its error is read, not raced away). Each finding
 * was first an `it.fails('correct behaviour: …')`, checked to fail as a plain `it` for the hole's
 * own reason (the observed message quoted below); held attacks are plain `it('Held: …')`. All
 * three fixed the same stop (renamed "Fixed: …"): 1, a read by hash is as old as the height the
 * head tracker kept for that hash (pruned.ts `recentRead`, head.ts `heightOf`); 2 and 3, to a
 * method outside the table, -32004 and "not supported / not enabled / namespace disabled" are
 * the caller's, as -32601 is (policy.ts `isCallersError`, `NOT_SERVED`): no one charged.
 *
 * Found:
 * 1. (medium-high) An honest full node beside two archives, asked by a caller's EIP-1898
 *    `{ blockHash }` at a block 20 below the head (a dapp reading at the block it was shown a
 *    few minutes ago; wagmi/viem `blockHash` reads). The full node keeps 16 blocks of state and
 *    says geth's -32000 "missing trie node … (path ) state 0x… is not available". By number at
 *    the same block it is `unserved` (not charged, `notePruned` learns it: Held). By hash,
 *    pruned.ts `recentRead` is `holds(hash)`: the client has followed the chain, so its
 *    confirmed window (head.ts `WINDOW`, 128 heights) holds the hash, the read counts as "at a
 *    block every node keeps", sourcePool.ts `failureOf` leaves the pruned words a plain error,
 *    `working` finds no excuse (not "not yet", confirmed, not above its head) and it is
 *    `recordFailure`d. Six reads (answered by the archives) and the full node is open and down
 *    for every other read. Observed: "ok ×6; aws closed healthy, gcp closed healthy, full open
 *    down". The same read by a client that has not followed those blocks is excused
 *    (`unconfirmedBlock`): whether an honest node is charged depends on the client's uptime.
 *    Responsible: pruned.ts `recentRead` (by hash: any held block, however old). Fix: by hash,
 *    recent only where the held block's height (`hashAt`/the tracker's kept number for it) is
 *    not `oldFor` the source, as by number; and `notePruned` that height.
 * 2. (high) An honest caller's traces (`debug_traceTransaction`, `trace_block`: a block
 *    explorer widget, a debugger) where no node serves the namespace and says so in words other
 *    than -32601: EIP-1474's own -32004 "Method not supported", -32000 "method not enabled",
 *    -32000 "debug namespace is disabled" (providers' plan gates). nodeErrors.ts
 *    `cannotServeNow` reads them as "not now" (NOT_NOW_CODES -32004; NOT_NOW "not enabled",
 *    "disabled"), policy.ts `isCallersError` takes only -32601/-32600 as the caller's, so each
 *    is every source's failure: outlast says 4900 "All sources failed" (viem:
 *    ProviderDisconnectedError, a dapp shows "disconnected") and every breaker opens within
 *    three calls - the whole fleet is out for the wallet's balance reads, from a trace the
 *    nodes refuse alike. Observed: "AllSourcesFailedError 4900 ×6; aws open down, gcp open
 *    down, home open down" (each wording). With -32601 the same loop is the caller's -32601,
 *    nothing charged (Held). Responsible: policy.ts `isCallersError` (codes only) +
 *    nodeErrors.ts `cannotServeNow`. Fix: "method not supported / not enabled / disabled /
 *    does not exist" (-32004, or the words, to a method outside the table) is the -32601 family:
 *    the caller's, charged to no one (and no success); more generally, a refusal every domain
 *    asked gives alike is the caller's answer, not every source's failure.
 * 3. (medium) The same refusal from one node beside two that serve the namespace (a provider
 *    on a plan without debug beside two self-hosted archives): each trace charges it, and
 *    within three its breaker is open and it is down for every read. Observed: "ok ×6; aws
 *    closed healthy, gcp closed healthy, odd open down" (-32004 "Method not supported", -32000
 *    "method not enabled", -32000 "debug namespace is disabled"). -32601 there costs nothing
 *    (Held). Responsible: as 2. Fix: as 2 (the `methods` route is the operator's way to keep
 *    such calls off it; an honest caller's call must not cost the source its other reads).
 *
 * Held: a lagging node (one block behind for good) saying -32000 "header not found" to reads
 * at `latest` pinned by number (`pinByHash: false`): excused, its breaker closed; a strict
 * node's -32602 to a 33-byte storage slot beside two that answer (its breaker stays closed); `eth_getStorageAt` with
 * slot `0x`, a 33-byte slot, a JSON number (anvil answers them, agreed); `eth_getProof` with a
 * key `0x1`, keys as a string, a 33-byte key (the nodes' -32602, agreed, nothing charged);
 * `eth_chainId` with a param (static); traces refused -32601 by every node or by one;
 * JSON-RPC batches (`batch: true` on every source) with a balance, a transfer the account
 * cannot pay (-32003), an odd proof key (-32602), a trace and a block: each call its own
 * answer, nothing charged.
 *
 * Not tested (suspected): a strict node's -32602 as the odd one out is penalized as a
 * contradiction and recorded as a success by the attempt, so its breaker never opens but its
 * `errorRate` climbs; a node whose chain check (`eth_chainId`) answers -32602 is charged by the
 * check (`recordFailure`) - only a broken node does that; a liar's -32601 to an unlisted method
 * beside one honest domain is the caller's and never charged (39g held its answer).
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, RpcResponseError, type Source } from '../../src/index.ts'
import { CHAIN_ID } from '../helpers.ts'
import type { Lab } from '../lab/index.ts'
import { deployAnswer, PING_INIT, sendPing } from '../workload.ts'
import { labNode, POOR, RICH, settle } from './fleet.ts'
import type { Rewrite } from './hostile.ts'
import { startLiarLab } from './proxiedLiar.ts'

let lab: Lab
let emitter: `0x${string}`
let pingTx: string
beforeAll(async () => {
  lab = await startLiarLab()
  emitter = await deployAnswer(lab.anvil, PING_INIT)
  pingTx = await sendPing(lab.anvil, emitter, 7)
  await lab.anvil.rpc('anvil_mine', ['0x20'])
}, 60_000)
afterAll(() => lab.stop())

const fleet = (sources: Source[], domains = 2, extra: Record<string, unknown> = {}) =>
  createOutlast({
    chainId: CHAIN_ID,
    quorum: { domains },
    sources,
    timeout: 10_000,
    pollingInterval: 100,
    ...extra,
  })
type Fleet = ReturnType<typeof fleet>
const standing = (rpc: Fleet) =>
  rpc.status().sources.map((s) => `${s.name} ${s.breaker} ${s.condition}`)
const hx = (n: number) => `0x${n.toString(16)}`
const untouched = (rpc: Fleet) =>
  rpc.status().sources.every((s) => s.breaker === 'closed' && s.condition === 'healthy')

async function loop(
  rpc: Fleet,
  times: number,
  ask: (head: number) => Promise<unknown>,
): Promise<string[]> {
  await rpc.connect()
  const head = Number(await rpc.request({ method: 'eth_blockNumber' }))
  const out: string[] = []
  for (let i = 0; i < times; i++) {
    const r = await settle(ask(head))
    out.push(r.error ? `${r.error.name} ${r.error.code}` : 'ok')
  }
  return out
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Mines `n` blocks one at a time, each seen by `rpc` (its confirmed chain holds each hash). */
async function advance(rpc: Fleet, n: number) {
  await rpc.connect()
  for (let i = 0; i < n; i++) {
    await lab.anvil.rpc('anvil_mine', ['0x1'])
    const want = Number(await lab.anvil.rpc<string>('eth_blockNumber', []))
    for (let t = 0; t < 100; t++) {
      if (Number(await rpc.request({ method: 'eth_blockNumber' })) >= want) break
      await sleep(30)
    }
  }
}

/** The state reads and their block param. */
const STATE: Record<string, number> = {
  eth_getBalance: 1,
  eth_getCode: 1,
  eth_getTransactionCount: 1,
  eth_getStorageAt: 2,
  eth_call: 1,
  eth_getProof: 2,
}

/**
 * A full node keeping the state of its last `keep` blocks (anvil with short state history,
 * geth's in-memory 128 with a small cache, Nethermind's pruning): a state read at an older block,
 * by number or by EIP-1898 hash, is geth's "missing trie node".
 */
const fullNode =
  (keep: number): Rewrite =>
  async (m, p, answer) => {
    const at = STATE[m]
    if (at === undefined) return answer()
    const tag = p[at]
    const head = Number(await lab.anvil.rpc<string>('eth_blockNumber', []))
    let n = head
    if (tag && typeof tag === 'object' && 'blockHash' in tag) {
      const b = await lab.anvil.rpc<{ number: string } | null>('eth_getBlockByHash', [
        (tag as { blockHash: string }).blockHash,
        false,
      ])
      if (b) n = Number(b.number)
    } else if (typeof tag === 'string' && tag.startsWith('0x')) n = Number(tag)
    if (head - n > keep)
      throw new RpcResponseError('home', {
        code: -32000,
        message: `missing trie node 5f3a9c1e0b2d4f6a8c0e1f3a5b7c9d0e2f4a6b8c0d1e3f5a7b9c0d2e4f6a8b0c (path ) state 0x${'ab'.repeat(32)} is not available`,
      })
    return answer()
  }

describe('finding 1: a full node asked by hash at a block 20 below the head is charged', () => {
  const fleetOf = () =>
    fleet([
      labNode(lab, 'aws', 'aws'),
      labNode(lab, 'gcp', 'gcp'),
      labNode(lab, 'liar', 'full', fullNode(16)),
    ])

  it("Fixed: a caller's EIP-1898 read at head-20 leaves the full node's breaker closed", async () => {
    const rpc = fleetOf()
    try {
      await advance(rpc, 24)
      const h = Number(await lab.anvil.rpc<string>('eth_blockNumber', []))
      const { hash } = await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', [
        hx(h - 20),
        false,
      ])
      const out = await loop(rpc, 6, () =>
        rpc.request({ method: 'eth_getBalance', params: [RICH, { blockHash: hash }] }),
      )
      const home = rpc.status().sources.find((s) => ['full', 'odd', 'lagging'].includes(s.name))!
      assert.ok(
        out.every((o) => o === 'ok') && home.breaker === 'closed',
        `${out.join(', ')}; ${standing(rpc).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 60_000)

  it("Held: the same read by number at head-20: the full node's pruned words are unserved", async () => {
    const rpc = fleetOf()
    try {
      await advance(rpc, 3)
      const h = Number(await lab.anvil.rpc<string>('eth_blockNumber', []))
      const out = await loop(rpc, 6, () =>
        rpc.request({ method: 'eth_getBalance', params: [RICH, hx(h - 20)] }),
      )
      const home = rpc.status().sources.find((s) => ['full', 'odd', 'lagging'].includes(s.name))!
      assert.ok(
        out.every((o) => o === 'ok') && home.breaker === 'closed',
        `${out.join(', ')}; ${standing(rpc).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 60_000)
})

/** Every node refuses `method` with `code` and `message` (a namespace not enabled here). */
const noNamespace =
  (method: RegExp, code: number, message: string): Rewrite =>
  async (m, _p, answer) => {
    if (method.test(m)) throw new RpcResponseError('node', { code, message })
    return answer()
  }

describe('findings 2 and 3: traces refused by nodes without the namespace open breakers', () => {
  it('Held: -32601 (geth\'s "does not exist/is not available") from every node: the caller\'s, nothing charged', async () => {
    const r = noNamespace(
      /^(debug|trace)_/,
      -32601,
      'the method debug_traceTransaction does not exist/is not available',
    )
    const rpc = fleet([
      labNode(lab, 'aws', 'aws', r),
      labNode(lab, 'gcp', 'gcp', r),
      labNode(lab, 'home', 'home', r),
    ])
    try {
      const out = await loop(rpc, 6, (h) =>
        rpc.request(
          h % 2
            ? { method: 'debug_traceTransaction', params: [pingTx] }
            : { method: 'trace_block', params: [hx(h - 1)] },
        ),
      )
      assert.ok(
        out.every((o) => o.endsWith(' -32601')) && untouched(rpc),
        `${out.join(', ')}; ${standing(rpc).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Held: -32601 from one node beside two that serve: nothing charged', async () => {
    const r = noNamespace(
      /^(debug|trace)_/,
      -32601,
      'the method debug_traceTransaction does not exist/is not available',
    )
    const rpc = fleet([
      labNode(lab, 'aws', 'aws'),
      labNode(lab, 'gcp', 'gcp'),
      labNode(lab, 'liar', 'odd', r),
    ])
    try {
      const out = await loop(rpc, 6, () =>
        rpc.request({ method: 'debug_traceTransaction', params: [pingTx] }),
      )
      assert.ok(
        out.every((o) => o === 'ok') && untouched(rpc),
        `${out.join(', ')}; ${standing(rpc).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  const refusals: [number, string][] = [
    [-32004, 'Method not supported'],
    [-32000, 'method not enabled'],
    [-32000, 'debug namespace is disabled'],
  ]
  for (const [code, message] of refusals) {
    it(`Fixed (finding 2): every node's ${code} "${message}" to traces, looped, opens no breaker`, async () => {
      const r = noNamespace(/^(debug|trace)_/, code, message)
      const rpc = fleet([
        labNode(lab, 'aws', 'aws', r),
        labNode(lab, 'gcp', 'gcp', r),
        labNode(lab, 'home', 'home', r),
      ])
      try {
        const out = await loop(rpc, 6, (h) =>
          rpc.request(
            h % 2
              ? { method: 'debug_traceTransaction', params: [pingTx] }
              : { method: 'trace_block', params: [hx(h - 1)] },
          ),
        )
        assert.ok(untouched(rpc), `${out.join(', ')}; ${standing(rpc).join(', ')}`)
      } finally {
        await rpc.close()
      }
    }, 30_000)
    it(`Fixed (finding 3): one node's ${code} "${message}" beside two that serve, looped, leaves its breaker closed`, async () => {
      const r = noNamespace(/^(debug|trace)_/, code, message)
      const rpc = fleet([
        labNode(lab, 'aws', 'aws'),
        labNode(lab, 'gcp', 'gcp'),
        labNode(lab, 'liar', 'odd', r),
      ])
      try {
        const out = await loop(rpc, 6, () =>
          rpc.request({ method: 'debug_traceTransaction', params: [pingTx] }),
        )
        assert.ok(untouched(rpc), `${out.join(', ')}; ${standing(rpc).join(', ')}`)
      } finally {
        await rpc.close()
      }
    }, 30_000)
  }
})

/** An honest node one block behind for good: a read above its head is "header not found". */
const lagging: Rewrite = async (m, p, answer) => {
  const head = Number(await lab.anvil.rpc<string>('eth_blockNumber', []))
  if (m === 'eth_blockNumber') return hx(head - 1)
  if (m === 'eth_getBlockByNumber' && p[0] === 'latest')
    return lab.anvil.rpc('eth_getBlockByNumber', [hx(head - 1), p[1]])
  const at = STATE[m]
  if (at !== undefined && (p[at] === 'latest' || Number(p[at]) >= head))
    throw new RpcResponseError('home', { code: -32000, message: 'header not found' })
  return answer()
}

describe('Held: a lagging honest node, reads pinned by number', () => {
  it('Held: its "header not found" at latest with pinByHash false is excused (not yet)', async () => {
    const rpc = fleet(
      [
        labNode(lab, 'aws', 'aws'),
        labNode(lab, 'gcp', 'gcp'),
        labNode(lab, 'liar', 'lagging', lagging),
      ],
      2,
      { pinByHash: false },
    )
    try {
      const out = await loop(rpc, 8, () =>
        rpc.request({ method: 'eth_getBalance', params: [RICH, 'latest'] }),
      )
      const home = rpc.status().sources.find((s) => ['full', 'odd', 'lagging'].includes(s.name))!
      assert.ok(
        out.every((o) => o === 'ok') && home.breaker === 'closed',
        `${out.join(', ')}; ${standing(rpc).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

/** A stricter client (geth): a storage slot longer than 32 bytes is its -32602. */
const strictSlots: Rewrite = async (m, p, answer) => {
  if (m === 'eth_getStorageAt' && typeof p[1] === 'string' && p[1].length > 66)
    throw new RpcResponseError('home', {
      code: -32602,
      message: 'invalid argument 1: hex string too long, want at most 32 bytes',
    })
  return answer()
}

describe("Held: one honest node's deterministic error beside two that answer", () => {
  it("Held: a strict node's -32602 to a 33-byte slot beside two answers: answered, its breaker closed", async () => {
    const rpc = fleet([
      labNode(lab, 'aws', 'aws'),
      labNode(lab, 'gcp', 'gcp'),
      labNode(lab, 'liar', 'odd', strictSlots),
    ])
    try {
      const out = await loop(rpc, 6, () =>
        rpc.request({
          method: 'eth_getStorageAt',
          params: [RICH, `0x${'00'.repeat(33)}`, 'latest'],
        }),
      )
      const home = rpc.status().sources.find((s) => ['full', 'odd', 'lagging'].includes(s.name))!
      assert.ok(home.breaker === 'closed', `${out.join(', ')}; ${standing(rpc).join(', ')}`)
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe('Held: odd slots and keys, three anvils', () => {
  const tries: [string, unknown[]][] = [
    ['eth_getStorageAt', [RICH, '0x', 'latest']],
    ['eth_getStorageAt', [RICH, `0x${'00'.repeat(33)}`, 'latest']],
    ['eth_getStorageAt', [RICH, 0, 'latest']],
    ['eth_getProof', [RICH, ['0x1'], 'latest']],
    ['eth_getProof', [RICH, '0x0', 'latest']],
    ['eth_getProof', [RICH, [`0x${'00'.repeat(33)}`], 'latest']],
    ['eth_chainId', ['0x1']],
  ]
  for (const [m, p] of tries)
    it(`Held: ${m} ${JSON.stringify(p)}: answered or the caller's -32602, nothing charged`, async () => {
      const rpc = fleet([
        labNode(lab, 'aws', 'aws'),
        labNode(lab, 'gcp', 'gcp'),
        labNode(lab, 'home', 'home'),
      ])
      try {
        const out = await loop(rpc, 4, () => rpc.request({ method: m, params: p }))
        assert.ok(untouched(rpc), `${out.join(', ')}; ${standing(rpc).join(', ')}`)
      } finally {
        await rpc.close()
      }
    }, 30_000)
})

describe('Held: JSON-RPC batches (batch: true)', () => {
  it('Held: a batch with a balance, a refused transfer, an odd proof key, a trace, a block: each its own, nothing charged', async () => {
    const b = { batch: true }
    const rpc = fleet([
      labNode(lab, 'aws', 'aws', undefined, b),
      labNode(lab, 'gcp', 'gcp', undefined, b),
      labNode(lab, 'home', 'home', undefined, b),
    ])
    try {
      await rpc.connect()
      const out: string[] = []
      for (let i = 0; i < 4; i++) {
        const rs = await Promise.all([
          settle(rpc.request({ method: 'eth_getBalance', params: [RICH, 'latest'] })),
          settle(
            rpc.request({
              method: 'eth_call',
              params: [{ from: POOR, to: RICH, value: '0xde0b6b3a7640000' }, 'latest'],
            }),
          ),
          settle(rpc.request({ method: 'eth_getProof', params: [RICH, ['0x1'], 'latest'] })),
          settle(rpc.request({ method: 'debug_traceTransaction', params: [pingTx] })),
          settle(rpc.request({ method: 'eth_getBlockByNumber', params: ['latest', false] })),
        ])
        out.push(rs.map((r) => (r.error ? `${r.error.code}` : 'ok')).join('/'))
      }
      assert.ok(untouched(rpc), `${out.join(', ')}; ${standing(rpc).join(', ')}`)
    } finally {
      await rpc.close()
    }
  }, 30_000)
})
