/**
 * IPFS content on loopback for tests, benches and demos: blocks made with ipfs-unixfs-importer
 * (NFT metadata, an image of several blocks, a directory, a HAMT-sharded directory), served by
 * small trustless gateways whose behaviour can be switched while a test runs (honest,
 * tampering, slow, 404, 5xx, blackhole, rate-limited, redirecting), by an emulation of Kubo's
 * RPC API (`POST /api/v0/block/get?arg=CID`, what kubo-rpc-client's `block.get` calls; no Kubo
 * binary can be installed here), and by a Helia node over TCP on 127.0.0.1 (bitswap). Gateways
 * send CORS headers, so pages in the browser tests can use them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { base16 } from 'multiformats/bases/base16'
import { CID } from 'multiformats/cid'
import * as AbiParameters from 'ox/AbiParameters'
import * as Hash from 'ox/Hash'
import * as Hex from 'ox/Hex'

/** Blocks by multihash (as IPFS blockstores key them: a CID's version and codec do not matter). */
export type BlockMap = Map<string, { cid: CID; bytes: Uint8Array }>

export const blockKey = (cid: CID): string => base16.encode(cid.multihash.bytes)

export function blockMap(): BlockMap & { put(cid: CID, bytes: Uint8Array): Promise<CID> } {
  const map = new Map() as BlockMap & { put(cid: CID, bytes: Uint8Array): Promise<CID> }
  map.put = async (cid, bytes) => {
    map.set(blockKey(cid), { cid, bytes })
    return cid
  }
  return map
}

export type LabContent = {
  /** Every block built (more can be imported into it: gateways read it as they serve). */
  blocks: ReturnType<typeof blockMap>
  /** NFT metadata (a single raw block). */
  metadata: { cid: CID; json: Record<string, unknown>; bytes: Uint8Array }
  /** A binary of ~320 KiB, 64 KiB chunks: a dag-pb root and 5 raw leaves. */
  image: { cid: CID; bytes: Uint8Array; leaves: CID[] }
  /** A directory `nft/` holding `42.json`, `image.bin` and `docs/readme.txt`. */
  dir: { cid: CID }
  /** A HAMT-sharded directory of 40 files `file-<i>.txt` (content `file <i>`). */
  sharded: { cid: CID }
  /** A block no route holds (a different image's root). */
  absent: CID
}

