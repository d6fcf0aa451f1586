/**
 * A small Server-Sent Events reader (the WHATWG event-stream format, the parts a beacon node
 * uses: `event:` and `data:` lines, blank-line dispatch, comments). No EventSource: it cannot
 * send headers, bound sizes or use our signal. Pure: fed text, it returns the whole events.
 */

export type SseEvent = { event: string; data: string }

export type SseParser = {
  /** Feeds a chunk of text; returns the events it completed. Throws a `RangeError` once an event passes `maxEventBytes`. */
  push(chunk: string): SseEvent[]
}

/** A parser that holds at most `maxEventBytes` characters of one unfinished event (a hostile stream's line that never ends). */
export function sseParser(maxEventBytes = 1_048_576): SseParser {
  let event = ''
  let data: string[] = []
  let size = 0
  const line = (text: string, out: SseEvent[]) => {
    if (text === '') {
      if (data.length > 0) out.push({ event: event || 'message', data: data.join('\n') })
      event = ''
      data = []
      size = 0
      return
    }
    if (text.startsWith(':')) return
    const colon = text.indexOf(':')
    const field = colon < 0 ? text : text.slice(0, colon)
    let value = colon < 0 ? '' : text.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') event = value
    else if (field === 'data') data.push(value)
  }
  /** The unfinished line, never scanned again: each chunk is searched once (linear time). */
  let pending = ''
  /** The last chunk ended with `\r`: a `\n` starting the next one is its second half. */
  let afterCr = false
  const ends = /\r\n|\r|\n/g
  return {
    push(chunk) {
      const out: SseEvent[] = []
      let from = afterCr && chunk.startsWith('\n') ? 1 : 0
      afterCr = false
      for (;;) {
        ends.lastIndex = from
        const end = ends.exec(chunk)
        if (!end) break
        const text = pending + chunk.slice(from, end.index)
        pending = ''
        from = end.index + end[0].length
        afterCr = end[0] === '\r' && from === chunk.length
        size += text.length
        if (size > maxEventBytes) throw tooLarge(maxEventBytes)
        line(text, out)
      }
      pending += chunk.slice(from)
      if (size + pending.length > maxEventBytes) throw tooLarge(maxEventBytes)
      return out
    },
  }
}

const tooLarge = (max: number) => new RangeError(`an event of more than ${max} bytes`)
