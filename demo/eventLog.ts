/**
 * The notable things that happened during the run (phase changes, source state changes,
 * quorum loss, disagreements, failures), with repeats folded into one line and a count.
 */

export type EventTone = 'phase' | 'good' | 'bad' | 'warn' | 'info'

export type LoggedEvent = {
  /** Events with the same key within `foldWithin` ms are one line with a count. */
  key: string
  text: string
  tone: EventTone
  /** Milliseconds since the start of the run, first and latest occurrence. */
  at: number
  lastAt: number
  count: number
}

export type EventLog = {
  readonly entries: readonly LoggedEvent[]
  /** Adds an event; returns it, and whether it is new (not folded into an earlier line). */
  add(key: string, text: string, tone?: EventTone): { event: LoggedEvent; fresh: boolean }
  /** The last `n` entries, oldest first. */
  recent(n: number): LoggedEvent[]
}

/** An event log whose clock starts at `startedAt` (a `Date.now()` value). */
export function createEventLog(startedAt: number, foldWithin = 3_000, keep = 500): EventLog {
  const entries: LoggedEvent[] = []
  const byKey = new Map<string, LoggedEvent>()
  return {
    entries,
    add(key, text, tone = 'info') {
      const now = Date.now() - startedAt
      const previous = byKey.get(key)
      if (previous && now - previous.lastAt <= foldWithin) {
        previous.count++
        previous.lastAt = now
        previous.text = text
        return { event: previous, fresh: false }
      }
      const event: LoggedEvent = { key, text, tone, at: now, lastAt: now, count: 1 }
      entries.push(event)
      byKey.set(key, event)
      if (entries.length > keep) entries.splice(0, entries.length - keep)
      return { event, fresh: true }
    },
    recent: (n) => entries.slice(-n),
  }
}

/** `01:07.3`: minutes and seconds since the start of the run. */
export function formatClock(ms: number): string {
  const s = Math.max(0, ms) / 1000
  const minutes = Math.floor(s / 60)
  return `${String(minutes).padStart(2, '0')}:${(s - minutes * 60).toFixed(1).padStart(4, '0')}`
}
