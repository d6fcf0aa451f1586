/**
 * Review of 6a95821 (outlast/light) and 9fd7254 (outlast/ipfs): each `it.fails` is a hole the
 * fixes left open or opened (it asserts the right behaviour); each `it` an attack that held.
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { importer } from 'ipfs-unixfs-importer'
import { create as kuboClient } from 'kubo-rpc-client'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, describe, it } from 'vitest'
import { createIpfs, kubo } from '../../src/ipfs/index.ts'
import { light, nobleVerifier } from '../../src/light/index.ts'
import { DAG_PB, enc, keyOf, memoryRoute, RAW } from '../ipfs/memoryRoute.ts'
import { blockMap } from '../lab/ipfsLab.ts'
import { chain, movingClock, source } from '../light/hostileSource2.helpers.ts'

const servers: Server[] = []
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections()
    await new Promise<void>((r) => s.close(() => r()))
  }
})

async function serve(handler: Parameters<typeof createServer>[1]) {
  const hits = { n: 0, headers: [] as Record<string, unknown>[] }
  const server = createServer((req, res) => {
    hits.n++
    hits.headers.push(req.headers)
    handler!(req, res)
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, hits }
}

const dirNode = (links: { name: string; cid: CID }[]) =>
  dagPb.encode(
    dagPb.prepare({
      Data: new UnixFS({ type: 'directory' }).marshal(),
      Links: links.map((l) => ({ Name: l.name, Hash: l.cid, Tsize: 10 })),
    }),
  )

describe('ipfs: paths walked as gateways walk them', () => {
  it('a HAMT entry whose bucket bit is not set in the bitfield is no entry (gateways read the bitfield)', async () => {
    const m = memoryRoute()
    const lab = blockMap()
    const files = [
      { path: 'c/42.json', content: enc('{"name":"x"}') },
      ...Array.from({ length: 5 }, (_, i) => ({
        path: `c/f${i}.json`,
        content: enc(`{"i":${i}}`),
      })),
    ]
    let dir: CID | undefined
    for await (const e of importer(files, lab, { cidVersion: 1, shardSplitThresholdBytes: 1 }))
      dir = e.cid
    for (const { cid, bytes } of lab.values()) m.blocks.set(keyOf(cid), bytes)
    const node = dagPb.decode(m.blocks.get(keyOf(dir!))!)
    const meta = UnixFS.unmarshal(node.Data!)
    assert.equal(meta.type, 'hamt-sharded-directory')
    const honest = node.Links.find((l) => l.Name?.endsWith('42.json'))!
    const bucket = Number.parseInt(honest.Name!.slice(0, 2), 16)
    // The bucket's bit cleared: Kubo (go-unixfs: childer.has(index)) finds no such entry there.
    // The link still sits in the node, named bucket + name; here it names other content.
    const bits = Uint8Array.from(meta.data!)
    bits[bits.length - 1 - (bucket >> 3)]! &= ~(1 << (bucket & 7))
    const evil = await m.put(enc('{"name":"not in any bucket"}'))
    const forged = dagPb.encode(
      dagPb.prepare({
        Data: new UnixFS({
          type: 'hamt-sharded-directory',
          data: bits,
          fanout: meta.fanout,
          hashType: meta.hashType ?? 0x22n,
        }).marshal(),
        Links: node.Links.map((l) => (l === honest ? { ...l, Hash: evil } : l)),
      }),
    )
    const root = await m.put(forged, DAG_PB)
    const ipfs = createIpfs({ routes: [m.route] })
    const got = await ipfs.json<{ name: string }>(`ipfs://${root}/42.json`).catch((e: Error) => e)
    assert.ok(
      got instanceof Error,
      `a name in a bucket the bitfield says is empty was read: ${JSON.stringify(got)}`,
    )
  })

  it('a name ending in a backslash is one segment: `a\\` then `b`, never the entry named `a\\/b`', async () => {
    const m = memoryRoute()
    const good = await m.put(enc('{"name":"a\\\\ then b"}'))
    const evil = await m.put(enc('{"name":"the entry a\\\\/b"}'))
    const sub = await m.put(dirNode([{ name: 'b', cid: good }]), DAG_PB)
    const root = await m.put(
      dirNode([
        { name: 'a\\', cid: sub },
        { name: 'a\\/b', cid: evil },
      ]),
      DAG_PB,
    )
    const ipfs = createIpfs({ routes: [m.route] })
    // Gateways split the path on every '/': "a\" then "b".
    const got = await ipfs.json<{ name: string }>(`ipfs://${root}/a%5C/b`).catch((e: Error) => e)
    assert.ok(
      got instanceof Error || got.name === 'a\\ then b',
      `ipfs://root/a%5C/b read ${JSON.stringify(got)}`,
    )
    assert.ok(!(got instanceof Error), String(got))
  })

  it('held: honest HAMT directories of fanout 16, several levels deep, are read by every name', async () => {
    const m = memoryRoute()
    const lab = blockMap()
    const N = 300
    const files = Array.from({ length: N }, (_, i) => ({
      path: `d/ünï ${i}.txt`,
      content: enc(`file ${i}`),
    }))
    let dir: CID | undefined
    for await (const e of importer(files, lab, {
      cidVersion: 1,
      shardSplitThresholdBytes: 1,
      shardFanoutBits: 4,
    }))
      dir = e.cid
    for (const { cid, bytes } of lab.values()) m.blocks.set(keyOf(cid), bytes)
    const node = dagPb.decode(m.blocks.get(keyOf(dir!))!)
    assert.equal(UnixFS.unmarshal(node.Data!).fanout, 16n)
    assert.ok(
      node.Links.some((l) => l.Name!.length === 1),
      'has sub-shards',
    )
    const ipfs = createIpfs({ routes: [m.route] })
    for (const i of [0, 7, 99, 150, 299]) {
      const got = await ipfs.fetch(`ipfs://${dir}/${encodeURIComponent(`ünï ${i}.txt`)}`)
      assert.equal(new TextDecoder().decode(got), `file ${i}`)
    }
  }, 60_000)

  it('held: an honest file with data in its inner nodes (and CIDv0 links) is read whole', async () => {
    const m = memoryRoute()
    const leaf = dagPb.encode(
      dagPb.prepare({ Data: new UnixFS({ type: 'file', data: enc('cd') }).marshal(), Links: [] }),
    )
    const leafV0 = CID.createV0(await sha256.digest(leaf))
    m.blocks.set(keyOf(leafV0), leaf)
    const raw = await m.put(enc('ef'), RAW)
    const root = await m.put(
      dagPb.encode(
        dagPb.prepare({
          Data: new UnixFS({ type: 'file', data: enc('ab'), blockSizes: [2n, 2n] }).marshal(),
          Links: [
            { Hash: leafV0, Tsize: leaf.length },
            { Hash: raw, Tsize: 2 },
          ],
        }),
      ),
      DAG_PB,
    )
    const ipfs = createIpfs({ routes: [m.route] })
    assert.equal(new TextDecoder().decode(await ipfs.fetch(`ipfs://${root}`)), 'abcdef')
  })
})

describe('ipfs: a Kubo API read with fetch', () => {
  it("a redirect from the Kubo API does not carry the route's headers to another host", async () => {
    const KEY = 'kuboKey-0123456789abcdef'
    const bytes = enc('a block behind a key')
    const cid = CID.createV1(RAW, await sha256.digest(bytes))
    const elsewhere = await serve((_req, res) => res.end(bytes))
    const api = await serve((req, res) => {
      res.statusCode = 307
      res.setHeader('location', `${elsewhere.url}${req.url}`)
      res.end()
    })
    const route = kubo(kuboClient({ url: `${api.url}/api/v0` }), {
      headers: { 'x-api-key': KEY },
    })
    const ipfs = createIpfs({ kubo: route })
    await ipfs.block(cid).catch(() => undefined)
    const seen = JSON.stringify(elsewhere.hits.headers)
    assert.ok(!seen.includes(KEY), `the host the Kubo API redirected to got: ${seen}`)
  })
})

describe('light: old news and an honest chain with missed slots', () => {
  // The price of `current` (lightRounds.ts), kept on purpose: after two missed slots the newest
  // real update is older than two slots, so it ends no round and each other source is asked
  // once that slot. Allowing more slots would let a source answering first with old news hold
  // the head that much further back, every slot.
  it('follow: after two missed slots the head is still the newest, at the cost of one more ask a source', async () => {
    const c = chain()
    const now = 60
    const { clock } = movingClock(now)
    // Slots 59 and 60 missed: the newest block is 58, its aggregate signs 57. That is the
    // chain's news now; every honest source serves it.
    const first = source('first', { bootstrap: c.bootstrap, optimistic: () => c.optimistic(57) })
    const second = source('second', {
      delay: 20,
      bootstrap: c.bootstrap,
      optimistic: () => c.optimistic(57),
    })
    const lc = light({
      checkpoint: c.checkpoint,
      config: c.config,
      clock,
      sources: [first.src, second.src],
      verifier: nobleVerifier(),
    })
    try {
      await lc.start()
      assert.equal(lc.head()?.slot, 57)
      assert.equal(second.calls.optimistic, 1, 'each other source asked once, no more')
    } finally {
      await lc.stop()
    }
  })

  it('held (control): with no missed slot the second source is not asked', async () => {
    const c = chain()
    const { clock } = movingClock(60)
    const first = source('first', { bootstrap: c.bootstrap, optimistic: () => c.optimistic(59) })
    const second = source('second', {
      delay: 20,
      bootstrap: c.bootstrap,
      optimistic: () => c.optimistic(59),
    })
    const lc = light({
      checkpoint: c.checkpoint,
      config: c.config,
      clock,
      sources: [first.src, second.src],
      verifier: nobleVerifier(),
    })
    try {
      await lc.start()
      assert.equal(lc.head()?.slot, 59)
      assert.equal(second.calls.optimistic, 0)
    } finally {
      await lc.stop()
    }
  })
})
