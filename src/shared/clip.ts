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
