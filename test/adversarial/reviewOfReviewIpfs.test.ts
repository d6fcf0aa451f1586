/**
 * Review of fca8129 (HAMT bitfield, per-segment paths): tests of the holes the fix left open,
 * asserting the right behaviour, and of attacks that held.
 */
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { murmur364 } from '@multiformats/murmur3'
import { UnixFS } from 'ipfs-unixfs'
import { importer } from 'ipfs-unixfs-importer'
import type { CID } from 'multiformats/cid'
import { describe, it } from 'vitest'
import { createIpfs } from '../../src/ipfs/index.ts'
import { DAG_PB, enc, keyOf, memoryRoute } from '../ipfs/memoryRoute.ts'
import { blockMap } from '../lab/ipfsLab.ts'

const DAG_CBOR = 0x71
const text = (b: Uint8Array) => new TextDecoder().decode(b)
/** An error's message and its causes' messages, as one text. */
const errorText = (e: unknown): string =>
  e instanceof Error ? `${e.message} ${errorText(e.cause)}` : e === undefined ? '' : String(e)

/** A HAMT directory made by the JS importer, its blocks in `m`. */
async function hamtOf(
  m: ReturnType<typeof memoryRoute>,
  files: { path: string; content: Uint8Array }[],
  shardFanoutBits = 8,
) {
  const lab = blockMap()
  let dir: CID | undefined
  for await (const e of importer(files, lab, {
    cidVersion: 1,
    shardSplitThresholdBytes: 1,
    shardFanoutBits,
  }))
    dir = e.cid
  for (const { cid, bytes } of lab.values()) m.blocks.set(keyOf(cid), bytes)
  const node = dagPb.decode(m.blocks.get(keyOf(dir!))!)
  const meta = UnixFS.unmarshal(node.Data!)
  assert.equal(meta.type, 'hamt-sharded-directory')
  return { dir: dir!, node, meta }
}

/** `node` (a HAMT root) again, with its UnixFS fields changed. */
function reshard(
  node: dagPb.PBNode,
  meta: UnixFS,
  change: { data?: Uint8Array; hashType?: bigint | null; fanout?: bigint },
) {
  return dagPb.encode(
    dagPb.prepare({
      Data: new UnixFS({
        type: 'hamt-sharded-directory',
        data: change.data ?? meta.data!,
        fanout: change.fanout ?? meta.fanout!,
        // null: no hashType field at all (`meta.hashType` is always undefined: unmarshal drops it).
        hashType: change.hashType === null ? undefined : (change.hashType ?? 0x22n),
      }).marshal(),
      Links: node.Links,
    }),
  )
}

/** The first bucket (of `bits` bits) of the name's hash, as Kubo reads it. */
async function bucketOf(name: string, bits = 8) {
  const d = (await murmur364.digest(enc(name))).digest
  return Number(
    (BigInt(`0x${Buffer.from(d).toString('hex')}`) >> BigInt(64 - bits)) &
      ((1n << BigInt(bits)) - 1n),
  )
}

