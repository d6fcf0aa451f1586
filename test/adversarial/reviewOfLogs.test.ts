/**
 * Review of logs and live data: `eth_getLogs` (quorum, and proven under `proofs()`:
 * proofs/logs.ts, verify/receipts.ts), log and head subscriptions, filters and the chain follower
 * that feeds them (follow/). Attacks by one source answering first (its own domain), with
 * well-formed, correctly hashed, wrong answers, and filters callers may send.
 *
 * Found (each first an `it.fails` stating the correct behaviour):
 * 1. Under proofs, a topic position given as a list that holds `null` (geth and anvil: any
 *    topic there) was read as a list of alternatives with `null` among them: a log whose topic
 *    the list's first entry did not name threw a TypeError in the check, and a wildcard position
 *    past a log's topics was "no match" (clients differ there: either answer stands). Every
 *    honest node's answer "added" logs, so every source was called a liar and cut off: one
 *    `eth_getLogs` left the client with no source at all.
 * 2. `eth_newFilter` (and `eth_subscribe('logs')`) ignored the filter's `fromBlock` and
 *    `toBlock`: a filter whose `toBlock` had passed got every later log, one whose `fromBlock`
 *    was ahead got logs before it, and `fromBlock > toBlock` was taken and fed. Nodes apply the
 *    range to the logs they deliver (geth refuses an inverted range).
 * 3. `eth_unsubscribe` of a filter's id removed the filter (true); nodes keep filters and
 *    subscriptions apart (false), as `eth_uninstallFilter` of a subscription's id does here.
 * 4. Filters that time out (not polled for `filterTimeout`) were removed, but the chain
 *    follower kept polling the head with no consumer left, until `close()`.
 * 5. Under proofs, a filter no node reads (a topic of 31 bytes, an address of 19, five topic
 *    positions) was proven anyway: a liar answering first with `[]` had it returned as
 *    `proven` (no bloom and no receipt holds such a value, so nothing was "dropped"), where the
 *    nodes refuse it (-32602), the caller's own error.
 * 6. A log subscriber (or filter) added while the stream fetched the logs of blocks mined before
 *    it (a backfill after an outage: hundreds of blocks) was given them all, each asked again
 *    for it alone: a bot subscribing after an outage took old events for new ones. A node's
 *    subscription starts after its head; newHeads subscribers added then got none already.
 * 7. A WebSocket pusher pushing headers that do not hash to their hash (free to make: a real
 *    header, a made-up hash) had each one hashed twice and called a lie twice (head.ts `#adopt`
 *    remembers a header it could not take again), cut off or not: 4,000 `lie` events for 2,000
 *    pushes, a CPU core kept busy at 20,000 pushes a second. A source cut off as a liar
 *    (`lyingUntil`) now has its pushes ignored, as a forked one's (streams.ts `confirmHead`).
 * 8. Fixed: the logs the stream keeps per consumer to send again with `removed: true` (128
 *    blocks' worth) were bounded in blocks only. A domain standing alone (the others out: its
 *    logs are delivered, degraded) may answer each block's `eth_getLogs` with up to
 *    `maxResponseBytes` (16 MiB): up to 2 GiB kept. Now also at most 16 MiB of them per
 *    consumer (follow/sentLogs.ts), the oldest let go first; a reorg taking a block whose logs
 *    were let go is reported (`streamError`), not passed over as a block without logs.
 * 9. Fixed: a log subscription or filter whose address or topics no node reads (matcherOf
 *    gives none: "left to the node") was taken; its `eth_getLogs` then failed at every block and
 *    was asked again at each poll (up to 256 owed blocks) for as long as it lived, a
 *    `streamError` each time, where a node refuses it when made (-32602). Such a filter is now
 *    asked of the nodes once when made (subscriptions.ts `readByNodes`): refused with their
 *    -32602, else taken and left to them, as src/core/follow/subscriptions.test.ts holds.
 * 10. Not fixed: a rollback to a block the stream already delivered (a reorg to a shorter chain
 *    whose head is an ancestor, before any new block) changes nothing (chainFollower.ts `link`:
 *    a known hash is no news), so the rolled-back blocks' logs stay unremoved until the chain
 *    grows again: a block time on a live chain, for good on an idle one. A fix must roll back
 *    only for the polled agreed head, not for a pushed hint that a poll has since passed (a
 *    stale hint is a known block below the tip too). Left open on purpose (next stop's read):
 *    the agreed head also steps back when the domains that backed it answer from a backend a
 *    block behind (providers behind load balancers do), and a stream that rolled back on that
 *    would send real logs as `removed`, then again, which the README promises never happens; a
 *    pure rollback to an ancestor is a dev chain's (anvil_rollback, evm_revert), and the next
 *    block, on another hash at that height, marks them `removed` anyway.
 * 11. Fixed: ONE liar could drop a real log. While one domain's head holds the stream (on a
 *    quiet chain a liar forging fresh blocks sets the honest domains aside as stale:
 *    quietFork.test.ts), a new subscription's first look at the head finds none
 *    (streams.ts `heldBack` answers null), yet `started` settles and its id comes back. The
 *    stream then starts at the first head that is not held: the block of the caller's own
 *    transaction, sent the moment after, is its start and its log is never delivered (the next
 *    one is). While held, the stream should stand at the head tracker's confirmed head: a fix
 *    that does (subscriptions.ts `followerOptions` answers a held `latest` with the confirmed
 *    head's header, from a `confirmedHead` option streams.ts fills) passes this test,
 *    quietFork.test.ts and subscriptions.test.ts, and costs 22 B: applied, the on-demand
 *    budget raised to 56 kB.
 * 1 to 7 and 11 are fixed (verify/receipts.ts `topicOptions`; follow/subscriptions.ts; proofs/logs.ts
 * `readable`; follow/streams.ts), marked "Fixed:".
 *
 * Held ("holds"): a fastest liar relabelling (log index, transaction hash and index, block
 * hash, data), dropping, duplicating or adding logs in its `eth_getLogs` answers gets none of
 * it to a log subscriber, under quorum or proofs (and is called a liar under proofs), nor its
 * spelling of hashes in upper case (it agrees, and its answer may be the one kept); a pusher
 * pushing the real head's hash over a header whose `logsBloom` is zeroed does not make the
 * stream skip the block's logs (the header kept by hash is used, not the pushed one), nor
 * reach newHeads.
 */
