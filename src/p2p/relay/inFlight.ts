/**
 * A bound on tasks in flight that never queues: a task past the bound is not run at all, and the
 * caller decides what that means. The relay's gossip validators ask its node through one
 * (relayGossip.ts): a peer can publish far faster than a node answers, and an unbounded queue
 * would only hold its flood in memory and delay every message behind it (heads wait in a short
 * queue of their own there, bounded in length and in time).
 */

export type InFlight = {
  /** Runs `task` if fewer than the bound are in flight; undefined (not run) otherwise. */
  run<T>(task: () => Promise<T>): Promise<T> | undefined
  /** Tasks in flight now. */
  count(): number
  /** True when a task would not be run now. */
  full(): boolean
}

export function inFlight(limit: number): InFlight {
  let running = 0
  return {
    count: () => running,
    full: () => running >= limit,
    run<T>(task: () => Promise<T>) {
      if (running >= limit) return undefined
      running++
      // The executor turns a task that throws at once into a rejection: the slot is given back.
      return new Promise<T>((resolve) => resolve(task())).finally(() => {
        running--
      })
    },
  }
}

/**
 * A bound per key (a peer) in front of other bounds: `run(key, start)` calls `start` only if
 * fewer than `perKey` of that key's tasks are in flight, and counts what it started (`start` may
 * start nothing: a shared bound past its limit) until it settles. One peer's flood then holds at
 * most `perKey` of the shared slots, whoever else is waiting.
 */
export function inFlightPer(perKey: number) {
  const running = new Map<string, number>()
  return {
    run<T>(key: string, start: () => Promise<T> | undefined): Promise<T> | undefined {
      const n = running.get(key) ?? 0
      if (n >= perKey) return undefined
      const task = start()
      if (!task) return undefined
      running.set(key, n + 1)
      return task.finally(() => {
        const left = (running.get(key) ?? 1) - 1
        if (left > 0) running.set(key, left)
        else running.delete(key)
      })
    },
    /** True when `key`'s next task would not be started. */
    full: (key: string) => (running.get(key) ?? 0) >= perKey,
  }
}