describe('HAMT bitfield: read as Kubo reads it', () => {
  // Was open (ipfs-unixfs 13's `UnixFS.unmarshal` drops `hashType`, so such a node was read with
  // murmur3 where Kubo refuses it), fixed: hamt.ts reads field 5 from the node's Data bytes
  // itself and refuses any shard, root or sub-shard, that does not declare murmur3 (0x22).
  it('a HAMT node whose hashType is not murmur3 is refused (Kubo: "only murmur3 supported as hash function")', async () => {
    const m = memoryRoute()
    const files = Array.from({ length: 4 }, (_, i) => ({
      path: `d/f${i}.json`,
      content: enc(`{"i":${i}}`),
    }))
    const { node, meta } = await hamtOf(m, files)
    // 0x12 (sha2-256): a reader that honours hashType looks the name up in another bucket.
    const root = await m.put(reshard(node, meta, { hashType: 0x12n }), DAG_PB)
    const ipfs = createIpfs({ routes: [m.route] })
    const got = await ipfs.json(`ipfs://${root}/f1.json`).catch((e: Error) => e)
    assert.ok(got instanceof Error, `a sha2-256 HAMT was read with murmur3: ${JSON.stringify(got)}`)
    assert.match(
      errorText(got),
      new RegExp(`HAMT shard ${root} declares hash function 0x12, not murmur3`),
    )
  })

  it('a HAMT root with no hashType is refused, as boxo reads a missing hashType as 0 (GetHashType) and refuses it', async () => {
    const m = memoryRoute()
    const files = Array.from({ length: 4 }, (_, i) => ({
      path: `d/f${i}.json`,
      content: enc(`{"i":${i}}`),
    }))
    const { node, meta } = await hamtOf(m, files)
    const root = await m.put(reshard(node, meta, { hashType: null }), DAG_PB)
    const ipfs = createIpfs({ routes: [m.route] })
    // The exporter's path walk refuses this one first (its HAMT metadata needs a hashType);
    // hamt.ts refuses it too (the sub-shard test below is where only hamt.ts reads the node).
    const got = await ipfs.json(`ipfs://${root}/f1.json`).catch((e: Error) => e)
    assert.ok(got instanceof Error, `a HAMT with no hashType was read: ${JSON.stringify(got)}`)
    // The same node declaring murmur3 is read: only the missing field is refused.
    const good = await m.put(reshard(node, meta, { hashType: 0x22n }), DAG_PB)
    assert.equal((await ipfs.json<{ i: number }>(`ipfs://${good}/f1.json`)).i, 1)
  })

  it('a sub-shard with no hashType is refused even where the exporter never reads it (a same-CID link in another bucket ends its walk early)', async () => {
    const m = memoryRoute()
    const files = Array.from({ length: 20 }, (_, i) => ({
      path: `d/f${i}.json`,
      content: enc(`{"i":${i}}`),
    }))
    const { node, meta } = await hamtOf(m, files, 4)
    const subLink = node.Links.find((l) => l.Name!.length === 1)
    assert.ok(subLink, 'has a sub-shard')
    const sub = dagPb.decode(m.blocks.get(keyOf(subLink.Hash))!)
    const entry = sub.Links.find((l) => l.Name!.length > 1)!
    const name = entry.Name!.slice(1)
    const noHash = await m.put(
      reshard(sub, UnixFS.unmarshal(sub.Data!), { hashType: null }),
      DAG_PB,
    )
    // A bucket the root leaves empty gets a link to the same file under the same name: the
    // exporter takes it and stops; Kubo (and hamt.ts) go to the name's own bucket, the sub-shard.
    const used = new Set(node.Links.map((l) => Number.parseInt(l.Name![0]!, 16)))
    const empty = Array.from({ length: 16 }, (_, b) => b).find((b) => !used.has(b))
    assert.ok(empty !== undefined, 'has an empty bucket')
    const data = new Uint8Array(2)
    data.set(meta.data!, 2 - meta.data!.length)
    data[1 - (empty >> 3)]! |= 1 << (empty & 7)
    const links = [
      ...node.Links.map((l) => (l === subLink ? { ...l, Hash: noHash } : l)),
      { Name: `${empty.toString(16).toUpperCase()}${name}`, Hash: entry.Hash, Tsize: entry.Tsize },
    ]
    const root = await m.put(reshard({ ...node, Links: links }, meta, { data }), DAG_PB)
    const ipfs = createIpfs({ routes: [m.route] })
    const got = await ipfs.json(`ipfs://${root}/${name}`).catch((e: Error) => e)
    assert.ok(got instanceof Error, `a sub-shard with no hashType was read: ${JSON.stringify(got)}`)
    assert.match(
      errorText(got),
      new RegExp(`HAMT shard ${noHash} declares no hash function, not murmur3`),
    )
  })

  it('a sub-shard whose hashType is not murmur3, under a murmur3 root, is refused (boxo loads every shard through NewHamtFromDag)', async () => {
    const m = memoryRoute()
    const files = Array.from({ length: 200 }, (_, i) => ({
      path: `d/f${i}.json`,
      content: enc(`{"i":${i}}`),
    }))
    const { node } = await hamtOf(m, files, 4)
    const at = node.Links.findIndex((l) => l.Name!.length === 1)
    assert.ok(at >= 0, 'has sub-shards')
    const subCid = node.Links[at]!.Hash
    const sub = dagPb.decode(m.blocks.get(keyOf(subCid))!)
    const entry = sub.Links.find((l) => l.Name!.length > 1)!
    const name = entry.Name!.slice(1)
    const badSub = await m.put(
      reshard(sub, UnixFS.unmarshal(sub.Data!), { hashType: 0x12n }),
      DAG_PB,
    )
    const links = node.Links.map((l, i) => (i === at ? { ...l, Hash: badSub } : l))
    const root = await m.put(
      dagPb.encode(dagPb.prepare({ Data: node.Data!, Links: links })),
      DAG_PB,
    )
    const ipfs = createIpfs({ routes: [m.route] })
    const got = await ipfs.json(`ipfs://${root}/${name}`).catch((e: Error) => e)
    assert.ok(
      got instanceof Error,
      `a sha2-256 sub-shard was read with murmur3: ${JSON.stringify(got)}`,
    )
    assert.match(
      errorText(got),
      new RegExp(`HAMT shard ${badSub} declares hash function 0x12, not murmur3`),
    )
    // The root itself is good: an entry in another of its buckets is read.
    let i = 0
    while ((await bucketOf(`f${i}.json`, 4)) === Number.parseInt(node.Links[at]!.Name!, 16)) i++
    assert.equal((await ipfs.json<{ i: number }>(`ipfs://${root}/f${i}.json`)).i, i)
  }, 60_000)

  it('a bitfield longer than fanout/8 bytes is read as its last fanout/8 bytes (go-bitfield SetBytes), not walked in full', async () => {
    const m = memoryRoute()
    const files = Array.from({ length: 4 }, (_, i) => ({
      path: `d/f${i}.json`,
      content: enc(`{"i":${i}}`),
    }))
    const { node, meta } = await hamtOf(m, files)
    const bits = meta.data!
    // 64 KiB of 0xFF before the node's own 32 bytes: Kubo drops them (only buckets 0..255
    // exist); here every one of their 524,288 bits is counted, and the count then refused.
    const data = new Uint8Array(65_536 + 32)
    data.fill(0xff, 0, 65_536)
    data.set(bits, data.length - bits.length)
    const root = await m.put(reshard(node, meta, { data }), DAG_PB)
    const ipfs = createIpfs({ routes: [m.route] })
    const got = await ipfs.json<{ i: number }>(`ipfs://${root}/f1.json`).catch((e: Error) => e)
    assert.ok(!(got instanceof Error), `${got} (cause: ${(got as Error).cause})`)
    assert.equal(got.i, 1)
  })

  it('held: a Kubo-style bitfield (all fanout/8 bytes, leading zero bytes) is read', async () => {
    const m = memoryRoute()
    const files = Array.from({ length: 4 }, (_, i) => ({
      path: `d/f${i}.json`,
      content: enc(`{"i":${i}}`),
    }))
    const { node, meta } = await hamtOf(m, files)
    const data = new Uint8Array(32)
    data.set(meta.data!, 32 - meta.data!.length)
    const root = await m.put(reshard(node, meta, { data }), DAG_PB)
    const ipfs = createIpfs({ routes: [m.route] })
    for (let i = 0; i < 4; i++)
      assert.equal((await ipfs.json<{ i: number }>(`ipfs://${root}/f${i}.json`)).i, i)
  })

  it('held: fanout 256 with one entry, in the last bucket (255)', async () => {
    let name = ''
    for (let i = 0; ; i++)
      if ((await bucketOf(`n${i}.json`)) === 255) {
        name = `n${i}.json`
        break
      }
    const m = memoryRoute()
    const { dir, node } = await hamtOf(m, [{ path: `d/${name}`, content: enc('{"last":1}') }])
    assert.equal(node.Links.length, 1)
    assert.equal(node.Links[0]!.Name, `FF${name}`)
    const ipfs = createIpfs({ routes: [m.route] })
    assert.equal((await ipfs.json<{ last: number }>(`ipfs://${dir}/${name}`)).last, 1)
  })

  it('held: honest fanout 8 and fanout 65536 directories (JS importer) are read by every name; fanout 4, which Kubo cannot read, is refused', async () => {
    const dirOf = async (m: ReturnType<typeof memoryRoute>, bits: number) => {
      const files = Array.from({ length: 40 }, (_, i) => ({
        path: `d/é ${i}%.txt`,
        content: enc(`file ${i}`),
      }))
      return (await hamtOf(m, files, bits)).dir
    }
    for (const bits of [3, 16]) {
      const m = memoryRoute()
      const dir = await dirOf(m, bits)
      const ipfs = createIpfs({ routes: [m.route] })
      for (const i of [0, 13, 39])
        assert.equal(
          text(await ipfs.fetch(`ipfs://${dir}/${encodeURIComponent(`é ${i}%.txt`)}`)),
          `file ${i}`,
        )
    }
    // Kubo's bitfield holds whole bytes: a fanout below 8 is refused there, and here.
    const m = memoryRoute()
    const dir = await dirOf(m, 2)
    const got = await createIpfs({ routes: [m.route] })
      .fetch(`ipfs://${dir}/${encodeURIComponent('é 13%.txt')}`)
      .catch((e: Error) => e)
    assert.ok(got instanceof Error, `fanout 4 was read: ${String(got)}`)
  }, 60_000)

  it('held: an empty shard (no bitfield bytes) is "no such entry", not a crash', async () => {
    const m = memoryRoute()
    const empty = dagPb.encode(
      dagPb.prepare({
        Data: new UnixFS({
          type: 'hamt-sharded-directory',
          data: new Uint8Array(0),
          fanout: 256n,
          hashType: 0x22n,
        }).marshal(),
        Links: [],
      }),
    )
    const root = await m.put(empty, DAG_PB)
    const ipfs = createIpfs({ routes: [m.route] })
    const got = await ipfs.fetch(`ipfs://${root}/x`).catch((e: Error) => e)
    assert.ok(got instanceof Error && /no such entry|not valid/.test(got.message), String(got))
  })

  it('held: links counted against bits set (a bit set with no link) is an error, not a crash', async () => {
    const m = memoryRoute()
    const files = Array.from({ length: 3 }, (_, i) => ({
      path: `d/f${i}.json`,
      content: enc(`{"i":${i}}`),
    }))
    const { node, meta } = await hamtOf(m, files)
    const data = Uint8Array.from(meta.data!)
    data[0]! |= 0x80 // a bit set with no link for it
    const root = await m.put(reshard(node, meta, { data }), DAG_PB)
    const ipfs = createIpfs({ routes: [m.route] })
    const got = await ipfs.json(`ipfs://${root}/f1.json`).catch((e: Error) => e)
    assert.ok(got instanceof Error, JSON.stringify(got))
  })
})