import assert from 'node:assert/strict'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { toHex } from 'viem'
import { afterAll, beforeAll, describe, it } from 'vitest'
import type { RpcLog } from '../../src/core/follow/logs.ts'
import { createSubscriptions } from '../../src/core/follow/subscriptions.ts'
import { createOutlast, http, type Source } from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { CHAIN_ID, sleep, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, startAnvil, startLab } from '../lab/index.ts'
import { deployAnswer, minePing, PING, PING_INIT } from '../workload.ts'
import { forger, type Header } from './forger.ts'
import { hostile, labSources } from './hostile.ts'

type Log = RpcLog

const OTHER = `0x${'11'.repeat(32)}`

let lab: Lab
let emitter: `0x${string}`
beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [...threeDomains, { name: 'liar', domain: 'liar-host', latency: 0 }],
  })
  emitter = await deployAnswer(lab.anvil, PING_INIT)
  for (let i = 1; i <= 3; i++) await ping(i)
}, 60_000)
afterAll(() => lab.stop())

/** One ping mined into its own block; the ping's block. */
const ping = (n: number) => minePing(lab.anvil, emitter, n)

async function until(what: string, fn: () => boolean, ms = 10_000) {
  const end = Date.now() + ms
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** The fastest source, in its own domain: its answers passed through `rewrite`. */
const liar = (
  rewrite: (method: string, params: readonly unknown[], answer: () => Promise<unknown>) => unknown,
): Source =>
  hostile(http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' }), async (m, p, a) =>
    rewrite(m, p, a),
  )

const honest = () => labSources(lab, ['aws', 'gcp', 'home'])

/** The fields a log is told apart by. */
const show = (l: Log) =>
  `${Number(l.blockNumber)}:${l.blockHash}:${Number(l.logIndex)}:${l.transactionHash}:${Number(l.transactionIndex)}:${Number(l.data)}${l.removed ? ':removed' : ''}`

describe('eth_getLogs under proofs(): a topic position given as a list holding null', () => {
  it('Fixed: honest sources are not called liars, the answer is the node’s (before: every source was cut off)', async () => {
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: honest(), prover: proofs() })
    const lies: string[] = []
    rpc.on('lie', (e) => lies.push(`${e.source}: ${e.reason}`))
    try {
      const to = await lab.anvil.rpc<string>('eth_blockNumber')
      for (const f of [
        // A wildcard position past the logs' one topic: geth no match, anvil a match.
        { address: emitter, topics: [PING, [PING, null]] },
        // `null` in the list: any topic at position 0.
        { topics: [[OTHER, null]] },
        { address: emitter, topics: [[null, OTHER]] },
      ]) {
        const filter = { ...f, fromBlock: '0x1', toBlock: to }
        const truth = await lab.anvil.rpc<Log[]>('eth_getLogs', [filter])
        assert.ok(truth.length >= 3, 'the node matches the pings')
        const { result } = await rpc.requestWithMeta({ method: 'eth_getLogs', params: [filter] })
        assert.deepEqual((result as Log[]).map(show), truth.map(show), JSON.stringify(f))
      }
      assert.deepEqual(lies, [], 'no honest source is a liar')
      for (const s of rpc.status().sources) assert.notEqual(s.condition, 'lying', s.name)
    } finally {
      await rpc.close()
    }
  })

  it('Fixed: a liar answering first that drops the logs such a filter requires is caught (before: TypeError, the proof never ran)', async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [liar(async (m, _p, a) => (m === 'eth_getLogs' ? [] : a())), ...honest()],
      prover: proofs(),
    })
    const lies: string[] = []
    rpc.on('lie', (e) => lies.push(e.source))
    try {
      const to = await lab.anvil.rpc<string>('eth_blockNumber')
      const filter = { topics: [[OTHER, null]], fromBlock: '0x1', toBlock: to }
      const truth = await lab.anvil.rpc<Log[]>('eth_getLogs', [filter])
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getLogs',
        params: [filter],
      })
      assert.deepEqual((result as Log[]).map(show), truth.map(show))
      assert.equal(meta.consistency, 'proven')
      assert.deepEqual([...new Set(lies)], ['liar'])
    } finally {
      await rpc.close()
    }
  })
})

