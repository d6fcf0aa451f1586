/**
 * A gateway's answer, following its redirects only within its own origin. A gateway that points
 * elsewhere would send the dApp's request (its CID, its IPNS name, the user's IP) to a host the
 * app never chose: such a redirect is refused, never followed. The bytes are hash- or
 * signature-checked anyway; this is about who is asked.
 */

/** Same-origin redirects followed per request (a gateway moving `/ipfs/x` to `/ipfs/x/`). */
export const MAX_REDIRECTS = 2

/** A redirect that was not followed: to another origin, past the hops, or opaque. */
export class RedirectRefusedError extends Error {
  override name = 'RedirectRefusedError'
  readonly status: number

  constructor(message: string, status: number) {
    super(message)
    this.status = status
  }
}

/** `fetchFn(url, init)` with redirects handled here (`redirect: 'manual'`), within `url`'s origin. */
export async function fetchSameOrigin(
  fetchFn: typeof fetch,
  url: URL,
  init: RequestInit,
): Promise<Response> {
  let target = url
  for (let hop = 0; ; hop++) {
    const response = await fetchFn(target, { ...init, redirect: 'manual' })
    const { status } = response
    if (status >= 300 && status < 400) {
      await response.body?.cancel().catch(() => {})
      const location = response.headers.get('location')
      const next = location ? urlOf(location, target) : undefined
      if (!next || next.origin !== url.origin)
        throw new RedirectRefusedError(`HTTP ${status}: redirect to another host refused`, status)
      if (hop >= MAX_REDIRECTS) throw new RedirectRefusedError('too many redirects', status)
      target = next
      continue
    }
    // A browser hides a manual redirect's target: it is refused, as one to another host.
    if (status === 0 || response.type === 'opaqueredirect')
      throw new RedirectRefusedError('redirect refused', status)
    return response
  }
}

function urlOf(location: string, from: URL): URL | undefined {
  try {
    return new URL(location, from)
  } catch {
    return undefined
  }
}
