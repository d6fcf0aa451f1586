/**
 * The read workload: a few concurrent readers making the calls a wallet and a dApp make
 * (balances, nonces, a contract call, code, block number, blocks by number and by hash,
 * receipts and transactions), each through `requestWithMeta`. Every answer is checked against
 * the truth from the node (`truth.ts`) once the node has settled the block it is about.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { type Outlast, QuorumError } from '../src/index.ts'
import {
  errorText,
  type Invariants,
  MAX_STALE,
  type Outcome,
  outlastView,
  type Verdict,
} from './invariants.ts'
import type { Rng } from './random.ts'
import type { Senders } from './senders.ts'
import { RECIPIENTS } from './senders.ts'
import type { Truth } from './truth.ts'

export type ReadersOptions = {
  rpc: Outlast
  truth: Truth
  senders: Senders
  invariants: Invariants
  rng: Rng
  clock: () => number
  counter: `0x${string}`
  readers: number
  /** Called with checks that fail for the harness's own reasons (not outlast's). */
  onHarnessError(error: unknown): void
}

export type Readers = {
  start(): void
  /** Stops issuing requests; resolves when every request and every truth check has finished. */
  stop(deadlineMs: number): Promise<void>
  /** Truth checks not finished yet. */
  readonly pendingChecks: number
  /** How far `eth_blockNumber` answers were behind the node when asked (blocks). */
  readonly staleness: number[]
}

const hex = (n: number) => `0x${n.toString(16)}`

type Op = {
  name: string
  weight: number
  /** The request, and how to check its answer. */
  make():
    | {
        method: string
        params: unknown[]
        check(o: Outcome, headAtStart: number): Promise<Verdict>
        /** For pinned state reads: the index of the block parameter. */
        blockParam?: number
      }
    | undefined
}

