/**
 * The `helia` route: bitswap over libp2p on loopback, from a Helia peer that holds the content
 * (dialed directly: no routing, no bootstrap list, nothing public). Every HTTP route down →
 * the content comes from the peer, still verified block by block.
 */
import assert from 'node:assert/strict'
import { tcp } from '@libp2p/tcp'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createIpfs, type HeliaNode, startHelia } from '../../src/ipfs/index.ts'
import {
  buildContent,
  type LabContent,
  type LabGateway,
  type LabHeliaPeer,
  startGateway,
  startHeliaPeer,
} from '../lab/ipfsLab.ts'

let content: LabContent
let peer: LabHeliaPeer
let local: HeliaNode
const gateways: LabGateway[] = []

beforeAll(async () => {
  content = await buildContent()
  peer = await startHeliaPeer(content.blocks)
  local = await startHelia({ transports: [tcp()], peers: [peer.multiaddr] })
  for (const behaviour of ['blackhole', 'error', 'notFound'] as const)
    gateways.push(await startGateway({ blocks: content.blocks, behaviour }))
})
afterAll(async () => {
  await Promise.all([local?.stop(), peer?.stop(), ...gateways.map((g) => g.close())])
})

describe('helia route', () => {
  it('every HTTP route down: served by Helia from a peer, verified', async () => {
    const ipfs = createIpfs({
      gateways: gateways.map((g) => g.url),
      routes: [local.route],
      attemptTimeout: 5_000,
    })
    const started = performance.now()
    assert.deepEqual(await ipfs.fetch(`ipfs://${content.image.cid}`), content.image.bytes)
    const ms = Math.round(performance.now() - started)
    assert.deepEqual(await ipfs.json(`ipfs://${content.dir.cid}/42.json`), content.metadata.json)
    const helia = ipfs.status().routes.find((r) => r.kind === 'helia')!
    assert.equal(helia.condition, 'healthy')
    assert.ok(helia.blocks >= 6, `${helia.blocks} blocks from the peer`)
    console.log(`image (${content.image.leaves.length + 1} blocks) over bitswap in ${ms} ms`)
  })

  it('a block no peer has: the peer says so, the attempt ends early, named in the error', async () => {
    const ipfs = createIpfs({ routes: [local.route], attemptTimeout: 5_000 })
    const started = performance.now()
    await assert.rejects(ipfs.fetch(`ipfs://${content.absent}`), (e: Error) => {
      assert.match(e.message, new RegExp(`${content.absent}`))
      assert.match(e.message, /helia: does not have it \(1 connected peer said so\)/)
      return true
    })
    assert.ok(performance.now() - started < 1_000, 'before the 5 s attempt deadline')
  })
})
