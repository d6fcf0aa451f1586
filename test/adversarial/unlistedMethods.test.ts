/**
 * Methods outlast does not list, and lookups it can check alone: no read is answered by one
 * source unless it can be checked. An unlisted method needs agreement across domains (a hostile
 * fastest source's answer never stands alone); raw transaction bytes must hash to the hash
 * asked for; `web3_sha3` is computed locally.
 */
import assert from 'node:assert/strict'
import { keccak256, toHex } from 'viem'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type Source } from '../../src/index.ts'
import { CHAIN_ID, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'

let lab: Lab
let txHash: `0x${string}`
beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [...threeDomains, { name: 'liar', domain: 'liar-host', latency: 0 }],
  })
  txHash = await lab.anvil.rpc('eth_sendTransaction', [
    { from: devAccounts[1].address, to: devAccounts[2].address, value: '0x7' },
  ])
})
afterAll(() => lab.stop())

const honest = (names: string[]) => labSources(lab, names)

/** The fastest source, rewriting every answer to `methods` with `lie`. */
const liar = (methods: string[], lie: (real: unknown) => unknown): Source =>
  hostile(
    http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' }),
    async (method, _params, answer) => (methods.includes(method) ? lie(await answer()) : answer()),
  )

// Methods anvil serves that are in no table of outlast's.
const unlisted = [
  { method: 'eth_getAccount', params: () => [devAccounts[1].address, 'latest'] },
  { method: 'anvil_getAutomine', params: () => [] },
  { method: 'anvil_nodeInfo', params: () => [] },
] as const

describe('a method outlast does not list', () => {
  for (const { method, params } of unlisted)
    it(`${method}: the fastest source's altered answer never stands alone`, async () => {
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        sources: [
          liar([method], (real) =>
            typeof real === 'boolean' ? !real : { ...(real as object), forged: true },
          ),
          ...honest(['aws', 'gcp', 'home']),
        ],
      })
      try {
        const { result, meta } = await rpc.requestWithMeta({ method, params: [...params()] })
        assert.deepEqual(result, await lab.anvil.rpc(method, [...params()]))
        assert.equal(meta.policy, 'quorum')
        assert.equal(meta.consistency, 'agreed')
        assert.ok(!meta.sources.includes('liar'))
        assert.ok(meta.domains.length >= 2)
      } finally {
        await rpc.close()
      }
    })

  it('with only the liar and one honest domain, the split is an error, never the lie', async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [
        liar(['eth_getAccount'], (real) => ({ ...(real as object), balance: '0x1' })),
        ...honest(['aws']),
      ],
    })
    try {
      await assert.rejects(
        rpc.request({ method: 'eth_getAccount', params: [devAccounts[1].address, 'latest'] }),
        /agreed by 2 failure domains/,
      )
    } finally {
      await rpc.close()
    }
  })
})

describe('a split asked again', () => {
  it('whose honest side falls silent is an error, never the liar degraded', async () => {
    // aws answers the first eth_getAccount, then goes silent on it: the re-ask of the split
    // gets only the liar's answer, and aws's attempt times out.
    let asked = 0
    const aws = lab.proxy('aws')
    const silentAfterOne: typeof fetch = (input, init) => {
      const body = JSON.parse(String(init?.body)) as { method?: string }
      if (body.method !== 'eth_getAccount' || ++asked === 1) return aws.fetch(input, init)
      return new Promise((_resolve, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      )
    }
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [
        liar(['eth_getAccount'], (real) => ({ ...(real as object), balance: '0x1' })),
        http(aws.url, {
          name: 'aws',
          domain: 'aws-us-east-1',
          fetchFn: silentAfterOne,
          timeout: 500,
        }),
      ],
    })
    try {
      await assert.rejects(
        rpc.request({ method: 'eth_getAccount', params: [devAccounts[1].address, 'latest'] }),
        (e: Error) => {
          assert.match(e.message, /agreed by 2 failure domains/)
          assert.match(e.message, /liar \(liar-host\) answered/)
          return true
        },
      )
      assert.equal(asked, 2, 'the split was asked again')
    } finally {
      await rpc.close()
    }
  })
})

describe('raw transaction lookups', () => {
  for (const [name, lie] of [
    ['another transaction', async () => lab.anvil.rpc('eth_getRawTransactionByHash', [txHash])],
    [
      'altered bytes',
      async () =>
        `${(await lab.anvil.rpc<string>('eth_getRawTransactionByHash', [txHash])).slice(0, -2)}00`,
    ],
  ] as const)
    it(`${name} under the hash asked for is refused; the real bytes stand alone`, async () => {
      const other = await lab.anvil.rpc<`0x${string}`>('eth_sendTransaction', [
        { from: devAccounts[2].address, to: devAccounts[0].address, value: '0x1' },
      ])
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        sources: [liar(['eth_getRawTransactionByHash'], () => lie()), ...honest(['aws', 'gcp'])],
      })
      try {
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_getRawTransactionByHash',
          params: [other],
        })
        assert.equal(keccak256(result as `0x${string}`), other)
        assert.equal(meta.consistency, 'verified')
        assert.ok(!meta.sources.includes('liar'))
        assert.match(
          rpc.status().sources.find((s) => s.name === 'liar')?.lastError ?? '',
          /does not hash/,
        )
      } finally {
        await rpc.close()
      }
    })
})

describe('web3_sha3', () => {
  it('is computed locally: no source can answer it', async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [liar(['web3_sha3'], () => `0x${'00'.repeat(32)}`), ...honest(['aws'])],
    })
    try {
      for (const text of ['', 'outlast', 'x'.repeat(1_000)]) {
        const data = toHex(text)
        assert.equal(await rpc.request({ method: 'web3_sha3', params: [data] }), keccak256(data))
      }
      await assert.rejects(rpc.request({ method: 'web3_sha3', params: ['0xabc'] }), /hex string/)
      assert.equal(lab.proxy('liar').stats.byMethod.web3_sha3 ?? 0, 0)
    } finally {
      await rpc.close()
    }
  })
})