describe('eth_getLogs under proofs(): a filter no node reads', () => {
  it('Fixed: is the caller’s error, as the nodes say, not a proven answer of the liar’s (before: its [] came back proven)', async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [liar(async (m, _p, a) => (m === 'eth_getLogs' ? [] : a())), ...honest()],
      prover: proofs(),
    })
    try {
      const to = await lab.anvil.rpc<string>('eth_blockNumber')
      for (const filter of [
        { topics: [`0x${'22'.repeat(31)}`], fromBlock: '0x1', toBlock: to },
        { address: `0x${'22'.repeat(19)}`, fromBlock: '0x1', toBlock: to },
        {
          address: emitter,
          topics: [PING, null, null, null, OTHER],
          fromBlock: '0x1',
          toBlock: to,
        },
      ]) {
        const refused = await lab.anvil.rpc('eth_getLogs', [filter]).then(
          () => false,
          () => true,
        )
        assert.ok(refused, `the node refuses ${JSON.stringify(filter)}`)
        const read = await rpc
          .requestWithMeta({ method: 'eth_getLogs', params: [filter] })
          .catch((error: { code?: number }) => error)
        assert.equal(
          (read as { code?: number }).code,
          -32602,
          `${JSON.stringify(filter)}: ${'meta' in read ? `${JSON.stringify(read.result)} ${read.meta.consistency}` : String(read)}`,
        )
      }
    } finally {
      await rpc.close()
    }
  })
})

