/**
 * One hostile source (or one hostile content author) against `outlast/ipfs`: each test states
 * the behaviour the trust rules promise (docs/architecture.md "Content by hash is checked block
 * by block", README "IPFS: content by hash from anywhere") and attacks it with well-formed,
 * correctly hashed but unhelpful input, or with a resource attack. Routes are in-memory and
 * servers are on loopback, so every test is fast and deterministic.
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createIPNSRecordWithExpiration, marshalIPNSRecord } from 'ipns'
import { base36 } from 'multiformats/bases/base36'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, afterEach, describe, it, vi } from 'vitest'
import { checkTokenList, createIpfs, fetchHeader, ipnsResolver } from '../../src/ipfs/index.ts'
import { startGateway as startIpnsGateway } from '../lab/ipnsLab.ts'
import { DAG_PB, enc, fileNode, keyOf, memoryRoute, RAW } from './memoryRoute.ts'

const servers: Server[] = []
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections()
    await new Promise<void>((r) => s.close(() => r()))
  }
})
afterEach(() => {
  vi.useRealTimers()
})

/** A loopback HTTP server; `hits` counts its requests. */
async function serve(handler: Parameters<typeof createServer>[1]) {
  const hits = { n: 0 }
  const server = createServer((req, res) => {
    hits.n++
    handler!(req, res)
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, hits }
}

describe('UnixFS DAG bombs (a hostile content author, any honest route)', () => {
  it('a file node with thousands of links does not ask for thousands of blocks at once', async () => {
    const m = memoryRoute()
    const links: { cid: CID; size: number }[] = []
    for (let i = 0; i < 2_000; i++)
      links.push({ cid: await m.put(Uint8Array.of(i >> 8, i & 0xff)), size: 2 })
    const root = await m.put(fileNode(links), DAG_PB)
    const ipfs = createIpfs({ routes: [m.route] })
    const bytes = await ipfs.fetch(`ipfs://${root}`)
    assert.equal(bytes.byteLength, 4_000)
    // Every one of these may be up to maxBlockBytes (2 MiB) held at once: bounded, or a 2 MB
    // root node is a multi-GB memory and socket bomb.
    assert.ok(
      m.stats.peak <= 64,
      `at most 64 blocks in flight for one fetch, got ${m.stats.peak} at once`,
    )
  })

  it('a 2-byte file whose DAG repeats one node and one block is not fetched thousands of times', async () => {
    const m = memoryRoute()
    const empty = await m.put(new Uint8Array(0))
    const b = await m.put(enc('b'))
    const N = 100
    const inner = await m.put(
      fileNode(Array.from({ length: N }, () => ({ cid: empty, size: 0 }))),
      DAG_PB,
    )
    const root = await m.put(
      fileNode(
        [...Array.from({ length: N }, () => ({ cid: inner, size: 0 })), { cid: b, size: 1 }],
        enc('a'),
      ),
      DAG_PB,
    )
    const ipfs = createIpfs({ routes: [m.route], timeout: 20_000 })
    // Whether it is refused or served, the work must be bounded by what was asked for (2 bytes
    // of content, four distinct blocks), not by how often the DAG repeats a link: nesting this
    // one level deeper is N^3 requests.
    await ipfs.fetch(`ipfs://${root}`, { maxBytes: 1_024 }).catch(() => {})
    assert.ok(
      m.stats.gets <= 100,
      `a DAG of 4 distinct blocks asked its route for at most 100 blocks, got ${m.stats.gets}`,
    )
  })
})

describe('hash functions', () => {
  it('an honest route serving a block under a truncated sha2-256 CID is not called a liar', async () => {
    const m = memoryRoute('honest')
    const bytes = enc('hello, truncated world')
    const full = await sha256.digest(bytes)
    const truncated = CID.createV1(RAW, createDigest(sha256.code, full.digest.subarray(0, 20)))
    m.blocks.set(keyOf(truncated), bytes)
    const normal = await m.put(enc('another block'))
    const ipfs = createIpfs({ routes: [m.route] })
    const lies: string[] = []
    ipfs.on('lie', (e) => lies.push(e.reason))
    // Verified (the digest's first 20 bytes) or refused up front as unsupported: either way,
    // the route sent exactly the bytes the CID names, and must not be cut off for it.
    await ipfs.block(truncated).catch(() => {})
    assert.deepEqual(lies, [], 'no route is marked lying for sending the right bytes')
    assert.notEqual(ipfs.status().routes[0]!.condition, 'lying')
    assert.deepEqual(await ipfs.block(normal), enc('another block'))
  })
})

describe('redirects to another host', () => {
  it("fetchHeader does not follow a gateway's redirect to another host", async () => {
    const hash = `0x${'ab'.repeat(32)}`
    const other = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw' }).end('junk')
    })
    const hostile = await serve((req, res) => {
      res.writeHead(302, { location: `${other.url}${req.url}` }).end()
    })
    await fetchHeader(hostile.url, hash).catch(() => undefined)
    assert.equal(other.hits.n, 0, 'the other host is never asked')
  })

  it("an IPNS resolver does not follow a gateway's redirect to another host", async () => {
    const key = await generateKeyPair('Ed25519')
    const name = peerIdFromPrivateKey(key).toCID().toString(base36)
    const other = await serve((_req, res) => void res.writeHead(404).end())
    const hostile = await serve((req, res) => {
      res.writeHead(302, { location: `${other.url}${req.url}` }).end()
    })
    const ipns = ipnsResolver({ gateways: [hostile.url] })
    await ipns.record(name).catch(() => undefined)
    assert.equal(other.hits.n, 0, 'the other host is never asked')
  })
})