describe('names as bytes', () => {
  it('a link named with overlong UTF-8 (C1 81) is not the entry "A": the one Kubo serves (names compared as bytes) is', async () => {
    const m = memoryRoute()
    const evil = await m.put(enc('{"who":"the link named C1 81"}'))
    const good = await m.put(enc('{"who":"the link named A"}'))
    // Encoded with a placeholder "@@" (sorts before "A"), then made C1 81 (same length). The
    // exporter's path walk reads names with protons' lenient UTF-8 reader: C1 81 is "A".
    const bytes = dagPb.encode(
      dagPb.prepare({
        Data: new UnixFS({ type: 'directory' }).marshal(),
        Links: [
          { Name: '@@', Hash: evil, Tsize: 10 },
          { Name: 'A', Hash: good, Tsize: 10 },
        ],
      }),
    )
    const at = Buffer.from(bytes).indexOf(Buffer.from('@@'))
    assert.ok(at > 0)
    bytes[at] = 0xc1
    bytes[at + 1] = 0x81
    assert.equal(dagPb.decode(bytes).Links[0]!.Name, '\uFFFD\uFFFD')
    const root = await m.put(bytes, DAG_PB)
    const ipfs = createIpfs({ routes: [m.route] })
    // Kubo (BasicDirectory: l.Name == name, bytes) and any gateway: ipfs://root/A is `good`.
    const got = await ipfs.json<{ who: string }>(`ipfs://${root}/A`).catch((e: Error) => e)
    assert.ok(
      got instanceof Error || got.who === 'the link named A',
      `ipfs://root/A read ${JSON.stringify(got)}`,
    )
  })

  it('held: NFC and NFD spellings of a name are different entries', async () => {
    const m = memoryRoute()
    const nfc = await m.put(enc('{"form":"NFC"}'))
    const nfd = await m.put(enc('{"form":"NFD"}'))
    const root = await m.put(
      dagPb.encode(
        dagPb.prepare({
          Data: new UnixFS({ type: 'directory' }).marshal(),
          Links: [
            { Name: 'é'.normalize('NFC'), Hash: nfc, Tsize: 10 },
            { Name: 'é'.normalize('NFD'), Hash: nfd, Tsize: 10 },
          ],
        }),
      ),
      DAG_PB,
    )
    const ipfs = createIpfs({ routes: [m.route] })
    const a = await ipfs.json<{ form: string }>(
      `ipfs://${root}/${encodeURIComponent('é'.normalize('NFD'))}`,
    )
    const b = await ipfs.json<{ form: string }>(
      `ipfs://${root}/${encodeURIComponent('é'.normalize('NFC'))}`,
    )
    assert.deepEqual([a.form, b.form], ['NFD', 'NFC'])
  })

  it("held: '.', '..', a '/' inside a segment and bad percent-encoding are refused", async () => {
    const m = memoryRoute()
    const f = await m.put(enc('{"x":1}'))
    const root = await m.put(
      dagPb.encode(
        dagPb.prepare({
          Data: new UnixFS({ type: 'directory' }).marshal(),
          Links: [{ Name: 'a', Hash: f, Tsize: 10 }],
        }),
      ),
      DAG_PB,
    )
    const ipfs = createIpfs({ routes: [m.route] })
    for (const p of ['x/../a', './a', '%2E%2E/a', 'b%2Fa', '%FF'])
      assert.ok((await ipfs.json(`ipfs://${root}/${p}`).catch((e: Error) => e)) instanceof Error, p)
  })
})

