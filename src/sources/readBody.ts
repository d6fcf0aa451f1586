/** A body that came in slower than its floor: the attempt was cut. */
export class SlowBodyError extends Error {
  override name = 'SlowBodyError'
  /** Bytes received before the cut. */
  readonly bytes: number
  /** Milliseconds since the body began. */
  readonly ms: number
  /** The floor, in bytes per second. */
  readonly floor: number

  constructor(bytes: number, ms: number, floor: number) {
    const rate = Math.floor((bytes * 1000) / Math.max(1, ms))
    super(
      `body arrived at ${rate} B/s, below the floor of ${floor} B/s (${bytes} bytes in ${ms} ms)`,
    )
    this.bytes = bytes
    this.ms = ms
    this.floor = floor
  }
}

/**
 * A floor under the rate a body arrives at. Until `grace` ms after the headers any pace is
 * accepted; from then on the bytes received must keep up with `bytesPerSecond` on average since
 * the headers, else the read is cut (`SlowBodyError`). A body whose whole length arrives within
 * the grace is never cut, however small.
 */
export type RateFloor = { bytesPerSecond: number; grace: number }

/**
 * Reads a response body as text, refusing (RangeError) once it passes `maxBytes`, cut
 * (SlowBodyError) when it falls below `floor`, and ending as soon as `signal` aborts (rejecting
 * with its reason) even if the fetch implementation does not watch the signal.
 */
export async function readBody(
  response: Response,
  maxBytes: number,
  signal?: AbortSignal,
  floor?: RateFloor,
): Promise<string> {
  const declared = Number(response.headers.get('content-length'))
  if (declared > maxBytes) {
    await response.body?.cancel()
    throw new RangeError(`response of ${declared} bytes exceeds maxResponseBytes (${maxBytes})`)
  }
  if (!response.body) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  /** Why the read was stopped from outside (a timer or the signal): thrown after `read()` settles. */
  let stopped: { reason: unknown } | undefined
  const stop = (reason: unknown) => {
    if (stopped) return
    stopped = { reason }
    // Settles a pending read() with `done`, and lets the platform drop the connection.
    reader.cancel(reason).catch(() => {})
  }
  const onAbort = () => stop(signal?.reason)
  const started = performance.now()
  let timer: ReturnType<typeof setTimeout> | undefined
  /** Checks the rate once the grace is over; re-arms for when the bytes so far fall behind. */
  const check = () => {
    if (!floor) return
    const elapsed = performance.now() - started
    // The time by which `size` bytes are no longer enough to keep up with the floor.
    const due = Math.max(floor.grace, (size * 1000) / floor.bytesPerSecond)
    if (elapsed >= due)
      return stop(new SlowBodyError(size, Math.round(elapsed), floor.bytesPerSecond))
    timer = setTimeout(check, Math.ceil(due - elapsed))
  }
  try {
    if (signal?.aborted) {
      reader.cancel().catch(() => {})
      throw signal.reason
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    if (floor && floor.bytesPerSecond > 0) timer = setTimeout(check, floor.grace)
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>
      try {
        result = await reader.read()
      } catch (error) {
        throw stopped ? stopped.reason : error
      }
      if (stopped) throw stopped.reason
      const { done, value } = result
      if (done) break
      size += value.byteLength
      if (size > maxBytes) {
        await reader.cancel()
        throw new RangeError(`response exceeds maxResponseBytes (${maxBytes})`)
      }
      chunks.push(value)
    }
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const c of chunks) {
    bytes.set(c, offset)
    offset += c.byteLength
  }
  return new TextDecoder().decode(bytes)
}
