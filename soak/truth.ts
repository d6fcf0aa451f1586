/**
 * The truth, read straight from the main anvil node (past every proxy), and the checks that
 * compare outlast's answers with it.
 *
 * anvil has a race at block boundaries: while it mines block N+1, a read at the head block N
 * (even by hash) can come back with N+1's state (seen on anvil 1.7: about one read in 3,000 at
 * the head). Every lab source fronts the same node, so all of them can relay such an answer at
 * once and no quorum can see it. So every check waits until the node is two blocks past the
 * block in question and compares with what it settled; an answer that equals the settled state
 * one block later, for a block that was the head when it was asked, is an anvil `race`, counted
 * apart from wrong answers.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Anvil } from '../test/lab/index.ts'
import { BLOCK_FIELDS, hex, RECEIPT_FIELDS, sameJson, TX_FIELDS } from '../test/lab/truthFields.ts'
import type { Verdict } from './invariants.ts'

type Block = Record<string, unknown> & { number?: string; hash?: string }
type Receipt = Record<string, unknown> & { blockNumber?: string; blockHash?: string }

const same = sameJson
export const short = (v: unknown): string => {
  const s = typeof v === 'string' ? v : JSON.stringify(v)
  return s && s.length > 140 ? `${s.slice(0, 100)}…${s.slice(-30)}` : String(s)
}
const OK: Verdict = { outcome: 'ok' }

/**
 * Is `got` what anvil's head-block race returns: the next block's state? For `eth_call` the
 * race either runs the whole call on the next block (storage and `block.number` both the next
 * block's: seen in a 30-minute soak, seed 42) or mixes the next block's storage with the asked
 * block's environment (the counter contract's first word is the next block's, its second not).
 */
function raced(method: string, got: unknown, truth: unknown, next: unknown): boolean {
  if (method !== 'eth_call' || typeof got !== 'string' || same(got, next)) return same(got, next)
  const word = (v: unknown, i: number) => String(v).slice(2 + 64 * i, 2 + 64 * (i + 1))
  return (
    same(word(got, 0), word(next, 0)) &&
    same(got.slice(66), String(truth).slice(66)) &&
    !same(word(got, 0), word(truth, 0))
  )
}
const wrong = (expected: unknown, actual: unknown): Verdict => ({
  outcome: 'wrong',
  expected: typeof expected === 'string' ? expected : short(expected),
  actual: typeof actual === 'string' ? actual : short(actual),
})

/** Differing fields of two objects, `field: ours vs theirs`; empty when they agree. */
function diff(
  got: Record<string, unknown>,
  truth: Record<string, unknown>,
  fields: readonly string[],
) {
  return fields
    .filter((f) => !same(got[f], truth[f]))
    .map((f) => `${f} ${short(got[f])} (node: ${short(truth[f])})`)
}

export type Truth = {
  /** The node's head as last polled (every 200 ms). */
  readonly head: number
  /** Recent canonical blocks of the node, newest last. */
  readonly recent: readonly { number: number; hash: string }[]
  start(): Promise<void>
  stop(): void
  /** Resolves when the node is at block `n` or past it (false after `timeoutMs`). */
  reach(n: number, timeoutMs?: number): Promise<boolean>
  /** A state read (`eth_getBalance`, `eth_call`...) pinned to `block`, or unpinned in a window. */
  checkState(
    method: string,
    params: readonly unknown[],
    blockParam: number,
    got: unknown,
    block: { number: number; hash: string } | undefined,
    window: { from: number; to: number },
  ): Promise<Verdict>
  /**
   * Honest sources (all in front of this node) that disagreed about a pinned state read: if each
   * answer (a prefix, as error previews are cut) is the node's state at a block around the
   * request, and they span two blocks, it was anvil's head-block race. Undefined otherwise.
   */
  explainSplit(
    method: string,
    params: readonly unknown[],
    blockParam: number,
    previews: readonly string[],
    window: { from: number; to: number },
  ): Promise<string | undefined>
  /** `eth_blockNumber`: a block the node has (it never runs ahead of the node). */
  checkBlockNumber(n: number): Promise<Verdict>
  /** A block by number or hash: the node's block, field for field, on its chain. */
  checkBlock(got: unknown, lookup: { hash?: string; number?: number }): Promise<Verdict>
  checkReceipt(hash: string, got: unknown, headAtStart: number): Promise<Verdict>
  checkTransaction(hash: string, got: unknown, headAtStart: number): Promise<Verdict>
}

