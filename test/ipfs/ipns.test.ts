/**
 * IPNS records through loopback trustless gateways: verified with the `ipns` package (signature
 * against the name's key, expiry), the highest sequence across routes, liars flagged, a replayed
 * older record unable to take a name back.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createIPNSRecord, createIPNSRecordWithExpiration, marshalIPNSRecord } from 'ipns'
import { base36 } from 'multiformats/bases/base36'
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest'
import { ContentError } from '../../src/ipfs/errors.ts'
import { ipnsResolver } from '../../src/ipfs/ipns.ts'
import { type LoopbackGateway, startGateway } from '../lab/ipnsLab.ts'

const CID_A = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
const CID_B = 'bafkreidgvpkjawlxz6sffxzwgooowe5yt7i6wsyg236mfoks77nywkptdq'

let key: PrivateKey
let name: string
let a: LoopbackGateway
let b: LoopbackGateway

const record = async (value: string, seq: bigint, signer = key) =>
  marshalIPNSRecord(await createIPNSRecord(signer, value, seq, 60_000))

beforeAll(async () => {
  key = await generateKeyPair('Ed25519')
  name = peerIdFromPrivateKey(key).toCID().toString(base36)
  a = await startGateway()
  b = await startGateway()
})
afterAll(async () => {
  await a?.stop()
  await b?.stop()
})
beforeEach(() => {
  for (const g of [a, b]) {
    g.records.clear()
    g.setMode({ kind: 'ok' })
  }
})

describe('IPNS records', () => {
  it('resolves /ipns/name/path to /ipfs/CID/path, by either spelling of the name', async () => {
    a.records.set(name, await record(`/ipfs/${CID_A}`, 1n))
    const peerIdName = peerIdFromPrivateKey(key).toString()
    a.records.set(peerIdName, await record(`/ipfs/${CID_A}`, 1n))
    const ipns = ipnsResolver({ gateways: [a.url] })
    assert.equal(await ipns.resolve(`/ipns/${name}/dir/list.json`), `/ipfs/${CID_A}/dir/list.json`)
    assert.equal(await ipns.resolve(`ipns://${peerIdName}`), `/ipfs/${CID_A}`)
    const info = await ipns.record(name)
    assert.equal(info.sequence, 1n)
    assert.equal(info.route, a.url)
  })

  it('takes the highest valid sequence across routes', async () => {
    a.records.set(name, await record(`/ipfs/${CID_A}`, 1n))
    b.records.set(name, await record(`/ipfs/${CID_B}`, 2n))
    const ipns = ipnsResolver({ gateways: [a.url, b.url] })
    const info = await ipns.record(name)
    assert.equal(info.sequence, 2n)
    assert.equal(info.value, `/ipfs/${CID_B}`)
  })

  it('a forged record (another key) is refused and its route marked lying', async () => {
    const other = await generateKeyPair('Ed25519')
    a.records.set(name, await record(`/ipfs/${CID_B}`, 9n, other))
    b.records.set(name, await record(`/ipfs/${CID_A}`, 1n))
    const lies: string[] = []
    const ipns = ipnsResolver({ gateways: [a.url, b.url], onLie: (l) => lies.push(l.route) })
    const info = await ipns.record(name)
    assert.equal(info.value, `/ipfs/${CID_A}`, 'the forged higher sequence does not win')
    assert.deepEqual(lies, [a.url])
    const [liar] = ipns.status().routes
    assert.equal(liar!.lies, 1)
    assert.match(liar!.lastError!, /^lied: /)
  })

  it('tampered bytes are refused as a lie', async () => {
    a.records.set(name, await record(`/ipfs/${CID_A}`, 1n))
    a.setMode({ kind: 'tamper' })
    const ipns = ipnsResolver({ gateways: [a.url] })
    await assert.rejects(ipns.record(name), (e: Error) => {
      assert.ok(e instanceof ContentError)
      assert.match(e.message, /No route served a valid IPNS record for/)
      assert.match(e.message, /failed verification/)
      return true
    })
    assert.equal(ipns.status().routes[0]!.lies, 1)
  })

  it('an expired record is refused (not a lie: a cache may hold an old one)', async () => {
    const past = new Date(Date.now() - 60_000).toISOString()
    a.records.set(
      name,
      marshalIPNSRecord(await createIPNSRecordWithExpiration(key, `/ipfs/${CID_A}`, 5n, past)),
    )
    const ipns = ipnsResolver({ gateways: [a.url] })
    await assert.rejects(ipns.record(name), /expired/)
    assert.equal(ipns.status().routes[0]!.lies, 0)
  })

  it('a replayed older record cannot take the name back', async () => {
    a.records.set(name, await record(`/ipfs/${CID_B}`, 2n))
    const ipns = ipnsResolver({ gateways: [a.url] })
    assert.equal((await ipns.record(name)).sequence, 2n)
    a.records.set(name, await record(`/ipfs/${CID_A}`, 1n))
    const again = await ipns.record(name)
    assert.equal(again.sequence, 2n)
    assert.equal(again.value, `/ipfs/${CID_B}`)
  })

  it('a slow route does not hold up an answer past the grace period', async () => {
    a.records.set(name, await record(`/ipfs/${CID_A}`, 1n))
    b.records.set(name, await record(`/ipfs/${CID_B}`, 2n))
    b.setMode({ kind: 'slow', ms: 3_000 })
    const ipns = ipnsResolver({ gateways: [a.url, b.url], grace: 100 })
    const started = Date.now()
    const info = await ipns.record(name)
    assert.ok(Date.now() - started < 1_500)
    assert.equal(info.sequence, 1n)
  })

  it('names that are not keys, and no gateways, are refused clearly', async () => {
    const ipns = ipnsResolver({ gateways: [a.url] })
    await assert.rejects(ipns.resolve('/ipns/example.com'), /DNSLink names are not resolved/)
    assert.throws(() => ipnsResolver({ gateways: [] }), /gateways must be a non-empty array/)
    assert.throws(() => ipnsResolver({ gateways: ['ftp://x'] }), /must be an http\(s\) URL/)
    // A gateway written without its scheme may still hold a key: never shown.
    assert.throws(
      () => ipnsResolver({ gateways: ['gateway.example/ipfs?key=SECRET'] }),
      (e: Error) => e.message.includes('got "<invalid url>"') && !e.message.includes('SECRET'),
    )
    assert.throws(
      () => ipnsResolver({ gateways: [a.url], preload: 'yes' as never }),
      /ipnsResolver\(\): preload must be true or false, got "yes"/,
    )
  })
})