describe('filters and log subscriptions with a block range', () => {
  const client = () => createOutlast({ chainId: CHAIN_ID, pollingInterval: 100, sources: honest() })

  it('Fixed: a filter gets no log past its toBlock nor before its fromBlock (before: every later log)', async () => {
    const rpc = client()
    try {
      const head = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
      const ended = (await rpc.request({
        method: 'eth_newFilter',
        params: [{ address: emitter, fromBlock: '0x1', toBlock: toHex(head) }],
      })) as string
      const later = (await rpc.request({
        method: 'eth_newFilter',
        params: [{ address: emitter, fromBlock: toHex(head + 2) }],
      })) as string
      const subscribed: Log[] = []
      await rpc.subscribe(['logs', { address: emitter, toBlock: toHex(head) }], (l) =>
        subscribed.push(l as Log),
      )
      const all: Log[] = []
      await rpc.subscribe(['logs', { address: emitter }], (l) => all.push(l as Log))
      await ping(101)
      const second = await ping(102)
      await until('both pings', () => all.length >= 2)
      await sleep(200)
      const changes = async (id: string) =>
        (await rpc.request({ method: 'eth_getFilterChanges', params: [id] })) as Log[]
      assert.deepEqual((await changes(ended)).map(show), [], 'toBlock passed')
      assert.deepEqual(subscribed.map(show), [], 'subscribed up to toBlock')
      assert.deepEqual(
        (await changes(later)).map((l) => Number(l.blockNumber)),
        [second],
        'from fromBlock on',
      )
    } finally {
      await rpc.close()
    }
  })

  it('Fixed: a filter with fromBlock above toBlock gets nothing (before: every later log)', async () => {
    const rpc = client()
    try {
      const head = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
      const made = await rpc
        .request({
          method: 'eth_newFilter',
          params: [{ address: emitter, fromBlock: toHex(head + 5), toBlock: toHex(head + 1) }],
        })
        .catch(() => undefined)
      const all: Log[] = []
      await rpc.subscribe(['logs', { address: emitter }], (l) => all.push(l as Log))
      for (let i = 0; i < 6; i++) await ping(200 + i)
      await until('the pings', () => all.length >= 6)
      await sleep(200)
      if (made !== undefined)
        assert.deepEqual(
          await rpc.request({ method: 'eth_getFilterChanges', params: [made] }),
          [],
          'an empty range',
        )
    } finally {
      await rpc.close()
    }
  })
})

describe('a log subscription or filter no node reads', () => {
  it('Fixed: is refused when made, as nodes refuse it (before: taken, then asked of the nodes at every block, each poll, for good)', async () => {
    const rpc = createOutlast({ chainId: CHAIN_ID, pollingInterval: 100, sources: honest() })
    const errors: string[] = []
    rpc.on('streamError', (e) => errors.push(e.message))
    try {
      const junk = { address: `0x${'22'.repeat(19)}` }
      const refused = await lab.anvil.rpc('eth_newFilter', [junk]).then(
        () => false,
        () => true,
      )
      assert.ok(refused, 'the node refuses the filter')
      const made = await rpc.request({ method: 'eth_subscribe', params: ['logs', junk] }).then(
        () => 'taken',
        (error: { code?: number }) => error.code,
      )
      await ping(600)
      await sleep(500)
      assert.equal(made, -32602, `${errors.length} stream errors since`)
    } finally {
      await rpc.close()
    }
  })
})

describe('a rollback to a block already delivered (a reorg to a shorter chain, no new block yet)', () => {
  it.fails('the logs of the blocks rolled back come again with removed: true (now: only once a new block is mined)', async () => {
    const rpc = createOutlast({ chainId: CHAIN_ID, pollingInterval: 100, sources: honest() })
    const logs: Log[] = []
    try {
      await rpc.subscribe(['logs', { address: emitter }], (l) => logs.push(l as Log))
      await ping(700)
      await until('the log', () => logs.length === 1)
      // The ping's block and the empty one after it: the head is the block before the ping's.
      await lab.anvil.rpc('anvil_rollback', [2])
      await sleep(1_500)
      const removed = logs.filter((l) => l.removed).length
      await lab.anvil.rpc('evm_mine')
      await until('removed once a block is mined', () => logs.some((l) => l.removed))
      assert.equal(removed, 1, 'removed before the next block')
    } finally {
      await rpc.close()
    }
  })
})

describe('a log subscriber added while the stream fetches the logs of blocks mined before it', () => {
  it('Fixed: gets none of those blocks’ logs, as a node’s subscription would not (before: all of them)', async () => {
    // Each source answers eth_getLogs 800 ms late: a window to subscribe in.
    const slow = honest().map((s) =>
      hostile(s, async (m, _p, a) => {
        if (m === 'eth_getLogs') await sleep(800)
        return a()
      }),
    )
    const rpc = createOutlast({ chainId: CHAIN_ID, pollingInterval: 100, sources: slow })
    const first: Log[] = []
    const late: Log[] = []
    try {
      await rpc.subscribe(['logs', { address: emitter }], (l) => first.push(l as Log))
      const block = await ping(800)
      await sleep(400) // the stream has the block, its logs are on their way
      await rpc.subscribe(['logs', { address: emitter }], (l) => late.push(l as Log))
      await until('the first subscriber’s log', () => first.length === 1)
      await sleep(1_000)
      assert.deepEqual(
        late.map((l) => Number(l.blockNumber)).filter((n) => n <= block),
        [],
        'a block mined before it subscribed',
      )
    } finally {
      await rpc.close()
    }
  })
})

