/**
 * Log subscriptions fan in: five log subscribers with different filters cost at most one
 * upstream `eth_getLogs` per block per source asked (a range on catch-up), none for blocks
 * whose logsBloom no filter passes, and each subscriber gets exactly its own logs, once, with
 * reorged ones again as `removed: true`. Real anvil behind the lab's proxies; every source is
 * wrapped to record the `eth_getLogs` it is asked.
 */
import assert from 'node:assert/strict'
import { keccak256, toHex } from 'viem'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast } from '../src/index.ts'
import { hostile, labSources } from './adversarial/hostile.ts'
import { CHAIN_ID, sleep } from './helpers.ts'
import { devAccounts, type Lab, startLab } from './lab/index.ts'
import { deployAnswer, PING } from './workload.ts'

const PONG = keccak256(toHex('Pong(uint256)'))
const QUUX = keccak256(toHex('Quux(uint256)'))
/** Runtime that logs its calldata under `topic` (LOG1), and its init code. */
const init = (topic: string) =>
  `0x602c600c600039602c6000f3${`3660006000377f${topic.slice(2)}366000a100`}`

type Log = {
  address: string
  topics: string[]
  data: string
  blockHash: string
  blockNumber: string
  logIndex: string
  removed: boolean
}
type Header = { number: string; hash: string }
type Call = { source: string; filter: Record<string, unknown> }

let lab: Lab
const contracts: Record<'A' | 'B' | 'C' | 'D', string> = { A: '', B: '', C: '', D: '' }
const topicOf = { A: PING, B: PONG, C: PING, D: QUUX }

beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [
      { name: 'aws', domain: 'aws-us-east-1', latency: 5 },
      { name: 'gcp', domain: 'gcp-europe-west1', latency: 10 },
      { name: 'home', domain: 'home', kind: 'self-hosted', latency: 15 },
    ],
  })
  for (const name of ['A', 'B', 'C', 'D'] as const)
    contracts[name] = (await deployAnswer(lab.anvil, init(topicOf[name]))).toLowerCase()
  await lab.anvil.rpc('evm_setAutomine', [false])
})
afterAll(() => lab.stop())

let value = 0
/** One block holding one emission per name given, in order; returns the values logged. */
async function block(...names: ('A' | 'B' | 'C' | 'D')[]): Promise<Emission[]> {
  const out: Emission[] = []
  for (const name of names) {
    const v = ++value
    await lab.anvil.rpc('eth_sendTransaction', [
      { from: devAccounts[1].address, to: contracts[name], data: toHex(v, { size: 32 }) },
    ])
    out.push({ name, value: v })
  }
  await lab.anvil.rpc('evm_mine')
  return out
}
type Emission = { name: 'A' | 'B' | 'C' | 'D'; value: number; removed?: boolean }

