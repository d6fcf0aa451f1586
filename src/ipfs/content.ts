/**
 * Content under a CID and path: walked with ipfs-unixfs-exporter (UnixFS files and
 * directories, HAMT-sharded too, raw, dag-cbor, dag-json, json) over a blockstore whose every
 * `get` is a verified block race (contentStore.ts, blockRace.ts), so each block of a file is
 * hashed before it is read. The path is walked as gateways walk it (contentPath.ts). Bounded by
 * `maxBytes`, checked against the declared size first and counted as it comes, and in the work
 * a DAG can make: a few blocks in flight at once (a node with thousands of links would ask for
 * them all together), and the store's own bounds (each block fetched once, a cap on reads).
 */
import { exporter } from 'ipfs-unixfs-exporter'
import { BaseError } from '../shared/errors.ts'
import { collect, TooManyBytes } from '../shared/readBytes.ts'
import type { ContentAddress } from './address.ts'
import type { RaceContext, Stopped } from './blockRace.ts'
import { resolvePath } from './contentPath.ts'
import { BLOCKS_IN_FLIGHT, callStore } from './contentStore.ts'
import { ContentError, ContentTooLargeError } from './errors.ts'

export type ContentCall = { signal: AbortSignal; stopped: Stopped; maxBytes: number }

export async function fetchContent(
  ctx: RaceContext,
  address: ContentAddress,
  call: ContentCall,
): Promise<Uint8Array> {
  const root = address.cid.toString()
  const where = [root, ...address.path].join('/')
  const subject = (cid: string) =>
    cid === root && !address.path.length ? root : `${where} (block ${cid})`
  // Every error names the content asked for: the root CID, the path, and the block it stuck on.
  const stopped: Stopped = (cid, reasons) => call.stopped(root, reasons, subject(cid))
  const { signal, maxBytes } = call
  const { store, failed } = callStore(ctx, { signal, maxBytes, root, where, subject, stopped })
  const walk = async () => {
    const cid = await resolvePath(address.cid, address.path, store, signal, where)
    const entry = await exporter(cid, store, { signal })
    if (entry.type === 'directory')
      throw new ContentError(root, `${where} is a directory, not a file.`)
    if (entry.type === 'object') {
      if (entry.node.byteLength > maxBytes)
        throw new ContentTooLargeError(root, maxBytes, entry.node.byteLength)
      return entry.node
    }
    if (entry.size > BigInt(maxBytes)) throw new ContentTooLargeError(root, maxBytes, entry.size)
    const content = entry.content({ signal, blockReadConcurrency: BLOCKS_IN_FLIGHT })
    return await collect(content, maxBytes).catch((error) => {
      throw error instanceof TooManyBytes ? new ContentTooLargeError(root, maxBytes) : error
    })
  }
  try {
    // A block that fails ends the call through `failed`; the walk waiting on it is dropped.
    return await Promise.race([walk(), failed])
  } catch (error) {
    if (error instanceof ContentError) throw error
    if (signal.aborted) throw stopped(root, [])
    throw explain(error, root, where)
  }
}

/** The exporter's own errors, named for the content they are about. */
function explain(error: unknown, root: string, where: string): Error {
  const name = (error as { name?: unknown })?.name
  if (name === 'NotFoundError' || name === 'BadPathError')
    return new ContentError(root, `${where} does not exist (no such entry).`)
  if (name === 'NoResolverError' || name === 'NoPropError')
    return new ContentError(root, `${where} cannot be read: ${(error as Error).message}.`)
  if (error instanceof BaseError) return error
  return new ContentError(root, `${where} is not valid content.`, { cause: error })
}
