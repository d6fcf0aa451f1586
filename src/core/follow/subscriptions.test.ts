/**
 * createSubscriptions over an in-memory node: log subscribers share one eth_getLogs per block,
 * a filter only a node can read asks on its own, a failed request costs only those it was for,
 * and each subscriber gets objects of its own.
 */
import assert from 'node:assert/strict'
import { keccak256, toHex } from 'viem'
import { describe, test } from 'vitest'
import { ProviderRpcError } from '../../shared/errors.ts'
import { matcherOf, matches, type RpcLog } from './logs.ts'
import { createSubscriptions } from './subscriptions.ts'

const A = `0x${'aa'.repeat(20)}`
const B = `0x${'bb'.repeat(20)}`
const PING = keccak256(toHex('Ping(uint256)'))
const PONG = keccak256(toHex('Pong(uint256)'))
const FULL_BLOOM = `0x${'f'.repeat(512)}`
const EMPTY_BLOOM = `0x${'0'.repeat(512)}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function until(what: string, fn: () => boolean) {
  const end = Date.now() + 5_000
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

type Header = { number: string; hash: string; parentHash: string; logsBloom: string }

/** A node: a chain of headers with logs, answering the few methods the stream uses. */
function node() {
  const chain: { header: Header; logs: RpcLog[] }[] = []
  const getLogs: Record<string, unknown>[] = []
  let failNext = 0
  /** Reorgs so far: the blocks mined after one are new blocks. */
  let forks = 0
  const mine = (...emitted: [address: string, topic: string, data?: string][]) => {
    const n = chain.length
    const hash = keccak256(toHex(`block ${n} of fork ${forks}`))
    const parentHash = chain.at(-1)?.header.hash ?? `0x${'0'.repeat(64)}`
    const logs = emitted.map(([address, topic, data], i) => ({
      address,
      topics: [topic],
      data: data ?? toHex(n * 10 + i, { size: 32 }),
      blockNumber: toHex(n),
      blockHash: hash,
      transactionHash: keccak256(toHex(`tx ${n} ${i}`)),
      transactionIndex: toHex(i),
      logIndex: toHex(i),
      removed: false,
    }))
    const logsBloom = logs.length ? FULL_BLOOM : EMPTY_BLOOM
    chain.push({ header: { number: toHex(n), hash, parentHash, logsBloom }, logs })
  }
  mine()
  const request = async (method: string, params: unknown[]): Promise<unknown> => {
    if (method === 'eth_getBlockByNumber') {
      const n = params[0] === 'latest' ? chain.length - 1 : Number(params[0])
      return chain[n]?.header ?? null
    }
    if (method === 'eth_getBlockByHash')
      return chain.find((b) => b.header.hash === params[0])?.header ?? null
    if (method === 'eth_getLogs') {
      const filter = params[0] as Record<string, unknown>
      getLogs.push(filter)
      if (failNext > 0) {
        failNext--
        throw new Error('getLogs failed')
      }
      if (typeof filter.address === 'string' && filter.address.length !== 42)
        throw new ProviderRpcError(-32602, 'invalid argument 0: hex string has length 38')
      const m = matcherOf(filter)
      if (!m) throw new Error('invalid filter: too many topics')
      const blocks = filter.blockHash
        ? chain.filter((b) => b.header.hash === filter.blockHash)
        : chain.slice(Number(filter.fromBlock), Number(filter.toBlock) + 1)
      return structuredClone(blocks.flatMap((b) => b.logs).filter((l) => matches(l, m)))
    }
    throw new Error(`unexpected ${method}`)
  }
  return {
    chain,
    getLogs,
    mine,
    request,
    failOnce: () => {
      failNext = 1
    },
    /** The next `k` eth_getLogs fail. */
    fail: (k: number) => {
      failNext = k
    },
    /** Drops the newest `depth` blocks: the next mined is on another fork. */
    reorg: (depth: number) => {
      chain.splice(-depth)
      forks++
    },
  }
}

function streams(
  n: ReturnType<typeof node>,
  heldBack?: (header: { number: string; hash: string }) => string | undefined,
  confirmed?: () => boolean,
  filterTimeout?: number,
) {
  const messages = new Map<string, unknown[]>()
  const errors: string[] = []
  const subs = createSubscriptions({
    ...(heldBack ? { heldBack } : {}),
    ...(confirmed ? { confirmed } : {}),
    ...(filterTimeout ? { filterTimeout } : {}),
    request: n.request,
    pollingInterval: 5,
    pushers: () => [],
    confirmHead: async () => undefined,
    notify: (id, result) => messages.set(id, [...(messages.get(id) ?? []), result]),
    onError: (e) => errors.push(String(e)),
  })
  const subscribe = async (...params: unknown[]) => {
    const id = (await subs.handle('eth_subscribe', params)) as string
    messages.set(id, [])
    return () => messages.get(id) as (RpcLog & { hash?: string })[]
  }
  return { subs, subscribe, errors }
}

const tip = (n: ReturnType<typeof node>) => n.chain.at(-1)!.header.hash

describe('createSubscriptions: log subscribers fan in', () => {
  test('three filters: one eth_getLogs per block with logs, none for empty blocks', async () => {
    const n = node()
    const { subs, subscribe } = streams(n)
    const heads = await subscribe('newHeads')
    const a = await subscribe('logs', { address: A })
    const pings = await subscribe('logs', { topics: [PING] })
    const bPongs = await subscribe('logs', { address: [B], topics: [[PONG]] })
    await sleep(30)
    const blocks: [string, string][][] = [
      [
        [A, PING],
        [B, PONG],
        [B, PING],
      ],
      [],
      [[A, PONG]],
    ]
    for (const emitted of blocks) {
      n.mine(...emitted)
      await until('the head', () => heads().some((h) => h.hash === tip(n)))
      await sleep(20)
    }
    await until('the logs', () => a().length === 2)
    assert.deepEqual(
      n.getLogs,
      [{ blockHash: n.chain[1]!.header.hash }, { blockHash: n.chain[3]!.header.hash }],
      'one request for blocks 1 and 3, none for the empty block 2',
    )
    assert.deepEqual(
      a().map((l) => Number(l.data)),
      [10, 30],
    )
    assert.deepEqual(
      pings().map((l) => Number(l.data)),
      [10, 12],
    )
    assert.deepEqual(
      bPongs().map((l) => Number(l.data)),
      [11],
    )
    await subs.close()
  })

  test('a filter only a node can read asks on its own; its failure costs the others nothing', async () => {
    const n = node()
    const { subs, subscribe, errors } = streams(n)
    const heads = await subscribe('newHeads')
    const odd = await subscribe('logs', { topics: [PING, null, null, null, null] })
    const a = await subscribe('logs', { address: A })
    await sleep(30)
    n.mine([A, PING])
    await until('the head', () => heads().some((h) => h.hash === tip(n)))
    await until('the log', () => a().length === 1)
    await until('the error', () => errors.length === 1)
    assert.match(errors[0]!, /too many topics/)
    assert.equal(odd().length, 0)
    assert.equal(n.getLogs.length, 3)
    assert.deepEqual(
      n.getLogs[0],
      {
        address: undefined,
        topics: [PING, null, null, null, null],
        fromBlock: 'latest',
        toBlock: 'latest',
      },
      'asked of the node once when made: it did not refuse it',
    )
    assert.deepEqual(n.getLogs[1], { address: A, blockHash: tip(n) })
    assert.equal((n.getLogs[2]!.topics as unknown[]).length, 5, 'its own filter, as given')
    await subs.close()
  })

  test('a filter the nodes refuse (-32602) is refused when made, as a node refuses it', async () => {
    const n = node()
    const { subs } = streams(n)
    const junk = { address: `0x${'22'.repeat(19)}` }
    for (const made of [
      subs.handle('eth_subscribe', ['logs', junk]),
      subs.handle('eth_newFilter', [junk]),
    ])
      await assert.rejects(made, { code: -32602, message: /hex string has length 38/ })
    assert.equal(subs.active, 0)
    await subs.close()
  })

  test('the shared request fails: heads still go out, the error is reported, the missed logs come with the next block', async () => {
    const n = node()
    const { subs, subscribe, errors } = streams(n)
    const heads = await subscribe('newHeads')
    const a = await subscribe('logs', { address: A })
    const b = await subscribe('logs', { address: B })
    await sleep(30)
    n.failOnce()
    n.mine([A, PING], [B, PING])
    const missed = tip(n)
    await until('the head', () => heads().some((h) => h.hash === missed))
    await until('the error', () => errors.length === 1)
    assert.equal(a().length + b().length, 0, 'nothing delivered while the logs are owed')
    n.mine([A, PONG], [B, PONG])
    await until('both blocks’ logs', () => a().length === 2 && b().length === 2)
    // The owed block and the new one in one request (a range), each subscriber's in order.
    assert.equal(n.getLogs.length, 2)
    for (const got of [a(), b()]) {
      assert.equal(got[0]!.blockHash, missed)
      assert.deepEqual(
        got.map((l) => l.topics[0]),
        [PING, PONG],
      )
    }
    await subs.close()
  })

  test('each subscriber gets a log of its own', async () => {
    const n = node()
    const { subs, subscribe } = streams(n)
    const one = await subscribe('logs', { address: A })
    const two = await subscribe('logs', { topics: [PING] })
    await sleep(30)
    n.mine([A, PING])
    await until('both', () => one().length === 1 && two().length === 1)
    one()[0]!.topics[0] = PONG
    one()[0]!.data = '0x'
    assert.equal(two()[0]!.topics[0], PING)
    assert.notEqual(two()[0]!.data, '0x')
    assert.equal(n.getLogs.length, 1)
    await subs.close()
  })
})

describe('createSubscriptions: a head held back (one domain backs it, others up do not)', () => {
  test('is not delivered while held, is said once, and goes out with what follows once released', async () => {
    const n = node()
    const held = new Set<string>()
    const { subs, subscribe, errors } = streams(n, (h) =>
      held.has(h.hash) ? `block #${Number(h.number)} is held` : undefined,
    )
    const heads = await subscribe('newHeads')
    const a = await subscribe('logs', { address: A })
    await sleep(30)
    n.mine([A, PING])
    held.add(tip(n))
    n.mine([A, PONG])
    held.add(tip(n))
    await until('the error', () => errors.length === 1)
    await sleep(50) // some ten polls of the held head
    assert.deepEqual(heads(), [], 'no held head went out')
    assert.deepEqual(a(), [], 'no log of a held block went out')
    assert.deepEqual(n.getLogs, [], 'no logs asked for held blocks')
    assert.deepEqual(errors, ['Error: newHeads, logs and filters: block #2 is held'])
    held.clear()
    await until('both heads', () => heads().length === 2)
    await until('both logs', () => a().length === 2)
    assert.deepEqual(
      heads().map((h) => Number((h as unknown as { number: string }).number)),
      [1, 2],
      'in order, no gap',
    )
    await subs.close()
  })
})

