/**
 * Under `proofs()`, `eth_getProof` is a state read like the four it proves: the answer is checked
 * against the pinned block's trusted `stateRoot` (the account, then every slot asked for, in
 * order), so one hostile source answering first cannot hand a wallet or a bridge a proof that
 * refutes its own figures, drops or adds a slot, or proves another account or block. And a read
 * at a height the client never saw as a head is proven at that height: its header is walked
 * down to by parent hash from the head's trusted header.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type Outlast, type Source } from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { CHAIN_ID, threeDomains } from '../helpers.ts'
import { type Lab, startLab } from '../lab/index.ts'
import { deployAnswer } from '../workload.ts'
import { hostile, labSources } from './hostile.ts'

type Proof = {
  address: string
  balance: string
  nonce: string
  storageProof: { key: string; value: string; proof: string[] }[]
  [k: string]: unknown
}

/** Init code that stores 7 at slot 0 and 9 at slot 5 and deploys one STOP byte as code. */
const STORE_INIT = '0x6007600055600960055560016000f3'
/** Two stored slots and an empty one, as 32-byte words (anvil refuses shorter keys). */
const SLOTS = [0, 5, 9].map((n) => `0x${n.toString(16).padStart(64, '0')}`)

let lab: Lab
let store: `0x${string}`
let other: `0x${string}`
beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [...threeDomains, { name: 'liar', domain: 'liar-host', latency: 0 }],
  })
  store = await deployAnswer(lab.anvil, STORE_INIT)
  other = await deployAnswer(lab.anvil)
  for (let i = 0; i < 12; i++) await lab.anvil.rpc('evm_mine')
})
afterAll(() => lab.stop())

/** The fastest source: its eth_getProof answers passed through `lie`, honest otherwise. */
const liar = (lie: (p: Proof, params: readonly unknown[]) => Promise<Proof> | Proof): Source =>
  hostile(
    http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' }),
    async (method, params, answer) =>
      method === 'eth_getProof'
        ? lie(structuredClone((await answer()) as Proof), params)
        : answer(),
  )

const client = (first: Source) =>
  createOutlast({
    chainId: CHAIN_ID,
    sources: [first, ...labSources(lab, ['aws', 'gcp', 'home'])],
    prover: proofs(),
  })

/** `store`'s SLOTS at `latest` through `rpc`, and the node's own answer at the block it was proven at. */
async function proofAndTruth(rpc: Outlast) {
  const { result, meta } = await rpc.requestWithMeta({
    method: 'eth_getProof',
    params: [store, SLOTS, 'latest'],
  })
  const truth = await lab.anvil.rpc('eth_getProof', [store, SLOTS, { blockHash: meta.block!.hash }])
  return { result, meta, truth }
}

const plus1 = (q: string) => `0x${(BigInt(q) + 1n).toString(16)}`

