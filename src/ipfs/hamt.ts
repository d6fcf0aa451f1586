/**
 * A name's place in a UnixFS HAMT-sharded directory, found the way Kubo and every gateway find
 * it: the name's murmur3-x64-64 hash, read `log2(fanout)` bits per level, names the bucket at
 * each level; the node's bitfield says whether that bucket holds a link and which one (its place
 * among the set bits). A link named by the bucket alone is a sub-shard; one named bucket + name
 * is the entry. The exporter instead takes the first link whose name ends in the name, in any
 * bucket: content can put a second entry of the same name in another bucket, and only this
 * lookup says which one the path names. A shard declaring another hash function, or none, is
 * refused, as Kubo refuses it.
 */
import { murmur364 } from '@multiformats/murmur3'
import { exporter, type ReadableStorage } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import { reader } from 'protons-runtime'

/** A shard node as the exporter reads it. */
type Shard = { Data?: Uint8Array; Links: { Name?: string; Hash: CID }[] }

/**
 * The CID the name is under in the HAMT rooted at `dir`, or undefined when its bucket holds no
 * such entry. Throws on a shard that is not a well-formed HAMT node.
 */
export async function hamtEntry(
  dir: CID,
  name: string,
  store: ReadableStorage,
  signal: AbortSignal,
): Promise<CID | undefined> {
  const hash = nameHash(new TextEncoder().encode(name))
  for (let shard = dir; ; ) {
    const entry = await exporter(shard, store, { signal })
    if (entry.type !== 'directory' || entry.unixfs.type !== 'hamt-sharded-directory')
      throw new Error(`HAMT shard ${shard} is not a HAMT node`)
    const node = entry.node as Shard
    // What Kubo reads: murmur3 alone (boxo's NewHamtFromDag, for every shard it loads), a
    // missing hashType read as 0 and refused too; then a fanout its bitfield's whole bytes hold.
    const hashType = hashTypeOf(node.Data!)
    if (hashType !== 0x22n)
      throw new Error(
        `HAMT shard ${shard} declares ${hashType === undefined ? 'no hash function' : `hash function 0x${hashType.toString(16)}`}, not murmur3 (0x22)`,
      )
    const fanout = Number(entry.unixfs.fanout)
    const bits = Math.log2(fanout)
    if (!Number.isInteger(bits) || bits < 3 || bits > 16)
      throw new Error(
        `HAMT shard ${shard} has fanout ${fanout}, not a power of two from 8 to 65536`,
      )
    const bucket = await hash(bits)
    const prefix = bucket
      .toString(16)
      .toUpperCase()
      .padStart((fanout - 1).toString(16).length, '0')
    const links = node.Links
    // The bitfield says which buckets hold a link, and the links come in bucket order: a reader
    // takes the link at the bucket's place among the set bits, as Kubo does.
    const field = bitfield(entry.unixfs.data ?? new Uint8Array(0), fanout)
    if (field.count() !== links.length)
      throw new Error(`HAMT shard ${shard} has ${links.length} links for ${field.count()} set bits`)
    if (!field.has(bucket)) return undefined
    const link = links[field.below(bucket)]!
    if (link.Name === prefix + name) return link.Hash
    if (link.Name !== prefix) {
      if (link.Name?.startsWith(prefix)) return undefined // another name in that bucket
      throw new Error(`HAMT shard ${shard} has a link out of its bucket's place`)
    }
    shard = link.Hash
  }
}

/**
 * The hashType (field 5, a varint) of a UnixFS Data message, which ipfs-unixfs 13's `unmarshal`
 * drops: the last one given, as protobuf readers keep it; one of another wire type is no
 * hashType (Go's protobuf keeps it as an unknown field).
 */
function hashTypeOf(data: Uint8Array): bigint | undefined {
  const r = reader(data)
  let hashType: bigint | undefined
  while (r.pos < r.len) {
    const tag = r.uint32()
    if (tag === 5 << 3 /* field 5, varint */) hashType = r.uint64()
    else r.skipType(tag & 7)
  }
  return hashType
}

/**
 * A HAMT node's bitfield: big-endian bytes, bit `i` set when bucket `i` holds a link, read from
 * its last `fanout / 8` bytes (the JS importer leaves out leading zero bytes, Kubo writes them).
 */
function bitfield(field: Uint8Array, fanout: number) {
  // Longer: its last `fanout / 8` bytes, as Kubo reads it (the bytes before name no bucket).
  const bytes = field.subarray(Math.max(0, field.length - fanout / 8))
  /** The byte holding bucket `i`'s bit, from the end. */
  const byteOf = (i: number) => bytes[bytes.length - 1 - (i >> 3)] ?? 0
  const has = (i: number) => ((byteOf(i) >> (i & 7)) & 1) === 1
  /** Set bits below bucket `i`: whole bytes, then the low bits of its own. */
  const below = (i: number) => {
    let n = popcount(byteOf(i) & ((1 << (i & 7)) - 1))
    for (let k = 0; k < i >> 3; k++) n += popcount(byteOf(k * 8))
    return n
  }
  return { has, below, count: () => below(bytes.length * 8) }
}

function popcount(byte: number): number {
  let n = 0
  for (let b = byte; b; b &= b - 1) n++
  return n
}

/**
 * The name's hash as a stream of bits, as hamt-sharding reads it: the first 8 bytes of
 * murmur3-x64-128, most significant bit first; past them, the hash of the name and a depth byte.
 */
function nameHash(name: Uint8Array): (bits: number) => Promise<number> {
  let bytes = new Uint8Array(0)
  let used = 0
  let depth = 0
  return async (bits) => {
    let value = 0
    for (let i = 0; i < bits; i++, used++) {
      if (used === bytes.length * 8) {
        const input = depth ? Uint8Array.of(...name, depth) : name
        bytes = (await murmur364.digest(input)).digest
        used = 0
        depth++
      }
      value = value * 2 + ((bytes[used >> 3]! >> (7 - (used & 7))) & 1)
    }
    return value
  }
}