describe('createSubscriptions: what a filter buffered while one domain alone backed the head', () => {
  test('is said (`alone`) when polled, once; what came while two domains backed it is not', async () => {
    const n = node()
    let confirmed = true
    const { subs } = streams(n, undefined, () => confirmed)
    const blocks = (await subs.handle('eth_newBlockFilter', [])) as string
    const logs = (await subs.handle('eth_newFilter', [{ address: A }])) as string
    await sleep(30)
    n.mine([A, PING])
    await until('the block', () => subs.changes(blocks).result.length > 0)
    await until('the log', () => subs.changes(logs).result.length > 0)
    confirmed = false
    n.mine([A, PONG])
    await sleep(30)
    const alone = [subs.changes(blocks), subs.changes(logs)]
    assert.deepEqual(
      alone.map((c) => [c.result.length, c.alone, c.logs]),
      [
        [1, true, false],
        [1, true, true],
      ],
    )
    assert.equal(subs.changes(blocks).alone, false, 'said once')
    confirmed = true
    n.mine()
    await sleep(30)
    assert.deepEqual([subs.changes(blocks).alone, subs.changes(logs).alone], [false, false])
    await subs.close()
  })

  test('a change with no block for a filter does not label it (its logs were not less than agreed)', async () => {
    const n = node()
    const { subs } = streams(n)
    const later = (await subs.handle('eth_newFilter', [
      { address: A, fromBlock: '0x100' },
    ])) as string
    const blocks = (await subs.handle('eth_newBlockFilter', [])) as string
    n.mine([A, PING])
    await until('the block', () => subs.changes(blocks).result.length > 0)
    assert.deepEqual(subs.changes(later), { result: [], alone: false, logs: true })
    assert.equal(n.getLogs.length, 0, 'no block was due')
    await subs.close()
  })

  test('filter ids are random, as a node’s are: one client of a shared proxy cannot guess another’s', async () => {
    const { subs } = streams(node())
    const ids = [
      (await subs.handle('eth_newBlockFilter', [])) as string,
      (await subs.handle('eth_newFilter', [{ address: A }])) as string,
    ]
    for (const id of ids) assert.match(id, /^0x[0-9a-f]{32}$/)
    assert.notEqual(ids[0], ids[1])
    await subs.close()
  })
})

