/**
 * The wire between outlast peers and relays (`/outlast/rpc/1.0.0`), and the gossip topics. A
 * frame is one JSON-RPC message (a call, a batch, or their answer) as UTF-8 JSON, prefixed by its
 * length as an unsigned varint (`lpStream` from @libp2p/utils); a stream carries any number of
 * call/answer pairs, one at a time. Browser-safe: no Node imports.
 */

/** The request/response protocol a relay serves. */
export const RPC_PROTOCOL = '/outlast/rpc/1.0.0'

/** The largest call frame a relay reads, in bytes: larger ones close their stream. */
export const MAX_CALL_BYTES = 1024 * 1024

export const HEADS_PREFIX = '/outlast/heads/1/'

/** Gossip topic of new block headers on chain `chainId` (JSON, hash-checked by every receiver). */
export const headsTopic = (chainId: number) => `${HEADS_PREFIX}${chainId}`

/** Gossip topic of signed raw transactions on chain `chainId` (the bytes as sent). */
export const txsTopic = (chainId: number) => `/outlast/txs/1/${chainId}`

/** The largest gossiped header, in bytes (a header with every field is ~1 kB of JSON). */
export const MAX_HEAD_BYTES = 4 * 1024

/** The largest gossiped transaction, in bytes (a blob transaction travels without its blobs' sidecar no further than a node does). */
export const MAX_TX_BYTES = 128 * 1024

/**
 * Light-client data a relay serves from its operator's beacon node (`outlast relay --beacon`):
 * bootstraps, period updates by range, the latest finality and optimistic updates. Frames are
 * binary (lightWire.ts); answers are SSZ with the fork digest, as the Beacon API's.
 */
export const LC_PROTOCOL = '/outlast/lc/1.0.0'

/** The largest light-client request frame a relay reads (the largest request is 33 bytes). */
export const MAX_LC_REQUEST_BYTES = 64

/** The largest gossiped light-client update, in bytes (an Electra finality update is ~1.7 kB). */
export const MAX_LC_GOSSIP_BYTES = 16 * 1024

export const LC_PREFIX = '/outlast/lc/1/'

/**
 * Gossip topic of a beacon chain's light-client finality or optimistic updates (digest and SSZ,
 * verified by each relay before it passes one on). The chain is named by the first 4 bytes of its
 * genesis validators root: light-client data is the beacon chain's, whatever execution chain id.
 */
export const lightTopic = (genesisValidatorsRoot: Uint8Array, kind: 'finality' | 'optimistic') =>
  `${LC_PREFIX}${[...genesisValidatorsRoot.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('')}/${kind}`

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** A JSON-RPC message as a frame's bytes. */
export const encodeFrame = (message: unknown): Uint8Array => encoder.encode(JSON.stringify(message))

/** A frame's JSON; throws a `SyntaxError` or `TypeError` (invalid UTF-8) naming what is wrong. */
export const decodeFrame = (bytes: Uint8Array): unknown => JSON.parse(decoder.decode(bytes))

/** Options every libp2p dialer and listener of outlast shares for the RPC protocol. */
export const STREAM_LIMITS = {
  /** The default (32 inbound, 64 outbound per connection) is too few for a busy dApp. */
  maxInboundStreams: 256,
  maxOutboundStreams: 256,
} as const
