/**
 * Review of fee figures, sends and `outlast/execute` under quorums wider than two domains
 * (`quorum: { domains: 3 }` and `{ domains: 3, sources: 3 }`), three or four domains, one of them
 * a hostile source in its own domain (fastest, over its own lab proxy so it can also flap
 * between up and out): well-formed, correctly hashed, wrong answers. Real anvil, mined on
 * arrival. reviewOfWiderQuorums left these paths untried; hostileFeesAndSends, broadcastTruth
 * and hostileExecution tried them at the default quorum of two.
 *
 * Found (each failed on the code before, for the hole's own reason; fixed):
 * 1. A fee figure under a quorum of three was a `median` of two domains: handlers/fees.ts passed
 *    `Math.min(2, quorum.domains)` to median.ts, so with two honest domains of three out the
 *    liar's figure and one honest figure made the median (of two, the lower: the liar's alone,
 *    eth_gasPrice 1669921 against the chain's 1669921875), labelled `median` ("a fee figure no
 *    single source set"), not `degraded`, no `quorumLoss` event, and answered under
 *    onQuorumLoss 'fail' where every state read at that moment failed. Now the median needs
 *    `quorum.domains` (at most three) domains: two are `degraded`, or QuorumLostError under
 *    'fail'.
 * 2. The same with all four domains configured and one honest domain merely hung (blackholed):
 *    the liar (fastest) and one honest domain answered, far apart, the third asked was waited for
 *    ~2 of its round trips, then the lower of two stood: the liar's figure, `median`, in ~135 ms
 *    (also at the default quorum of two, where it is the documented "of two, the lower"). With
 *    only fix 1 it came back `degraded` (QuorumLostError under 'fail') though three domains were
 *    up. Now (median.ts `settle`, `wait`) under a quorum of three two close figures do not end the
 *    wait early, and two domains past their patience ask one more domain (a hedge): the chain's
 *    figure from three domains in well under a second. Quorums of one and two are unchanged.
 *
 * Held (each asserted on concrete values and labels below):
 * - Fee figures (gas price, priority fee, blob base fee), the liar 100x or 1/1000 of the chain,
 *   every honest domain up, `{ domains: 3 }` and `{ domains: 3, sources: 3 }`: the chain's
 *   figure, `median` of three domains; the liar flapping (refused, blackhole, up): the same.
 * - eth_feeHistory (base fees and rewards rewritten) and eth_estimateGas (3x): agreed by the three
 *   honest domains when three are up; with fewer honest domains up than the quorum, a
 *   QuorumError or QuorumLostError, never the liar's figure nor the honest one labelled agreed.
 * - Sends: a fake acceptance or a fake "already known" of a spent nonce with 3, 2 or 1 honest
 *   domains up (also `sources: 3`, 'fail'): the honest "nonce too low", never "sent" (a lone
 *   acceptance against a rejection stands only if a second domain knows the transaction, and
 *   the liar is not asked that); flapping, the same. A fake rejection with 3 or 2 honest domains
 *   up: the real send `verified` by honest domains only, the transaction mined. Every honest
 *   domain out: the liar's fake "sent" is the hash, `degraded`, with a `quorumLoss` event.
 * - `outlast/execute` (eth_call and eth_estimateGas), the liar fastest with real proofs of an
 *   older block, a lying hint and lying answers: every answer `proven` and the chain's at the
 *   block named, with 3, 2 and 1 honest domains up and the liar flapping; only the liar called a
 *   liar; alone, nothing of its own is checked (AllSourcesFailedError, or its lone answer by quorum,
 *   `degraded`, when no proof could be tried in time).
 *
 * Noticed, not changed: a send ignores onQuorumLoss 'fail' (a lone domain's "sent" is `degraded`,
 * never QuorumLostError: the transaction is out, an error would invite a resend); a send's
 * `verified` needs two domains whatever the quorum (the hash is computed locally; an honest
 * acceptance is real), and with one honest domain up the liar's rejection beats its acceptance
 * (README: "with two domains, a lying rejection can make an honest send look failed").
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { execute } from '../../src/execute/index.ts'
import {
  createOutlast,
  type Outlast,
  type OutlastEvents,
  type OutlastOptions,
  RpcResponseError,
  type Source,
} from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { CHAIN_ID, resetLab, sleep, transfers } from '../helpers.ts'
import { devAccounts, type Lab } from '../lab/index.ts'
import { flap, honestOf, liarOf, startLiarLab } from './proxiedLiar.ts'

type Hex = `0x${string}`

let lab: Lab
beforeAll(async () => {
  lab = await startLiarLab()
}, 30_000)
afterAll(() => lab.stop())

const ALL = ['aws', 'gcp', 'home'] as const
const honest = (names: readonly string[]) => honestOf(lab, names, 1_000)

const liarWith = (
  rewrite: (method: string, params: readonly unknown[], real: () => Promise<unknown>) => unknown,
): Source => liarOf(lab, rewrite)

const FEES = ['eth_gasPrice', 'eth_maxPriorityFeePerGas', 'eth_blobBaseFee'] as const

/** A liar whose fee figures are the chain's times `num / den` (any other answer the chain's). */
const feeLiar = (num: bigint, den: bigint) =>
  liarWith(async (method, _params, real) => {
    const answer = await real()
    if (!(FEES as readonly string[]).includes(method)) return answer
    return `0x${((BigInt(answer as string) * num) / den).toString(16)}`
  })

