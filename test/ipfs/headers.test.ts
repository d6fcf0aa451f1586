/**
 * Ethereum headers by CID: the hash↔CID mapping, raw headers checked by keccak, a relay serving
 * its node's headers as raw blocks, a loopback gateway (honest and tampering), and the `ipfs`
 * source answering `eth_getBlockByHash` and anchoring a proof through createOutlast.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { encode as rlp, decode as rlpDecode } from '@ethereumjs/rlp'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, VerificationError } from '../../src/index.ts'
import {
  blockCid,
  decodeHeader,
  encodeHeader,
  fetchHeader,
  hashOfCid,
} from '../../src/ipfs/ethBlock.ts'
import { ipfsHeaders } from '../../src/ipfs/headerSource.ts'
import { proofs } from '../../src/proofs/index.ts'
import { keccak256 } from '../../src/shared/keccak.ts'
import { checkedHeader } from '../../src/verify/block.ts'
import { type Anvil, devAccounts, mined, startAnvil } from '../lab/index.ts'
import { type LoopbackGateway, startGateway } from '../lab/ipnsLab.ts'
import { type RelayProcess, startRelayProcess } from '../lab/relays.ts'

const CHAIN_ID = 31337
type Block = Record<string, unknown> & { hash: `0x${string}`; transactions: unknown[] }

const fixture = (name: string) =>
  JSON.parse(
    readFileSync(new URL(`../../src/verify/fixtures/${name}.json`, import.meta.url), 'utf8'),
  ).block as Block

describe('a block hash is a CID', () => {
  it('mainnet block 1', () => {
    const hash = '0x88e96d4537bea4d9c05d12549907b32561d3bf31f45aae734cdc119f13406cb6'
    const cid = 'bagiacgzarduw2rjxx2sntqc5cjkjsb5tevq5hpzr6rnk442m3qiz6e2ans3a'
    assert.equal(blockCid(hash), cid)
    assert.equal(hashOfCid(cid), hash)
    assert.equal(hashOfCid(cid.toUpperCase().replace(/^B/, 'B')), hash)
  })

  it('refuses other CIDs and non-hashes, naming what is wrong', () => {
    assert.throws(
      () => hashOfCid('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'),
      /not an eth-block CID \(codec 0x90\)/,
    )
    assert.throws(() => hashOfCid('QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'), /CID v1/)
    assert.throws(() => blockCid('0x1234'), /Not a block hash/)
  })

  it('decodes raw headers of every fork back to their JSON-RPC fields', () => {
    for (const name of [
      'block-homestead-2000004',
      'block-london-14151203',
      'block-shanghai-18436928',
      'block-cancun-21925176',
      'block-prague-23182607',
    ]) {
      const block = fixture(name)
      const raw = encodeHeader(block as never)
      const header = decodeHeader(raw, block.hash)
      const want = checkedHeader(block)
      for (const [k, v] of Object.entries(want).filter(([, v]) => v != null))
        assert.equal(
          String(header[k as keyof typeof header]).toLowerCase(),
          String(v).toLowerCase(),
          `${name}.${k}`,
        )
      assert.equal(
        Object.keys(header).length,
        Object.values(want).filter((v) => v != null).length,
        name,
      )
    }
  })

  it('refuses bytes that do not hash to the block, and layouts it does not know', () => {
    const block = fixture('block-prague-23182607')
    const raw = encodeHeader(block as never)
    const bad = Uint8Array.from(raw)
    bad[40] = bad[40]! ^ 1
    assert.throws(
      () => decodeHeader(bad, block.hash),
      (e: Error) => {
        assert.ok(e instanceof VerificationError)
        assert.match(e.message, new RegExp(`not to the block ${block.hash}`))
        return true
      },
    )
    // A future fork's extra field: hashes correctly, but is not read as anything.
    const items = [...(rlpDecode(raw) as Uint8Array[]), Uint8Array.of(1)]
    const future = rlp(items)
    assert.throws(() => decodeHeader(future, keccak256(future)), /has 22 fields/)
  })
})

describe('headers over IPFS routes', () => {
  let anvil: Anvil
  let relay: RelayProcess
  let gateway: LoopbackGateway
  let full: Block
  let empty: Block

  beforeAll(async () => {
    anvil = await startAnvil({ blockTime: 0 })
    const tx = await anvil.rpc<string>('eth_sendTransaction', [
      { from: devAccounts[0].address, to: devAccounts[1].address, value: '0x1234' },
    ])
    const receipt = await mined<{ blockHash: string }>(anvil, tx)
    full = await anvil.rpc<Block>('eth_getBlockByHash', [receipt.blockHash, false])
    await anvil.rpc('evm_mine')
    empty = await anvil.rpc<Block>('eth_getBlockByNumber', ['latest', false])
    assert.equal(full.transactions.length, 1)
    assert.equal(empty.transactions.length, 0)
    relay = await startRelayProcess({ rpc: anvil.url, gossip: false })
    gateway = await startGateway()
    for (const b of [full, empty]) gateway.blocks.set(blockCid(b.hash), encodeHeader(b as never))
  }, 60_000)
  afterAll(async () => {
    await relay?.stop()
    await gateway?.stop()
    await anvil?.stop()
  })

  it('a relay serves its node header as a raw block, checked by hash', async () => {
    const header = await fetchHeader(relay.http, full.hash)
    assert.ok(header)
    assert.deepEqual(header, checkedHeader(full))

    const res = await fetch(`${relay.http}/ipfs/${blockCid(full.hash)}?format=raw`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/vnd.ipld.raw')
    assert.equal(keccak256(new Uint8Array(await res.arrayBuffer())), full.hash)
    // The trustless-gateway way of asking: by Accept header.
    const byAccept = await fetch(`${relay.http}/ipfs/${blockCid(full.hash)}`, {
      headers: { accept: 'application/vnd.ipld.raw' },
    })
    assert.equal(byAccept.status, 200)
    await byAccept.arrayBuffer()

    assert.equal(await fetchHeader(relay.http, `0x${'ab'.repeat(32)}`), undefined, 'unknown: 404')
    const other = await fetch(
      `${relay.http}/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy?format=raw`,
    )
    assert.equal(other.status, 400)
    assert.match(await other.text(), /codec 0x90/)
    const car = await fetch(`${relay.http}/ipfs/${blockCid(full.hash)}?format=car`)
    assert.equal(car.status, 406)
    await car.text()
    // The status page is still there.
    assert.equal((await relay.status()).chainId, CHAIN_ID)
  })

  it('a gateway serves it; a tampered copy is refused', async () => {
    assert.deepEqual(await fetchHeader(gateway.url, full.hash), checkedHeader(full))
    gateway.setMode({ kind: 'tamper' })
    try {
      await assert.rejects(fetchHeader(gateway.url, full.hash), VerificationError)
    } finally {
      gateway.setMode({ kind: 'ok' })
    }
  })

  it('the ipfs source flags a tampering route and answers from another', async () => {
    const liar = await startGateway()
    liar.blocks.set(blockCid(full.hash), encodeHeader(full as never))
    liar.setMode({ kind: 'tamper' })
    const lies: string[] = []
    const source = ipfsHeaders({
      chainId: CHAIN_ID,
      gateways: [liar.url, gateway.url],
      onLie: (l) => lies.push(l.route),
    })
    try {
      const answer = await source.request({
        method: 'eth_getBlockByHash',
        params: [full.hash, false],
      })
      assert.deepEqual(answer, checkedHeader(full), 'the header only: no invented body')
      assert.deepEqual(lies, [liar.url])
      const [first, second] = source.status().routes
      assert.equal(first!.lies, 1)
      assert.ok(first!.lyingUntil! > Date.now())
      assert.match(first!.lastError!, /^lied: /)
      assert.equal(second!.served, 1)
      // Once caught, the liar is asked last: the honest route answers before it is reached.
      const before = liar.hits.blocks
      await source.request({ method: 'eth_getBlockByHash', params: [full.hash, false] })
      assert.equal(liar.hits.blocks, before)
      // A block with a body, asked with its transactions: refused, not invented.
      await assert.rejects(
        source.request({ method: 'eth_getBlockByHash', params: [full.hash, true] }),
        /serves its header only/,
      )
      await assert.rejects(
        source.request({ method: 'eth_getBalance', params: [devAccounts[0].address, 'latest'] }),
        (e: Error & { code?: number }) => e.code === -32601,
      )
    } finally {
      await liar.stop()
    }
  })

  it('every route lying: the source fails, naming each', async () => {
    gateway.setMode({ kind: 'tamper' })
    const source = ipfsHeaders({ chainId: CHAIN_ID, gateways: [gateway.url] })
    try {
      await assert.rejects(
        source.request({ method: 'eth_getBlockByHash', params: [full.hash, false] }),
        /no route served block .*sent a header that failed its check/,
      )
    } finally {
      gateway.setMode({ kind: 'ok' })
    }
  })

  it('eth_getBlockByHash through createOutlast: an empty block answered whole and verified', async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [
        http(anvil.url, {
          name: 'node',
          domain: 'home',
          kind: 'self-hosted',
          methods: { exclude: ['eth_getBlockByHash'] },
        }),
        ipfsHeaders({ chainId: CHAIN_ID, gateways: [relay.http] }),
      ],
    })
    try {
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getBlockByHash',
        params: [empty.hash, false],
      })
      assert.equal(meta.consistency, 'verified')
      assert.deepEqual(meta.sources, ['ipfs'])
      const block = result as Block
      // Every field a node gives (but totalDifficulty, gone since the merge), derived from the
      // header alone. `size` is the block's RLP length as the spec (and geth) count it:
      // [header, [], [], []]; anvil leaves the empty withdrawals list out of its count.
      const raw = encodeHeader(empty as never)
      const size = rlp([rlpDecode(raw) as Uint8Array[], [], [], []]).length
      assert.equal(block.size, `0x${size.toString(16)}`)
      const { size: _, totalDifficulty: __, ...rest } = empty
      for (const k of Object.keys(rest)) assert.deepEqual(block[k], empty[k], k)
      assert.deepEqual(Object.keys(block).sort(), [...Object.keys(rest), 'size'].sort())
      // A block with transactions: the header alone never passes for the block.
      await assert.rejects(
        rpc.request({ method: 'eth_getBlockByHash', params: [full.hash, false] }),
        /untrusted source/,
      )
    } finally {
      await rpc.close()
    }
  })

  it('a proven balance whose header only the ipfs route has', async () => {
    const who = devAccounts[1].address
    const source = ipfsHeaders({ chainId: CHAIN_ID, gateways: [relay.http] })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [
        http(anvil.url, {
          name: 'node',
          domain: 'home',
          kind: 'self-hosted',
          methods: { exclude: ['eth_getBlockByHash'] },
        }),
        source,
      ],
      prover: proofs(),
      trustedBlockHashes: [full.hash],
    })
    try {
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getBalance',
        params: [who, { blockHash: full.hash }],
      })
      assert.equal(meta.consistency, 'proven')
      assert.equal(result, await anvil.rpc('eth_getBalance', [who, { blockHash: full.hash }]))
      assert.equal(source.status().routes[0]!.served, 1, 'the header came from the ipfs route')
    } finally {
      await rpc.close()
    }
  })
})