describe('IPNS', () => {
  it('a remembered record is not returned once it has expired', async () => {
    const key = await generateKeyPair('Ed25519')
    const name = peerIdFromPrivateKey(key).toCID().toString(base36)
    const gw = await startIpnsGateway()
    try {
      const start = Date.now()
      const expires = new Date(start + 60_000).toISOString()
      const value = '/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
      gw.records.set(
        name,
        marshalIPNSRecord(await createIPNSRecordWithExpiration(key, value, 7n, expires)),
      )
      const ipns = ipnsResolver({ gateways: [gw.url] })
      assert.equal((await ipns.record(name)).sequence, 7n)
      // Two minutes on: the record every gateway still holds is past its validity.
      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(start + 120_000)
      await assert.rejects(
        ipns.record(name),
        /expired|valid IPNS record/,
        'an expired record is refused, remembered or not',
      )
    } finally {
      vi.useRealTimers()
      await gw.stop()
    }
  })
})

describe('IPNS names in two spellings', () => {
  it('a name spelled as a peer id keeps the floor its base36 spelling set: an older record is refused', async () => {
    const key = await generateKeyPair('Ed25519')
    const peer = peerIdFromPrivateKey(key)
    const [base36Name, peerIdName] = [peer.toCID().toString(base36), peer.toString()]
    const gw = await startIpnsGateway()
    try {
      const expires = new Date(Date.now() + 600_000).toISOString()
      const value = '/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
      const record = async (seq: bigint) =>
        marshalIPNSRecord(await createIPNSRecordWithExpiration(key, value, seq, expires))
      gw.records.set(base36Name, await record(9n))
      const ipns = ipnsResolver({ gateways: [gw.url] })
      assert.equal((await ipns.record(base36Name)).sequence, 9n)
      // A replay of an older record, asked for under the other spelling of the same name.
      gw.records.set(peerIdName, await record(3n))
      const again = await ipns.record(peerIdName).catch((e: Error) => e)
      assert.ok(
        again instanceof Error || again.sequence === 9n,
        `the floor of sequence 9 holds under the other spelling, got ${again instanceof Error ? again.message : again.sequence}`,
      )
    } finally {
      await gw.stop()
    }
  })
})

describe('token lists', () => {
  it('a token list naming one token (chain and address) twice, with other decimals, is refused', () => {
    const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48'
    const token = { chainId: 1, address: USDC, name: 'USD Coin', symbol: 'USDC', decimals: 6 }
    const list = {
      name: 'Hostile List',
      timestamp: '2026-12-01T00:00:00.000Z',
      version: { major: 1, minor: 0, patch: 0 },
      tokens: [token, { ...token, address: USDC.toLowerCase(), decimals: 18 }],
    }
    const { list: checked, problems } = checkTokenList(list)
    assert.equal(
      checked,
      undefined,
      `two entries for chain 1 ${USDC} (decimals 6 and 18) were both accepted`,
    )
    assert.ok(problems.some((p) => /tokens\[1\]/.test(p)))
  })
})
