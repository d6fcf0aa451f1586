/** A tiny typed event emitter: the EIP-1193 `on` / `removeListener` surface and outlast's own events. */
export type Emitter<Events extends Record<string, unknown>> = {
  on<K extends keyof Events & string>(event: K, fn: (payload: Events[K]) => void): void
  removeListener<K extends keyof Events & string>(event: K, fn: (payload: Events[K]) => void): void
  emit<K extends keyof Events & string>(event: K, payload: Events[K]): void
  listenerCount(event: keyof Events & string): number
}

export function createEmitter<Events extends Record<string, unknown>>(): Emitter<Events> {
  const listeners = new Map<string, Set<(payload: never) => void>>()
  return {
    on(event, fn) {
      let set = listeners.get(event)
      if (!set) {
        set = new Set()
        listeners.set(event, set)
      }
      set.add(fn as (payload: never) => void)
    },
    removeListener(event, fn) {
      listeners.get(event)?.delete(fn as (payload: never) => void)
    },
    emit(event, payload) {
      const set = listeners.get(event)
      if (!set) return
      for (const fn of [...set]) {
        try {
          ;(fn as (p: typeof payload) => void)(payload)
        } catch (error) {
          // A listener's bug must break neither a request nor the host: report it where it
          // can be seen (the page's error event in browsers, the console in Node).
          reportListenerError(error)
        }
      }
    },
    listenerCount(event) {
      return listeners.get(event)?.size ?? 0
    },
  }
}

function reportListenerError(error: unknown): void {
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError
  try {
    if (typeof report === 'function') {
      report(error)
      return
    }
  } catch {}
  console.error('outlast: an event listener threw', error)
}
