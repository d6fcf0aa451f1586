/**
 * The truth every answer is checked against: the same request sent straight to the anvil node
 * behind the proxies.
 *
 * anvil has a race at block boundaries: while it mines block N+1, a read of the head block N
 * (by number or by hash) can come back with N+1's state, and `latest` can run a block ahead of
 * or behind `eth_blockNumber`. Every lab provider fronts the same node, so all of them can relay
 * such an answer at once: no quorum across the lab's "domains" can see it. The checks below
 * therefore compare against state the node has settled (two blocks later), and an answer that is
 * the node's settled state one block off the block it is for is called a `race`, not `wrong`.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Anvil } from '../test/lab/index.ts'
import { BLOCK_FIELDS, hex, RECEIPT_FIELDS, sameJson } from '../test/lab/truthFields.ts'
import type { Answer } from './demoClients.ts'

type Block = Record<string, unknown> & { number?: string; hash?: string }

/** The node's head just before a request was sent and just after its answer came. */
export type Window = { from: number; to: number }

/** `ok`; `wrong` (with why); or `race`: the node's own state one block off (see above). */
export type Verdict = { outcome: 'ok' | 'wrong' | 'race'; detail?: string }

const OK: Verdict = { outcome: 'ok' }
const wrong = (detail: string): Verdict => ({ outcome: 'wrong', detail })
const race = (detail: string): Verdict => ({ outcome: 'race', detail })

const same = sameJson
const short = (v: unknown) => {
  const s = typeof v === 'string' ? v : JSON.stringify(v)
  return s && s.length > 24 ? `${s.slice(0, 12)}…${s.slice(-8)}` : String(s)
}

export type Truth = {
  /** The node's current block number. */
  head(): Promise<number>
  /** The hash of the node's block `back` blocks below its head. */
  recentBlockHash(back: number): Promise<string>
  /**
   * A read of state at `latest` (`eth_getBalance`, `eth_call`) whose block parameter is at
   * `blockParam`. An answer that names its block must be the node's state at that block (a
   * block on the node's chain); one that does not must be its state at a block in `window`.
   */
  checkState(
    method: string,
    params: unknown[],
    blockParam: number,
    answer: Answer,
    window: Window,
  ): Promise<Verdict>
  /** `eth_blockNumber`: the block must exist. */
  checkBlockNumber(n: number, window: Window): Promise<Verdict>
  /** A block (by number or hash): it must be the node's block, field for field. */
  checkBlock(block: unknown, window: Window, hash?: string): Promise<Verdict>
  /** A transaction receipt: it must be the node's receipt, field for field. */
  checkReceipt(receipt: unknown, hash: string): Promise<Verdict>
}

/** Truth read from `anvil` directly, past every proxy. */
export function createTruth(anvil: Anvil): Truth {
  const head = async () => Number(await anvil.rpc<string>('eth_blockNumber'))
  const blockAt = (n: number) => anvil.rpc<Block | null>('eth_getBlockByNumber', [hex(n), false])

  /** Waits (a few blocks' time at most) until the node is at block `n` or past it. */
  const reach = async (n: number): Promise<boolean> => {
    for (let i = 0; i < 40; i++) {
      if ((await head()) >= n) return true
      await sleep(100)
    }
    return false
  }

  return {
    head,

    async recentBlockHash(back) {
      const n = Math.max(0, (await head()) - back)
      const block = await blockAt(n)
      if (!block?.hash) throw new Error(`the node has no block #${n}`)
      return block.hash
    },

    async checkState(method, params, blockParam, answer, window) {
      const at = (n: number) => {
        const p = [...params]
        p[blockParam] = hex(n)
        return anvil.rpc(method, p)
      }
      const got = answer.result
      if (answer.block) {
        const { number, hash } = answer.block
        if (same(await at(number), got)) return OK
        // Compare with what the node settled, once it has mined two more blocks.
        await reach(number + 2)
        const canonical = await blockAt(number)
        if (!canonical || !same(canonical.hash, hash))
          return wrong(`answered for block #${number} ${short(hash)}, not on the node's chain`)
        const truth = await at(number)
        if (same(truth, got)) return OK
        const said = `${short(got)} for #${number} ${short(hash)}; the node's state there is ${short(truth)}`
        for (const n of [number + 1, number - 1])
          if (n >= 0 && same(await at(n), got)) return race(`${said}, at #${n} it is the answer`)
        return wrong(said)
      }
      for (let n = window.to; n >= window.from; n--) if (same(await at(n), got)) return OK
      await reach(window.to + 2)
      for (let n = window.to; n >= window.from; n--) if (same(await at(n), got)) return OK
      const truth = await at(window.to)
      const said = `${short(got)}; the node's state at #${window.from}–#${window.to} is ${short(truth)}`
      for (const n of [window.to + 1, window.from - 1])
        if (n >= 0 && same(await at(n), got)) return race(`${said}, at #${n} it is the answer`)
      return wrong(said)
    },

    async checkBlockNumber(n, window) {
      if (!Number.isSafeInteger(n) || n < 0) return wrong(`${n} is not a block number`)
      if (n <= window.to) return OK
      if (n === window.to + 1 && (await reach(n)))
        return race(`block #${n} before the node said it had it (at #${window.to})`)
      return wrong(`block #${n} does not exist (the node is at #${window.to})`)
    },

    async checkBlock(block, window, hash) {
      if (!block || typeof block !== 'object') return wrong(`expected a block, got ${short(block)}`)
      const b = block as Block
      const n = Number(b.number)
      const early = hash === undefined && n > window.to
      if (early && !(n === window.to + 1 && (await reach(n))))
        return wrong(`block #${n} does not exist (the node is at #${window.to})`)
      const truth = hash
        ? await anvil.rpc<Block | null>('eth_getBlockByHash', [hash, false])
        : await blockAt(n)
      if (!truth) return wrong(`block ${short(hash ?? b.number)} is not on the node's chain`)
      for (const field of BLOCK_FIELDS)
        if (!same(b[field], truth[field]))
          return wrong(
            `block #${n} ${field} ${short(b[field])}; the node says ${short(truth[field])}`,
          )
      return early ? race(`block #${n} before the node said it had it (at #${window.to})`) : OK
    },

    async checkReceipt(receipt, hash) {
      const truth = await anvil.rpc<Record<string, unknown> | null>('eth_getTransactionReceipt', [
        hash,
      ])
      if (!truth) return wrong(`a receipt for ${short(hash)}, which the node has not mined`)
      const r = receipt as Record<string, unknown>
      for (const field of RECEIPT_FIELDS)
        if (!same(r[field], truth[field]))
          return wrong(`receipt ${field} ${short(r[field])}; the node says ${short(truth[field])}`)
      return OK
    },
  }
}
