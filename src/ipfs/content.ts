/**
 * Content under a CID and path: walked with ipfs-unixfs-exporter (UnixFS files and
 * directories, HAMT-sharded too, raw, dag-cbor, dag-json, json) over a blockstore whose every
 * `get` is a verified block race (blockRace.ts), so each block of a file is hashed before it is
 * read. Bounded by `maxBytes`, checked against the declared size first and counted as it comes,
 * and in the work a DAG can make: a few blocks in flight at once (a node with thousands of links
 * would ask for them all together), and each block fetched once per call (a small file whose DAG
 * links one node ten thousand times would be fetched ten thousand times).
 */
import { exporter, type ReadableStorage } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import { BaseError } from '../shared/errors.ts'
import { collect, TooManyBytes } from '../shared/readBytes.ts'
import type { ContentAddress } from './address.ts'
import { getBlock, type RaceContext, type Stopped } from './blockRace.ts'
import { ContentError, ContentNotFoundError, ContentTooLargeError } from './errors.ts'

export type ContentCall = { signal: AbortSignal; stopped: Stopped; maxBytes: number }

/** Blocks of one call asked for at once. */
const BLOCKS_IN_FLIGHT = 16
/** Bytes of fetched blocks one call keeps for its DAG's repeated links, at least. */
const KEEP_BYTES = 4 * 1024 * 1024

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
  // Blocks this call fetched (verified), kept while they fit in `maxBytes` (at least 4 MiB: the
  // DAG's inner nodes count too): a DAG that links one block many times costs one fetch of it.
  const fetched = new Map<string, Promise<Uint8Array>>()
  const keep = Math.max(call.maxBytes, KEEP_BYTES)
  let kept = 0
  const fetchOnce = (cid: CID) => {
    const key = cid.toString()
    const known = fetched.get(key)
    if (known) return known
    const block = getBlock(ctx, cid, call.signal, stopped)
    fetched.set(key, block)
    block.then(
      (bytes) => {
        kept += bytes.byteLength
        if (kept > keep) fetched.delete(key)
      },
      () => fetched.delete(key),
    )
    return block
  }
  const store: ReadableStorage = {
    get: (cid: CID) =>
      (async function* () {
        try {
          yield await fetchOnce(cid)
        } catch (error) {
          if (error instanceof ContentNotFoundError && error.cid === cid.toString())
            throw new ContentNotFoundError(root, error.reasons, subject(error.cid))
          throw error
        }
      })(),
  }
  try {
    const entry = await exporter(
      address.path.length ? `${root}/${address.path.join('/')}` : address.cid,
      store,
      { signal: call.signal },
    )
    if (entry.type === 'directory')
      throw new ContentError(root, `${where} is a directory, not a file.`)
    if (entry.type === 'object') {
      if (entry.node.byteLength > call.maxBytes)
        throw new ContentTooLargeError(root, call.maxBytes, entry.node.byteLength)
      return entry.node
    }
    if (entry.size > BigInt(call.maxBytes))
      throw new ContentTooLargeError(root, call.maxBytes, entry.size)
    const content = entry.content({ signal: call.signal, blockReadConcurrency: BLOCKS_IN_FLIGHT })
    return await collect(content, call.maxBytes).catch((error) => {
      throw error instanceof TooManyBytes ? new ContentTooLargeError(root, call.maxBytes) : error
    })
  } catch (error) {
    if (error instanceof ContentError) throw error
    if (call.signal.aborted) throw stopped(root, [])
    throw explain(error, root, where)
  }
}

/** The exporter's own errors, named for the content they are about. */
function explain(error: unknown, root: string, where: string): Error {
  const name = (error as { name?: unknown })?.name
  if (name === 'NotFoundError')
    return new ContentError(root, `${where} does not exist (no such entry).`)
  if (name === 'NoResolverError' || name === 'NoPropError')
    return new ContentError(root, `${where} cannot be read: ${(error as Error).message}.`)
  if (error instanceof BaseError) return error
  return new ContentError(root, `${where} is not valid content.`, { cause: error })
}
