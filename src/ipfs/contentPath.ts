/**
 * A CID and path walked to the CID the path names, as IPFS gateways (Kubo's, boxo's) walk it:
 * every segment is a link taken. The exporter's own walk stops early and still answers: at a
 * file it drops the segments below (`<file>/42` would be the file), and inside a dag-json,
 * dag-cbor or JSON block it answers with the whole block for a path to a value in it. Both are
 * refused here: "no such entry" below a file; a value inside a block is not read (gateways
 * answer 501: only links are followed). A name in a HAMT-sharded directory must be the entry
 * its own bucket holds (hamt.ts), not one the exporter found in another bucket.
 */
import { exporter, type ReadableStorage, walkPath } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import { ContentError } from './errors.ts'
import { hamtEntry } from './hamt.ts'

const DAG_PB = 0x70
/** Codecs whose blocks hold values a path can name (JSON, dag-json, CBOR, dag-cbor). */
const OBJECT_CODECS = new Map([
  [0x0200, 'JSON'],
  [0x0129, 'dag-json'],
  [0x51, 'CBOR'],
  [0x71, 'dag-cbor'],
])

/**
 * The CID `path` names under `root`; `where` is the content as errors name it. One segment at a
 * time: the exporter splits a path on every `/` not after a `\`, so `a\` then `b` joined would
 * be the one name `a\/b`, another entry.
 */
export async function resolvePath(
  root: CID,
  path: readonly string[],
  store: ReadableStorage,
  signal: AbortSignal,
  where: string,
): Promise<CID> {
  let dir = root
  for (const name of path) {
    let last: { cid: CID; path: string; remainder: string[] } | undefined
    for await (const step of walkPath(`${dir}/${name}`, store, { signal })) last = step
    if (!last) throw new ContentError(`${root}`, `${where} does not exist (no such entry).`)
    if (last.remainder.length) {
      const rest = last.remainder.join('/')
      const codec = OBJECT_CODECS.get(last.cid.code)
      throw new ContentError(
        `${root}`,
        codec
          ? `${where} cannot be read: "${rest}" is a value inside the ${codec} block ${last.path}, not a link (only links are followed, as IPFS gateways do).`
          : `${where} does not exist (no such entry): ${last.path} has no entries below it.`,
      )
    }
    if (dir.code === DAG_PB && (await isHamt(dir, store, signal))) {
      const inBucket = await hamtEntry(dir, name, store, signal)
      if (!inBucket?.equals(last.cid))
        throw new ContentError(
          `${root}`,
          `${where} cannot be read: the HAMT-sharded directory ${dir} holds "${name}" outside its bucket.`,
        )
    }
    dir = last.cid
  }
  return dir
}

async function isHamt(cid: CID, store: ReadableStorage, signal: AbortSignal): Promise<boolean> {
  const entry = await exporter(cid, store, { signal })
  return entry.type === 'directory' && entry.unixfs.type === 'hamt-sharded-directory'
}
