/**
 * Content under a CID and path: walked with ipfs-unixfs-exporter (UnixFS files and
 * directories, HAMT-sharded too, raw, dag-cbor, dag-json, json) over a blockstore whose every
 * `get` is a verified block race (blockRace.ts), so each block of a file is hashed before it is
 * read. Bounded by `maxBytes`, checked against the declared size first and counted as it comes.
 */
import { exporter, type ReadableStorage } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import { BaseError } from '../shared/errors.ts'
import { collect, TooManyBytes } from '../shared/readBytes.ts'
import type { ContentAddress } from './address.ts'
import { getBlock, type RaceContext, type Stopped } from './blockRace.ts'
import { ContentError, ContentNotFoundError, ContentTooLargeError } from './errors.ts'

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
  const store: ReadableStorage = {
    get: (cid: CID) =>
      (async function* () {
        try {
          yield await getBlock(ctx, cid, call.signal, stopped)
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
    return await collect(entry.content({ signal: call.signal }), call.maxBytes).catch((error) => {
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
