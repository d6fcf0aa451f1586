/**
 * Review of 4183c5c (sync sends reach the nodes as eth_sendRawTransaction; the code-4 branch of
 * broadcast.ts `errorVerdict` removed; headChoice.ts `accepts` with `disowned`) and f4ec35e
 * (subscriptions.ts `deliver`: logs owed past 256 blocks let go, a filter that lost them dropped).
 * Real anvil behind the lab's proxies, a hostile source in its own domain (`liar-host`); the
 * stream tests run createSubscriptions over an in-memory node. Each finding is an
 * `it.fails('correct behaviour: …')`; `Held: …` are attacks that failed.
 *
 * HEADER: filled in below as the review goes.
 */
import assert from 'node:assert/strict'
import { keccak256, toHex } from 'viem'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { matcherOf, matches, type RpcLog } from '../../src/core/follow/logs.ts'
import { createSubscriptions } from '../../src/core/follow/subscriptions.ts'
import { createOutlast, http, RpcResponseError, type Source } from '../../src/index.ts'
import { CHAIN_ID, transfers } from '../helpers.ts'
import type { Lab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'
import { startLiarLab } from './proxiedLiar.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('sends (lab)', () => {
  let lab: Lab
  beforeAll(async () => {
    lab = await startLiarLab()
  })
  afterAll(() => lab.stop())

  const honest = (names: string[]) => labSources(lab, names)
  const { sign, nonceNow } = transfers(() => lab.anvil)
  type Err = { code?: number; data?: unknown; message: string }
  type Rpc = ReturnType<typeof createOutlast>

  async function sendSync(rpc: Rpc, params: unknown[], cap = 20_000) {
    const started = Date.now()
    const out = await Promise.race([
      rpc.request({ method: 'eth_sendRawTransactionSync', params }).then(
        (r) => ({ result: r as Record<string, unknown>, error: undefined, hung: false }),
        (e: Err) => ({ result: undefined, error: e, hung: false }),
      ),
      sleep(cap).then(() => ({ result: undefined, error: undefined, hung: true })),
    ])
    return { ...out, took: Date.now() - started }
  }

  async function warm(rpc: Rpc) {
    for (let i = 0; i < 3; i++)
      await rpc
        .request({ method: 'eth_getBalance', params: [`0x${'11'.repeat(20)}`, 'latest'] })
        .catch(() => {})
  }

  /** Counts every send a source is asked (by source name and method). */
  const counted = (sends: string[]) => (src: Source) =>
    hostile(src, async (method, _p, answer) => {
      if (method.startsWith('eth_sendRawTransaction')) sends.push(`${src.config.name} ${method}`)
      return answer()
    })

  it.fails('correct behaviour: a sync send with a private route that names only eth_sendRawTransactionSync goes to that route alone, never to the public sources', async () => {
    const sends: string[] = []
    const protect = counted(sends)(
      http(lab.proxy('liar').url, {
        name: 'protect',
        domain: 'liar-host',
        methods: { include: ['eth_sendRawTransactionSync', 'eth_chainId'] },
      }),
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [...honest(['aws', 'gcp']).map(counted(sends)), protect],
      timeout: 15_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNow())
      const { result, error } = await sendSync(rpc, [raw, '0x1388'])
      assert.deepEqual(
        sends.filter((x) => !x.startsWith('protect')),
        [],
        `public sources got the private transaction (the caller got ${result ? 'its receipt' : error?.message}); sends: ${sends.join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})