describe('eth_getProof under proofs()', () => {
  it('an honest answer comes back proven, as the node gives it', async () => {
    const rpc = client(liar((p) => p))
    try {
      const { result, meta, truth } = await proofAndTruth(rpc)
      assert.equal(meta.consistency, 'proven')
      assert.deepEqual(result, truth)
    } finally {
      await rpc.close()
    }
  })

  const lies: [string, (p: Proof, params: readonly unknown[]) => Promise<Proof> | Proof][] = [
    ['a slot value raised', (p) => ({ ...p, storageProof: bump(p.storageProof, 1) })],
    ['the balance raised', (p) => ({ ...p, balance: plus1(p.balance) })],
    ['a slot dropped', (p) => ({ ...p, storageProof: p.storageProof.slice(0, 2) })],
    ['a slot added', (p) => ({ ...p, storageProof: [...p.storageProof, p.storageProof[0]!] })],
    ['two slots swapped', (p) => ({ ...p, storageProof: swap(p.storageProof) })],
    [
      'a stored slot proven empty by the empty slot’s proof',
      (p) => ({
        ...p,
        storageProof: p.storageProof.map((e, i) =>
          i === 0 ? { ...p.storageProof[2]!, key: e.key } : e,
        ),
      }),
    ],
    [
      'another account’s proof',
      async (_p, params) => {
        const proof = await lab.anvil.rpc<Proof>('eth_getProof', [other, params[1], params[2]])
        return { ...proof, address: store }
      },
    ],
    [
      'the proof of an older block',
      async (_p, params) => {
        const old = await lab.anvil.rpc<string>('eth_blockNumber')
        return lab.anvil.rpc<Proof>('eth_getProof', [
          params[0],
          params[1],
          `0x${(BigInt(old) - 8n).toString(16)}`,
        ])
      },
    ],
  ]
  for (const [name, lie] of lies)
    it(`a liar answering first with ${name}: the honest proof, the liar cut off`, async () => {
      const rpc = client(liar(lie))
      try {
        const { result, meta, truth } = await proofAndTruth(rpc)
        assert.equal(meta.consistency, 'proven')
        assert.deepEqual(meta.sources.includes('liar'), false)
        assert.deepEqual(result, truth)
        const liarStatus = rpc.status().sources.find((s) => s.name === 'liar')!
        assert.notEqual(liarStatus.breaker, 'closed', 'the liar is cut off')
      } finally {
        await rpc.close()
      }
    })

  it('nodes a liar adds beside a valid proof are dropped: the proof comes back as the node gives it', async () => {
    const junk = (nodes: string[]) => [nodes[0]!, ...nodes, `0x${'ab'.repeat(40)}`]
    const rpc = client(
      liar((p) => ({
        ...p,
        accountProof: junk(p.accountProof as string[]),
        storageProof: p.storageProof.map((e) => ({ ...e, proof: junk(e.proof) })),
      })),
    )
    try {
      const { result, meta, truth } = await proofAndTruth(rpc)
      assert.equal(meta.consistency, 'proven')
      assert.deepEqual(meta.sources, ['liar'], 'the padded proof proves: the liar answered')
      assert.deepEqual(result, truth)
    } finally {
      await rpc.close()
    }
  })

  it('a caller’s malformed parameters are the nodes’ to refuse, not a lie', async () => {
    const rpc = client(liar((p) => p))
    try {
      await assert.rejects(
        rpc.request({ method: 'eth_getProof', params: [store, ['0xnot-a-slot'], 'latest'] }),
      )
      assert.ok(rpc.status().sources.every((s) => s.breaker === 'closed'))
    } finally {
      await rpc.close()
    }
  })
})

describe('a state read at a height the client never saw as a head', () => {
  it('is proven there: its header walked down to from the trusted head', async () => {
    const rpc = client(liar((p) => p))
    try {
      await rpc.connect()
      const head = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
      const at = `0x${(head - 10).toString(16)}`
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getStorageAt',
        params: [store, '0x5', at],
      })
      assert.equal(meta.consistency, 'proven')
      assert.equal(meta.block?.number, head - 10)
      const block = await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', [at, false])
      assert.equal(meta.block?.hash, block.hash)
      assert.equal(result, await lab.anvil.rpc('eth_getStorageAt', [store, '0x5', at]))
    } finally {
      await rpc.close()
    }
  })

  it('under a light client, the block it verified at that height, asked by number', async () => {
    const head = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
    const at = `0x${(head - 6).toString(16)}`
    const block = await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', [at, false])
    const asked: unknown[] = []
    // It knows that one block, by number and by hash, and no newest one to walk down from.
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: labSources(lab, ['aws', 'gcp', 'home']),
      prover: proofs(),
      trustedHeader: async (b) => {
        asked.push(b)
        if ('number' in b)
          return b.number === BigInt(at) ? (block.hash as `0x${string}`) : undefined
        return 'hash' in b && b.hash.toLowerCase() === block.hash ? true : undefined
      },
    })
    try {
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getStorageAt',
        params: [store, '0x5', at],
      })
      assert.equal(meta.consistency, 'proven')
      assert.equal(meta.block?.hash, block.hash)
      assert.equal(result, await lab.anvil.rpc('eth_getStorageAt', [store, '0x5', at]))
      assert.ok(asked.some((b) => typeof b === 'object' && b !== null && 'number' in b))
    } finally {
      await rpc.close()
    }
  })

  it('a height above the head is not proven: it goes to the quorum, which has no such block', async () => {
    const rpc = client(liar((p) => p))
    try {
      await rpc.connect()
      const head = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
      await assert.rejects(
        rpc.request({
          method: 'eth_getBalance',
          params: [store, `0x${(head + 5).toString(16)}`],
        }),
      )
    } finally {
      await rpc.close()
    }
  })
})

function bump(entries: Proof['storageProof'], i: number): Proof['storageProof'] {
  return entries.map((e, j) => (j === i ? { ...e, value: plus1(e.value) } : e))
}

function swap(entries: Proof['storageProof']): Proof['storageProof'] {
  const [a, b, ...rest] = entries
  return [b!, a!, ...rest]
}
