/**
 * Hostile source: full blocks and transaction lists. The fastest source keeps every header
 * intact (so each block still hashes right) and alters the body: empties, drops, swaps or adds
 * transactions, alters a field the transaction hash does not cover, adds withdrawals or uncles.
 * Whatever it does, the caller gets exactly the node's block: `agreed` (a body checked against
 * the header's roots still needs its senders agreed; hash lists cannot be checked), `verified`
 * only for an empty one; and no tampered copy is ever cached.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import type { Outlast } from '../../src/index.ts'
import { asReturned, clientFor } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'

type Obj = Record<string, unknown>
type Block = Obj & { hash: string; number: string; transactions: (string | Obj)[] }

const LIAR = 'liar'
const hex = (n: number | bigint) => `0x${n.toString(16)}`
const madeUp = (byte: string) => `0x${byte.repeat(32)}`
const [alice, bob, carol] = devAccounts

let lab: Lab
/** Four transfers in one block, the chain's head. */
let busy: Block
/** An empty block before it. */
let empty: Block

/** Mines `txs` into one block (automine paused) and returns its hash. */
async function mineBlock(txs: Obj[]): Promise<string> {
  await lab.anvil.rpc('evm_setAutomine', [false])
  for (const tx of txs) await lab.anvil.rpc('eth_sendTransaction', [tx])
  await lab.anvil.rpc('evm_mine')
  await lab.anvil.rpc('evm_setAutomine', [true])
  return (await lab.anvil.rpc<Block>('eth_getBlockByNumber', ['latest', false])).hash
}

beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [
      { name: LIAR, domain: 'aws-us-east-1', latency: 0 },
      { name: 'gcp', domain: 'gcp-europe-west1', latency: 40 },
      { name: 'home', domain: 'home', kind: 'self-hosted', latency: 60 },
    ],
  })
  await lab.anvil.rpc('evm_mine')
  empty = await lab.anvil.rpc<Block>('eth_getBlockByNumber', ['latest', false])
  const hash = await mineBlock([
    { from: alice.address, to: bob.address, value: '0x1' },
    { from: bob.address, to: carol.address, value: '0x2' },
    { from: carol.address, to: alice.address, value: '0x3' },
    { from: alice.address, to: carol.address, value: '0x4' },
  ])
  busy = await lab.anvil.rpc<Block>('eth_getBlockByHash', [hash, false])
  assert.equal(busy.transactions.length, 4)
})
afterAll(() => lab.stop())

/** What the hostile source does to a block's body (the header and hash are kept). */
const tampers: Record<string, (block: Block) => Block> = {
  'empties the transactions': (b) => ({ ...b, transactions: [] }),
  'drops the last transaction': (b) => ({ ...b, transactions: b.transactions.slice(0, -1) }),
  'swaps the first two transactions': (b) => {
    const [x, y, ...rest] = b.transactions
    const at = (tx: string | Obj | undefined, i: number) =>
      typeof tx === 'string' ? tx : { ...tx, transactionIndex: hex(i) }
    return { ...b, transactions: [at(y, 0), at(x, 1), ...rest] as Block['transactions'] }
  },
  'appends a made-up transaction': (b) => {
    const first = b.transactions[0]!
    const extra =
      typeof first === 'string'
        ? madeUp('ab')
        : { ...first, transactionIndex: hex(b.transactions.length) } // hashes right, names the block
    return { ...b, transactions: [...b.transactions, extra] }
  },
  'alters transactionIndex (not covered by the hash)': (b) => ({
    ...b,
    transactions: b.transactions.map((tx, i) =>
      typeof tx === 'string' || i !== 1 ? tx : { ...tx, transactionIndex: '0x7' },
    ),
  }),
  'alters blockNumber (not covered by the hash)': (b) => ({
    ...b,
    transactions: b.transactions.map((tx) =>
      typeof tx === 'string' ? tx : { ...tx, blockNumber: hex(BigInt(b.number) - 1n) },
    ),
  }),
  'adds a withdrawal': (b) => ({
    ...b,
    withdrawals: [
      ...((b.withdrawals as Obj[] | undefined) ?? []),
      { index: '0x0', validatorIndex: '0x1', address: bob.address, amount: '0x3b9aca00' },
    ],
  }),
  'adds an uncle': (b) => ({ ...b, uncles: [...((b.uncles as string[]) ?? []), madeUp('cd')] }),
}

/** A fetch that applies `tamper` to every block answer about `target`; counts what it altered. */
function hostile(fetchFn: typeof fetch, target: () => string, tamper: (b: Block) => Block) {
  const counter = { altered: 0 }
  const wrapped: typeof fetch = async (input, init) => {
    const response = await fetchFn(input, init)
    const request = JSON.parse(String(init?.body)) as Obj
    if (!String(request.method).startsWith('eth_getBlockBy')) return response
    const reply = (await response.json()) as { result?: Block | null }
    if (reply.result && reply.result.hash === target()) {
      reply.result = tamper(reply.result)
      counter.altered++
    }
    return new Response(JSON.stringify(reply), {
      status: response.status,
      headers: { 'content-type': 'application/json' },
    })
  }
  return { fetch: wrapped, counter }
}