async function warm(rpc: Outlast) {
  for (let i = 0; i < 3; i++) {
    await rpc.request({ method: 'eth_blockNumber' }).catch(() => {})
    await sleep(50)
  }
}

const outcomeOf = (rpc: Outlast, method: string, params: unknown[] = []) =>
  rpc.requestWithMeta({ method, params }).then(
    (r) => ({ result: r.result, meta: r.meta, error: undefined }),
    (error: Error) => ({ result: undefined, meta: undefined, error }),
  )

describe('fee figures, quorum 3: the liar in one domain of three or four', () => {
  for (const [what, num, den] of [
    ['100 times the chain', 100n, 1n],
    ['a thousandth of the chain', 1n, 1_000n],
  ] as const)
    for (const quorum of [{ domains: 3 }, { domains: 3, sources: 3 }] as const)
      it(`Held: every honest domain up, its figures ${what} (quorum ${JSON.stringify(quorum)}): the chain's figure, median of three domains`, async () => {
        await resetLab(lab)
        const rpc = createOutlast({
          chainId: CHAIN_ID,
          quorum,
          sources: [feeLiar(num, den), ...honest(ALL)],
        })
        try {
          await warm(rpc)
          for (const method of FEES) {
            const real = await lab.anvil.rpc<string>(method)
            const r = await rpc.requestWithMeta({ method })
            assert.equal(r.result, real, `${method}: ${r.result} (${r.meta.consistency})`)
            assert.equal(r.meta.consistency, 'median')
            // Three domains voted; at most one of them the liar.
            assert.equal(r.meta.domains.length, 3, r.meta.domains.join())
          }
        } finally {
          await rpc.close()
        }
      }, 15_000)

  it('Held: the liar flapping (refused / blackhole / up), every honest domain up: never outside the honest figure', async () => {
    await resetLab(lab)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      quorum: { domains: 3 },
      sources: [feeLiar(1n, 1_000n), ...honest(ALL)],
    })
    const seen = new Map<string, number>()
    try {
      await warm(rpc)
      const stop = flap(lab, [
        ['refused', 300],
        ['ok', 250],
        ['blackhole', 400],
        ['ok', 250],
      ])
      const end = Date.now() + 2_500
      while (Date.now() < end)
        for (const method of FEES) {
          const real = await lab.anvil.rpc<string>(method)
          const r = await outcomeOf(rpc, method)
          const key = r.error
            ? `${method} ${r.error.name}`
            : `${method} ${r.result === real ? 'real' : `WRONG ${r.result} (chain ${real})`}/${r.meta?.consistency}`
          seen.set(key, (seen.get(key) ?? 0) + 1)
        }
      await stop()
      const text = [...seen].map(([k, n]) => `${k}×${n}`).join('; ')
      if (process.env.SHOW) console.log(text)
      assert.ok(
        [...seen.keys()].every((k) => /real\/median$/.test(k)),
        text,
      )
    } finally {
      await rpc.close()
      await resetLab(lab)
    }
  }, 15_000)
})

