import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { ConfigError } from '../shared/errors.ts'
import { loadsOverNetwork } from '../shared/runtime.ts'
import { eip1193 } from '../sources/eip1193.ts'
import { createOutlast } from './createOutlast.ts'
import type { Prover } from './prover.ts'

const chainOne = {
  request: async ({ method }: { method: string }) => {
    if (method === 'eth_chainId') return '0x1'
    throw new Error(`not in this test: ${method}`)
  },
}

/** A prover that answers nothing and counts its preloads. */
function countingProver(): Prover & { preloads: number } {
  const p = {
    preloads: 0,
    methods: new Set<string>(),
    stateMethods: new Set<string>(),
    answer: async () => undefined,
    preload: async () => {
      p.preloads++
    },
  }
  return p
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Until `fn()`, at most 2 s (preload.ts itself loads first). */
async function until(fn: () => boolean) {
  for (const end = Date.now() + 2_000; !fn() && Date.now() < end; ) await sleep(10)
}

describe('preload: what loads on first use, loaded ahead once a first answer is out', () => {
  it('runs after the first answer, once, and not before', async () => {
    const prover = countingProver()
    const rpc = createOutlast({
      chainId: 1,
      sources: [eip1193(chainOne)],
      prover,
      preload: true,
    })
    await rpc.request({ method: 'eth_blockNumber' }).catch(() => {}) // fails: no answer yet
    await sleep(300)
    assert.equal(prover.preloads, 0, 'nothing loads before an answer')
    // eth_chainId is answered locally, from the configured chain id: an answer all the same.
    await rpc.request({ method: 'eth_chainId' })
    await until(() => prover.preloads > 0)
    assert.equal(prover.preloads, 1)
    await rpc.request({ method: 'eth_chainId' })
    await sleep(300)
    assert.equal(prover.preloads, 1, 'once per client')
    await rpc.close()
  })

  it('on by default in a browser, off in Node (its modules are local files); off when false', async () => {
    assert.equal(loadsOverNetwork(), typeof document !== 'undefined')
    for (const preload of [undefined, false]) {
      const prover = countingProver()
      const rpc = createOutlast({
        chainId: 1,
        sources: [eip1193(chainOne)],
        prover,
        ...(preload === undefined ? {} : { preload }),
      })
      await rpc.request({ method: 'eth_chainId' })
      const expected = preload === undefined && loadsOverNetwork() ? 1 : 0
      await (expected ? until(() => prover.preloads > 0) : sleep(300))
      assert.equal(prover.preloads, expected)
      await rpc.close()
    }
  })

  it('a preload that is not a boolean is a ConfigError naming it', () => {
    assert.throws(
      () => createOutlast({ chainId: 1, sources: [eip1193(chainOne)], preload: 'yes' as never }),
      (e: unknown) => e instanceof ConfigError && /preload/.test(e.message),
    )
  })
})