/** Deterministic bytes (so CIDs are the same on every run). */
export function pseudoRandom(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

const importOptions = { chunker: fixedSize({ chunkSize: 65_536 }), cidVersion: 1 as const }

async function last<T>(it: AsyncIterable<T>): Promise<T> {
  let value: T | undefined
  for await (const v of it) value = v
  if (value === undefined) throw new Error('nothing imported')
  return value
}

export async function buildContent(): Promise<LabContent> {
  const blocks = blockMap()
  const json = {
    name: 'Outlast Test #42',
    description: 'NFT metadata stored under its CID',
    image: 'ipfs://IMAGE/image.bin',
    attributes: [{ trait_type: 'route', value: 'any' }],
  }
  const metaBytes = new TextEncoder().encode(JSON.stringify(json))
  const metadata = await last(importer([{ content: metaBytes }], blocks, importOptions))
  const image = pseudoRandom(320 * 1024)
  const imported = await last(importer([{ content: image }], blocks, importOptions))
  const leaves = [...blocks.values()]
    .map((b) => b.cid)
    .filter((c) => c.code === 0x55 && !c.equals(metadata.cid))
  const dir = await last(
    importer(
      [
        { path: 'nft/42.json', content: metaBytes },
        { path: 'nft/image.bin', content: image },
        { path: 'nft/docs/readme.txt', content: new TextEncoder().encode('read me') },
      ],
      blocks,
      importOptions,
    ),
  )
  const files = Array.from({ length: 40 }, (_, i) => ({
    path: `shard/file-${i}.txt`,
    content: new TextEncoder().encode(`file ${i}`),
  }))
  const sharded = await last(
    importer(files, blocks, { ...importOptions, shardSplitThresholdBytes: 200 }),
  )
  const elsewhere = blockMap()
  const absent = await last(importer([{ content: pseudoRandom(1000, 99) }], elsewhere))
  return {
    blocks,
    metadata: { cid: metadata.cid, json, bytes: metaBytes },
    image: { cid: imported.cid, bytes: image, leaves },
    dir: { cid: dir.cid },
    sharded: { cid: sharded.cid },
    absent: absent.cid,
  }
}

export type GatewayBehaviour =
  /** Serves every block it has, as a trustless gateway does. */
  | 'honest'
  /** Serves well-formed blocks with the wrong bytes (another valid block) for `tamper`'s CIDs. */
  | 'tampering'
  /** Honest, after `delay` ms. */
  | 'slow'
  /** 404 for everything. */
  | 'notFound'
  /** 502 for everything. */
  | 'error'
  /** Accepts the request and never answers. */
  | 'blackhole'
  /** 429 with `Retry-After: 5`. */
  | 'rateLimited'
  /** 302 to another host (`http://127.0.0.2:PORT/…`). */
  | 'redirect'
  /** Serves a web page (text/html), as a non-trustless gateway would. */
  | 'html'

export type GatewayStats = { requests: number; byCid: Map<string, number> }

export type LabGateway = {
  /** `http://127.0.0.1:PORT` (plus `base`, e.g. a key path). */
  readonly url: string
  behaviour: GatewayBehaviour
  /** Which CIDs a tampering gateway lies about. @default every one */
  tamper: (cid: CID) => boolean
  /** Delay of `slow`, ms. */
  delay: number
  readonly stats: GatewayStats
  close(): Promise<void>
}

export type GatewayOptions = {
  blocks: BlockMap
  behaviour?: GatewayBehaviour
  /** A path the gateway lives under (e.g. `/key/SECRET`): requests elsewhere get 401. @default '' */
  base?: string
  /** A query parameter the gateway requires (`?token=…`): without it, 401. @default none */
  token?: string
  delay?: number
}

/** A trustless gateway on 127.0.0.1 (`GET {base}/ipfs/{cid}?format=raw`, block by block). */
export async function startGateway(options: GatewayOptions): Promise<LabGateway> {
  const base = options.base ?? ''
  const stats: GatewayStats = { requests: 0, byCid: new Map() }
  const held: ServerResponse[] = []
  const gw: Omit<LabGateway, 'url' | 'close'> = {
    behaviour: options.behaviour ?? 'honest',
    tamper: () => true,
    delay: options.delay ?? 300,
    stats,
  }
  const server = createServer((req, res) => serve(req, res))
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    // CORS, as public gateways send it: a page on another origin (another 127.0.0.1 port in the
    // browser tests) reads the blocks and every error status instead of a CORS failure.
    res.setHeader('access-control-allow-origin', '*')
    res.setHeader('access-control-expose-headers', 'retry-after, location')
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-methods', 'GET, HEAD')
      res.setHeader('access-control-allow-headers', 'accept')
      return end(res, 204, '')
    }
    stats.requests++
    const u = new URL(req.url ?? '/', 'http://x')
    if (!u.pathname.startsWith(`${base}/ipfs/`)) return end(res, 401, 'wrong base')
    if (options.token && u.searchParams.get('token') !== options.token)
      return end(res, 401, 'no token')
    const cidText = u.pathname.slice(`${base}/ipfs/`.length).split('/')[0]!
    stats.byCid.set(cidText, (stats.byCid.get(cidText) ?? 0) + 1)
    let cid: CID
    try {
      cid = CID.parse(cidText)
    } catch {
      return end(res, 400, 'bad cid')
    }
    switch (gw.behaviour) {
      case 'blackhole':
        held.push(res)
        return
      case 'notFound':
        return end(res, 404, 'not found')
      case 'error':
        return end(res, 502, 'bad gateway')
      case 'rateLimited':
        res.setHeader('retry-after', '5')
        return end(res, 429, 'slow down')
      case 'redirect': {
        const port = (server.address() as AddressInfo).port
        res.setHeader('location', `http://127.0.0.2:${port}${u.pathname}${u.search}`)
        return end(res, 302, '')
      }
      case 'html':
        res.setHeader('content-type', 'text/html')
        return end(res, 200, '<html>hello</html>')
      case 'slow':
        await new Promise((r) => setTimeout(r, gw.delay))
        break
    }
    if (u.searchParams.get('format') !== 'raw' && !req.headers.accept?.includes('vnd.ipld.raw'))
      return end(res, 406, 'trustless only')
    const block = options.blocks.get(blockKey(cid))
    if (!block) return end(res, 404, 'not found')
    let bytes = block.bytes
    if (gw.behaviour === 'tampering' && gw.tamper(cid)) bytes = otherBlock(options.blocks, cid)
    res.setHeader('content-type', 'application/vnd.ipld.raw')
    res.setHeader('content-length', String(bytes.byteLength))
    res.end(bytes)
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${base}`
  return Object.assign(gw, {
    url,
    close: () => closeServer(server, held),
  })
}

/** A different valid block (the next one in the map): well-formed, correctly hashed, wrong CID. */
function otherBlock(blocks: BlockMap, cid: CID): Uint8Array {
  const all = [...blocks.values()]
  const i = all.findIndex(
    (b) => b.cid.multihash.bytes.toString() === cid.multihash.bytes.toString(),
  )
  return all[(i + 1) % all.length]!.bytes
}

function end(res: ServerResponse, status: number, body: string) {
  res.statusCode = status
  if (!res.hasHeader('content-type')) res.setHeader('content-type', 'text/plain')
  res.end(body)
}

async function closeServer(server: Server, held: ServerResponse[]) {
  for (const res of held) res.destroy()
  server.closeAllConnections()
  await new Promise<void>((r) => server.close(() => r()))
}

export type KuboBehaviour = 'honest' | 'lying' | 'down' | 'offline'

export type LabKubo = {
  /** `http://127.0.0.1:PORT`: give it to kubo-rpc-client's `create({ url })`. */
  readonly url: string
  behaviour: KuboBehaviour
  readonly stats: { requests: number }
  close(): Promise<void>
}

