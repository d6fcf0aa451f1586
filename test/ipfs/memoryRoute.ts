/**
 * An in-memory IPFS route and the UnixFS file nodes hostile content is made of, for the
 * adversarial IPFS tests (hostileGateway, hostileGateway2).
 */
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { base16 } from 'multiformats/bases/base16'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import type { IpfsRoute } from '../../src/ipfs/index.ts'

export const RAW = 0x55
export const DAG_PB = 0x70
export const enc = (s: string) => new TextEncoder().encode(s)
export const keyOf = (cid: CID) => base16.encode(cid.multihash.bytes)

/** An in-memory route: blocks by multihash, answering a tick later; counts what it is asked. */
export function memoryRoute(name = 'memory') {
  const blocks = new Map<string, Uint8Array>()
  const stats = { gets: 0, inflight: 0, peak: 0, bytes: 0 }
  const route: IpfsRoute = {
    name,
    kind: 'gateway',
    async get(cid) {
      stats.gets++
      stats.inflight++
      stats.peak = Math.max(stats.peak, stats.inflight)
      try {
        await new Promise((r) => setImmediate(r))
        const bytes = blocks.get(keyOf(cid))
        if (!bytes) return { missing: 'HTTP 404' }
        stats.bytes += bytes.byteLength
        return { bytes }
      } finally {
        stats.inflight--
      }
    },
  }
  const put = async (bytes: Uint8Array, codec = RAW) => {
    const cid = CID.createV1(codec, await sha256.digest(bytes))
    blocks.set(keyOf(cid), bytes)
    return cid
  }
  return { route, blocks, stats, put }
}

/** A UnixFS file node (dag-pb) with `data` inline and `links` of the given declared sizes. */
export function fileNode(links: { cid: CID; size: number }[], data?: Uint8Array): Uint8Array {
  const unixfs = new UnixFS({
    type: 'file',
    ...(data ? { data } : {}),
    blockSizes: links.map((l) => BigInt(l.size)),
  })
  return dagPb.encode(
    dagPb.prepare({
      Data: unixfs.marshal(),
      Links: links.map((l) => ({ Hash: l.cid, Tsize: l.size })),
    }),
  )
}