describe('eth_feeHistory and eth_estimateGas, quorum 3: the liar’s figures', () => {
  const to = devAccounts[2]!.address
  const from = devAccounts[0]!.address
  const liar = () =>
    liarWith(async (method, _params, real) => {
      const answer = await real()
      if (method === 'eth_estimateGas') return `0x${(BigInt(answer as string) * 3n).toString(16)}`
      if (method === 'eth_feeHistory') {
        const h = answer as { baseFeePerGas: string[]; reward?: string[][] }
        return {
          ...h,
          baseFeePerGas: h.baseFeePerGas.map(() => '0x1'),
          ...(h.reward ? { reward: h.reward.map((r) => r.map(() => '0x1')) } : {}),
        }
      }
      return answer
    })

  for (const [label, up, quorum, onQuorumLoss] of [
    ['liar + 3 honest, domains 3', ALL, { domains: 3 }, 'degrade'],
    ['liar + 3 honest, domains 3 sources 3, fail', ALL, { domains: 3, sources: 3 }, 'fail'],
    ['liar + 2 honest (a third out), domains 3', ['aws', 'gcp'], { domains: 3 }, 'degrade'],
    ['liar + 2 honest (a third out), domains 3, fail', ['aws', 'gcp'], { domains: 3 }, 'fail'],
    ['liar + 1 honest (two out), domains 3', ['aws'], { domains: 3 }, 'degrade'],
    ['liar + 1 honest (two out), domains 3, fail', ['aws'], { domains: 3 }, 'fail'],
  ] as const)
    it(`Held: ${label}: the chain's answer agreed by three honest domains, else no answer of the liar's`, async () => {
      await resetLab(lab)
      for (const name of ALL.filter((n) => !(up as readonly string[]).includes(n)))
        await lab.proxy(name).setMode({ kind: 'refused' })
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        quorum,
        onQuorumLoss: onQuorumLoss as OutlastOptions['onQuorumLoss'],
        sources: [liar(), ...honest(ALL)],
      })
      try {
        await warm(rpc)
        const head = await lab.anvil.rpc<string>('eth_blockNumber')
        for (const [method, params] of [
          ['eth_feeHistory', ['0x3', head, [25, 75]]],
          ['eth_estimateGas', [{ from, to, value: '0x1' }, head]],
        ] as const) {
          const real = await lab.anvil.rpc(method, [...params])
          const r = await outcomeOf(rpc, method, [...params])
          const shown = r.error
            ? `${r.error.name}: ${r.error.message.slice(0, 200)}`
            : `${JSON.stringify(r.result)} ${r.meta?.consistency} ${r.meta?.domains.join()}`
          if (up.length === 3) {
            assert.deepEqual(r.result, real, `${method}: ${shown}`)
            assert.equal(r.meta?.consistency, 'agreed', shown)
            assert.deepEqual(
              [...(r.meta?.domains ?? [])].sort(),
              ['aws-us-east-1', 'gcp-europe-west1', 'home'],
              shown,
            )
          } else {
            // Fewer honest domains up than the quorum: the liar's dissent splits them, an error
            // (never its figure, never the honest figure labelled as agreed by three).
            assert.ok(r.error, `${method}: ${shown}`)
            assert.match(r.error.name, /^Quorum(Lost)?Error$/, shown)
          }
        }
      } finally {
        await rpc.close()
        await resetLab(lab)
      }
    }, 15_000)
})

