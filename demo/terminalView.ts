/**
 * The live view: the dashboard redrawn in place about four times a second, with ANSI colour
 * and cursor movement. Only node built-ins.
 */
import { cursor, fit, painter } from './ansi.ts'
import { type DemoSnapshot, renderDashboard } from './dashboard.ts'
import type { DemoView } from './view.ts'

const FRAME_MS = 250

/** A live view on `out`, which must be a TTY. */
export function createTerminalView(out: NodeJS.WriteStream): DemoView {
  const paint = painter(!process.env.NO_COLOR)
  let drawn = 0
  let timer: NodeJS.Timeout | undefined
  let snapshot: (() => DemoSnapshot) | undefined
  const restore = () => out.write(cursor.show)

  const draw = () => {
    if (!snapshot) return
    const width = Math.max(40, (out.columns || 100) - 1)
    const height = Math.max(10, (out.rows || 30) - 1)
    const lines = renderDashboard(snapshot(), paint, width, height).map((l) => fit(l, width))
    out.write(
      `${cursor.beginFrame}${cursor.up(drawn)}${cursor.clearDown}${lines.join('\n')}\n${cursor.endFrame}`,
    )
    drawn = lines.length
  }

  return {
    event: () => {},
    say(text) {
      if (timer) return
      out.write(`${text}\n`)
    },
    start(next) {
      snapshot = next
      out.write(cursor.hide)
      process.once('exit', restore)
      draw()
      timer = setInterval(draw, FRAME_MS)
      out.on('resize', draw)
    },
    stop() {
      if (!timer) return
      clearInterval(timer)
      timer = undefined
      out.off('resize', draw)
      draw()
      restore()
      process.off('exit', restore)
    },
  }
}
