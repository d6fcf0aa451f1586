/**
 * A stable string for an answer, so that answers from different nodes can be compared:
 * object keys sorted, hex strings lower-cased. Errors that every node gives (reverts) are keyed
 * by their code and data, so that honest nodes agree on them too.
 */
export function canonical(value: unknown): string {
  return JSON.stringify(normalize(value))
}

function normalize(value: unknown): unknown {
  if (typeof value === 'string') return value.startsWith('0x') ? value.toLowerCase() : value
  if (Array.isArray(value)) return value.map(normalize)
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort())
      out[key] = normalize((value as Record<string, unknown>)[key])
    return out
  }
  return value
}

/** A short form of an answer for error messages and events. */
export function preview(value: unknown, max = 80): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}
