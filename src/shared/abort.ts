/** Settles with `promise`, or rejects with `error()` as soon as `signal` aborts. */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  error: () => Error,
): Promise<T> {
  if (!signal) return promise
  if (signal.aborted) {
    promise.catch(() => {}) // given up: its own failure must not go unhandled
    return Promise.reject(error())
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(error())
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** Settles with `promise`, or rejects with `error()` once `deadline` (epoch ms) has passed. */
export function beforeDeadline<T>(
  promise: Promise<T>,
  deadline: number,
  error: () => Error,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), Math.max(0, deadline - Date.now()))
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}