describe('Fixed (1): fee figures, quorum 3, fewer than three domains answering', () => {
  // Correct: a fee figure is `median` only when as many domains voted as the quorum asks
  // (README: `degraded`, "one domain's answer (the others are out)"; reads under a quorum of
  // three with two domains left are `degraded`, or QuorumLostError under 'fail': quorumNeed.ts
  // `needFor`). What happened: handlers/fees.ts passed `Math.min(2, quorum.domains)` to the
  // median, so with two honest domains of three out the liar's figure and one honest figure
  // made a `median` (of two, the lower: the liar's alone, a thousandth of the chain's), not
  // flagged, and answered under 'fail' where every state read fails.
  for (const onQuorumLoss of ['degrade', 'fail'] as const)
    it(`liar + 1 honest domain up of 3, onQuorumLoss ${onQuorumLoss}: not labelled median`, async () => {
      await resetLab(lab)
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        quorum: { domains: 3 },
        onQuorumLoss,
        sources: [feeLiar(1n, 1_000n), ...honest(ALL)],
      })
      const losses: OutlastEvents['quorumLoss'][] = []
      rpc.on('quorumLoss', (e) => losses.push(e))
      try {
        await warm(rpc)
        for (const name of ['gcp', 'home']) await lab.proxy(name).setMode({ kind: 'refused' })
        // A state read at this moment: what the quorum's loss does to reads.
        const balance = await outcomeOf(rpc, 'eth_getBalance', [devAccounts[1]!.address, 'latest'])
        if (onQuorumLoss === 'fail')
          assert.match(String(balance.error?.name), /^Quorum(Lost)?Error$/)
        else assert.equal(balance.meta?.consistency, 'degraded')
        for (const method of FEES) {
          const real = BigInt(await lab.anvil.rpc<string>(method))
          const r = await outcomeOf(rpc, method)
          const shown = r.error
            ? r.error.name
            : `${BigInt(r.result as string)} (chain ${real}) ${r.meta?.consistency} from ${r.meta?.domains.join(', ')}`
          if (onQuorumLoss === 'fail')
            assert.equal(r.error?.name, 'QuorumLostError', `${method}: ${shown}`)
          else {
            assert.equal(r.meta?.consistency, 'degraded', `${method}: ${shown}`)
            assert.ok(
              losses.some((l) => l.method === method),
              `${method}: no quorumLoss event`,
            )
          }
        }
      } finally {
        await rpc.close()
        await resetLab(lab)
      }
    }, 15_000)
})

