/**
 * A relay as an IPFS peer: `outlast relay --pin <file.car>` (the shipped command, a real
 * process) serves the CAR's blocks and its node's headers over bitswap; a dApp's Helia, on the
 * node outlast/p2p uses (`startPeerNode()`), dials the relay and fetches them, every block
 * verified. A CAR with a tampered block refuses the start; an unknown CID ends at the deadline.
 */
import assert from 'node:assert/strict'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CarWriter } from '@ipld/car/writer'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { blockCid, decodeHeader } from '../../src/ipfs/ethBlock.ts'
import { createIpfs, type HeliaNode, startHelia } from '../../src/ipfs/index.ts'
import { startPeerNode } from '../../src/p2p/index.ts'
import { loadPins, relayBlockstore } from '../../src/p2p/relay/relayBlocks.ts'
import { checkedHeader } from '../../src/verify/block.ts'
import { type Anvil, devAccounts, mined, startAnvil } from '../lab/index.ts'
import { buildContent, type LabContent, type LabGateway, startGateway } from '../lab/ipfsLab.ts'
import { type RelayProcess, startRelayProcess } from '../lab/relays.ts'

type Block = Record<string, unknown> & { hash: `0x${string}`; transactions: unknown[] }

let content: LabContent
let anvil: Anvil
let relay: RelayProcess
let client: HeliaNode
let dir: string
let car: string
let block: Block
const gateways: LabGateway[] = []

/** A CAR v1 of `blocks` under `roots`; `tamper` changes one byte of the blocks it picks. */
async function writeCar(
  file: string,
  roots: CID[],
  blocks: Iterable<{ cid: CID; bytes: Uint8Array }>,
  tamper: (cid: CID) => boolean = () => false,
) {
  const { writer, out } = CarWriter.create(roots)
  const written = pipeline(Readable.from(out), createWriteStream(file))
  for (const { cid, bytes } of blocks) {
    const copy = Uint8Array.from(bytes)
    if (tamper(cid)) copy[0] = copy[0]! ^ 1
    await writer.put({ cid, bytes: copy })
  }
  await writer.close()
  await written
}