describe('a log subscriber that subscribes while one liar holds the stream (quietFork.test.ts’s forger)', () => {
  it('Fixed: gets the log of the block mined right after its id came back', async () => {
    // A quiet chain: its last block five minutes old. The liar forges fresh blocks on it, so the
    // honest domains look stale and the stream holds (heldBack.ts) at the subscriber's start.
    const seconds = () => Math.floor(Date.now() / 1_000)
    const quiet = await startAnvil({
      noMining: true,
      args: ['--timestamp', String(seconds() - 4_000)],
    })
    const liar = forger(quiet)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 300,
      sources: [
        http(quiet.url, { name: 'aws', domain: 'aws', timeout: 1_000 }),
        http(quiet.url, { name: 'gcp', domain: 'gcp', timeout: 1_000 }),
        liar.source,
      ],
    })
    const logs: Log[] = []
    const errors: string[] = []
    rpc.on('streamError', (e) => errors.push(e.message))
    try {
      const deployed = await quiet.rpc<string>('eth_sendTransaction', [
        { from: devAccounts[0].address, data: PING_INIT, gas: '0x30000' },
      ])
      await quiet.rpc('evm_setNextBlockTimestamp', [toHex(seconds() - 300)])
      await quiet.rpc('evm_mine')
      const { contractAddress: quietEmitter } = await quiet.rpc<{ contractAddress: string }>(
        'eth_getTransactionReceipt',
        [deployed],
      )
      await rpc.connect()
      liar.start()
      await sleep(2_000)
      await rpc.subscribe(['logs', { address: quietEmitter }], (l) => logs.push(l as Log))
      // The caller's own transaction, the moment after: a fresh block both honest domains have.
      await quiet.rpc('eth_sendTransaction', [
        { from: devAccounts[1].address, to: quietEmitter, data: toHex(900, { size: 32 }) },
      ])
      await quiet.rpc('evm_setNextBlockTimestamp', [toHex(seconds())])
      await quiet.rpc('evm_mine')
      await sleep(3_000)
      assert.ok(
        errors.some((e) => /held until a second domain backs it/.test(e)),
        'the stream was held',
      )
      assert.deepEqual(
        logs.map((l) => Number(l.data)),
        [900],
        'the log of the block mined after the subscription',
      )
    } finally {
      await rpc.close()
      await quiet.stop()
    }
  })
})

describe('filter ids and subscription ids', () => {
  it('Fixed: eth_unsubscribe of a filter id removes nothing (before: the filter was gone)', async () => {
    const rpc = createOutlast({ chainId: CHAIN_ID, pollingInterval: 100, sources: honest() })
    try {
      const id = (await rpc.request({ method: 'eth_newBlockFilter', params: [] })) as string
      assert.equal(await rpc.request({ method: 'eth_unsubscribe', params: [id] }), false)
      const tip = await ping(300)
      await sleep(400)
      const hashes = (await rpc.request({
        method: 'eth_getFilterChanges',
        params: [id],
      })) as string[]
      const block = await lab.anvil.rpc<Header>('eth_getBlockByNumber', [toHex(tip), false])
      assert.ok(hashes.includes(block.hash), 'the filter is still installed')
      assert.equal(await rpc.request({ method: 'eth_uninstallFilter', params: [id] }), true)
    } finally {
      await rpc.close()
    }
  })

  it('Fixed: once its filters time out, the stream stops asking for heads (before: it polled until close())', async () => {
    // A chain that grows by one block at each poll.
    let polls = 0
    const hashOf = (n: number) => `0x${n.toString(16).padStart(64, '0')}`
    const subs = createSubscriptions({
      request: async (method, params) => {
        if (method !== 'eth_getBlockByNumber') throw new Error(`unexpected ${method}`)
        const n = params[0] === 'latest' ? ++polls : Number(params[0])
        return { number: toHex(n), hash: hashOf(n + 1), parentHash: hashOf(n) }
      },
      pollingInterval: 10,
      pushers: () => [],
      confirmHead: async () => undefined,
      notify: () => {},
      onError: () => {},
      filterTimeout: 50,
    })
    try {
      await subs.handle('eth_newBlockFilter', [])
      await sleep(200)
      assert.equal(subs.active, 0, 'the filter timed out')
      const before = polls
      await sleep(200)
      assert.equal(polls - before, 0, 'no consumer, no polling')
    } finally {
      await subs.close()
    }
  })
})