export function createReaders(o: ReadersOptions): Readers {
  const { rng, truth } = o
  let running = false
  const loops: Promise<void>[] = []
  const checks = new Set<Promise<void>>()
  const staleness: number[] = []
  /** Recent eth_blockNumber answers with their completion time, for "never goes backwards". */
  const numbers: { end: number; n: number }[] = []

  const addresses = () => [...o.senders.addresses, ...RECIPIENTS, o.counter]
  const state = (method: string, blockParam: number) => (out: Outcome, headAtStart: number) =>
    truth.checkState(method, out.params, blockParam, out.result, out.meta?.block, {
      from: headAtStart,
      to: truth.head,
    })

  const ops: Op[] = [
    {
      name: 'balance',
      weight: 20,
      make: () => ({
        method: 'eth_getBalance',
        params: [rng.pick(addresses()), 'latest'],
        check: state('eth_getBalance', 1),
        blockParam: 1,
      }),
    },
    {
      name: 'nonce',
      weight: 14,
      make: () => ({
        method: 'eth_getTransactionCount',
        params: [rng.pick(o.senders.addresses), 'latest'],
        check: state('eth_getTransactionCount', 1),
        blockParam: 1,
      }),
    },
    {
      name: 'call',
      weight: 14,
      make: () => ({
        method: 'eth_call',
        params: rng.chance(0.5) ? [{ to: o.counter }, 'latest'] : [{ to: o.counter }],
        check: state('eth_call', 1),
        blockParam: 1,
      }),
    },
    {
      name: 'code',
      weight: 4,
      make: () => ({
        method: 'eth_getCode',
        params: [o.counter, 'latest'],
        check: state('eth_getCode', 1),
        blockParam: 1,
      }),
    },
    {
      name: 'block-number',
      weight: 14,
      make: () => ({
        method: 'eth_blockNumber',
        params: [],
        check: async (out, headAtStart) => {
          const n = Number(out.result)
          staleness.push(Math.max(0, headAtStart - n))
          let highest = -1
          for (const x of numbers) if (x.end < out.start) highest = Math.max(highest, x.n)
          numbers.push({ end: out.end, n })
          if (numbers.length > 300) numbers.splice(0, numbers.length - 300)
          if (n < highest)
            return {
              outcome: 'wrong',
              expected: `≥ #${highest} (returned by an earlier eth_blockNumber)`,
              actual: `#${n}: went backwards`,
            }
          return truth.checkBlockNumber(n)
        },
      }),
    },
    {
      name: 'block-latest',
      weight: 8,
      make: () => ({
        method: 'eth_getBlockByNumber',
        params: ['latest', false],
        check: (out) => truth.checkBlock(out.result, {}),
      }),
    },
    {
      name: 'block-by-number',
      weight: 5,
      make: () => {
        const n = Math.max(0, truth.head - rng.int(0, 6))
        return {
          method: 'eth_getBlockByNumber',
          params: [hex(n), rng.chance(0.5)],
          check: (out) => truth.checkBlock(out.result, { number: n }),
        }
      },
    },
    {
      name: 'block-by-hash',
      weight: 7,
      make: () => {
        const recent = truth.recent.slice(-12)
        if (recent.length === 0) return undefined
        const { hash } = rng.pick(recent)
        return {
          method: 'eth_getBlockByHash',
          params: [hash, rng.chance(0.5)],
          check: (out) => truth.checkBlock(out.result, { hash }),
        }
      },
    },
    {
      name: 'receipt',
      weight: 7,
      make: () => {
        const hashes = o.senders.recentHashes()
        if (hashes.length === 0) return undefined
        const hash = rng.pick(hashes)
        return {
          method: 'eth_getTransactionReceipt',
          params: [hash],
          check: (out, headAtStart) => truth.checkReceipt(hash, out.result, headAtStart),
        }
      },
    },
    {
      name: 'transaction',
      weight: 5,
      make: () => {
        const hashes = o.senders.recentHashes()
        if (hashes.length === 0) return undefined
        const hash = rng.pick(hashes)
        return {
          method: 'eth_getTransactionByHash',
          params: [hash],
          check: (out, headAtStart) => truth.checkTransaction(hash, out.result, headAtStart),
        }
      },
    },
  ]
  const weights = ops.map((op) => [op, op.weight] as const)

  const once = async () => {
    const op = rng.weighted(weights)
    const request = op.make()
    if (!request) return
    const headAtStart = truth.head
    const start = o.clock()
    let out: Outcome
    try {
      const { result, meta } = await o.rpc.requestWithMeta({
        method: request.method,
        params: request.params,
      })
      out = {
        op: op.name,
        method: request.method,
        params: request.params,
        start,
        end: o.clock(),
        ok: true,
        result,
        meta,
        ...(meta.consistency === 'degraded' ? { view: outlastView(o.rpc) } : {}),
      }
    } catch (error) {
      out = {
        op: op.name,
        method: request.method,
        params: request.params,
        start,
        end: o.clock(),
        ok: false,
        error: errorText(error),
        view: outlastView(o.rpc),
      }
      if (error instanceof QuorumError && request.blockParam !== undefined) {
        // Honest sources (all in front of the one node) that disagree: anvil's race, or a bug.
        const good = new Set(
          o.invariants.honest(
            error.answers.map((a) => a.source),
            start,
            out.end,
          ),
        )
        const answers = error.answers.filter((a) => good.has(a.source))
        const why =
          new Set(answers.map((a) => a.answer)).size < 2
            ? undefined
            : await truth
                .explainSplit(
                  request.method,
                  request.params,
                  request.blockParam,
                  answers.map((a) => a.answer),
                  { from: headAtStart, to: truth.head },
                )
                .catch(() => undefined)
        if (why) out.split = { sources: answers.map((a) => a.source), why }
      }
    }
    o.invariants.onOutcome(out)
    if (!out.ok) return
    // An answer about `latest` must not be far behind the node (a frozen head is not an answer).
    const about =
      out.meta?.block?.number ?? (out.method === 'eth_blockNumber' ? Number(out.result) : undefined)
    if (about !== undefined && Number.isFinite(about)) {
      if (headAtStart - about > MAX_STALE) out.view ??= outlastView(o.rpc)
      o.invariants.onStale(out, about, headAtStart)
    }
    const check: Promise<void> = request
      .check(out, headAtStart)
      .then((verdict) => o.invariants.onVerdict(out, verdict))
      .catch(o.onHarnessError)
      .finally(() => checks.delete(check))
    checks.add(check)
  }

  const loop = async () => {
    while (running) {
      await once()
      await sleep(rng.int(40, 200))
    }
  }

  return {
    start() {
      running = true
      for (let i = 0; i < o.readers; i++) loops.push(loop())
    },
    async stop(deadlineMs) {
      running = false
      await Promise.race([
        Promise.all(loops).then(() => Promise.all([...checks])),
        sleep(deadlineMs),
      ])
    },
    get pendingChecks() {
      return checks.size
    },
    staleness,
  }
}
