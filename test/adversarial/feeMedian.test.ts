/**
 * Trust, fee figures: one fast source cannot set `eth_gasPrice`, `eth_maxPriorityFeePerGas` or
 * `eth_blobBaseFee`, whatever figure it answers; the median needs two domains where two are
 * reachable, and during a breaker cool-down the figures come from the reserve.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type Source } from '../../src/index.ts'
import { CHAIN_ID, resetLab, sleep, threeDomains } from '../helpers.ts'
import { type Lab, startLab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLab({
    sources: [...threeDomains, { name: 'fast-liar', domain: 'liar-host', latency: 0 }],
  })
})
afterAll(() => lab.stop())

const methods = ['eth_gasPrice', 'eth_maxPriorityFeePerGas', 'eth_blobBaseFee'] as const
const figures = [0n, 1n, 2n ** 64n, 2n ** 256n - 1n]

const honest = (names: string[] = ['aws', 'gcp', 'home']) => labSources(lab, names)

/** The fastest source, in its own domain, answering `figure` to every fee method. */
const liar = (figure: bigint): Source =>
  hostile(
    http(lab.proxy('fast-liar').url, { name: 'fast-liar', domain: 'liar-host' }),
    async (method, _params, answer) =>
      (methods as readonly string[]).includes(method) ? `0x${figure.toString(16)}` : answer(),
  )

describe('a fast source answering any fee figure', () => {
  for (const figure of figures)
    for (const others of [['aws', 'gcp', 'home'], ['aws']])
      it(`${figure === 2n ** 256n - 1n ? '2^256-1' : figure} beside ${others.length} honest domain(s): never the answer`, async () => {
        await resetLab(lab)
        const rpc = createOutlast({ chainId: CHAIN_ID, sources: [liar(figure), ...honest(others)] })
        try {
          for (const method of methods) {
            for (let i = 0; i < 3; i++) {
              // The chain's own figure moves block by block: it is read before and after.
              const before = BigInt(await lab.anvil.rpc<string>(method))
              const { result, meta } = await rpc.requestWithMeta({ method })
              const after = BigInt(await lab.anvil.rpc<string>(method))
              const [lo, hi] = before < after ? [before, after] : [after, before]
              const got = BigInt(result as string)
              // With two domains the lower figure stands: the liar can only push it down.
              if (others.length === 1 && figure < lo) assert.equal(got, figure)
              else assert.ok(got >= lo && got <= hi, `${method}: ${got} (chain ${lo}..${hi})`)
              assert.equal(meta.consistency, 'median')
              assert.ok(meta.domains.length >= 2, `${method} from ${meta.domains.join(', ')}`)
            }
          }
        } finally {
          await rpc.close()
        }
      })
})

describe('fee figures during a breaker cool-down', () => {
  it('come from the reserve, flagged degraded when one domain answers', async () => {
    await resetLab(lab)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: honest(['aws', 'gcp']).map((s) => ({ ...s })),
      breaker: { threshold: 1, cooldown: 5_000 },
    })
    try {
      await rpc.request({ method: 'eth_gasPrice' })
      await lab.proxy('aws').setMode({ kind: 'refused' })
      await lab.proxy('gcp').setMode({ kind: 'http5xx' })
      await rpc.request({ method: 'eth_gasPrice' }).catch(() => {})
      await lab.proxy('gcp').setMode({ kind: 'ok' })
      await sleep(50)
      // gcp's breaker is open for 5 s; it is the reserve and must answer.
      // The gas price follows the base fee: a block mined meanwhile may change it.
      const before = BigInt(await lab.anvil.rpc<string>('eth_gasPrice'))
      const { result, meta } = await rpc.requestWithMeta({ method: 'eth_gasPrice' })
      const after = BigInt(await lab.anvil.rpc<string>('eth_gasPrice'))
      assert.ok(
        [before, after].includes(BigInt(result as string)),
        `${result}: ${before} or ${after}`,
      )
      assert.equal(meta.consistency, 'degraded')
      assert.deepEqual(meta.sources, ['gcp'])
    } finally {
      await rpc.close()
    }
  })
})
