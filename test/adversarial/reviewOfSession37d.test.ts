/**
 * Review of cae11a0 (handlers/send.ts `sendToAll`: with `privateTransactions: 'fallback'` the
 * private routes get half the time left; shared/route.ts `badRoute`: a route naming
 * eth_sendRawTransactionSync without eth_sendRawTransaction is a ConfigError; subscriptions.ts
 * `deliver`: a change's own blocks stay owed) in its context 4183c5c (sync sends reach the
 * nodes as eth_sendRawTransaction). Real anvil behind the lab's proxies; the private route is
 * the `liar` proxy in its own domain, wrapped by `hostile`. Findings are
 * `it.fails('correct behaviour: …')`; `Held: …` are attacks that failed.
 *
 * Found: (filled in below as the tests land)
 */
import assert from 'node:assert/strict'
import { keccak256 } from 'viem'
import { afterAll, afterEach, beforeAll, describe, it, vi } from 'vitest'
import { createOutlast, http, RpcResponseError, type Source } from '../../src/index.ts'
import { CHAIN_ID, transfers } from '../helpers.ts'
import type { Lab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'
import { startLiarLab } from './proxiedLiar.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('private routes after cae11a0 (lab)', () => {
  let lab: Lab
  beforeAll(async () => {
    lab = await startLiarLab()
  })
  afterAll(() => lab.stop())

  const honest = (names: string[]) => labSources(lab, names)
  const { sign, nonceNow } = transfers(() => lab.anvil)
  type Err = { code?: number; data?: unknown; message: string }
  type Rpc = ReturnType<typeof createOutlast>

  async function request(rpc: Rpc, method: string, params: unknown[], cap = 20_000) {
    const started = Date.now()
    const out = await Promise.race([
      rpc.request({ method, params }).then(
        (r) => ({ result: r as unknown, error: undefined as Err | undefined, hung: false }),
        (e: Err) => ({ result: undefined as unknown, error: e, hung: false }),
      ),
      sleep(cap).then(() => ({ result: undefined as unknown, error: undefined, hung: true })),
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
  const publicOnes = (sends: string[]) => sends.filter((x) => !x.startsWith('protect'))

  /** The private route: the liar proxy (its own domain), `rewrite` on top, sends counted. */
  const protect = (
    sends: string[],
    methods: { include?: string[]; exclude?: string[] },
    rewrite: Parameters<typeof hostile>[1] = (_m, _p, answer) => answer(),
    extra: Record<string, unknown> = {},
  ): Source =>
    counted(sends)(
      hostile(
        http(lab.proxy('liar').url, { name: 'protect', domain: 'liar-host', methods, ...extra }),
        rewrite,
      ),
    )
  const publicSources = (sends: string[]) => honest(['aws', 'gcp']).map(counted(sends))

  const SYNC = 'eth_sendRawTransactionSync'
  const PLAIN = 'eth_sendRawTransaction'

  /**
   * `Date.now()` rounded down to even milliseconds: with an odd timeout the private routes' cut
   * `(Date.now() + deadline) / 2` is always x.5 ms, with an even one always whole (the parity
   * decides finding 1; without this it is a coin toss per send).
   */
  function evenClock() {
    const real = Date.now.bind(Date)
    vi.spyOn(Date, 'now').mockImplementation(() => {
      const t = real()
      return t - (t % 2)
    })
  }
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it.fails("correct behaviour: privateTransactions 'fallback', a prompt honest private route: the transaction goes to it and never to the public sources, whatever the clock's parity (a cut (now + deadline) / 2 of x.5 ms makes AbortSignal.timeout throw: the private route is skipped)", async () => {
    evenClock() // timeout odd: the cut is x.5 ms on every send
    const sends: string[] = []
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      privateTransactions: 'fallback',
      sources: [...publicSources(sends), protect(sends, { include: [PLAIN, 'eth_chainId'] })],
      timeout: 4_001,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNow())
      const plain = await rpc.requestWithMeta({ method: PLAIN, params: [raw] })
      const raw2 = await sign(await nonceNow())
      const sync = await request(rpc, SYNC, [raw2, 3_001])
      assert.deepEqual(
        sends,
        [`protect ${PLAIN}`, `protect ${PLAIN}`],
        `plain: ${plain.result} from ${plain.meta.sources.join(', ')}; sync: ${sync.error?.message ?? 'receipt'}; the private route asked ${sends.filter((x) => x.startsWith('protect')).length} times, the public sources: ${publicOnes(sends).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it.fails("correct behaviour: privateTransactions 'fallback', a slow but honest private route (it takes the transaction and answers after ~65 % of the 4 s timeout): the public sources are never sent it, and the route's acceptance is counted", async () => {
    const sends: string[] = []
    const slow = protect(sends, { include: [PLAIN, 'eth_chainId'] }, async (method, _p, answer) => {
      if (!method.startsWith(PLAIN)) return answer()
      const r = await answer() // forwarded: anvil has it
      await sleep(2_600)
      return r
    })
    evenClock() // timeout even: the cut is whole (finding 1 out of the way)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      privateTransactions: 'fallback',
      sources: [...publicSources(sends), slow],
      timeout: 4_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNow())
      const started = Date.now()
      const r = await rpc.requestWithMeta({ method: PLAIN, params: [raw] })
      const took = Date.now() - started
      // The answer itself is right: the public nodes' "nonce too low" (the route forwarded it,
      // anvil mined it) is read as known by two domains: the hash.
      assert.equal(r.result, keccak256(raw))
      assert.deepEqual(
        publicOnes(sends),
        [],
        `the private route took it (answering at ~2.6 s), yet at ${took} ms the public sources had been sent it too; counted: ${r.meta.sources.join(', ')}; sends ${sends.join(', ')}`,
      )
      assert.ok(r.meta.sources.includes('protect'), 'the private route is not counted')
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it.fails("correct behaviour: privateTransactions 'strict', the private route once answers eth_chainId with another chain (a glitch, a wrong backend behind a load balancer): the next transactions are never sent to the public sources", async () => {
    const sends: string[] = []
    let glitch = true
    const route = protect(
      sends,
      { include: [PLAIN, 'eth_chainId'] },
      async (method, _p, answer) => {
        if (method === 'eth_chainId' && glitch) {
          glitch = false
          return '0x2'
        }
        return answer()
      },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [...publicSources(sends), route],
      timeout: 4_000,
    })
    await warm(rpc)
    try {
      const told: string[] = []
      for (let i = 0; i < 2; i++) {
        const raw = await sign(await nonceNow())
        const out = await request(rpc, PLAIN, [raw])
        told.push(out.error ? `${out.error.code} ${out.error.message}` : String(out.result))
      }
      assert.deepEqual(
        publicOnes(sends),
        [],
        `strict, yet public sources were sent the transactions (told: ${told.join(' | ')}; sends ${sends.join(', ')})`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it.fails("correct behaviour: privateTransactions 'strict', a private route marked untrusted (a third-party relay trusted for nothing but sends): refused at construction, or the transaction stays on it; never sent to the public sources", async () => {
    const sends: string[] = []
    let rpc: Rpc
    try {
      rpc = createOutlast({
        chainId: CHAIN_ID,
        sources: [
          ...publicSources(sends),
          protect(sends, { include: [PLAIN, 'eth_chainId'] }, undefined, { untrusted: true }),
        ],
        timeout: 4_000,
      })
    } catch {
      return // a ConfigError: correct
    }
    await warm(rpc)
    try {
      const raw = await sign(await nonceNow())
      const out = await request(rpc, PLAIN, [raw])
      assert.deepEqual(
        publicOnes(sends),
        [],
        `strict, yet public sources were sent it (told ${out.error?.message ?? out.result}; sends ${sends.join(', ')})`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it.fails('correct behaviour: a route that names both send methods in include and excludes eth_sendRawTransaction (a private route for sync sends only, the 37c shape through exclude) is refused at construction, or a sync send stays private', async () => {
    const sends: string[] = []
    let rpc: Rpc
    try {
      rpc = createOutlast({
        chainId: CHAIN_ID,
        sources: [
          ...publicSources(sends),
          protect(sends, { include: [SYNC, PLAIN, 'eth_chainId'], exclude: [PLAIN] }),
        ],
        timeout: 10_000,
      })
    } catch {
      return // a ConfigError: correct
    }
    await warm(rpc)
    try {
      const raw = await sign(await nonceNow())
      const out = await request(rpc, SYNC, [raw, 5_000])
      assert.deepEqual(
        publicOnes(sends),
        [],
        `public sources were sent the private sync send (told ${out.error?.message ?? 'its receipt'}; sends ${sends.join(', ')})`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it.fails("correct behaviour: a route with include ['eth_sendRawTransactionSync', 'eth_sendRawTransaction*'] (passes badRoute: the wildcard matches) is private for both sends, or refused: a plain send never goes to the public sources while a sync send stays private", async () => {
    const sends: string[] = []
    let rpc: Rpc
    try {
      rpc = createOutlast({
        chainId: CHAIN_ID,
        sources: [
          ...publicSources(sends),
          protect(sends, { include: [SYNC, 'eth_sendRawTransaction*', 'eth_chainId'] }),
        ],
        timeout: 10_000,
      })
    } catch {
      return // a ConfigError: correct
    }
    await warm(rpc)
    try {
      const raw = await sign(await nonceNow())
      const sync = await request(rpc, SYNC, [raw, 5_000])
      const syncPublic = publicOnes(sends).length
      const raw2 = await sign(await nonceNow())
      const plain = await request(rpc, PLAIN, [raw2])
      assert.deepEqual(
        publicOnes(sends),
        [],
        `sync ${syncPublic ? 'went public' : 'stayed private'} (${sync.error?.message ?? 'receipt'}), plain told ${plain.error?.message ?? plain.result}; sends ${sends.join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Held: privateTransactions 'fallback', liars on both sides: the private route refusing at once ('insufficient funds') and a public liar (home) refusing beside aws and gcp: a plain send is the hash, a sync send its receipt; never the liars' refusal", async () => {
    const sends: string[] = []
    const refuse = async (
      method: string,
      _p: readonly unknown[],
      answer: () => Promise<unknown>,
    ) => {
      if (method.startsWith(PLAIN))
        throw new RpcResponseError('x', {
          code: -32000,
          message: 'insufficient funds for gas * price + value',
        })
      return answer()
    }
    const [home] = honest(['home'])
    evenClock() // timeout even: the private route is asked (finding 1 out of the way)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      privateTransactions: 'fallback',
      sources: [
        ...publicSources(sends),
        counted(sends)(hostile(home!, refuse)),
        protect(sends, { include: [PLAIN, 'eth_chainId'] }, refuse),
      ],
      timeout: 10_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNow())
      const plain = await request(rpc, PLAIN, [raw])
      assert.equal(plain.result, keccak256(raw), `${plain.error?.code} ${plain.error?.message}`)
      const raw2 = await sign(await nonceNow())
      const sync = await request(rpc, SYNC, [raw2, 5_000])
      assert.equal(
        (sync.result as { transactionHash?: string } | undefined)?.transactionHash,
        keccak256(raw2),
        `${sync.error?.code} ${sync.error?.message}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Held: privateTransactions 'strict' (unchanged by cae11a0), the private route silent on sends: a 1 s sync send is refused within timeout + 2 s and the public sources are never sent it", async () => {
    const sends: string[] = []
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [
        ...publicSources(sends),
        protect(sends, { include: [PLAIN, 'eth_chainId'] }, async (method, _p, answer) =>
          method.startsWith(PLAIN) ? new Promise(() => {}) : answer(),
        ),
      ],
      timeout: 15_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNow())
      const out = await request(rpc, SYNC, [raw, 1_000])
      assert.ok(
        out.error && !out.hung && out.took < 3_000,
        `took ${out.took} ms, ${out.error?.message}`,
      )
      assert.deepEqual(publicOnes(sends), [])
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Held: badRoute refuses no legitimate route: include eth_*, eth_send*, eth_sendRawTransaction*, exclude eth_sendRawTransactionSync or eth_send* all construct', async () => {
    const routes = [
      { include: ['eth_*'] },
      { include: ['eth_send*', 'eth_chainId'] },
      { include: ['eth_sendRawTransaction*', 'eth_chainId'] },
      { include: [PLAIN, SYNC, 'eth_chainId'] },
      { exclude: [SYNC] },
      { exclude: ['eth_send*'] },
      { include: ['eth_*'], exclude: [SYNC] },
    ]
    for (const methods of routes) {
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        sources: [...honest(['aws', 'gcp']), protect([], methods)],
      })
      await rpc.close()
    }
    for (const include of [[SYNC], ['eth_sendRawTransactionSync*'], ['eth_sendRawTransactionS*']])
      assert.throws(
        () =>
          createOutlast({
            chainId: CHAIN_ID,
            sources: [...honest(['aws', 'gcp']), protect([], { include })],
          }),
        /names eth_sendRawTransactionSync but not eth_sendRawTransaction/,
      )
  })
})