export function createTruth(anvil: Anvil): Truth {
  let head = -1
  let running = false
  const recent: { number: number; hash: string }[] = []
  const waiters = new Set<{ n: number; resolve: (ok: boolean) => void }>()

  const blockAt = (n: number) => anvil.rpc<Block | null>('eth_getBlockByNumber', [hex(n), false])

  const poll = async () => {
    const n = Number(await anvil.rpc<string>('eth_blockNumber'))
    for (let m = Math.max(head + 1, n - 31); m <= n; m++) {
      const block = await blockAt(m)
      if (block?.hash) recent.push({ number: m, hash: block.hash })
    }
    while (recent.length > 32) recent.shift()
    head = Math.max(head, n)
    for (const w of waiters)
      if (head >= w.n) {
        waiters.delete(w)
        w.resolve(true)
      }
  }

  const reach = (n: number, timeoutMs = 20_000): Promise<boolean> => {
    if (head >= n) return Promise.resolve(true)
    return new Promise((resolve) => {
      const w = { n, resolve }
      waiters.add(w)
      setTimeout(() => {
        if (waiters.delete(w)) resolve(false)
      }, timeoutMs).unref()
    })
  }

  const settled = async (n: number) => {
    if (!(await reach(n + 2))) throw new Error(`harness: the node did not reach block ${n + 2}`)
  }

  return {
    get head() {
      return head
    },
    recent,
    async start() {
      running = true
      await poll()
      ;(async () => {
        while (running) {
          await sleep(200)
          await poll().catch(() => {})
        }
      })()
    },
    stop() {
      running = false
      for (const w of waiters) w.resolve(false)
      waiters.clear()
    },
    reach,

    async checkState(method, params, blockParam, got, block, window) {
      const at = (tag: unknown) => {
        const p = [...params]
        p[blockParam] = tag
        return anvil.rpc(method, p)
      }
      if (!block) {
        await settled(window.to)
        for (let n = window.to; n >= Math.max(0, window.from); n--)
          if (same(await at(hex(n)), got)) return OK
        return wrong(
          `the node's state at one of #${window.from}–#${window.to}, at #${window.to}: ${short(await at(hex(window.to)))}`,
          got,
        )
      }
      await settled(block.number)
      const canonical = await blockAt(block.number)
      if (!canonical || !same(canonical.hash, block.hash))
        return wrong(
          `an answer for a block on the node's chain (#${block.number} is ${short(canonical?.hash)})`,
          `${short(got)} for #${block.number} ${block.hash}`,
        )
      const truth = await at({ blockHash: block.hash })
      if (same(truth, got)) return OK
      const expected = `${short(truth)} at #${block.number} ${block.hash}`
      if (
        block.number >= window.from - 1 &&
        raced(method, got, truth, await at(hex(block.number + 1)))
      )
        return {
          outcome: 'race',
          expected,
          actual: `${short(got)} (the state at #${block.number + 1})`,
        }
      return wrong(expected, got)
    },

    async explainSplit(method, params, blockParam, previews, window) {
      await settled(window.to + 1)
      const states = new Map<number, string>()
      for (let n = Math.max(0, window.from - 1); n <= window.to + 1; n++) {
        const p = [...params]
        p[blockParam] = hex(n)
        const value = await anvil.rpc(method, p)
        states.set(n, (typeof value === 'string' ? value : JSON.stringify(value)).toLowerCase())
      }
      const blocks = new Set<number>()
      for (const preview of previews) {
        const prefix = preview.replace(/…$/, '').toLowerCase()
        const at = [...states].filter(([, v]) => v.startsWith(prefix)).map(([n]) => n)
        if (at.length === 0) return undefined
        for (const n of at) blocks.add(n)
      }
      if (blocks.size < 2) return undefined
      return `the answers are the node's state at #${[...blocks].join(', #')}`
    },

    async checkBlockNumber(n) {
      const now = Number(await anvil.rpc<string>('eth_blockNumber'))
      if (n <= now) return OK
      if (n === now + 1 && (await reach(n, 3_000)))
        return { outcome: 'race', expected: `≤ #${now}`, actual: `#${n}, mined right then` }
      return wrong(`a block the node has (at #${now})`, `#${n}`)
    },

    async checkBlock(got, lookup) {
      if (!got || typeof got !== 'object')
        return wrong(`block ${lookup.hash ?? `#${lookup.number}`}`, got)
      const b = got as Block
      const n = Number(b.number)
      if (lookup.hash && !same(b.hash, lookup.hash))
        return wrong(`block ${lookup.hash}`, `block ${b.hash}`)
      if (lookup.number !== undefined && n !== lookup.number)
        return wrong(`block #${lookup.number}`, `block #${n}`)
      await settled(n)
      const canonical = await blockAt(n)
      if (!canonical || !same(canonical.hash, b.hash))
        return wrong(`#${n} on the node's chain: ${short(canonical?.hash)}`, `${b.hash}`)
      const truth = await anvil.rpc<Block | null>('eth_getBlockByHash', [
        b.hash,
        Array.isArray(b.transactions) && typeof b.transactions[0] === 'object',
      ])
      if (!truth) return wrong(`block ${b.hash} on the node`, 'a block the node does not have')
      const fields = diff(b, truth, BLOCK_FIELDS)
      return fields.length ? wrong(`block #${n} as the node has it`, fields.join('; ')) : OK
    },

    async checkReceipt(hash, got, headAtStart) {
      await settled(head)
      const truth = await anvil.rpc<Receipt | null>('eth_getTransactionReceipt', [hash])
      if (got === null) {
        const minedAt = truth ? Number(truth.blockNumber) : undefined
        if (minedAt !== undefined && minedAt <= headAtStart - 3)
          return wrong(`the receipt (mined at #${minedAt}, asked at #${headAtStart})`, 'null')
        return OK
      }
      if (!truth) return wrong('null: the node has not mined it', got)
      const fields = diff(got as Receipt, truth, RECEIPT_FIELDS)
      return fields.length ? wrong(`the node's receipt for ${hash}`, fields.join('; ')) : OK
    },

    async checkTransaction(hash, got, headAtStart) {
      await settled(head)
      const truth = await anvil.rpc<Receipt | null>('eth_getTransactionByHash', [hash])
      if (got === null) {
        const minedAt = truth?.blockNumber ? Number(truth.blockNumber) : undefined
        if (minedAt !== undefined && minedAt <= headAtStart - 3)
          return wrong(`the transaction (mined at #${minedAt}, asked at #${headAtStart})`, 'null')
        return OK
      }
      if (!truth) return wrong('null: the node does not know it', got)
      const g = got as Receipt
      const fields = diff(g, truth, TX_FIELDS)
      if (g.blockHash && !same(g.blockHash, truth.blockHash))
        fields.push(`blockHash ${short(g.blockHash)} (node: ${short(truth.blockHash)})`)
      return fields.length ? wrong(`the node's transaction ${hash}`, fields.join('; ')) : OK
    },
  }
}
