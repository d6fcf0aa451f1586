/**
 * `load`'s promise, shared by every call once it resolves. A load that rejects (a chunk the
 * page's host failed to serve, in an outage) is not kept: the next call tries again, so a
 * client outlives its host's outage rather than failing that way for the rest of the page.
 * `started()` is the load begun and not failed, if any, without beginning one.
 */
export function lazy<T>(load: () => Promise<T>) {
  let loaded: Promise<T> | undefined
  const get = () =>
    (loaded ??= load().catch((error: unknown) => {
      loaded = undefined
      throw error
    }))
  get.started = () => loaded
  return get
}
