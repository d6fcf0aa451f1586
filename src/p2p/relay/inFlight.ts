/**
 * A bound on tasks in flight that never queues: a task past the bound is not run at all, and the
 * caller decides what that means. The relay's gossip validators ask its node through one
 * (relayGossip.ts): a peer can publish far faster than a node answers, and a queue would only
 * hold its flood in memory and delay every message behind it.
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