describe('createSubscriptions: a reorg takes logs already sent', () => {
  test('they come again with removed: true, newest first', async () => {
    const n = node()
    const { subs, subscribe, errors } = streams(n)
    const a = await subscribe('logs', { address: A })
    for (let i = 0; i < 3; i++) {
      n.mine([A, PING])
      await until(`log ${i}`, () => a().length === i + 1)
    }
    n.reorg(2)
    n.mine([B, PING])
    await until('the removed logs', () => a().length === 5)
    assert.deepEqual(
      a().map((l) => [Number(l.blockNumber), l.removed]),
      [
        [1, false],
        [2, false],
        [3, false],
        [3, true],
        [2, true],
      ],
    )
    assert.deepEqual(errors, [])
    await subs.close()
  })

  test('logs let go for the 16 MiB kept per subscription are said to be lost, not passed over', async () => {
    const n = node()
    const { subs, subscribe, errors } = streams(n)
    const a = await subscribe('logs', { address: A })
    // 30 blocks with a log of 1 MiB each: the newest 15 blocks' are kept.
    for (let i = 1; i <= 30; i++) {
      n.mine([
        A,
        PING,
        `0x${i
          .toString(16)
          .padStart(2, '0')
          .repeat(2 ** 19)}`,
      ])
      await until(`log ${i}`, () => a().length === i)
    }
    n.reorg(25) // blocks 6 to 30
    n.mine()
    await until('the reorg', () => errors.length > 0)
    await sleep(30)
    const removed = a()
      .filter((l) => l.removed)
      .map((l) => Number(l.blockNumber))
    assert.deepEqual(removed, [30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16])
    assert.deepEqual(errors, [
      'Error: a reorg took blocks 6 to 15: their logs were sent, then let go (16 MiB are kept per subscription or filter), so they are not sent again with removed: true',
    ])
    await subs.close()
  })
})