const sleepUntil = async (what: string, fn: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

describe('log subscriptions share one eth_getLogs', () => {
  it('five filters: ≤ 1 call per block per source, none for bloom-excluded blocks, each its own logs once', async () => {
    const calls: Call[] = []
    const sources = labSources(lab).map((s) =>
      hostile(s, async (method, params, answer) => {
        if (method === 'eth_getLogs')
          calls.push({ source: s.config.name, filter: params[0] as Record<string, unknown> })
        return answer()
      }),
    )
    const rpc = createOutlast({ chainId: CHAIN_ID, pollingInterval: 100, sources })
    const { A, B, C } = contracts
    // Who wants what: [name, filter, which emissions match it].
    const wants: [string, object, (e: Emission) => boolean][] = [
      ['S1 address A', { address: A }, (e) => e.name === 'A'],
      [
        'S2 addresses [A, B], topic Ping',
        { address: [A, B], topics: [PING] },
        (e) => e.name === 'A',
      ],
      ['S3 any address, topic Ping or Pong', { topics: [[PING, PONG]] }, (e) => e.name !== 'D'],
      [
        'S4 address B (upper case), topic wildcard',
        { address: `0x${B.slice(2).toUpperCase()}`, topics: [null] },
        (e) => e.name === 'B',
      ],
      ['F5 filter: address C, topic Ping', { address: C, topics: [PING] }, (e) => e.name === 'C'],
    ]
    const received: Log[][] = wants.map(() => [])
    const heads: Header[] = []
    try {
      await rpc.subscribe(['newHeads'], (h) => heads.push(h as Header))
      for (const [i, [, filter]] of wants.slice(0, 4).entries())
        await rpc.subscribe(['logs', filter], (l) => received[i]!.push(l as Log))
      const filterId = (await rpc.request({
        method: 'eth_newFilter',
        params: [wants[4]![1]],
      })) as string
      const pollFilter = async () =>
        received[4]!.push(
          ...((await rpc.request({ method: 'eth_getFilterChanges', params: [filterId] })) as Log[]),
        )
      const tipIs = async () => {
        const tip = await lab.anvil.rpc<Header>('eth_getBlockByNumber', ['latest', false])
        await sleepUntil(`head ${Number(tip.number)}`, () => heads.some((h) => h.hash === tip.hash))
        return tip
      }
      await sleep(300) // the stream starts after the current head
      const emitted: Emission[] = []

      // Live: one block at a time; the calls each block costs, per source.
      const live: { block: string; wanted: boolean; perSource: Record<string, number> }[] = []
      const plan: ('A' | 'B' | 'C' | 'D')[][] = [['A'], [], ['B'], ['D'], ['A', 'D', 'B', 'C']]
      for (const names of plan) {
        const before = calls.length
        const logsBefore = received.reduce((n, l) => n + l.length, 0)
        const got = await block(...names)
        emitted.push(...got)
        const wanted = got.some((e) => wants.some(([, , w]) => w(e)))
        const tip = await tipIs()
        if (wanted)
          await sleepUntil(
            'its logs',
            () => received.reduce((n, l) => n + l.length, 0) > logsBefore,
          )
        await sleep(wanted ? 100 : 300) // room for a stray call to show
        const perSource: Record<string, number> = {}
        for (const c of calls.slice(before)) perSource[c.source] = (perSource[c.source] ?? 0) + 1
        live.push({ block: `${Number(tip.number)} [${names.join(' ')}]`, wanted, perSource })
      }

      // Catch-up: every source down while 6 blocks are mined, then back.
      const beforeGap = calls.length
      for (const p of lab.proxies) await p.setMode({ kind: 'refused' })
      await sleep(200)
      const gapPlan: ('A' | 'B' | 'C' | 'D')[][] = [['A'], [], ['D'], ['C'], [], ['B']]
      for (const names of gapPlan) emitted.push(...(await block(...names)))
      for (const p of lab.proxies) await p.setMode({ kind: 'ok' })
      const gapTip = await tipIs()
      await sleepUntil(
        'the missed logs',
        () => received[0]!.length >= 3 && received[3]!.length >= 3,
      )
      await sleep(200)
      const gapCalls = calls.slice(beforeGap)

      // A reorg 2 deep: the last block (B's pong) and the empty one before it are replaced by a
      // block with a ping of A and an empty one.
      const beforeReorg = calls.length
      const v = ++value
      const tx = {
        from: devAccounts[2].address,
        to: A,
        data: toHex(v, { size: 32 }),
        nonce: toHex(
          Number(
            await lab.anvil.rpc<string>('eth_getTransactionCount', [
              devAccounts[2].address,
              'latest',
            ]),
          ),
        ),
        gas: '0x20000',
        maxFeePerGas: '0x174876e800',
        maxPriorityFeePerGas: '0x1',
        chainId: toHex(CHAIN_ID),
      }
      await lab.anvil.rpc('anvil_reorg', [2, [[tx, 0]]])
      const pong = emitted.at(-1)!
      emitted.push({ ...pong, removed: true }, { name: 'A', value: v })
      await tipIs()
      await sleepUntil(
        'the reorged logs',
        () => received[3]!.length >= 4 && received[0]!.length >= 4,
      )
      await sleep(300)
      await pollFilter()
      const reorgCalls = calls.slice(beforeReorg)

      // Before and after: what each block cost.
      const perBlock = (n: number, over: number) => (n / over).toFixed(2)
      const liveCalls = live.reduce(
        (n, b) => n + Object.values(b.perSource).reduce((a, x) => a + x, 0),
        0,
      )
      console.log(
        `# live, 5 blocks (2 with no subscriber's logs): ${liveCalls} eth_getLogs (${perBlock(liveCalls, 5)} per block, all sources)`,
      )
      for (const b of live) console.log(`#   block ${b.block}: ${JSON.stringify(b.perSource)}`)
      console.log(
        `# catch-up, 6 blocks: ${gapCalls.length} eth_getLogs: ${JSON.stringify(gapCalls.map((c) => [c.source, c.filter.blockHash ? 'hash' : `${c.filter.fromBlock}..${c.filter.toBlock}`]))}`,
      )
      console.log(
        `# reorg, 2 blocks out and 2 in: ${reorgCalls.length} eth_getLogs: ${JSON.stringify(reorgCalls.map((c) => c.source))}`,
      )

      // At most one call per source for each block with logs a subscriber wants; none for the others.
      for (const b of live) {
        if (!b.wanted) assert.deepEqual(b.perSource, {}, `no eth_getLogs for block ${b.block}`)
        else {
          assert.ok(Object.keys(b.perSource).length >= 1, `block ${b.block} asked`)
          for (const [s, n] of Object.entries(b.perSource))
            assert.ok(n <= 1, `${s} asked ${n} times for block ${b.block}`)
        }
      }
      // Catch-up: one range per source, from the first block a filter may match to the last.
      const first = Number(gapTip.number) - 5
      for (const [s, n] of Object.entries(countBy(gapCalls)))
        assert.ok(n <= 1, `${s} asked ${n} times for the missed blocks`)
      for (const c of gapCalls)
        assert.deepEqual(
          { from: c.filter.fromBlock, to: c.filter.toBlock },
          { from: toHex(first), to: toHex(first + 5) },
        )
      // Reorg: one block of the new branch has logs, the other is empty.
      for (const [s, n] of Object.entries(countBy(reorgCalls)))
        assert.ok(n <= 1, `${s} asked ${n} times for the new branch`)
      for (const c of [...gapCalls, ...reorgCalls, ...calls.slice(0, beforeGap)])
        assert.equal(c.filter.address, undefined, 'S3 takes any address: the union has none')

      // Each subscriber: exactly its logs, in order, once; the reorged one again as removed.
      for (const [i, [name, , want]] of wants.entries()) {
        const expected = emitted
          .filter(want)
          .map((e) => `${e.name}${e.value}${e.removed ? '-removed' : ''}`)
        const seen = received[i]!.map((l) => {
          const who = (Object.keys(contracts) as (keyof typeof contracts)[]).find(
            (k) => contracts[k] === l.address.toLowerCase(),
          )
          return `${who}${Number(l.data)}${l.removed ? '-removed' : ''}`
        })
        assert.deepEqual(seen, expected, name)
      }
      assert.ok(received[2]!.length >= 9, 'S3 saw every Ping and Pong')
    } finally {
      await rpc.close()
    }
  })
})

function countBy(calls: Call[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const c of calls) out[c.source] = (out[c.source] ?? 0) + 1
  return out
}
