/**
 * Proven answers (outlast/proofs): one honest source is enough, liars are caught by the proof
 * and cut off, and proven reads go on when an outage leaves a single source.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { type OutlastEvents, VerificationError } from '../src/index.ts'
import { proofs } from '../src/proofs/index.ts'
import { asProven, clientFor, threeDomains } from './helpers.ts'
import { devAccounts, type Lab, startLab } from './lab/index.ts'
import { deployAnswer, PING_INIT } from './workload.ts'

let lab: Lab
let contract: `0x${string}`
let txHash: string

/** Init code that stores 7 at slot 0 and 9 at slot 5 and deploys one STOP byte as code. */
const STORE_INIT = '0x6007600055600960055560016000f3'

beforeAll(async () => {
  lab = await startLab({ sources: threeDomains })
  contract = await deployAnswer(lab.anvil)
  const ping = await deployAnswer(lab.anvil, PING_INIT)
  txHash = await lab.anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[0].address, to: ping, data: `0x${'07'.padStart(64, '0')}` },
  ])
  for (let i = 0; i < 3; i++) await lab.anvil.rpc('evm_mine')
})
afterAll(() => lab.stop())

const reset = async () => {
  for (const p of lab.proxies) await p.setMode({ kind: 'ok' })
}
const truth = (method: string, params: unknown[]) => lab.anvil.rpc<string>(method, params)

describe('two of three sources lying with well-formed answers', () => {
  it('quorum alone returns the lie; proofs return the honest answer and cut the liars off', async () => {
    await reset()
    const lie = {
      kind: 'lie' as const,
      methods: ['eth_getBalance' as const, 'eth_getProof' as const],
    }
    await lab.proxy('aws').setMode(lie)
    await lab.proxy('gcp').setMode(lie)
    const who = devAccounts[1].address

    const quorumOnly = clientFor(lab)
    const lied = await quorumOnly.request({ method: 'eth_getBalance', params: [who, 'latest'] })
    assert.notEqual(
      lied,
      await truth('eth_getBalance', [who, 'latest']),
      'two colluding liars win a vote',
    )
    await quorumOnly.close()

    const rpc = clientFor(lab, { prover: proofs() })
    const lies: OutlastEvents['lie'][] = []
    rpc.on('lie', (e) => lies.push(e))
    let wrong = 0
    try {
      for (let i = 0; i < 50; i++) {
        const account = devAccounts[i % devAccounts.length]!.address
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_getBalance',
          params: [account, 'latest'],
        })
        if (
          result !==
          (await truth('eth_getBalance', [
            account,
            meta.block!.hash ? { blockHash: meta.block!.hash } : 'latest',
          ]))
        )
          wrong++
        assert.equal(meta.consistency, 'proven')
        assert.deepEqual(meta.sources, ['home'])
      }
      assert.equal(wrong, 0)
      assert.deepEqual(new Set(lies.map((l) => l.source)), new Set(['aws', 'gcp']))
      const byName = Object.fromEntries(rpc.status().sources.map((s) => [s.name, s]))
      assert.equal(byName.aws?.condition, 'lying')
      assert.equal(byName.gcp?.condition, 'lying')
      assert.match(byName.aws?.lastError ?? '', /lied: eth_getBalance: .*balance/)
    } finally {
      await rpc.close()
      await reset()
    }
  })

  it('when every source lies, the error names each liar', async () => {
    for (const p of lab.proxies) await p.setMode({ kind: 'lie', methods: ['eth_getProof'] })
    const rpc = clientFor(lab, { prover: proofs() })
    try {
      await assert.rejects(
        rpc.request({ method: 'eth_getBalance', params: [devAccounts[0].address, 'latest'] }),
        (e: Error) => {
          for (const name of ['aws', 'gcp', 'home'])
            assert.match(e.message, new RegExp(`${name}: failed the proof`))
          return true
        },
      )
    } finally {
      await rpc.close()
      await reset()
    }
  })
})

