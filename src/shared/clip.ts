/**
 * Text cut short for a message, without leaving most of a word behind at the cut: outlast
 * scrubs secrets (sources/secrets.ts) from what it emits, but only whole ones, and a cut made
 * before the scrub may fall inside an echoed key. The word the cut falls in (a run of characters
 * up to white space: a key, a password may hold any other character, a comma, a quote) keeps at
 * most its first `KEPT` characters, whatever they are: what is shown never depends on what the
 * secrets are, so nobody learns a key's start by sending guesses and watching which ones come
 * back shortened.
 */

/** What a word cut short keeps: a bad prefix shows (`0X5f…`), a key's start hardly does. */
const KEPT = 4
const DELIMITER = /\s/

/** `text` if at most `max` characters, else its start and `…`, at most `max` characters in all. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text
  let end = max - 1
  let start = end
  while (start > 0 && !DELIMITER.test(text[start - 1]!)) start--
  // A cut between two words leaves no part of one.
  if (DELIMITER.test(text[end]!)) start = end
  end = Math.min(end, start + KEPT)
  return `${text.slice(0, end)}…`
}

/**
 * What reorders, hides or breaks a line of text on a screen or in a log: C0 controls (newline
 * and tab too, ESC), DEL, C1, the Arabic letter mark, zero-width and direction marks, line and
 * paragraph separators, bidi embeddings, overrides and isolates, and the other invisible format
 * characters (U+2060-206F, the BOM).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are the point
const UNSEEN = /[\0-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g

/**
 * A source's text (a node's error message, a reason, an answer shown) as outlast quotes it: on
 * one line, every `UNSEEN` character written as a visible `\uXXXX`, then cut to `max` (by `clip`,
 * or `cut`: fanOut.ts previews an answer scrubbed whole). A source can then neither forge a line
 * of a message (another source's answer), nor send a terminal escape, nor reorder what is read,
 * nor fill a log. Call it on text already scrubbed of secrets: the escapes and the cut come
 * after. Only the first `max + 1` characters are read (no cut depends on more).
 */
export const plain = (text: string, max = 400, cut = clip): string =>
  cut(
    text
      .slice(0, max + 1)
      .replace(UNSEEN, (c) => `\\u${(c.charCodeAt(0) + 0x10000).toString(16).slice(1)}`),
    max,
  )