describe('createSubscriptions: a filter dropped', () => {
  test('past 64 MiB of logs buffered unpolled: its next poll says so, once', async () => {
    const n = node()
    const { subs } = streams(n)
    const heads = await subs.handle('eth_newBlockFilter', [])
    const id = (await subs.handle('eth_newFilter', [{ address: A }])) as string
    const polled = (await subs.handle('eth_newFilter', [{ address: A }])) as string
    // 70 blocks with a log of 1 MiB each; `polled` is polled every 10 blocks.
    for (let i = 1; i <= 70; i++) {
      n.mine([A, PING, `0x${'ab'.repeat(2 ** 19)}`])
      await until(`block ${i}`, () => subs.changes(heads).result.length > 0)
      if (i % 10 === 0) assert.equal(subs.changes(polled).result.length, 10)
    }
    await assert.rejects(subs.handle('eth_getFilterChanges', [id]), {
      code: -32000,
      message: `filter not found: ${id} (over 64 MiB of logs buffered since it was last polled)`,
    })
    await assert.rejects(subs.handle('eth_getFilterChanges', [id]), {
      message: `filter not found: ${id}`,
    })
    assert.equal(subs.changes(polled).result.length, 0)
    await subs.close()
  })

  test('not polled in time: its next poll says so', async () => {
    const n = node()
    const { subs } = streams(n, undefined, undefined, 50)
    const id = (await subs.handle('eth_newBlockFilter', [])) as string
    await sleep(80)
    n.mine()
    await until('the filter dropped', () => subs.active === 0)
    await assert.rejects(subs.handle('eth_getFilterChanges', [id]), {
      message: `filter not found: ${id} (not polled for 0.05 s)`,
    })
  })
})

describe('createSubscriptions: logs owed for longer than it keeps them', () => {
  test('are let go and said; a filter that lost them is dropped, its next poll says why', async () => {
    const n = node()
    const { subs, subscribe, errors } = streams(n)
    const filter = (await subs.handle('eth_newFilter', [{ address: A }])) as string
    const a = await subscribe('logs', { address: A })
    await sleep(30)
    n.fail(10_000)
    // Blocks 1 to 100 owed; 200 blocks later, 1 to 44 are more than 256 behind: let go. (A
    // change's own blocks stay owed, however many: one failed request after an outage loses none.)
    for (let i = 0; i < 100; i++) n.mine([A, PING])
    await until('the logs owed', () => errors.length > 0)
    assert.ok(!errors.some((e) => e.includes('let go')), errors.join('\n'))
    for (let i = 0; i < 200; i++) n.mine([A, PING])
    await until('the logs let go', () => errors.some((e) => e.includes('let go')))
    assert.ok(
      errors.some((e) => e.includes('the logs of blocks 1 to 44 could not be read')),
      errors.join('\n'),
    )
    await assert.rejects(
      subs.handle('eth_getFilterChanges', [filter]),
      /filter not found: .*\(the logs of blocks 1 to 44 could not be read/,
    )
    // The subscription stays, owed the rest: once the node answers again, blocks 45 to 301.
    n.fail(0)
    n.mine([A, PING])
    await until('the owed logs', () => a().length === 257)
    assert.equal(Number(a()[0]!.blockNumber), 45)
    await subs.close()
  })
})
