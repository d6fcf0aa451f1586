/** Just enough ANSI for the live view: colours, visible width, and fitting text to a column. */
import { stripVTControlCharacters } from 'node:util'

const ESC = '\u001b['

export type Style =
  | 'bold'
  | 'dim'
  | 'red'
  | 'green'
  | 'yellow'
  | 'blue'
  | 'magenta'
  | 'cyan'
  | 'inverse'

const CODES: Record<Style, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
  inverse: [7, 27],
}

export type Paint = (text: string, ...styles: Style[]) => string

/** A painter that applies styles, or leaves text alone when colour is off. */
export function painter(enabled: boolean): Paint {
  if (!enabled) return (text) => text
  return (text, ...styles) =>
    styles.reduce((s, style) => `${ESC}${CODES[style][0]}m${s}${ESC}${CODES[style][1]}m`, text)
}

/** Width of `text` on screen, escape sequences excluded. */
export function visibleWidth(text: string): number {
  return stripVTControlCharacters(text).length
}

/** Pads (or cuts) `text` to exactly `width` visible characters. */
export function cell(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const fitted = fit(text, width)
  const gap = ' '.repeat(Math.max(0, width - visibleWidth(fitted)))
  return align === 'left' ? fitted + gap : gap + fitted
}

/** Cuts `text` to at most `width` visible characters, keeping escape sequences intact. */
export function fit(text: string, width: number): string {
  if (visibleWidth(text) <= width) return text
  let out = ''
  let shown = 0
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\u001b' && text[i + 1] === '[') {
      const end = text.slice(i).search(/[A-Za-z]/)
      out += text.slice(i, i + end + 1)
      i += end
      continue
    }
    if (shown >= width - 1) continue
    out += text[i]
    shown++
  }
  return `${out}…${text.includes(ESC) ? `${ESC}0m` : ''}`
}

export const cursor = {
  hide: `${ESC}?25l`,
  show: `${ESC}?25h`,
  /** To the start of the line `n` lines up. */
  up: (n: number) => (n > 0 ? `${ESC}${n}F` : '\r'),
  clearDown: `${ESC}J`,
  /** Synchronised output: the terminal paints the frame at once (ignored where unsupported). */
  beginFrame: `${ESC}?2026h`,
  endFrame: `${ESC}?2026l`,
}