describe('paths walked one segment at a time', () => {
  it('held: dag-cbor link, then a dag-pb directory, then a HAMT entry', async () => {
    const m = memoryRoute()
    const { dir } = await hamtOf(
      m,
      Array.from({ length: 5 }, (_, i) => ({ path: `d/f${i}.json`, content: enc(`{"i":${i}}`) })),
    )
    const mid = await m.put(
      dagPb.encode(
        dagPb.prepare({
          Data: new UnixFS({ type: 'directory' }).marshal(),
          Links: [{ Name: 'h', Hash: dir, Tsize: 10 }],
        }),
      ),
      DAG_PB,
    )
    const root = await m.put(dagCbor.encode({ x: mid, v: { y: mid } }), DAG_CBOR)
    const ipfs = createIpfs({ routes: [m.route] })
    assert.equal((await ipfs.json<{ i: number }>(`ipfs://${root}/x/h/f3.json`)).i, 3)
    // A value inside the block (not a link) is not walked, even when it holds a link.
    const inside = await ipfs.json(`ipfs://${root}/v/y/h/f3.json`).catch((e: Error) => e)
    assert.ok(inside instanceof Error && /value inside/.test(inside.message), String(inside))
  })

  it('held: a segment that spells a CID is a name, not a root', async () => {
    const m = memoryRoute()
    const other = await m.put(enc('{"who":"other"}'))
    const named = await m.put(enc('{"who":"named"}'))
    const root = await m.put(
      dagPb.encode(
        dagPb.prepare({
          Data: new UnixFS({ type: 'directory' }).marshal(),
          Links: [{ Name: `${other}`, Hash: named, Tsize: 10 }],
        }),
      ),
      DAG_PB,
    )
    const ipfs = createIpfs({ routes: [m.route] })
    assert.equal((await ipfs.json<{ who: string }>(`ipfs://${root}/${other}`)).who, 'named')
    assert.equal(
      (
        await ipfs
          .json<{ who: string }>(`ipfs://${root}/ipfs/${other}`)
          .catch(() => ({ who: 'error' }))
      ).who,
      'error',
    )
  })

  it('held: 200 nested directories cost one fetch a block', async () => {
    const m = memoryRoute()
    let cid = await m.put(enc('{"deep":true}'))
    for (let i = 0; i < 200; i++)
      cid = await m.put(
        dagPb.encode(
          dagPb.prepare({
            Data: new UnixFS({ type: 'directory' }).marshal(),
            Links: [{ Name: 'a', Hash: cid, Tsize: 10 }],
          }),
        ),
        DAG_PB,
      )
    const ipfs = createIpfs({ routes: [m.route] })
    const got = await ipfs.json<{ deep: boolean }>(
      `ipfs://${cid}/${Array(200).fill('a').join('/')}`,
    )
    assert.equal(got.deep, true)
    assert.ok(m.stats.gets <= 201, `${m.stats.gets} fetches for 201 blocks`)
  }, 60_000)

  it('held: an entry whose name is the bucket of a sub-shard (fanout 16) is found by name, not as the sub-shard', async () => {
    const m = memoryRoute()
    const files = Array.from({ length: 200 }, (_, i) => ({
      path: `d/${i.toString(16).toUpperCase()}`,
      content: enc(`{"i":${i}}`),
    }))
    const { dir, node } = await hamtOf(m, files, 4)
    assert.ok(
      node.Links.some((l) => l.Name!.length === 1),
      'has sub-shards',
    )
    const ipfs = createIpfs({ routes: [m.route] })
    for (const i of [0, 10, 15, 255 % 200])
      assert.equal(
        (await ipfs.json<{ i: number }>(`ipfs://${dir}/${i.toString(16).toUpperCase()}`)).i,
        i,
      )
  }, 60_000)
})
