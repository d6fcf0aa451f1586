/**
 * The proxy's bound on calls being answered at once, `maxConcurrent`, counted per call: a batch's
 * calls and a WebSocket's take their slots like single calls do (a 1 MiB batch holds about
 * 25,000 calls; counted as one request, it would run them all at once). A request that finds
 * every slot taken is turned away at once (503); a batch's calls wait their turn, in a queue
 * that is bounded too: a call past it is refused with `SlotsBusy`, never queued.
 */
export type CallSlots = {
  /** True when every slot is taken. */
  full(): boolean
  /** Runs `task` in a slot, waiting for one if need be; rejects with `SlotsBusy` if too many wait. */
  run<T>(task: () => Promise<T>): Promise<T>
}

/** A call refused because `maxWaiting` calls already wait for a slot. */
export class SlotsBusy extends Error {
  constructor() {
    super('too many calls waiting for a slot')
  }
}

export function callSlots(max: number, maxWaiting: number): CallSlots {
  let busy = 0
  const waiting: (() => void)[] = []
  const acquire = (): Promise<void> => {
    if (busy < max) {
      busy++
      return Promise.resolve()
    }
    if (waiting.length >= maxWaiting) return Promise.reject(new SlotsBusy())
    return new Promise((resolve) => waiting.push(resolve))
  }
  // A freed slot passes straight to the next waiting call (`busy` unchanged), else it is freed.
  const release = () => {
    const next = waiting.shift()
    if (next) next()
    else busy--
  }
  return {
    full: () => busy >= max,
    async run(task) {
      await acquire()
      try {
        return await task()
      } finally {
        release()
      }
    },
  }
}
