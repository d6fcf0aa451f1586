/** One line for an error from outlast or viem: the short message and the reasons it lists. */
export function describeError(error: unknown): string {
  const e = error as { shortMessage?: unknown; message?: unknown; details?: unknown }
  let text = typeof e?.shortMessage === 'string' ? e.shortMessage : String(e?.message ?? error)
  text = text.split('\n')[0]!.trim()
  // outlast lists each source's reason in metaMessages; viem puts the node's message in details.
  const meta = (error as { metaMessages?: unknown }).metaMessages
  const reasons = Array.isArray(meta)
    ? meta.map((m) => String(m).trim().replace(/^- /, '')).filter(Boolean)
    : []
  if (reasons.length) text = `${text.replace(/\.$/, '')}: ${reasons.join('; ')}`
  else if (typeof e?.details === 'string' && e.details && !text.includes(e.details))
    text = `${text.replace(/\.$/, '')}: ${e.details.split('\n')[0]!.trim()}`
  return text.length > 240 ? `${text.slice(0, 237)}…` : text
}
