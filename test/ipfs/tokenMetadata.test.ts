/**
 * `tokenMetadata()` against real parts on loopback: token contracts on anvil (raw EVM bytecode
 * set with anvil_setCode, answering `tokenURI`/`uri` for fixed ids), read through outlast over
 * two sources in two domains; the metadata stored under its CID in the lab and served by
 * loopback trustless gateways, a Kubo RPC API, and a Helia peer.
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tcp } from '@libp2p/tcp'
import { importer } from 'ipfs-unixfs-importer'
import { create as kuboClient } from 'kubo-rpc-client'
import type { CID } from 'multiformats/cid'
import * as AbiFunction from 'ox/AbiFunction'
import type * as Hex from 'ox/Hex'
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest'
import type { Outlast } from '../../src/index.ts'
import {
  createIpfs,
  erc1155Id,
  type HeliaNode,
  type Ipfs,
  type IpfsEvents,
  startHelia,
  TokenMetadataError,
  tokenMetadata,
} from '../../src/ipfs/index.ts'
import { SELECTORS } from '../../src/ipfs/tokenMetadata.ts'
import { imageAddress, locate, readDataUri } from '../../src/ipfs/tokenUri.ts'
import { ConfigError } from '../../src/shared/errors.ts'
import { clientFor } from '../helpers.ts'
import { type Lab, startLab } from '../lab/index.ts'
import {
  abiString,
  answeringCode,
  buildContent,
  type LabContent,
  type LabGateway,
  type LabHeliaPeer,
  type LabKubo,
  startGateway,
  startHeliaPeer,
  startKuboApi,
  tokenUriCall,
} from '../lab/ipfsLab.ts'

const ERC721 = '0x00000000000000000000000000000000000c0721'
const ERC1155 = '0x000000000000000000000000000000000c001155'
const EMPTY = '0x000000000000000000000000000000000000dead'

let content: LabContent
let dir: CID
let lab: Lab
let rpc: Outlast
const gateways: LabGateway[] = []
let kubo: LabKubo
let web: Server
let webUrl: string
let webRequests = 0
const clients: Ipfs[] = []

const metadata1 = (image: string) => ({
  name: 'Outlast #1',
  description: 'read through outlast, fetched by CID',
  image,
  attributes: [{ trait_type: 'route', value: 'any' }],
})
let imageCid: CID
const id1155 = 0x2an
const meta1155 = {
  name: 'Outlast 1155 #42',
  image: 'ipfs://IMAGEDIR/{id}.png',
  decimals: 0,
}
const dataJson = { name: 'On-chain #3', image: 'data:image/svg+xml;base64,PHN2Zy8+' }
const plainJson = { name: 'On-chain #4 100% "quoted"', description: 'a,b;c' }
const httpJson = { name: 'Off-chain #5', image: 'https://example.com/5.png' }

beforeAll(async () => {
  content = await buildContent()
  imageCid = content.image.cid
  const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x))
  let root: CID | undefined
  for await (const entry of importer(
    [
      { path: 'collection/1.json', content: enc(metadata1(`ipfs://${imageCid}`)) },
      {
        path: 'collection/2.json',
        content: enc(metadata1(`https://cloudflare-ipfs.com/ipfs/${imageCid}`)),
      },
      {
        path: `collection/${erc1155Id(id1155)}.json`,
        content: enc({ ...meta1155, image: `ipfs://${imageCid}/{id}.png` }),
      },
      { path: 'collection/notjson.txt', content: new TextEncoder().encode('hello, not JSON') },
      { path: 'collection/array.json', content: enc([1, 2, 3]) },
    ],
    content.blocks,
    { cidVersion: 1 },
  ))
    root = entry.cid
  dir = root!
  for (let i = 0; i < 3; i++) gateways.push(await startGateway({ blocks: content.blocks }))
  kubo = await startKuboApi({ blocks: content.blocks })
  web = createServer((req, res) => {
    webRequests++
    res.setHeader('content-type', 'application/json')
    if (req.url === '/big.json') return res.end(JSON.stringify({ pad: 'x'.repeat(4096) }))
    res.end(JSON.stringify(httpJson))
  })
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r))
  webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`

  lab = await startLab({
    blockTime: 0,
    sources: [
      { name: 'cloud-a', domain: 'aws-us-east-1' },
      { name: 'cloud-b', domain: 'gcp-europe-west1' },
    ],
  })
  const b64 = Buffer.from(JSON.stringify(dataJson)).toString('base64')
  const answers: [Hex.Hex, Hex.Hex][] = [
    [tokenUriCall('erc721', 1n), abiString(`ipfs://${dir}/1.json`)],
    [tokenUriCall('erc721', 2n), abiString(`https://${dir}.ipfs.dweb.link/2.json`)],
    [tokenUriCall('erc721', 3n), abiString(`data:application/json;base64,${b64}`)],
    [
      tokenUriCall('erc721', 4n),
      abiString(`data:application/json,${encodeURIComponent(JSON.stringify(plainJson))}`),
    ],
    [tokenUriCall('erc721', 5n), abiString(`${webUrl}/token/5.json`)],
    [tokenUriCall('erc721', 6n), abiString('')],
    [tokenUriCall('erc721', 7n), abiString(`ipfs://${dir}/notjson.txt`)],
    [tokenUriCall('erc721', 8n), '0x1234'],
    [tokenUriCall('erc721', 9n), abiString('ar://mK6zQ3pYjvA0ZJRhmpmg4sMYJxJBrKbWZbg6kYhDH2c')],
    [tokenUriCall('erc721', 10n), abiString(`ipfs://${dir}/array.json`)],
    [tokenUriCall('erc721', 11n), abiString(`ipfs://${content.absent}`)],
    [tokenUriCall('erc721', 12n), abiString(`${webUrl}/big.json`)],
    [tokenUriCall('erc721', 13n), abiString(`ipfs/${dir}/1.json`)],
  ]
  await lab.anvil.rpc('anvil_setCode', [ERC721, answeringCode(answers)])
  await lab.anvil.rpc('anvil_setCode', [
    ERC1155,
    answeringCode([[tokenUriCall('erc1155', id1155), abiString(`ipfs://${dir}/{id}.json`)]]),
  ])
  rpc = clientFor(lab)
}, 60_000)

afterEach(async () => {
  for (const g of gateways) g.behaviour = 'honest'
  kubo.behaviour = 'honest'
  await Promise.all(clients.splice(0).map((c) => c.close()))
})

afterAll(async () => {
  await rpc?.close()
  await lab?.stop()
  await Promise.all([...gateways.map((g) => g.close()), kubo?.close()])
  web?.closeAllConnections()
  await new Promise<void>((r) => (web ? web.close(() => r()) : r()))
})

function ipfsClient(options: Parameters<typeof createIpfs>[0]): Ipfs {
  const c = createIpfs(options)
  clients.push(c)
  return c
}

const g = (i: number) => gateways[i]!
const honest = () => ipfsClient({ gateways: [g(0).url] })

describe('tokenMetadata', () => {
  it('the selectors are those of tokenURI(uint256) and uri(uint256)', () => {
    assert.equal(
      SELECTORS.erc721,
      AbiFunction.getSelector('function tokenURI(uint256) view returns (string)'),
    )
    assert.equal(
      SELECTORS.erc1155,
      AbiFunction.getSelector('function uri(uint256) view returns (string)'),
    )
  })

  it('every route but one down or lying: the right metadata, the liars flagged', async () => {
    kubo.behaviour = 'lying'
    g(0).behaviour = 'tampering'
    g(1).behaviour = 'error'
    const ipfs = ipfsClient({
      kubo: kuboClient({ url: kubo.url }),
      gateways: [g(0).url, g(1).url, { url: g(2).url, name: 'honest' }],
      hedgeDelay: 1_000,
    })
    const lies: IpfsEvents['lie'][] = []
    ipfs.on('lie', (e) => lies.push(e))
    const got = await tokenMetadata(rpc, { contract: ERC721, tokenId: 1n }, { ipfs })
    assert.deepEqual(got.metadata, metadata1(`ipfs://${imageCid}`))
    assert.equal(got.uri, `ipfs://${dir}/1.json`)
    assert.equal(got.image, `ipfs://${imageCid}`)
    assert.equal(got.origin, 'ipfs')
    assert.equal(got.verified, true)
    const status = ipfs.status().routes
    const [kuboStatus, tampering, failing, honestStatus] = status
    assert.equal(kuboStatus!.condition, 'lying')
    assert.equal(tampering!.condition, 'lying')
    assert.equal(tampering!.blocks, 0)
    assert.notEqual(failing!.condition, 'healthy')
    assert.equal(honestStatus!.name, 'honest')
    assert.equal(honestStatus!.condition, 'healthy')
    assert.deepEqual(
      new Set(lies.map((e) => e.route)),
      new Set([kuboStatus!.name, tampering!.name]),
    )
  })

  it('every HTTP route down: served by Helia from a peer', async () => {
    let peer: LabHeliaPeer | undefined
    let local: HeliaNode | undefined
    try {
      peer = await startHeliaPeer(content.blocks)
      local = await startHelia({ transports: [tcp()], peers: [peer.multiaddr] })
      kubo.behaviour = 'down'
      g(0).behaviour = 'blackhole'
      g(1).behaviour = 'error'
      g(2).behaviour = 'notFound'
      const ipfs = createIpfs({
        kubo: kuboClient({ url: kubo.url }),
        gateways: gateways.map((x) => x.url),
        routes: [local.route],
        attemptTimeout: 3_000,
      })
      const got = await tokenMetadata(rpc, { contract: ERC721, tokenId: 1n }, { ipfs })
      assert.deepEqual(got.metadata, metadata1(`ipfs://${imageCid}`))
      const helia = ipfs.status().routes.find((r) => r.kind === 'helia')!
      assert.equal(helia.condition, 'healthy')
      assert.ok(helia.blocks >= 2, `${helia.blocks} blocks from the peer (directory and file)`)
      for (const r of ipfs.status().routes.filter((x) => x.kind !== 'helia'))
        assert.equal(r.blocks, 0, `${r.name} served nothing`)
      await ipfs.close()
      local = undefined
    } finally {
      await local?.stop()
      await peer?.stop()
    }
  })

  it('ERC-1155: {id} substituted (64 lowercase hex characters) in the URI and the image', async () => {
    assert.equal(erc1155Id(0xabn), `${'0'.repeat(62)}ab`)
    const got = await tokenMetadata(
      rpc,
      { contract: ERC1155, tokenId: id1155, standard: 'erc1155' },
      { ipfs: honest() },
    )
    assert.equal(got.uri, `ipfs://${dir}/{id}.json`)
    assert.equal(got.metadata.name, meta1155.name)
    assert.equal(got.image, `ipfs://${imageCid}/${'0'.repeat(62)}2a.png`)
    assert.equal(got.verified, true)
    // The same id written as hex or a number reads the same token.
    const again = await tokenMetadata(
      rpc,
      { contract: ERC1155, tokenId: '0x2A', standard: 'erc1155' },
      { ipfs: honest() },
    )
    assert.deepEqual(again.metadata, got.metadata)
  })

  it('gateway URLs and ipfs/ paths are read by CID, not from the host they name', async () => {
    const subdomain = await tokenMetadata(rpc, { contract: ERC721, tokenId: 2 }, { ipfs: honest() })
    assert.equal(subdomain.uri, `https://${dir}.ipfs.dweb.link/2.json`)
    assert.equal(subdomain.origin, 'ipfs')
    assert.equal(subdomain.image, `ipfs://${imageCid}`, 'a gateway image URL becomes ipfs://')
    const path = await tokenMetadata(rpc, { contract: ERC721, tokenId: '13' }, { ipfs: honest() })
    assert.deepEqual(path.metadata, metadata1(`ipfs://${imageCid}`))
  })

  it('data: URIs, base64 and percent-encoded', async () => {
    const ipfs = honest()
    const before = g(0).stats.requests
    const b64 = await tokenMetadata(rpc, { contract: ERC721, tokenId: 3n }, { ipfs })
    assert.deepEqual(b64.metadata, dataJson)
    assert.equal(b64.origin, 'data')
    assert.equal(b64.image, dataJson.image)
    const plain = await tokenMetadata(rpc, { contract: ERC721, tokenId: 4n }, { ipfs })
    assert.deepEqual(plain.metadata, plainJson)
    assert.equal(plain.image, undefined)
    assert.equal(g(0).stats.requests, before, 'no route was asked')
    await assert.rejects(
      tokenMetadata(rpc, { contract: ERC721, tokenId: 3n }, { ipfs, maxBytes: 20 }),
      /maxBytes \(20\)/,
    )
  })

  it('a plain http(s) URI is refused without allowHttp, fetched and flagged unverified with it', async () => {
    const before = webRequests
    await assert.rejects(
      tokenMetadata(rpc, { contract: ERC721, tokenId: 5n }, { ipfs: honest() }),
      (e: Error) => {
        assert.ok(e instanceof TokenMetadataError)
        assert.equal(e.tokenId, 5n)
        assert.match(e.message, /Token 5 of 0x0+c0721/)
        assert.match(e.message, /plain HTTP URL, not an IPFS address.*allowHttp: true/)
        assert.doesNotMatch(e.message, /token\/5\.json/, 'the URL path is not shown')
        return true
      },
    )
    assert.equal(webRequests, before, 'the URL was never fetched')
    const got = await tokenMetadata(
      rpc,
      { contract: ERC721, tokenId: 5n },
      { ipfs: honest(), allowHttp: true },
    )
    assert.deepEqual(got.metadata, httpJson)
    assert.equal(got.origin, 'http')
    assert.equal(got.verified, false)
    assert.equal(got.image, httpJson.image)
    await assert.rejects(
      tokenMetadata(
        rpc,
        { contract: ERC721, tokenId: 12n },
        { ipfs: honest(), allowHttp: true, maxBytes: 1_000 },
      ),
      /more than maxBytes \(1000\)/,
    )
  })

  it('clear errors naming the contract and token: revert, empty URI, not JSON, not a URI…', async () => {
    const ipfs = honest()
    const cases: [bigint | string, RegExp, string?][] = [
      [999n, /Token 999 of 0x0+c0721: tokenURI\(999\) reverted/],
      [6n, /Token 6 of .*: tokenURI\(6\) returned an empty URI/],
      [
        7n,
        new RegExp(`Token 7 of .*: its metadata could not be read: ${dir}/notjson.txt is not JSON`),
      ],
      [8n, /Token 8 of .*: tokenURI\(8\) did not return an ABI-encoded string/],
      [9n, /Token 9 of .*: cannot read its URI: ar: URIs are not supported/],
      [10n, /Token 10 of .*: its metadata is not a JSON object/],
      [
        11n,
        new RegExp(
          `Token 11 of .*: its metadata could not be read: No route served ${content.absent}`,
        ),
      ],
    ]
    for (const [tokenId, message] of cases)
      await assert.rejects(
        tokenMetadata(rpc, { contract: ERC721, tokenId }, { ipfs, timeout: 10_000 }),
        (e: Error) => {
          assert.ok(e instanceof TokenMetadataError, `${tokenId}: ${e}`)
          assert.equal(e.contract, ERC721)
          assert.match(e.message, message)
          return true
        },
      )
    await assert.rejects(
      tokenMetadata(rpc, { contract: EMPTY, tokenId: 1n }, { ipfs }),
      /Token 1 of 0x0+dead: tokenURI\(1\) returned nothing \(no contract there/,
    )
  })

  it('the deadline and the caller’s signal bound the whole call', async () => {
    g(0).behaviour = 'blackhole'
    const ipfs = ipfsClient({ gateways: [g(0).url] })
    const started = performance.now()
    await assert.rejects(
      tokenMetadata(rpc, { contract: ERC721, tokenId: 1n }, { ipfs, timeout: 600 }),
      /Token 1 of .*: no metadata within 600 ms/,
    )
    assert.ok(performance.now() - started < 2_000)
    const ac = new AbortController()
    setTimeout(() => ac.abort(new Error('user left')), 200)
    await assert.rejects(
      tokenMetadata(rpc, { contract: ERC721, tokenId: 1n }, { ipfs, signal: ac.signal }),
      /Token 1 of .*: aborted/,
    )
  })

  it('bad arguments are ConfigErrors', async () => {
    const ipfs = honest()
    for (const [token, message] of [
      [{ contract: '0x1234', tokenId: 1n }, /contract must be/],
      [{ contract: ERC721, tokenId: -1n }, /tokenId must be a uint256/],
      [{ contract: ERC721, tokenId: 1.5 }, /tokenId must be a uint256/],
      [{ contract: ERC721, tokenId: 1n << 256n }, /tokenId must be a uint256/],
      [{ contract: ERC721, tokenId: 1n, standard: 'erc20' }, /standard must be one of/],
    ] as const)
      await assert.rejects(
        tokenMetadata(rpc, token as never, { ipfs }),
        (e: Error) => e instanceof ConfigError && message.test(e.message),
      )
    await assert.rejects(
      tokenMetadata(rpc, { contract: ERC721, tokenId: 1n }, { ipfs, timeout: 0 }),
      ConfigError,
    )
    await assert.rejects(
      tokenMetadata(rpc, { contract: ERC721, tokenId: 1n }, {} as never),
      /ipfs must be a client/,
    )
  })
})

describe('token URIs (pure)', () => {
  const cid = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
  it('every IPFS form becomes ipfs://CID/path; others are http, data or refused', () => {
    for (const uri of [
      `ipfs://${cid}/a b.json`,
      `ipfs://ipfs/${cid}/a%20b.json`,
      `ipfs/${cid}/a%20b.json`,
      `/ipfs/${cid}/a%20b.json`,
      `https://gateway.pinata.cloud/ipfs/${cid}/a%20b.json?filename=x`,
      `https://${cid}.ipfs.w3s.link/a%20b.json`,
    ])
      assert.deepEqual(locate(uri, 1_000), { origin: 'ipfs', address: `ipfs://${cid}/a%20b.json` })
    assert.deepEqual(locate('https://api.example.com/ipfs/nope/1', 1_000), {
      origin: 'http',
      url: 'https://api.example.com/ipfs/nope/1',
    })
    assert.throws(
      () => locate('ipns://k51qzi5uqu5dl/1.json', 1_000),
      /ipns: URIs are not supported/,
    )
    assert.throws(() => locate('  ', 1_000), /empty/)
    assert.throws(() => locate('token/1.json', 1_000), /neither a URL nor an IPFS path/)
  })

  it('data: URIs: base64, percent-encoded, raw JSON left unencoded; other types refused', () => {
    const json = '{"name":"100% on-chain","n":1}'
    assert.equal(readDataUri(`data:application/json;base64,${btoa(json)}`, 1_000), json)
    assert.equal(readDataUri(`data:application/json,${encodeURIComponent(json)}`, 1_000), json)
    assert.equal(readDataUri(`data:application/json;utf8,${json}`, 1_000), json)
    assert.throws(
      () => readDataUri('data:text/html,<b>hi</b>', 1_000),
      /"text\/html", not application\/json/,
    )
    assert.throws(() => readDataUri('data:application/json;base64,!!!', 1_000), /does not decode/)
    assert.throws(
      () => readDataUri(`data:application/json,${json}`, 10),
      /more than maxBytes \(10\)/,
    )
  })

  it('image addresses: IPFS forms canonical, http(s) and data:image kept, the rest dropped', () => {
    assert.equal(imageAddress(`https://ipfs.io/ipfs/${cid}`), `ipfs://${cid}`)
    assert.equal(imageAddress(cid), `ipfs://${cid}`)
    assert.equal(imageAddress('https://example.com/1.png'), 'https://example.com/1.png')
    assert.equal(imageAddress('data:image/png;base64,AAAA'), 'data:image/png;base64,AAAA')
    for (const bad of ['javascript:alert(1)', 'data:text/html,<script>', 'ar://abc', '1.png', 42])
      assert.equal(imageAddress(bad), undefined, String(bad))
  })
})
