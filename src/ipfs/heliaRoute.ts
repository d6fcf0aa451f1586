/**
 * An in-process Helia node as a route: `helia.blockstore.get`, which reads the node's own store
 * or asks its peers over bitswap. Imports nothing of Helia (the caller brings the node, or builds
 * one with `startHelia()` from `outlast/ipfs/helia`), so a dApp that never uses it never loads it.
 * A Helia node hashes what bitswap brings; the block is hashed again by the caller all the same.
 */
import { SourceError } from '../shared/errors.ts'
import { collect, TooManyBytes } from '../shared/readBytes.ts'
import type { HeliaLike, IpfsRoute, RouteAnswer } from './types.ts'

export type HeliaRouteOptions = {
  /** Shown in status, events and errors. @default 'helia' */
  name?: string
  /** Stopped by `close()` (a node the route's caller does not otherwise own). @default undefined */
  stop?: () => Promise<void>
}

export function heliaRoute(helia: HeliaLike, options: HeliaRouteOptions = {}): IpfsRoute {
  const name = options.name ?? 'helia'
  const fail = (kind: SourceError['kind'], message: string) => new SourceError(name, kind, message)
  return {
    name,
    kind: 'helia',
    async get(cid, { signal, maxBlockBytes }): Promise<RouteAnswer> {
      try {
        const got = helia.blockstore.get(cid, { signal })
        const bytes =
          got instanceof Promise || typeof (got as { then?: unknown }).then === 'function'
            ? await (got as Promise<Uint8Array>)
            : await collect(got as AsyncIterable<Uint8Array>, maxBlockBytes)
        if (bytes.byteLength > maxBlockBytes)
          throw new TooManyBytes(`more than ${maxBlockBytes} bytes`)
        return { bytes }
      } catch (error) {
        if (signal.aborted) throw fail('aborted', 'attempt cancelled')
        if (error instanceof TooManyBytes)
          throw fail('body', `block larger than maxBlockBytes (${maxBlockBytes})`)
        const what = (error as { name?: unknown })?.name
        throw fail(
          'network',
          `blockstore.get failed${typeof what === 'string' ? ` (${what})` : ''}`,
        )
      }
    },
    ...(options.stop ? { close: options.stop } : {}),
  }
}