describe('sends, quorum 3: fake acceptances, fake rejections', () => {
  const { sign, nonceNow, nonceNext } = transfers(() => lab.anvil)
  const keccak = async (raw: Hex) => (await import('viem')).keccak256(raw)

  /** Answers every broadcast with its hash (sending nothing); "already known" with `known`. */
  const fakeAccept = (known = false) =>
    liarWith(async (method, params, real) => {
      if (method !== 'eth_sendRawTransaction') return real()
      if (known) throw new RpcResponseError('liar', { code: -32000, message: 'already known' })
      return keccak(params[0] as Hex)
    })
  /** Rejects every broadcast (sending nothing) and knows no transaction. */
  const fakeReject = () =>
    liarWith(async (method, _params, real) => {
      if (method === 'eth_sendRawTransaction')
        throw new RpcResponseError('liar', {
          code: -32000,
          message: 'insufficient funds for gas * price + value',
        })
      if (method === 'eth_getTransactionByHash') return null
      return real()
    })

  const SETUPS = [
    ['3 honest up', ALL, { domains: 3 }, 'degrade'],
    ['3 honest up, sources 3, fail', ALL, { domains: 3, sources: 3 }, 'fail'],
    ['2 honest up (one out)', ['aws', 'gcp'], { domains: 3 }, 'degrade'],
    ['1 honest up (two out)', ['aws'], { domains: 3 }, 'fail'],
  ] as const

  const client = (liar: Source, quorum: OutlastOptions['quorum'], onQuorumLoss: string) =>
    createOutlast({
      chainId: CHAIN_ID,
      quorum,
      onQuorumLoss: onQuorumLoss as OutlastOptions['onQuorumLoss'],
      sources: [liar, ...honest(ALL)],
    })
  const out = async (up: readonly string[]) => {
    for (const name of ALL.filter((n) => !up.includes(n)))
      await lab.proxy(name).setMode({ kind: 'refused' })
  }

  for (const [label, up, quorum, onQuorumLoss] of SETUPS)
    for (const known of [false, true])
      it(`Held: ${label}, a fake ${known ? '"already known"' : 'acceptance'} of a spent nonce: the honest rejection, never "sent"`, async () => {
        await resetLab(lab)
        // Its nonce spent: every honest node refuses it (nonce too low).
        const nonce = await nonceNow()
        await lab.anvil.rpc('eth_sendRawTransaction', [await sign(nonce)])
        const stale = await sign(nonce, 7n)
        const rpc = client(fakeAccept(known), quorum, onQuorumLoss)
        try {
          await warm(rpc)
          await out(up)
          const r = await outcomeOf(rpc, 'eth_sendRawTransaction', [stale])
          assert.ok(
            r.error instanceof RpcResponseError,
            `told ${r.error ? r.error.name : `"sent" ${r.meta?.consistency} by ${r.meta?.domains.join()}`}`,
          )
          assert.match(r.error.message, /nonce/i)
          assert.equal(await lab.anvil.rpc('eth_getTransactionByHash', [await keccak(stale)]), null)
        } finally {
          await rpc.close()
          await resetLab(lab)
        }
      }, 15_000)

  for (const [label, up, quorum, onQuorumLoss] of SETUPS.slice(0, 3))
    it(`Held: ${label}, a fake rejection: the real send is "sent", verified by honest domains only`, async () => {
      await resetLab(lab)
      const raw = await sign(await nonceNext())
      const rpc = client(fakeReject(), quorum, onQuorumLoss)
      try {
        await warm(rpc)
        await out(up)
        const r = await outcomeOf(rpc, 'eth_sendRawTransaction', [raw])
        assert.ok(!r.error, `the real send failed: ${r.error?.message}`)
        assert.equal(r.result, await keccak(raw))
        assert.equal(r.meta?.consistency, 'verified')
        assert.ok(!r.meta?.domains.includes('liar-host'), r.meta?.domains.join())
        assert.ok((r.meta?.domains.length ?? 0) >= 2, r.meta?.domains.join())
        const receipt = await lab.anvil.rpc<{ status: string } | null>(
          'eth_getTransactionReceipt',
          [r.result],
        )
        assert.equal(receipt?.status, '0x1')
      } finally {
        await rpc.close()
        await resetLab(lab)
      }
    }, 15_000)

  it('Held: every honest domain out, a fake acceptance: the hash, degraded, with a quorumLoss event (never verified)', async () => {
    await resetLab(lab)
    const raw = await sign(await nonceNext())
    const rpc = client(fakeAccept(), { domains: 3 }, 'degrade')
    const losses: OutlastEvents['quorumLoss'][] = []
    rpc.on('quorumLoss', (e) => losses.push(e))
    try {
      await warm(rpc)
      await out([])
      const r = await outcomeOf(rpc, 'eth_sendRawTransaction', [raw])
      assert.equal(r.result, await keccak(raw))
      assert.equal(r.meta?.consistency, 'degraded')
      assert.deepEqual(r.meta?.domains, ['liar-host'])
      assert.ok(losses.some((l) => l.method === 'eth_sendRawTransaction'))
      assert.equal(await lab.anvil.rpc('eth_getTransactionByHash', [r.result]), null)
    } finally {
      await rpc.close()
      await resetLab(lab)
    }
  }, 15_000)

  it('Held: the liar flapping and faking acceptances of spent nonces, every honest domain up: never "sent"', async () => {
    await resetLab(lab)
    const rpc = client(fakeAccept(), { domains: 3 }, 'degrade')
    const seen = new Map<string, number>()
    try {
      await warm(rpc)
      const stop = flap(lab, [
        ['refused', 200],
        ['ok', 200],
        ['blackhole', 300],
        ['ok', 200],
      ])
      const end = Date.now() + 2_000
      while (Date.now() < end) {
        const nonce = await nonceNow()
        await lab.anvil.rpc('eth_sendRawTransaction', [await sign(nonce)])
        const r = await outcomeOf(rpc, 'eth_sendRawTransaction', [await sign(nonce, 9n)])
        const key = r.error ? r.error.name : `SENT/${r.meta?.consistency}`
        seen.set(key, (seen.get(key) ?? 0) + 1)
      }
      await stop()
      const text = [...seen].map(([k, n]) => `${k}×${n}`).join('; ')
      if (process.env.SHOW) console.log(text)
      assert.deepEqual([...seen.keys()], ['RpcResponseError'], text)
    } finally {
      await rpc.close()
      await resetLab(lab)
    }
  }, 15_000)
})