/**
 * Kubo's RPC API, the part `block.get` uses: `POST /api/v0/block/get?arg=CID` answers the
 * block's bytes (`text/plain`, as Kubo does), or 500 with Kubo's JSON error when it does not
 * have it. `lying` serves another valid block; `down` answers 500 to everything; `offline`
 * is Kubo with `--offline` (its "not found locally" for every block).
 */
export async function startKuboApi(options: {
  blocks: BlockMap
  behaviour?: KuboBehaviour
}): Promise<LabKubo> {
  const stats = { requests: 0 }
  const kubo = { behaviour: options.behaviour ?? ('honest' as KuboBehaviour), stats }
  const kuboError = (res: ServerResponse, message: string) => {
    res.statusCode = 500
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ Message: message, Code: 0, Type: 'error' }))
  }
  const server = createServer((req, res) => {
    stats.requests++
    const u = new URL(req.url ?? '/', 'http://x')
    if (req.method !== 'POST') return end(res, 405, 'Method Not Allowed')
    if (u.pathname !== '/api/v0/block/get') return end(res, 404, '404 page not found')
    if (kubo.behaviour === 'down') return kuboError(res, 'internal error')
    let cid: CID
    try {
      cid = CID.parse(u.searchParams.get('arg') ?? '')
    } catch {
      return kuboError(res, 'invalid path: not a CID')
    }
    const block = options.blocks.get(blockKey(cid))
    if (!block || kubo.behaviour === 'offline')
      return kuboError(res, 'block was not found locally (offline): ipld: could not find node')
    const bytes = kubo.behaviour === 'lying' ? otherBlock(options.blocks, cid) : block.bytes
    res.setHeader('content-type', 'text/plain')
    res.end(bytes)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return Object.assign(kubo, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => closeServer(server, []),
  })
}

export type LabHeliaPeer = {
  /** Its TCP multiaddr on 127.0.0.1, with `/p2p/<id>`. */
  readonly multiaddr: string
  stop(): Promise<void>
}

/**
 * A Helia node holding `blocks` (a relay's or a friend's blockstore), listening on TCP on
 * 127.0.0.1 and serving them over bitswap. No routing, no bootstrap: clients dial it directly.
 */
export async function startHeliaPeer(blocks: BlockMap): Promise<LabHeliaPeer> {
  const [{ tcp }, { startHelia }] = await Promise.all([
    import('@libp2p/tcp'),
    import('../../src/ipfs/heliaNode.ts'),
  ])
  const node = await startHelia({
    transports: [tcp()],
    listen: ['/ip4/127.0.0.1/tcp/0'],
    blocks: blocks.values(),
    name: 'helia-peer',
  })
  const address = node.helia.libp2p.getMultiaddrs()[0]
  if (!address) throw new Error('the Helia peer is not listening')
  return { multiaddr: address.toString(), stop: node.stop }
}

/**
 * Runtime bytecode (for `anvil_setCode`) answering fixed calls with fixed bytes: the calldata's
 * keccak is compared with each entry's; a match returns that entry's bytes (copied from the
 * code), anything else reverts with no data. A token contract in a few bytes: no compiler.
 */
export function answeringCode(entries: [calldata: Hex.Hex, returns: Hex.Hex][]): Hex.Hex {
  const u16 = (n: number) => n.toString(16).padStart(4, '0')
  const prelude = '36600060003736600020' // copy calldata to memory, keccak it: [hash]
  const checkSize = 39 // DUP1 PUSH32 key EQ PUSH2 dest JUMPI
  const revert = '60006000fd'
  const blockSize = 16 // JUMPDEST, CODECOPY the answer to memory, RETURN it
  const codeStart = 10 + entries.length * checkSize + revert.length / 2
  const dataStart = codeStart + entries.length * blockSize
  let checks = ''
  let blocks = ''
  let data = ''
  let offset = dataStart
  entries.forEach(([calldata, returns], i) => {
    const len = Hex.size(returns)
    checks += `807f${Hash.keccak256(calldata).slice(2)}1461${u16(codeStart + i * blockSize)}57`
    blocks += `5b61${u16(len)}61${u16(offset)}60003961${u16(len)}6000f3`
    data += returns.slice(2)
    offset += len
  })
  return `0x${prelude}${checks}${revert}${blocks}${data}`
}

/** The calldata of `tokenURI(id)` (ERC-721) or `uri(id)` (ERC-1155). */
export const tokenUriCall = (standard: 'erc721' | 'erc1155', id: bigint): Hex.Hex =>
  `${standard === 'erc721' ? '0xc87b56dd' : '0x0e89341c'}${AbiParameters.encode([{ type: 'uint256' }], [id]).slice(2)}`

/** A string, ABI-encoded as a function returns it. */
export const abiString = (s: string): Hex.Hex => AbiParameters.encode([{ type: 'string' }], [s])
