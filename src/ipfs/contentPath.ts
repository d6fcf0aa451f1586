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

/** The CID `path` names under `root`; `where` is the content as errors name it. */
export async function resolvePath(
  root: CID,
  path: readonly string[],
  store: ReadableStorage,
  signal: AbortSignal,
  where: string,
): Promise<CID> {
  if (!path.length) return root
  const steps = []
  for await (const step of walkPath(`${root}/${path.join('/')}`, store, { signal }))
    steps.push(step)
  const last = steps.at(-1)
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
  for (let i = 1; i < steps.length; i++) {
    const dir = steps[i - 1]!
    const step = steps[i]!
    if (dir.cid.code !== DAG_PB || !(await isHamt(dir.cid, store, signal))) continue
    const inBucket = await hamtEntry(dir.cid, step.name, store, signal)
    if (!inBucket?.equals(step.cid))
      throw new ContentError(
        `${root}`,
        `${where} cannot be read: the HAMT-sharded directory ${dir.path} holds "${step.name}" outside its bucket.`,
      )
  }
  return last.cid
}

async function isHamt(cid: CID, store: ReadableStorage, signal: AbortSignal): Promise<boolean> {
  const entry = await exporter(cid, store, { signal })
  return entry.type === 'directory' && entry.unixfs.type === 'hamt-sharded-directory'
}