async function withLiar<T>(
  target: () => string,
  tamper: (b: Block) => Block,
  fn: (rpc: Outlast, counter: { altered: number }) => Promise<T>,
): Promise<T> {
  let counter = { altered: 0 }
  const rpc = clientFor(lab, {}, (s) => {
    if (s.name !== LIAR) return s.proxy.fetch
    const h = hostile(s.proxy.fetch, target, tamper)
    counter = h.counter
    return h.fetch
  })
  try {
    await rpc.connect()
    counter.altered = 0
    return await fn(rpc, counter)
  } finally {
    await rpc.close()
  }
}

const lookups = () => [
  { name: 'by hash', method: 'eth_getBlockByHash', tag: busy.hash },
  { name: 'by number', method: 'eth_getBlockByNumber', tag: busy.number },
  { name: 'latest', method: 'eth_getBlockByNumber', tag: 'latest' },
]

describe('the fastest source alters a block body; the header still hashes right', () => {
  for (const [what, tamper] of Object.entries(tampers))
    for (const full of [true, false])
      it(`${what} (${full ? 'full transactions' : 'hashes'})`, async () => {
        const truth = asReturned(
          await lab.anvil.rpc<Block>('eth_getBlockByHash', [busy.hash, full]),
        )
        if (canonicalBody(tamper(truth)) === canonicalBody(truth)) return // nothing to alter here
        await withLiar(
          () => busy.hash,
          tamper,
          async (rpc, counter) => {
            for (const { name, method, tag } of lookups()) {
              const request = { method, params: [tag, full] }
              const { result, meta } = await rpc.requestWithMeta(request)
              assert.deepEqual(result, truth, `${name}: the node's block`)
              assert.ok(!meta.sources.includes(LIAR), `${name}: answered by ${meta.sources}`)
              // Full objects are checked against transactionsRoot, but their senders (`from`)
              // are no root's; hash lists cannot be checked: either way two domains agree.
              assert.equal(meta.consistency, 'agreed', name)
              assert.ok(meta.domains.length >= 2, name)
              const again = await rpc.requestWithMeta(request)
              // The label and sources in the message: a failure says how the answer was settled.
              assert.deepEqual(
                again.result,
                truth,
                `${name}: asked again (${again.meta.consistency} from ${again.meta.sources.join(', ')})`,
              )
            }
            assert.ok(counter.altered > 0, 'the hostile source was asked')
          },
        )
      })
})

const canonicalBody = (b: Block) =>
  JSON.stringify([b.transactions, b.withdrawals ?? null, b.uncles ?? null])

describe('what stands alone', () => {
  it('an honest empty block by hash stands alone on one source', async () => {
    await withLiar(
      () => '',
      (b) => b,
      async (rpc) => {
        for (const full of [false, true]) {
          const truth = asReturned(
            await lab.anvil.rpc<Block>('eth_getBlockByHash', [empty.hash, full]),
          )
          const { result, meta } = await rpc.requestWithMeta({
            method: 'eth_getBlockByHash',
            params: [empty.hash, full],
          })
          assert.deepEqual(result, truth)
          assert.equal(meta.consistency, 'verified')
          assert.equal(meta.sources.length, 1)
        }
      },
    )
  })

  it('an emptied list is a lie the header proves: the liar is marked', async () => {
    await withLiar(
      () => busy.hash,
      tampers['empties the transactions']!,
      async (rpc) => {
        await rpc.request({ method: 'eth_getBlockByHash', params: [busy.hash, false] })
        const liar = rpc.status().sources.find((s) => s.name === LIAR)!
        assert.match(liar.lastError ?? '', /lied: .*transactionsRoot/)
      },
    )
  })

  it('an answer only one domain gave (quorum lost) is returned as degraded and never cached', async () => {
    let failing = true
    const down =
      (f: typeof fetch): typeof fetch =>
      async (input, init) => {
        const m = String((JSON.parse(String(init?.body)) as Obj).method)
        if (failing && m === 'eth_getBlockByHash')
          return new Response('unavailable', { status: 503 })
        return f(input, init)
      }
    const tamper = tampers['swaps the first two transactions']!
    const rpc = clientFor(lab, {}, (s) =>
      s.name === LIAR ? hostile(s.proxy.fetch, () => busy.hash, tamper).fetch : down(s.proxy.fetch),
    )
    try {
      await rpc.connect()
      const request = { method: 'eth_getBlockByHash', params: [busy.hash, false] }
      const first = await rpc.requestWithMeta(request)
      assert.equal(first.meta.consistency, 'degraded')
      failing = false
      const truth = asReturned(await lab.anvil.rpc<Block>('eth_getBlockByHash', [busy.hash, false]))
      const again = await rpc.requestWithMeta(request)
      assert.deepEqual(again.result, truth)
      assert.equal(again.meta.consistency, 'agreed')
    } finally {
      await rpc.close()
    }
  })
})
