/**
 * `block()`: one verified block, whatever its hash function: keccak-256 (Ethereum block hashes
 * as CIDs, codec eth-block 0x90), sha2-256, identity (no route asked); an unknown hash function
 * is refused before any route is asked. Plus the pure parts: address forms, ranking, hedging.
 */
import assert from 'node:assert/strict'
import { keccak256 } from '@multiformats/sha3'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { identity } from 'multiformats/hashes/identity'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createIpfs, gateway, parseAddress, UnsupportedHashError } from '../../src/ipfs/index.ts'
import { conditionOf, createRouteState, hedgeAfter, ranked } from '../../src/ipfs/routeState.ts'
import { blockMap, type LabGateway, startGateway } from '../lab/ipfsLab.ts'

const ETH_BLOCK = 0x90
const header = new TextEncoder().encode('an RLP header would be here')
const blocks = blockMap()
let ethCid: CID
let gw: LabGateway
let liar: LabGateway

beforeAll(async () => {
  ethCid = CID.createV1(ETH_BLOCK, await keccak256.digest(header))
  await blocks.put(ethCid, header)
  const other = new TextEncoder().encode('another block')
  await blocks.put(CID.createV1(0x55, await sha256.digest(other)), other)
  gw = await startGateway({ blocks })
  liar = await startGateway({ blocks, behaviour: 'tampering' })
})
afterAll(async () => {
  await Promise.all([gw.close(), liar.close()])
})

describe('block()', () => {
  it('a keccak-256 eth-block CID: verified, and a tampered one refused', async () => {
    const mainnet1 = CID.parse('bagiacgzarduw2rjxx2sntqc5cjkjsb5tevq5hpzr6rnk442m3qiz6e2ans3a')
    assert.equal(mainnet1.code, ETH_BLOCK)
    assert.equal(mainnet1.multihash.code, keccak256.code)
    const ipfs = createIpfs({ gateways: [liar.url, gw.url], hedgeDelay: 5_000 })
    const lies: string[] = []
    ipfs.on('lie', (e) => lies.push(e.cid))
    assert.deepEqual(await ipfs.block(ethCid), header)
    assert.deepEqual(await ipfs.block(ethCid.toString()), header)
    assert.deepEqual(lies, [ethCid.toString()])
    const only = createIpfs({ gateways: [liar.url] })
    await assert.rejects(only.block(ethCid), /do not hash to the CID/)
  })

  it('identity CIDs need no route; unknown hash functions are refused up front', async () => {
    const ipfs = createIpfs({ gateways: [gw.url] })
    const before = gw.stats.requests
    const inline = new TextEncoder().encode('inline')
    assert.deepEqual(await ipfs.block(CID.createV1(0x55, identity.digest(inline))), inline)
    const blake = CID.createV1(0x55, createDigest(0xb220, new Uint8Array(32)))
    await assert.rejects(ipfs.block(blake), (e: Error) => {
      assert.ok(e instanceof UnsupportedHashError)
      assert.match(e.message, /hash function 0xb220 is not supported/)
      return true
    })
    await assert.rejects(ipfs.fetch(`ipfs://${blake}`), UnsupportedHashError)
    await assert.rejects(ipfs.block('not-a-cid'), /Not a CID/)
    assert.equal(gw.stats.requests, before)
  })
})

describe('pure parts', () => {
  it('address forms', () => {
    const cid = 'bafkreifzqu5mjgybroy7ifjv5r7qvrhd5koammzz6jop3a6kcpcod4762a'
    const expect = { cid: CID.parse(cid), path: ['a b', 'c.json'] }
    for (const url of [
      `ipfs://${cid}/a%20b/c.json`,
      `ipfs://ipfs/${cid}/a%20b/c.json`,
      `/ipfs/${cid}/a%20b//c.json`,
      `${cid}/a%20b/c.json?x=1`,
      `https://gw.example/ipfs/${cid}/a%20b/c.json?key=1`,
      `https://${cid}.ipfs.dweb.example/a%20b/c.json`,
    ])
      assert.deepEqual(parseAddress(url), expect, url)
    for (const url of ['ipfs://nope', `ipfs://${cid}/../x`, 'https://gw.example/x', ''])
      assert.throws(() => parseAddress(url), url)
    assert.throws(
      () => parseAddress('https://gw.example/SECRET/x'),
      (e: Error) => !e.message.includes('SECRET'),
    )
  })

  it('ranking, hedge delays and conditions', () => {
    let now = 1_000
    const clock = () => now
    const mk = (name: string) =>
      createRouteState(gateway(`https://${name}.example`, { name }), undefined, clock)
    const [a, b, c] = [mk('a'), mk('b'), mk('c')]
    const hedge = { fixed: undefined, min: 50, max: 1_000, initial: 200 }
    assert.deepEqual(
      ranked([a, b, c], new Set(), now, 200).map((s) => s.route.name),
      ['a', 'b', 'c'],
    )
    b.latency.add(20)
    c.latency.add(500)
    assert.deepEqual(
      ranked([a, b, c], new Set([b]), now, 200).map((s) => s.route.name),
      ['a', 'c'],
    )
    assert.equal(hedgeAfter(a, hedge), 200)
    assert.equal(hedgeAfter(b, hedge), 50)
    assert.equal(hedgeAfter(c, hedge), 500)
    assert.equal(hedgeAfter(c, { ...hedge, fixed: 7 }), 7)
    a.lyingUntil = now + 100
    c.rateLimitedUntil = now + 100
    assert.deepEqual(
      ranked([a, b, c], new Set(), now, 200).map((s) => s.route.name),
      ['b'],
    )
    assert.equal(conditionOf(a, now), 'lying')
    assert.equal(conditionOf(c, now), 'rate-limited')
    assert.equal(conditionOf(b, now), 'unknown')
    now += 101
    assert.deepEqual(
      ranked([a, b, c], new Set(), now, 200).map((s) => s.route.name),
      ['b', 'a', 'c'],
    )
  })
})