/** A `node --import` hook that appends each module specifier `helia`/`@helia/*` resolved to `log`. */
const heliaLoads = (log: string) =>
  `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module'
import { appendFileSync } from 'node:fs'
registerHooks({ resolve(spec, context, next) {
  if (spec === 'helia' || spec.startsWith('@helia/')) appendFileSync(${JSON.stringify(log)}, spec + '\\n')
  return next(spec, context)
} })`)}`

beforeAll(async () => {
  content = await buildContent()
  dir = await mkdtemp(join(tmpdir(), 'outlast-relay-blocks-'))
  car = join(dir, 'content.car')
  await writeCar(
    car,
    [content.metadata.cid, content.dir.cid, content.image.cid],
    content.blocks.values(),
  )
  anvil = await startAnvil({ blockTime: 0 })
  const tx = await anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[0].address, to: devAccounts[1].address, value: '0x1234' },
  ])
  const receipt = await mined<{ blockHash: string }>(anvil, tx)
  block = await anvil.rpc<Block>('eth_getBlockByHash', [receipt.blockHash, false])
  await writeFile(join(dir, 'loads.log'), '')
  relay = await startRelayProcess({
    rpc: anvil.url,
    gossip: false,
    pin: [car],
    nodeArgs: ['--import', heliaLoads(join(dir, 'loads.log'))],
  })
  // A dApp's Helia on the node outlast/p2p uses (WebSockets, WebRTC-Direct), dialing the relay.
  client = await startHelia({
    libp2p: await startPeerNode(),
    peers: [relay.ws],
    name: 'relay-bitswap',
  })
  for (const behaviour of ['blackhole', 'notFound'] as const)
    gateways.push(await startGateway({ blocks: content.blocks, behaviour }))
}, 60_000)
afterAll(async () => {
  await client?.stop()
  await client?.helia.libp2p.stop()
  await relay?.stop()
  await anvil?.stop()
  await Promise.all(gateways.map((g) => g.close()))
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** createIpfs over the client's bitswap route (never closed here: it would stop the node) and `extra` gateways. */
const ipfsOver = (attemptTimeout: number, extra: LabGateway[] = []) =>
  createIpfs({
    gateways: extra.map((g) => g.url),
    routes: [client.route],
    attemptTimeout,
    timeout: 20_000,
  })

describe('a relay serves pinned content and its node headers over bitswap', () => {
  it('NFT metadata with every HTTP route down: from the relay, verified', async () => {
    const ipfs = ipfsOver(5_000, gateways)
    const started = performance.now()
    assert.deepEqual(await ipfs.json(`ipfs://${content.metadata.cid}`), content.metadata.json)
    const ms = Math.round(performance.now() - started)
    assert.deepEqual(await ipfs.json(`ipfs://${content.dir.cid}/42.json`), content.metadata.json)
    assert.deepEqual(await ipfs.fetch(`ipfs://${content.image.cid}`), content.image.bytes)
    const routes = ipfs.status().routes
    const bitswap = routes.find((r) => r.kind === 'helia')!
    assert.equal(bitswap.condition, 'healthy')
    assert.ok(bitswap.blocks >= 8, `${bitswap.blocks} blocks over bitswap`)
    for (const g of routes.filter((r) => r.kind === 'gateway'))
      assert.equal(g.blocks, 0, `${g.name} served nothing`)

    const status = (await relay.status()).ipfs!
    assert.ok(status.roots.includes(content.metadata.cid.toString()))
    assert.equal(status.roots.length, 3)
    assert.equal(status.blocks, content.blocks.size)
    assert.ok(status.served.pinned >= 8, `the relay counts ${status.served.pinned} pinned served`)
    console.log(`metadata over bitswap from the relay in ${ms} ms (first fetch)`)
  })

  it('an Ethereum header by hash, from the relay node, decoded and equal to anvil', async () => {
    const ipfs = ipfsOver(5_000)
    const started = performance.now()
    const bytes = await ipfs.block(blockCid(block.hash))
    const ms = Math.round(performance.now() - started)
    assert.deepEqual(decodeHeader(bytes, block.hash), checkedHeader(block))
    assert.ok((await relay.status()).ipfs!.served.headers >= 1)
    console.log(`header ${block.hash.slice(0, 10)}… over bitswap in ${ms} ms`)
  })

  it('an unknown CID: the relay says it has nothing, at once, and keeps serving', async () => {
    const ipfs = ipfsOver(5_000)
    const missingBefore = (await relay.status()).ipfs!.missing
    for (const cid of [content.absent.toString(), blockCid(`0x${'ab'.repeat(32)}`)]) {
      const started = performance.now()
      await assert.rejects(ipfs.block(cid, { timeout: 10_000 }), (e: Error) => {
        assert.equal(e.name, 'ContentNotFoundError')
        assert.match(e.message, new RegExp(cid))
        assert.match(e.message, /relay-bitswap: does not have it \(1 connected peer said so\)/)
        return true
      })
      const ms = Math.round(performance.now() - started)
      assert.ok(ms < 1_000, `told after ${ms} ms (the attempt's deadline is 5 s)`)
      console.log(`unknown ${cid.slice(0, 12)}…: "not here" from the relay in ${ms} ms`)
    }
    assert.ok((await relay.status()).ipfs!.missing >= missingBefore + 2, 'the relay saw the wants')
    // A relay that never answers (blackholed): the attempt's deadline ends the wait.
    relay.pause()
    try {
      const started = performance.now()
      await assert.rejects(ipfsOver(600).block(content.absent), /no block within 600 ms/)
      assert.ok(performance.now() - started < 2_000)
    } finally {
      relay.resume()
    }
    // The wants left open hold nothing up: a pinned block still comes at once.
    const again = await ipfsOver(5_000).json(`ipfs://${content.metadata.cid}`)
    assert.deepEqual(again, content.metadata.json)
  })

  it('a CAR with a tampered block refuses to start, naming the file and the CID', async () => {
    const bad = join(dir, 'tampered.car')
    const victim = content.image.leaves[2]!
    await writeCar(bad, [content.image.cid], content.blocks.values(), (c) => c.equals(victim))
    await assert.rejects(
      startRelayProcess({ rpc: anvil.url, gossip: false, pin: [car, bad] }),
      (e: Error) => {
        assert.match(e.message, /exited \(1\)/)
        assert.ok(e.message.includes(`--pin ${bad}: block ${victim} does not match its CID`))
        return true
      },
    )
    const notCar = join(dir, 'not.car')
    await writeFile(notCar, 'hello')
    await assert.rejects(
      startRelayProcess({ rpc: anvil.url, gossip: false, pin: [notCar] }),
      (e: Error) => e.message.includes(`--pin ${notCar}: not a CAR file`),
    )
  })

  it('Helia loads only with --ipfs or --pin', async () => {
    const log = join(dir, 'plain.log')
    await writeFile(log, '')
    const plain = await startRelayProcess({
      rpc: anvil.url,
      gossip: false,
      nodeArgs: ['--import', heliaLoads(log)],
    })
    try {
      assert.equal((await plain.status()).ipfs, undefined)
    } finally {
      await plain.stop()
    }
    assert.equal(await readFile(log, 'utf8'), '', 'a relay without IPFS loads no Helia')
    assert.match(await readFile(join(dir, 'loads.log'), 'utf8'), /^helia$/m, 'the pinned one does')
  })
})