describe('an honest node whose state moved under it', () => {
  // anvil reads its head block's state live, and mining the next block changes it: now and then
  // it sends a proof for another block than the one asked for. Here home's first proof is its
  // parent block's; gcp sends its parent block's every time, and aws lies about the balance.
  it('is asked once more, not called a liar; the liars are', async () => {
    await reset()
    await lab.proxy('aws').setMode({ kind: 'lie', methods: ['eth_getProof'] })
    const moved = { home: 0, gcp: 0 }
    const parentBlock =
      (name: 'home' | 'gcp', times: number, inner: typeof fetch): typeof fetch =>
      async (input, init) => {
        const body = JSON.parse(String(init?.body))
        if (body.method === 'eth_getProof' && moved[name] < times) {
          const asked = body.params[2].blockHash
          const block = await lab.anvil.rpc<{ parentHash: string }>('eth_getBlockByHash', [
            asked,
            false,
          ])
          body.params[2] = { blockHash: block.parentHash }
          moved[name]++
        }
        return inner(input, { ...init, body: JSON.stringify(body) })
      }
    const rpc = clientFor(lab, { prover: proofs() }, (s) =>
      s.name === 'home'
        ? parentBlock('home', 1, s.proxy.fetch)
        : s.name === 'gcp'
          ? parentBlock('gcp', Number.POSITIVE_INFINITY, s.proxy.fetch)
          : s.proxy.fetch,
    )
    const lies: string[] = []
    rpc.on('lie', (e) => lies.push(e.source))
    try {
      for (const who of [devAccounts[2].address, devAccounts[3].address]) {
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_getBalance',
          params: [who, 'latest'],
        })
        assert.equal(meta.consistency, 'proven')
        assert.deepEqual(meta.sources, ['home'])
        assert.equal(result, await truth('eth_getBalance', [who, { blockHash: meta.block!.hash }]))
      }
      assert.equal(moved.home, 1, "home's first proof was its parent block's")
      assert.deepEqual(new Set(lies), new Set(['aws', 'gcp']))
      assert.ok(!lies.includes('home'))
      const home = rpc.status().sources.find((s) => s.name === 'home')
      assert.notEqual(home?.condition, 'lying')
    } finally {
      await rpc.close()
      await reset()
    }
  })
})

describe('an outage that leaves a single source', () => {
  it('proven reads keep working without quorum, and say they are proven', async () => {
    await reset()
    const rpc = clientFor(lab, { prover: proofs() })
    const losses: string[] = []
    rpc.on('quorumLoss', (e) => losses.push(e.method))
    try {
      await rpc.connect()
      await lab.proxy('aws').setMode({ kind: 'refused' })
      await lab.proxy('gcp').setMode({ kind: 'dns' })
      for (const [method, params] of [
        ['eth_getBalance', [devAccounts[0].address, 'latest']],
        ['eth_getTransactionCount', [devAccounts[0].address, 'latest']],
        ['eth_getCode', [contract, 'latest']],
        ['eth_getStorageAt', [contract, '0x0', 'latest']],
      ] as const) {
        const { result, meta } = await rpc.requestWithMeta({ method, params: [...params] })
        const at = [...params.slice(0, -1), { blockHash: meta.block!.hash }]
        assert.equal(result, await truth(method, at), method)
        assert.equal(meta.consistency, 'proven', method)
      }
      assert.deepEqual(losses, [], 'proven answers need no quorum')
    } finally {
      await rpc.close()
      await reset()
    }
  })
})