describe('outlast/execute, quorum 3: the liar proving another block’s state', () => {
  /** A fresh account paid after block `older`: a real proof at `older` says it holds nothing. */
  async function paidAccount() {
    const who = `0x${Math.floor(Math.random() * 2 ** 32)
      .toString(16)
      .padStart(8, '0')
      .repeat(5)}` as Hex
    const older = await lab.anvil.rpc<string>('eth_blockNumber')
    await lab.anvil.rpc('eth_sendTransaction', [
      { from: devAccounts[1]!.address, to: who, value: '0x4321' },
    ])
    await lab.anvil.rpc('anvil_mine', ['0x1'])
    return { who, older }
  }

  /**
   * The liar (fastest): its proofs real ones at `older`, its hint (eth_createAccessList) another
   * account's, its own eth_call `0x…dead` and estimates three times the chain's.
   */
  const executeLiar = (older: string) =>
    liarWith(async (method, params, real) => {
      // Through its proxy first, so that it is out when its proxy is.
      if (method === 'eth_getProof')
        return real().then(() => lab.anvil.rpc('eth_getProof', [params[0], params[1], older]))
      if (method === 'eth_createAccessList')
        return {
          accessList: [{ address: `0x${'ab'.repeat(20)}`, storageKeys: [] }],
          gasUsed: '0x0',
        }
      const answer = await real()
      if (method === 'eth_call') return `0x${'de'.repeat(31)}ad`
      if (method === 'eth_estimateGas') return `0x${(BigInt(answer as string) * 3n).toString(16)}`
      return answer
    })

  it('Held: honest domains up, one by one out, then the liar flapping: every call and estimate proven and the chain’s; only the liar a liar; alone, nothing of its own checked', async () => {
    await resetLab(lab)
    const { who, older } = await paidAccount()
    const BALANCE = `0x73${who.slice(2)}3160005260206000f3` as Hex
    const from = devAccounts[0]!.address
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      quorum: { domains: 3 },
      lieCooloff: 300,
      prover: [proofs(), execute()],
      sources: [executeLiar(older), ...honest(ALL)],
    })
    const lies: string[] = []
    rpc.on('lie', (e) => lies.push(e.source))
    const seen = new Map<string, number>()
    const count = (k: string) => seen.set(k, (seen.get(k) ?? 0) + 1)
    const calls = [
      ['eth_call', [{ data: BALANCE }, 'latest']],
      ['eth_estimateGas', [{ from, to: who, value: '0x1', data: '0x' }, 'latest']],
    ] as const
    const readAll = async (phase: string) => {
      for (const [method, params] of calls) {
        const r = await outcomeOf(rpc, method, [...params])
        if (r.error) count(`${phase} ${method} ${r.error.name}`)
        else {
          const at = r.meta?.block?.hash
          const truth = await lab.anvil
            .rpc(method, [params[0], at ? { blockHash: at } : 'latest'])
            .catch(() => 'no such block')
          count(
            `${phase} ${method} ${r.result === truth ? 'real' : `WRONG ${r.result}`}/${r.meta?.consistency}`,
          )
        }
      }
    }
    try {
      await warm(rpc)
      for (const [phase, outs] of [
        ['3 up', []],
        ['2 up', ['home']],
        ['1 up', ['home', 'gcp']],
      ] as const) {
        for (const name of outs) await lab.proxy(name).setMode({ kind: 'refused' })
        await sleep(100)
        for (let i = 0; i < 3; i++) await readAll(phase)
      }
      await resetLab(lab)
      const stop = flap(lab, [
        ['refused', 200],
        ['ok', 200],
        ['blackhole', 300],
        ['ok', 200],
      ])
      const end = Date.now() + 1_500
      while (Date.now() < end) await readAll('flapping')
      await stop()
      const honestLies = lies.filter((l) => l !== 'liar')
      // Alone: every honest domain out.
      for (const name of ALL) await lab.proxy(name).setMode({ kind: 'refused' })
      await sleep(100)
      for (let i = 0; i < 3; i++) await readAll('alone')
      const text = `${[...seen].map(([k, n]) => `${k}×${n}`).join('; ')}; lies: ${lies.length}`
      if (process.env.SHOW) console.log(text)
      assert.ok(lies.includes('liar'), `the liar was never caught: ${text}`)
      assert.deepEqual(honestLies, [], text)
      for (const k of seen.keys())
        if (!k.startsWith('alone'))
          assert.match(k, /(eth_call|eth_estimateGas) real\/proven$/, text)
        // Alone, nothing it says is checked: refused, or (when a proof could not be tried: no
        // trusted header in time) its lone answer by quorum, labelled `degraded`, as the README
        // says of a request the prover cannot prove. Seen once in CI; `onQuorumLoss: 'fail'`
        // refuses it.
        else assert.ok(!/proven|agreed|verified/.test(k) && !/WRONG.*\/(?!degraded)/.test(k), text)
    } finally {
      await rpc.close()
      await resetLab(lab)
    }
  }, 30_000)
})

