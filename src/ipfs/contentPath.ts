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
    if (dir.code === DAG_PB) {
      const named = await linkNamed(dir, name, store, signal)
      if (named !== 'no directory' && !named?.equals(last.cid))
        throw new ContentError(
          `${root}`,
          `${where} cannot be read: the directory ${dir} does not name "${name}" as gateways read it (a HAMT entry outside its bucket, or a link name that is not UTF-8 or not alone).`,
        )
    }
    dir = last.cid
  }
  return dir
}

/**
 * The link `name` names in the dag-pb directory `dir`, read as Kubo reads it (names compared as
 * bytes): in a HAMT by its bucket (hamt.ts); in a plain directory the one link named `name`.
 * The exporter's walk decodes names its own lenient way and takes the first match: a link whose
 * bytes are overlong UTF-8 for "A" is "A" to it. 'no directory' when `dir` is none (a file:
 * the walk said so already).
 */
async function linkNamed(
  dir: CID,
  name: string,
  store: ReadableStorage,
  signal: AbortSignal,
): Promise<CID | undefined | 'no directory'> {
  const entry = await exporter(dir, store, { signal })
  if (entry.type !== 'directory') return 'no directory'
  if (entry.unixfs.type === 'hamt-sharded-directory') return hamtEntry(dir, name, store, signal)
  // dag-pb decodes names as the platform's TextDecoder does: bytes that are not UTF-8 become
  // U+FFFD, and a leading BOM goes. A name without U+FFFD that one link alone decodes to is
  // that link's bytes; two such links (one with a BOM) are no answer.
  if (name.includes('\uFFFD')) return undefined
  const links = (entry.node as { Links: { Name?: string; Hash: CID }[] }).Links
  const named = links.filter((l) => l.Name === name)
  return named.length === 1 ? named[0]!.Hash : undefined
}