describe('a fastest liar rewriting its eth_getLogs answers', () => {
  /** Rewrites taken in turn, one per eth_getLogs answer with logs. */
  const rewrites: ((logs: Log[]) => Log[])[] = [
    (logs) => logs.map((l) => ({ ...l, logIndex: toHex(Number(l.logIndex) + 1) })),
    (logs) =>
      logs.map((l) => ({ ...l, transactionHash: `0x${'ee'.repeat(32)}`, transactionIndex: '0x5' })),
    (logs) => logs.map((l) => ({ ...l, blockHash: `0x${'ab'.repeat(32)}` })),
    // Agrees with the others (hex compares whatever its letters), spelled in upper case.
    (logs) =>
      logs.map((l) => ({
        ...l,
        blockHash: `0x${l.blockHash.slice(2).toUpperCase()}`,
        transactionHash: `0x${l.transactionHash.slice(2).toUpperCase()}`,
      })),
    (logs) => logs.map((l) => ({ ...l, data: toHex(999, { size: 32 }) })),
    (logs) => [...logs, ...logs],
    () => [],
    (logs) => [...logs, { ...logs[0]!, logIndex: '0x7', topics: [PING] }],
  ]
  for (const proven of [false, true]) {
    it(`holds${proven ? ' (proofs)' : ' (quorum)'}: a log subscriber gets each real log once, as the node has it`, async () => {
      let turn = 0
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        pollingInterval: 100,
        sources: [
          liar(async (m, _p, a) => {
            const answer = await a()
            if (m !== 'eth_getLogs' || !Array.isArray(answer) || answer.length === 0) return answer
            return rewrites[turn++ % rewrites.length]!(answer as Log[])
          }),
          ...honest(),
        ],
        ...(proven ? { prover: proofs() } : {}),
        // A liar caught is asked again at once: each of its rewrites gets its turn.
        lieCooloff: 0,
      })
      const lies = new Set<string>()
      rpc.on('lie', (e) => lies.add(e.source))
      const logs: Log[] = []
      try {
        await rpc.subscribe(['logs', { address: emitter, topics: [PING] }], (l) =>
          logs.push(l as Log),
        )
        // One block at a time: each block's logs are one eth_getLogs by its hash.
        const blocks: number[] = []
        for (let i = 0; i < rewrites.length; i++) {
          blocks.push(await ping(400 + i))
          await until(`ping ${i}`, () => logs.length > i)
        }
        await sleep(300)
        const truth = await lab.anvil.rpc<Log[]>('eth_getLogs', [
          { address: emitter, fromBlock: toHex(blocks[0]!), toBlock: toHex(blocks.at(-1)!) },
        ])
        assert.deepEqual(logs.map(show), truth.map(show))
        assert.ok(turn >= rewrites.length / 2, `the liar was asked (${turn} times)`)
        if (proven) assert.deepEqual([...lies], ['liar'])
      } finally {
        await rpc.close()
      }
    })
  }
})

describe('a pusher pushing, as fast as its socket goes, headers that do not hash to their hash', () => {
  it('Fixed: is cut off as a liar once, its pushes not hashed again meanwhile (before: two hashings and two lie events per push)', async () => {
    const inner = http(lab.proxy('liar').url, { name: 'pusher', domain: 'liar-host' })
    const PUSHES = 2_000
    const pusher: Source = {
      config: { ...inner.config },
      request: (body, options) => inner.request(body, options),
      async subscribe(_params, onMessage) {
        // Free for the pusher: the real head with a made-up hash, a new one each time.
        const real = await lab.anvil.rpc<Header>('eth_getBlockByNumber', ['latest', false])
        setTimeout(() => {
          for (let i = 1; i <= PUSHES; i++)
            onMessage({ ...real, hash: `0x${i.toString(16).padStart(64, 'e')}` })
        }, 300)
        return { async unsubscribe() {} }
      },
    }
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 100,
      sources: [pusher, ...honest()],
    })
    let lies = 0
    rpc.on('lie', () => {
      lies++
    })
    try {
      await rpc.subscribe(['newHeads'], () => {})
      await sleep(1_500)
      assert.ok(lies > 0, 'the pusher was caught')
      assert.ok(lies <= 10, `${lies} lie events for ${PUSHES} pushes`)
    } finally {
      await rpc.close()
    }
  })
})