describe('proofs of every kind against anvil', () => {
  it('absent accounts, contracts with storage, absent slots, code', async () => {
    await reset()
    const deployed = await lab.anvil.rpc<string>('eth_sendTransaction', [
      { from: devAccounts[0].address, data: STORE_INIT },
    ])
    await lab.anvil.rpc('evm_mine')
    const store = (
      await lab.anvil.rpc<{ contractAddress: string }>('eth_getTransactionReceipt', [deployed])
    ).contractAddress
    await lab.anvil.rpc('evm_mine')
    const rpc = clientFor(lab, { prover: proofs() })
    const absent = '0x000000000000000000000000000000000000dEaD'
    try {
      const cases: [string, unknown[]][] = [
        ['eth_getBalance', [absent, 'latest']],
        ['eth_getTransactionCount', [absent, 'latest']],
        ['eth_getCode', [absent, 'latest']],
        ['eth_getCode', [store, 'latest']],
        ['eth_getStorageAt', [store, '0x0', 'latest']],
        ['eth_getStorageAt', [store, '0x5', 'latest']],
        ['eth_getStorageAt', [store, '0x2', 'latest']],
        ['eth_getStorageAt', [absent, '0x0', 'latest']],
      ]
      for (const [method, params] of cases) {
        const { result, meta } = await rpc.requestWithMeta({ method, params })
        assert.equal(meta.consistency, 'proven', `${method} ${params}`)
        const at = [...params.slice(0, -1), { blockHash: meta.block!.hash }]
        assert.equal(result, await truth(method, at), `${method} ${params}`)
      }
      const seven = await rpc.request({
        method: 'eth_getStorageAt',
        params: [store, '0x0', 'latest'],
      })
      assert.equal(BigInt(seven as string), 7n)
    } finally {
      await rpc.close()
    }
  })

  it('receipts are proven against receiptsRoot; a dropped log or flipped status is caught', async () => {
    await reset()
    const rpc = clientFor(lab, { prover: proofs() })
    try {
      await rpc.connect()
      const honest = asProven(
        await lab.anvil.rpc<{ status: string }>('eth_getTransactionReceipt', [txHash]),
      )
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getTransactionReceipt',
        params: [txHash],
      })
      assert.deepEqual(result, honest)
      assert.equal(meta.consistency, 'proven')
      await lab.proxy('aws').setMode({ kind: 'lie', methods: ['eth_getTransactionReceipt'] })
      await lab.proxy('gcp').setMode({ kind: 'lie', methods: ['eth_getBlockReceipts'] })
      const again = await rpc.requestWithMeta({
        method: 'eth_getTransactionReceipt',
        params: [txHash],
      })
      assert.deepEqual(again.result, honest)
      assert.deepEqual(again.meta.sources, ['home'])
    } finally {
      await rpc.close()
      await reset()
    }
  })

  it('logs of one block are proven against its receipts; a source dropping a log is caught', async () => {
    await reset()
    const rpc = clientFor(lab, { prover: proofs() })
    try {
      await rpc.connect()
      const { blockHash } = await lab.anvil.rpc<{ blockHash: string }>(
        'eth_getTransactionReceipt',
        [txHash],
      )
      const honest = await lab.anvil.rpc<unknown[]>('eth_getLogs', [{ blockHash }])
      assert.equal(honest.length, 1)
      await lab.proxy('aws').setMode({ kind: 'lie', methods: ['eth_getBlockReceipts'] })
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getLogs',
        params: [{ blockHash }],
      })
      assert.deepEqual(result, honest)
      assert.equal(meta.consistency, 'proven')
      assert.notDeepEqual(meta.sources, ['aws'])
    } finally {
      await rpc.close()
      await reset()
    }
  })

  it('proof checks are VerificationErrors, not crashes', () => {
    assert.equal(new VerificationError('x').name, 'VerificationError')
  })
})

describe('round trips', () => {
  it('a proven eth_getCode asks for the proof and the code together (one round trip)', async () => {
    const asked: string[] = []
    const pending: (() => void)[] = []
    const ctx = {
      header: { hash: `0x${'11'.repeat(32)}`, stateRoot: `0x${'22'.repeat(32)}` },
      trusted: async () => undefined,
      call: (method: string) => {
        asked.push(method)
        return new Promise((_, reject) => pending.push(() => reject(new Error('source gone'))))
      },
    } as never
    const answering = proofs().answer('eth_getCode', [contract, 'latest'], ctx)
    for (let i = 0; i < 5; i++) await Promise.resolve()
    assert.deepEqual(
      asked.toSorted(),
      ['eth_getCode', 'eth_getProof'],
      'both asked before either answered',
    )
    for (const fail of pending) fail()
    await assert.rejects(answering, /source gone/)
    assert.equal(proofs().roundTrips?.('eth_getCode'), 1)
  })
})
