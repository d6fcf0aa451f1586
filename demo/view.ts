/** How the demo reports while it runs: a live terminal view, or plain log lines. */
import type { DemoSnapshot } from './dashboard.ts'
import type { LoggedEvent } from './eventLog.ts'

export type DemoView = {
  /** A notable event, first time it happens (repeats are folded). */
  event(event: LoggedEvent): void
  /** A message outside the run (start-up, shut-down). */
  say(text: string): void
  /** Starts reporting; `snapshot` is read whenever the view needs the current picture. */
  start(snapshot: () => DemoSnapshot): void
  /** Draws a last time and gives the terminal back. */
  stop(): void
}
