import type { RpcLog } from './logs.ts'

/** Blocks whose sent logs are kept: as many as the chain follower keeps to find a reorg's fork. */
const HISTORY = 128
/**
 * Characters of sent logs kept per consumer. Mainnet's busiest blocks carry ~0.5 MB of logs, so
 * a subscription to every log keeps the last ~30 blocks'; a token's, all 128. Without it a lone
 * domain answering each block's logs with megabytes would be kept 128 times over.
 */
const BUDGET = 16 * 2 ** 20 // subscriptions.ts's error names it

/** A log's weight: its JSON's length (each log is weighed once, however many consumers keep it). */
const weights = new WeakMap<RpcLog, number>()
export const weightOf = (log: RpcLog) => {
  const n = weights.get(log) ?? JSON.stringify(log).length
  weights.set(log, n)
  return n
}

/**
 * The logs a consumer was sent, per block, to send again with `removed: true` when a reorg takes
 * the block: of the newest `HISTORY` blocks, and of those no more than `budget` characters, the
 * oldest let go first. A block whose logs were let go is remembered as such: a reorg taking it
 * is told (`take` gives undefined), not passed over as a block without logs.
 */
export class SentLogs {
  readonly #kept = new Map<string, { logs: readonly RpcLog[]; chars: number } | undefined>()
  readonly #budget: number
  #chars = 0

  constructor(budget = BUDGET) {
    this.#budget = budget
  }

  /** Keeps the logs sent in block `hash` (in the order sent). */
  keep(hash: string, logs: readonly RpcLog[]): void {
    const chars = logs.reduce((t, log) => t + weightOf(log), 0)
    this.#kept.set(hash, { logs, chars })
    this.#chars += chars
    for (const [h, entry] of this.#kept) {
      if (this.#kept.size <= HISTORY && this.#chars <= this.#budget) break
      if (this.#kept.size > HISTORY) this.#kept.delete(h)
      else if (entry) this.#kept.set(h, undefined)
      this.#chars -= entry?.chars ?? 0
    }
  }

  /**
   * The logs sent in block `hash`, forgotten here (a reorg took it): none for a block not kept,
   * undefined for one whose logs were let go for the budget.
   */
  take(hash: string): readonly RpcLog[] | undefined {
    if (!this.#kept.has(hash)) return []
    const entry = this.#kept.get(hash)
    this.#kept.delete(hash)
    this.#chars -= entry?.chars ?? 0
    return entry?.logs
  }
}
