/**
 * A stable string for an answer, so that answers from different nodes can be compared:
 * object keys sorted, hex strings lower-cased. Errors that every node gives (reverts) are keyed
 * by their code and data, so that honest nodes agree on them too. What it is given has passed
 * `checkShape` (bounds.ts): at most 1,024 levels deep, so recursion is safe here.
 */
export function canonical(value: unknown): string {
  return JSON.stringify(normalize(value)) ?? String(value)
}

function normalize(value: unknown): unknown {
  if (typeof value === 'string') return value.startsWith('0x') ? value.toLowerCase() : value
  if (Array.isArray(value)) return value.map(normalize)
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) {
      const v = normalize((value as Record<string, unknown>)[key])
      // A member named `__proto__` is a member like any other: assigned, it would set the
      // prototype and drop out of the comparison.
      if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true })
      else out[key] = v
    }
    return out
  }
  return value
}

/**
 * A short form of an answer for error messages and events: at most `max` characters. A large
 * answer is not written whole to get them: only its first entries, a few levels down. Cut where
 * `max` falls, so a text must be scrubbed before (fanOut.ts `show`); JSON with a space between
 * members.
 */
export function preview(value: unknown, max = 80): string {
  const text =
    typeof value === 'string'
      ? value
      : (JSON.stringify(head(value, 4), null, 1)?.replace(/\n */g, ' ') ?? String(value))
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** `value` with at most 16 entries per container and `depth` levels: the start of its JSON. */
function head(value: unknown, depth: number): unknown {
  if (!value || typeof value !== 'object') return value
  if (depth === 0) return Array.isArray(value) ? [] : {}
  if (Array.isArray(value)) return value.slice(0, 16).map((v) => head(v, depth - 1))
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).slice(0, 16))
    out[key] = head((value as Record<string, unknown>)[key], depth - 1)
  return out
}
