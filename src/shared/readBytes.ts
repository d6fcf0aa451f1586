/**
 * A body's bytes, read with a cap: a source that sends more than it may (an IPFS block, a
 * light-client answer) is cut off at the cap, not buffered whole.
 */
import { concatBytes } from '@noble/hashes/utils'

/** Thrown when a body passes the cap; the route's fault. */
export class TooManyBytes extends Error {
  override name = 'TooManyBytes'
}

/** Joins chunks from a response body, a Helia blockstore or an array, refusing past `max`. */
export async function collect(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  max: number,
  onTooMany?: () => void,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let size = 0
  for await (const chunk of chunks) {
    size += chunk.byteLength
    if (size > max) {
      onTooMany?.()
      throw new TooManyBytes(`more than ${max} bytes`)
    }
    parts.push(chunk)
  }
  return parts.length === 1 ? parts[0]! : concatBytes(...parts)
}

/**
 * A response body as bytes, at most `max` (checked against Content-Length first). With `signal`,
 * the read ends when it aborts, whatever the fetch implementation does with its own signal.
 */
export async function readResponse(
  response: Response,
  max: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'))
  if (declared > max) {
    await response.body?.cancel().catch(() => {})
    throw new TooManyBytes(`${declared} bytes declared, more than ${max}`)
  }
  if (!response.body) return new Uint8Array(0)
  const reader = response.body.getReader()
  const onAbort = () => reader.cancel(signal?.reason).catch(() => {})
  signal?.addEventListener('abort', onAbort, { once: true })
  const chunks = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const { done, value } = await reader.read()
        if (signal?.aborted) throw signal.reason
        if (done) return
        yield value
      }
    },
  }
  try {
    return await collect(chunks, max, () => {
      reader.cancel().catch(() => {})
    })
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}