describe('Fixed (2): fee figures, quorum 3, a domain asked that hangs', () => {
  // Correct: with a fee figure needing three domains, a domain asked that hangs (blackholed) is
  // not waited for past the median's patience, nor does it make the figure `degraded` (or, under
  // 'fail', an error) while a fourth domain is up: the fourth is asked, as reads hedge. Two
  // domains' close figures ending the wait early is a two-domain quorum's rule.
  for (const onQuorumLoss of ['degrade', 'fail'] as const)
    it(`an honest domain blackholed of four, onQuorumLoss ${onQuorumLoss}: the chain's figure from three domains, promptly`, async () => {
      await resetLab(lab)
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        quorum: { domains: 3 },
        onQuorumLoss,
        sources: [feeLiar(1n, 1_000n), ...honest(ALL)],
      })
      try {
        await warm(rpc)
        await lab.proxy('aws').setMode({ kind: 'blackhole' })
        for (const method of FEES) {
          const real = await lab.anvil.rpc<string>(method)
          const started = Date.now()
          const r = await outcomeOf(rpc, method)
          const took = Date.now() - started
          const shown = r.error
            ? r.error.name
            : `${r.result} (chain ${real}) ${r.meta?.consistency} from ${r.meta?.domains.join(', ')} in ${took} ms`
          assert.equal(r.result, real, `${method}: ${shown}`)
          assert.equal(r.meta?.consistency, 'median', shown)
          assert.deepEqual(
            [...(r.meta?.domains ?? [])].sort(),
            ['gcp-europe-west1', 'home', 'liar-host'],
            shown,
          )
          // Under the source's own 1 s timeout: the fourth domain asked, not the hung one awaited.
          assert.ok(took < 900, shown)
        }
      } finally {
        await rpc.close()
        await resetLab(lab)
      }
    }, 15_000)
})
