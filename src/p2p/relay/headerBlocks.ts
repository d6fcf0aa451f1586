/**
 * The relay as a small trustless gateway for Ethereum headers: `GET /ipfs/{cid}?format=raw` (or
 * `Accept: application/vnd.ipld.raw`) for an eth-block CID answers the header its node has, as
 * the raw block (its RLP, which hashes to the CID). The header is read from the node with
 * `eth_getBlockByHash`, re-encoded and checked against the hash before it is sent: the relay never
 * passes on bytes that do not match the CID, whatever its node says. Served on the status port
 * (`outlast relay --status-port`); over bitswap too with `--ipfs` (relayBlocks.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { blockCid, encodeHeader, hashOfCid, RAW_BLOCK_TYPE } from '../../ipfs/ethBlock.ts'
import { keccak256 } from '../../shared/keccak.ts'
import type { RpcBlockHeader } from '../../verify/block.ts'
import type { NodeClient } from './nodeClient.ts'

/** What the handler answers: a status, headers and a body. */
export type GatewayAnswer = {
  status: number
  headers: Record<string, string>
  body: Uint8Array | string
}

/** Reads a block by hash from the node: its JSON-RPC block object, or `null`. */
export type BlockByHash = (hash: string) => Promise<unknown>

const text = (status: number, message: string): GatewayAnswer => ({
  status,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body: `${message}\n`,
})

/**
 * The answer to one request, or `undefined` when it is not a gateway request (another handler's:
 * `/status`). Pure but for `blockByHash`.
 */
export async function headerBlockAnswer(
  method: string,
  path: string,
  accept: string | undefined,
  blockByHash: BlockByHash,
): Promise<GatewayAnswer | undefined> {
  const url = new URL(path, 'http://relay')
  const match = /^\/ipfs\/([^/]+)\/?$/.exec(url.pathname)
  if (!match)
    return url.pathname.startsWith('/ipfs/') ? text(404, 'no path below a header block') : undefined
  if (method !== 'GET' && method !== 'HEAD') return text(405, 'GET or HEAD only')
  const format = url.searchParams.get('format')
  const raw = format === 'raw' || (format === null && (accept ?? '').includes(RAW_BLOCK_TYPE))
  if (!raw)
    return text(406, `only raw blocks are served here: ?format=raw or Accept: ${RAW_BLOCK_TYPE}`)
  const cid = decodeURIComponent(match[1]!)
  let hash: string
  try {
    hash = hashOfCid(cid)
  } catch (error) {
    return text(400, `${(error as Error).message} This relay serves Ethereum headers only.`)
  }
  const header = await headerBytes(hash, blockByHash)
  if ('status' in header) return text(header.status, header.reason)
  const { bytes } = header
  return {
    status: 200,
    headers: {
      'content-type': RAW_BLOCK_TYPE,
      'content-length': String(bytes.length),
      'cache-control': 'public, max-age=29030400, immutable',
      etag: `"${blockCid(hash)}.raw"`,
      'x-content-type-options': 'nosniff',
    },
    body: bytes,
  }
}

/** A header's raw block from the node, checked by hash; or why not, as an HTTP status. */
export type HeaderBytes = { bytes: Uint8Array } | { status: 404 | 502; reason: string }

/**
 * The node's header of block `hash` as its raw eth-block bytes (RLP), re-encoded from
 * `eth_getBlockByHash` and checked against `hash`. Shared by the HTTP gateway here and the
 * relay's bitswap blockstore (relayBlocks.ts). Pure but for `blockByHash`.
 */
export async function headerBytes(hash: string, blockByHash: BlockByHash): Promise<HeaderBytes> {
  let block: unknown
  try {
    block = await blockByHash(hash)
  } catch {
    return { status: 502, reason: "the relay's node did not answer" }
  }
  if (block === null || typeof block !== 'object')
    return { status: 404, reason: `block ${hash} not found` }
  let bytes: Uint8Array
  try {
    bytes = encodeHeader(block as RpcBlockHeader)
  } catch {
    return { status: 502, reason: `the node's block ${hash} is malformed` }
  }
  // The node's word is not passed on unchecked: the bytes must be the CID's.
  if (keccak256(bytes) !== hash)
    return { status: 502, reason: `the node's block does not hash to ${hash}` }
  return { bytes }
}

/**
 * A Node `http` handler over `headerBlockAnswer`: true when it took the request (`/ipfs/…`),
 * false to leave it to the next handler. At most `maxInFlight` node reads at once (503 beyond).
 */
export function headerBlocks(
  blockByHash: BlockByHash,
  maxInFlight = 64,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  let inFlight = 0
  return (req, res) => {
    if (!req.url?.startsWith('/ipfs/')) return false
    if (inFlight >= maxInFlight) {
      send(res, text(503, 'busy: try again shortly'), req.method)
      return true
    }
    inFlight++
    headerBlockAnswer(req.method ?? 'GET', req.url, req.headers.accept, blockByHash)
      .then((answer) => send(res, answer ?? text(404, 'not found'), req.method))
      .catch(() => send(res, text(500, 'internal error'), req.method))
      .finally(() => inFlight--)
    return true
  }
}

function send(res: ServerResponse, answer: GatewayAnswer, method: string | undefined) {
  res.writeHead(answer.status, answer.headers)
  res.end(method === 'HEAD' ? undefined : answer.body)
}

/** `eth_getBlockByHash(hash, false)` at the node: its block object, `null`, or a rejection. */
export function nodeBlockByHash(call: NodeClient): BlockByHash {
  let id = 0
  return async (hash) => {
    const answer = (await call.json({
      jsonrpc: '2.0',
      id: ++id,
      method: 'eth_getBlockByHash',
      params: [hash, false],
    })) as { result?: unknown; error?: unknown } | null
    if (!answer || typeof answer !== 'object' || answer.error || !('result' in answer))
      throw new Error('the node refused eth_getBlockByHash')
    return answer.result
  }
}