describe("the relay's blockstore", () => {
  const drain = async (it: AsyncIterable<Uint8Array>) => {
    const parts: Uint8Array[] = []
    for await (const p of it) parts.push(p)
    return parts
  }

  it("serves a header only when the node's block hashes to it; keeps nothing peers send", async () => {
    const cid = CID.parse(blockCid(block.hash))
    const honest = relayBlockstore({ pins: await loadPins([]), blockByHash: async () => block })
    assert.equal(await honest.store.has(cid), true)
    const [bytes] = await drain(honest.store.get(cid))
    assert.deepEqual(decodeHeader(bytes!, block.hash), checkedHeader(block))
    assert.equal(honest.counts.headers, 1)

    // A node that answers with another block's fields under this hash: never served.
    const lying = relayBlockstore({
      pins: await loadPins([]),
      blockByHash: async () => ({ ...block, gasUsed: '0x1' }),
    })
    assert.equal(await lying.store.has(cid), false)
    await assert.rejects(drain(lying.store.get(cid)), { name: 'NotFoundError' })
    assert.equal(lying.counts.headers, 0)
    // A node that is down: nothing, not a crash.
    const down = relayBlockstore({
      pins: await loadPins([]),
      blockByHash: () => Promise.reject(new Error('ECONNREFUSED')),
    })
    assert.equal(await down.store.has(cid), false)

    await assert.rejects(
      Promise.resolve().then(() => honest.store.put(cid, new Uint8Array(1))),
      /read-only/,
    )
  })

  it('pins: every block checked; what cannot be checked or is too large is refused', async () => {
    const pins = await loadPins([car])
    assert.equal(pins.blocks.size, content.blocks.size)
    assert.deepEqual(pins.roots.map(String), [
      content.metadata.cid.toString(),
      content.dir.cid.toString(),
      content.image.cid.toString(),
    ])
    const { store } = relayBlockstore({ pins, blockByHash: async () => null })
    assert.equal(await store.has(content.metadata.cid), true)
    assert.equal(await store.has(content.absent), false)
    // The same multihash under another codec is the same block (as IPFS blockstores key them).
    assert.equal(await store.has(CID.createV1(0x70, content.metadata.cid.multihash)), true)

    const odd = join(dir, 'blake.car')
    const blake = CID.parse('bafk2bzacecupadanxdboqwbmmvkzhqsjqjv6ffavlgidrwc5e4crbhgvhdfma')
    await writeCar(odd, [blake], [{ cid: blake, bytes: new Uint8Array(4) }])
    await assert.rejects(loadPins([odd]), /blake\.car: block \S+ uses hash function 0xb220/)
    await assert.rejects(loadPins([join(dir, 'none.car')]), /none\.car: cannot read it \(ENOENT\)/)
    const big = new Uint8Array(2 * 1024 * 1024 + 1)
    const bigCid = CID.createV1(0x55, await sha256.digest(big))
    await writeCar(join(dir, 'big.car'), [bigCid], [{ cid: bigCid, bytes: big }])
    await assert.rejects(
      loadPins([join(dir, 'big.car')]),
      new RegExp(`big\\.car: block ${bigCid} has 2097153 bytes, more than peers accept`),
    )
  })
})
