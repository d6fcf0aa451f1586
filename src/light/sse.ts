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
  let buffer = ''
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
  return {
    push(chunk) {
      buffer += chunk
      const out: SseEvent[] = []
      for (;;) {
        const at = buffer.search(/\r\n|\r|\n/)
        if (at < 0) break
        // A lone \r at the end may be the first half of \r\n: wait for the next chunk.
        if (buffer[at] === '\r' && at === buffer.length - 1) break
        const end = buffer.startsWith('\r\n', at) ? at + 2 : at + 1
        const text = buffer.slice(0, at)
        buffer = buffer.slice(end)
        size += text.length
        if (size > maxEventBytes) throw tooLarge(maxEventBytes)
        line(text, out)
      }
      if (size + buffer.length > maxEventBytes) throw tooLarge(maxEventBytes)
      return out
    },
  }
}

const tooLarge = (max: number) => new RangeError(`an event of more than ${max} bytes`)
