/**
 * The blockstore one content call walks its DAG over: every `get` a verified block race
 * (blockRace.ts), bounded in the work a DAG can make. At most `BLOCKS_IN_FLIGHT` fetches at once
 * (a node with thousands of links would ask for them all together: the exporter's own limit,
 * it-parallel's, lets more through when its reader is slow). Each block is fetched once per call (a DAG
 * that links one node ten thousand times would fetch it ten thousand times), kept while the
 * kept blocks fit in `maxBytes` (at least 4 MiB); at most `MAX_BLOCK_READS` reads of blocks,
 * fetched or kept, per call (four blocks linking each other 700 × 700 times are half a million
 * reads, all from the kept blocks); and the event loop is let go every `YIELD_MS` of reads, so
 * the call's deadline can fire while the reads come from the kept blocks.
 *
 * A read that fails never rejects into the exporter: its file walk runs blocks in queues whose
 * rejections nobody handles (an unhandled rejection ends a Node process). The read hangs
 * instead, and `failed` rejects with its error: the caller races its walk against `failed`. For
 * the same reason a file's parts are checked here before the exporter decodes them (`flawOf`):
 * a part that does not decode, is no file, or whose sizes do not match its links would throw
 * inside those queues.
 */
import { decode as decodePb } from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import type { ReadableStorage } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import { turnstile } from '../shared/turnstile.ts'
import { getBlock, type RaceContext, type Stopped } from './blockRace.ts'
import { ContentError, ContentNotFoundError } from './errors.ts'

/** Blocks of one call fetched at once. */
export const BLOCKS_IN_FLIGHT = 16
/** Bytes of fetched blocks one call keeps for its DAG's repeated links, at least. */
const KEEP_BYTES = 4 * 1024 * 1024
/** Block reads (fetched or kept) one call may make: an honest DAG reads each block about once. */
export const MAX_BLOCK_READS = 100_000
/** Longest run of reads, in ms, before the event loop is let go (a macrotask: timers run). */
const YIELD_MS = 20
const DAG_PB = 0x70

/** A dag-pb block as a file walk reads it: its UnixFS type and links, or why it cannot be read. */
type Shape = { type?: string; links: string[]; flaw?: string }

function shapeOf(bytes: Uint8Array): Shape {
  try {
    const node = decodePb(bytes)
    const links = node.Links.map((l) => l.Hash.toString())
    if (!node.Data) return { links }
    const fs = UnixFS.unmarshal(node.Data)
    if ((fs.type === 'file' || fs.type === 'raw') && fs.blockSizes.length !== links.length)
      return {
        links,
        flaw: `a file node with ${links.length} links and ${fs.blockSizes.length} block sizes`,
      }
    return { type: fs.type, links }
  } catch {
    return { links: [], flaw: 'not dag-pb with UnixFS data' }
  }
}

export type StoreCall = {
  signal: AbortSignal
  maxBytes: number
  /** The root CID and the content as errors name it, and what a stuck block's error says. */
  root: string
  where: string
  subject: (cid: string) => string
  stopped: Stopped
}

export function callStore(
  ctx: RaceContext,
  call: StoreCall,
): { store: ReadableStorage; failed: Promise<never> } {
  const fetched = new Map<string, Promise<Uint8Array>>()
  const keep = Math.max(call.maxBytes, KEEP_BYTES)
  let kept = 0
  const turns = turnstile(BLOCKS_IN_FLIGHT)
  const fetchOnce = (cid: CID) => {
    const key = cid.toString()
    const known = fetched.get(key)
    if (known) return known
    const block = turns.enter(call.signal).then(async () => {
      try {
        return await getBlock(ctx, cid, call.signal, call.stopped)
      } finally {
        turns.leave()
      }
    })
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
  /** Each dag-pb block's shape, read once; the blocks some file node links to as its parts. */
  const shapes = new Map<string, Shape>()
  const parts = new Set<string>()
  /** Why a block cannot be handed to the exporter's file walk, if it cannot. */
  const flawOf = (cid: CID, bytes: Uint8Array): string | undefined => {
    if (cid.code !== DAG_PB) return
    const key = cid.toString()
    let shape = shapes.get(key)
    if (!shape) {
      shape = shapeOf(bytes)
      shapes.set(key, shape)
      if (shape.type === 'file' || shape.type === 'raw') for (const l of shape.links) parts.add(l)
    }
    if (shape.flaw) return shape.flaw
    if (parts.has(key) && shape.type !== 'file' && shape.type !== 'raw')
      return `a file's part that is no file (${shape.type ?? 'no UnixFS data'})`
  }
  let reads = 0
  let ranSince = Date.now()
  const read = async (cid: CID) => {
    if (++reads > MAX_BLOCK_READS)
      throw new ContentError(
        call.root,
        `${call.where} takes more than ${MAX_BLOCK_READS} block reads (its DAG links the same blocks over and over): refused.`,
      )
    if (Date.now() - ranSince > YIELD_MS) {
      await new Promise((resolve) => setTimeout(resolve, 0))
      ranSince = Date.now()
    }
    if (call.signal.aborted) throw call.stopped(call.root, [])
    const bytes = await fetchOnce(cid)
    const flaw = flawOf(cid, bytes)
    if (flaw) throw new ContentError(call.root, `${call.where}: block ${cid} is ${flaw}: refused.`)
    return bytes
  }
  let fail: (error: unknown) => void = () => {}
  const failed = new Promise<never>((_, reject) => {
    fail = reject
  })
  failed.catch(() => {})
  const store: ReadableStorage = {
    get: (cid: CID) =>
      (async function* () {
        try {
          yield await read(cid)
        } catch (error) {
          fail(
            error instanceof ContentNotFoundError && error.cid === cid.toString()
              ? new ContentNotFoundError(call.root, error.reasons, call.subject(error.cid))
              : error,
          )
          await new Promise<never>(() => {})
        }
      })(),
  }
  return { store, failed }
}
