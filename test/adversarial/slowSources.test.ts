/**
 * Time against hostile sources: one source that trickles its answers (here: its chain id comes
 * after 5 s) must not hold `connect()` up once a quorum of domains is checked.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http } from '../../src/index.ts'
import { CHAIN_ID, sleep, threeDomains } from '../helpers.ts'
import { type Lab, startLab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLab({ sources: [...threeDomains, { name: 'slow', domain: 'slow-host' }] })
})
afterAll(() => lab.stop())

describe('connect() beside a source that trickles', () => {
  it('returns once a quorum of domains is checked', async () => {
    const slow = hostile(
      http(lab.proxy('slow').url, { name: 'slow', domain: 'slow-host' }),
      async (method, _params, answer) => {
        if (method === 'eth_chainId') await sleep(5_000)
        return answer()
      },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [slow, ...labSources(lab, ['aws', 'gcp', 'home'])],
    })
    try {
      const started = Date.now()
      await rpc.connect()
      assert.ok(Date.now() - started < 2_000, `connect() took ${Date.now() - started} ms`)
      assert.ok(rpc.status().quorum.met)
    } finally {
      await rpc.close()
    }
  })
})