describe('a pusher pushing the real head’s hash over a header whose logsBloom is zeroed', () => {
  it('holds: the block’s logs still reach log subscribers, newHeads get the real header', async () => {
    const inner = http(lab.proxy('liar').url, { name: 'pusher', domain: 'liar-host' })
    const pusher: Source = {
      config: { ...inner.config },
      request: (body, options) => inner.request(body, options),
      async subscribe(_params, onMessage) {
        const timer = setInterval(async () => {
          const real = await lab.anvil.rpc<Header>('eth_getBlockByNumber', ['latest', false])
          onMessage({ ...real, logsBloom: `0x${'00'.repeat(256)}`, timestamp: '0x1' })
        }, 20)
        return {
          async unsubscribe() {
            clearInterval(timer)
          },
        }
      },
    }
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 100,
      sources: [pusher, ...honest()],
    })
    const logs: Log[] = []
    const heads: Header[] = []
    try {
      await rpc.subscribe(['newHeads'], (h) => heads.push(h as Header))
      await rpc.subscribe(['logs', { address: emitter }], (l) => logs.push(l as Log))
      const blocks: number[] = []
      for (let i = 0; i < 4; i++) {
        blocks.push(await ping(500 + i))
        await sleep(150)
      }
      await until('every ping', () => logs.length >= 4)
      await sleep(200)
      assert.deepEqual(
        logs.map((l) => Number(l.blockNumber)),
        blocks,
      )
      for (const h of heads) {
        const real = await lab.anvil.rpc<Header>('eth_getBlockByHash', [h.hash, false])
        assert.equal(h.logsBloom, real.logsBloom, `newHeads ${Number(h.number)}`)
        assert.equal(h.timestamp, real.timestamp)
      }
    } finally {
      await rpc.close()
    }
  })
})

describe('a lone domain answering each block’s logs with megabytes (degraded: the others are out)', () => {
  it('Fixed: what the stream keeps to mark logs removed later is bounded in bytes, not only in blocks (before: 128 blocks of whatever came)', async () => {
    // A chain of blocks whose blooms admit every filter; each block's one log carries 512 KiB
    // of data, made at each request, so nothing but outlast can hold on to it.
    let height = 0
    const hashOf = (n: number) => `0x${n.toString(16).padStart(64, '0')}`
    const header = (n: number) => ({
      number: toHex(n),
      hash: hashOf(n + 1),
      parentHash: hashOf(n),
      logsBloom: `0x${'f'.repeat(512)}`,
    })
    const logOf = (n: number) => ({
      address: `0x${'aa'.repeat(20)}`,
      topics: [PING],
      data: `0x${Buffer.alloc(256 * 1024, n).toString('hex')}`,
      blockNumber: toHex(n),
      blockHash: hashOf(n + 1),
      transactionHash: hashOf(n + 1_000_000),
      transactionIndex: '0x0',
      logIndex: '0x0',
      removed: false,
    })
    let delivered = 0
    const subs = createSubscriptions({
      request: async (method, params) => {
        if (method === 'eth_getBlockByNumber')
          return header(params[0] === 'latest' ? height : Number(params[0]))
        if (method === 'eth_getBlockByHash') return header(Number(params[0]) - 1)
        const f = params[0] as { blockHash?: string; fromBlock?: string; toBlock?: string }
        if (f.blockHash) return [logOf(Number(f.blockHash) - 1)]
        const from = Number(f.fromBlock)
        return Array.from({ length: Number(f.toBlock) - from + 1 }, (_, i) => logOf(from + i))
      },
      pollingInterval: 5,
      pushers: () => [],
      confirmHead: async () => undefined,
      notify: () => {
        delivered++
      },
      onError: () => {},
    })
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    try {
      await subs.handle('eth_subscribe', ['logs', {}])
      gc()
      const before = process.memoryUsage().heapUsed
      for (let i = 0; i < 150; i++) {
        height++
        await until(`block ${height}`, () => delivered >= i + 1)
      }
      gc()
      const kept = process.memoryUsage().heapUsed - before
      // 16 MiB of logs kept, and what else lives meanwhile; 64 MiB before (128 blocks).
      assert.ok(kept < 28 * 2 ** 20, `${Math.round(kept / 2 ** 20)} MiB kept after 150 blocks`)
    } finally {
      await subs.close()
    }
  })
})
