/**
 * Paths as gateways walk them (src/ipfs/contentPath.ts), on honest content: every segment a
 * link taken; HAMT names looked up in their own buckets, several levels deep; links inside
 * dag-json and dag-cbor blocks followed, values inside them refused; nothing below a file.
 */
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import * as dagJson from '@ipld/dag-json'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { importer } from 'ipfs-unixfs-importer'
import { base16 } from 'multiformats/bases/base16'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, it } from 'vitest'
import { parseAddress } from '../../src/ipfs/address.ts'
import { createIpfs, type IpfsRoute } from '../../src/ipfs/index.ts'
import { blockMap } from '../lab/ipfsLab.ts'

const enc = (s: string) => new TextEncoder().encode(s)
const keyOf = (cid: CID) => base16.encode(cid.multihash.bytes)

/** An in-memory route over a block map that can also be filled by ipfs-unixfs-importer. */
function memory() {
  const lab = blockMap()
  const route: IpfsRoute = {
    name: 'memory',
    kind: 'gateway',
    async get(cid) {
      const block = lab.get(keyOf(cid))
      return block ? { bytes: block.bytes } : { missing: 'HTTP 404' }
    },
  }
  const put = async (bytes: Uint8Array, codec: number) =>
    lab.put(CID.createV1(codec, await sha256.digest(bytes)), bytes)
  const importFiles = async (files: { path: string; content: Uint8Array }[], options = {}) => {
    let root: CID | undefined
    for await (const e of importer(files, lab, { cidVersion: 1, ...options })) root = e.cid
    return root!
  }
  return { lab, route, put, importFiles }
}

describe('content paths', () => {
  it('a HAMT three levels deep (fanout 16): every name is found in its bucket', async () => {
    const m = memory()
    const names = Array.from({ length: 300 }, (_, i) => `item-${i}.json`)
    const dir = await m.importFiles(
      names.map((n, i) => ({ path: `d/${n}`, content: enc(`{"i":${i}}`) })),
      { shardSplitThresholdBytes: 1, shardFanoutBits: 4 },
    )
    // Shards of three levels: the root, its sub-shards, and theirs.
    const shards = [...m.lab.values()].filter(
      ({ cid, bytes }) =>
        cid.code === 0x70 && UnixFS.unmarshal(dagPb.decode(bytes).Data!).type.startsWith('hamt'),
    )
    assert.ok(shards.length > 17, `${shards.length} shard nodes`)
    const ipfs = createIpfs({ routes: [m.route] })
    for (let i = 0; i < names.length; i++)
      assert.deepEqual(await ipfs.json(`ipfs://${dir}/item-${i}.json`), { i })
    await assert.rejects(ipfs.fetch(`ipfs://${dir}/item-300.json`), /no such entry/)
  })

  it('a path below a file in a directory is no entry', async () => {
    const m = memory()
    const dir = await m.importFiles([{ path: 'c/1.json', content: enc('{"a":1}') }])
    const ipfs = createIpfs({ routes: [m.route] })
    assert.deepEqual(await ipfs.json(`ipfs://${dir}/1.json`), { a: 1 })
    await assert.rejects(
      ipfs.fetch(`ipfs://${dir}/1.json/2`),
      (e: Error) => e.name === 'ContentError' && /no such entry/.test(e.message),
    )
  })

  it('dag-json and dag-cbor: links are followed, a value inside a block is refused', async () => {
    const m = memory()
    const file = await m.importFiles([{ path: 'meta.json', content: enc('{"name":"Token"}') }])
    for (const codec of [dagJson, dagCbor]) {
      const doc = await m.put(codec.encode({ name: 'not a link', meta: file }), codec.code)
      const outer = await m.put(codec.encode({ inner: doc }), codec.code)
      const ipfs = createIpfs({ routes: [m.route] })
      assert.deepEqual(await ipfs.json(`ipfs://${doc}/meta`), { name: 'Token' })
      assert.deepEqual(await ipfs.json(`ipfs://${outer}/inner/meta`), { name: 'Token' })
      await assert.rejects(
        ipfs.fetch(`ipfs://${doc}/name`),
        (e: Error) => e.name === 'ContentError' && /"name" is a value inside/.test(e.message),
      )
      await assert.rejects(ipfs.fetch(`ipfs://${doc}/nothing`), /no such entry/)
    }
  })

  it('a subdomain gateway URL is read by its host, even with /ipfs/ in its path', async () => {
    const m = memory()
    const a = await m.importFiles([{ path: 'x/y.txt', content: enc('a') }])
    const b = await m.importFiles([{ path: 'z.txt', content: enc('b') }])
    const sub = parseAddress(`https://${a}.ipfs.dweb.example/ipfs/${b}`)
    assert.equal(sub.cid.toString(), a.toString())
    assert.deepEqual(sub.path, ['ipfs', b.toString()])
    // A host that only looks like one (its first label no CID) is a path-style gateway.
    const path = parseAddress(`https://gateway.ipfs.example/ipfs/${b}/z.txt`)
    assert.equal(path.cid.toString(), b.toString())
    assert.deepEqual(path.path, ['z.txt'])
  })
})
