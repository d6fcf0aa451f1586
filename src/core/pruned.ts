/**
 * Old state that one node no longer has. A full node keeps recent state only (geth: 128 blocks;
 * anvil with `--prune-history`: a few); an archive node keeps all. A read at an old block that a
 * full node refuses is not that node's fault and not an answer to agree on: it goes to the
 * sources that have the state, and the full node is not asked for that old a block again.
 */
import { RpcResponseError } from '../shared/errors.ts'
import { isHash } from './params.ts'
import type { SourceState } from './sourceState.ts'

/**
 * What nodes say when the state or block a read asks for is gone from their store: geth
 * ("missing trie node", "header not found", "historical state … is not available"), Erigon
 * ("state histories … not fully indexed", "old data not available due to pruning", "requested
 * block is too old, block must be within N blocks of the head"), Reth ("state at block #N is
 * pruned", "distance to target block exceeds maximum proof window"), Besu ("world state
 * unavailable"), Nethermind ("No state available for block …"), providers ("archive node
 * required"), anvil ("BlockOutOfRangeError").
 */
const PRUNED =
  /missing trie node|header not found|historical state|state (?:at block #?\d+ )?(?:is )?(?:not available|unavailable|pruned)|(?:world )?state (?:is )?unavailable|no state available|state histories|not available due to pruning|pruned|distance to target block exceeds|too old|within \d+ blocks|archive|BlockOutOfRangeError/i

/** What nodes say of a block they do not have (geth, Nethermind, Erigon, Besu, anvil). */
const UNKNOWN_BLOCK =
  /unknown block|header for hash not found|block (?:\S+ )?(?:was )?not found|block \S+ could not be found/i

/**
 * The lowest block `method` names by number is above `s`'s own head: its "unknown block" is the
 * truth. That block is the read's block param, a log filter's `fromBlock`, or, for a method
 * with neither (the uncles', traces' and Otterscan's lookups are outside the method table), a
 * block number as its first param: read as none, a caller's log range or trace above the head
 * opened every honest breaker (reviewOfSession39e, 39i).
 */
export function aboveHeadOf(
  s: SourceState,
  method: string,
  params: readonly unknown[],
  blockParam: number | undefined,
): boolean {
  const [first] = params
  const block =
    method === 'eth_getLogs'
      ? blockOfRead([(first as { fromBlock?: unknown } | null)?.fromBlock], 0)
      : blockOfRead(params, blockParam ?? 0)
  return block !== undefined && s.head !== undefined && block > s.head.number
}

/**
 * Lookups by a transaction's hash: their params name no block (`hashesIn` would read the
 * transaction's hash as one), so "unknown block" is no answer to them and excuses nothing: one
 * source's "unknown block" to every lookup split each, uncharged (reviewOfSession39b).
 */
export const namesNoBlock = (method: string): boolean =>
  /^eth_get(?:Raw)?Transaction(?:ByHash|Receipt)$/.test(method)

/**
 * A live node that does not know the block asked for: it answered (often a block at the chain's
 * edge it has not imported yet), it did not fail, and it contradicts no one. EIP-1474's -32001
 * ("resource not found": anvil, Hardhat, Nethermind) is that answer to a read at a block.
 */
export function isUnknownBlock(error: unknown): error is RpcResponseError {
  return (
    error instanceof RpcResponseError &&
    (error.code === -32001 || UNKNOWN_BLOCK.test(error.reason) || pastHead(error.reason))
  )
}

/**
 * anvil's "BlockOutOfRangeError: block height is N but requested was M" with M above N: a block
 * the node has not reached, not state it pruned. Read as pruned, a read at a block past every
 * node's head was "all sources failed" (4900, "disconnected") where every node said -32602
 * (reviewOfSession39b).
 */
function pastHead(reason: string): boolean {
  const m = /block height is (\d+) but requested was (\d+)/i.exec(reason)
  return !!m && Number(m[2]) > Number(m[1])
}

/**
 * A node's "unknown block" that is "not yet": it is behind the agreed head and never reported
 * the block named in `params` (by hash) as its head. One that did (a node does not un-import a
 * block: a source dipping to the block below between polls) is not excused.
 */
export function notYetImported(s: SourceState, params: readonly unknown[] = []): boolean {
  return s.lag > 0 && !hashesIn(params).some((h) => s.heads.has(h))
}

/** The block hashes `params` name (as a hash, or EIP-1898's `{ blockHash }`), lowercased. */
const hashesIn = (params: readonly unknown[]): string[] =>
  params
    .map((p) => (typeof p === 'object' && p !== null && 'blockHash' in p ? p.blockHash : p))
    .filter(isHash)
    .map((h) => h.toLowerCase())

/**
 * A block named by hash in `params` that is not the confirmed chain's (`holds`, the head
 * tracker's kept heights): one source's claim (a head nobody confirms), a block a reorg took, or
 * a hash a caller made up. A node's "unknown block" for it is no failure of the node's: a liar
 * whose lone head reads are pinned to, or a caller reading at a stale hash, must not trip the
 * honest nodes' breakers with it (callerSide, reviewOfWsBeside, reviewOfSessionFixes2).
 */
export function unconfirmedBlock(params: readonly unknown[], holds: (hash: string) => boolean) {
  const [h] = hashesIn(params)
  return h !== undefined && !holds(h)
}

/**
 * A read at a block no node prunes yet (`oldFor` is false): by number, or by the hash of a block
 * whose height the head tracker kept (the agreed head's, the caller's shown block). State there
 * is every node's: "pruned" words about it are a refusal, no excuse; read as pruned, a liar
 * saying so to every read at `latest` was never charged (reviewOfSession39i). A hash 20 blocks
 * down is as old as its number: a full node's "missing trie node" there is no fault (39k).
 */
export function recentRead(
  s: SourceState,
  block: number | undefined,
  params: readonly unknown[],
  heightOf: (hash: string) => number | undefined,
): boolean {
  const [h] = block === undefined ? hashesIn(params) : []
  const at = block ?? (h === undefined ? undefined : heightOf(h))
  return at !== undefined && !oldFor(s, at)
}

/**
 * The codes nodes refuse missing state with: -32000 (geth, Erigon, Besu), -32603 (Reth's
 * `StateAtBlockPruned`, an internal error), -32001 and -32002 (Nethermind's resource not found /
 * unavailable), -32602 (anvil's BlockOutOfRangeError) and 4444 (EIP-4444's pruned history: Reth,
 * Nethermind). Never 3, a revert's.
 */
const MISSING_STATE_CODES: ReadonlySet<number> = new Set([
  -32000, -32603, -32001, -32002, -32602, 4444,
])

/**
 * A node's refusal because it no longer holds the state (or block) asked for. A revert is not,
 * whatever its reason says: a contract reverting with Error("order pruned") (or "header not
 * found") made every source `unserved` and, at an old block, blinded each to history for good
 * (`notePruned`: test/adversarial/reviewOfSession38c.test.ts). Its words are the contract's,
 * not the node's: only a code nodes use for missing state, without "revert", is read.
 */
export function isPruned(error: unknown): error is RpcResponseError {
  return (
    error instanceof RpcResponseError &&
    MISSING_STATE_CODES.has(error.code) &&
    !/revert/i.test(error.reason) &&
    PRUNED.test(error.reason) &&
    !pastHead(error.reason)
  )
}

/**
 * Blocks below a source's own head a refused read must be, to count as pruned rather than not
 * yet reached: a node lagging a few blocks says "header not found" too.
 */
const BEHIND = 16

/** The numbered block a state read asks for (`blockParam` of the method's policy), if any. */
export function blockOfRead(params: readonly unknown[], blockParam: number | undefined) {
  const tag = blockParam === undefined ? undefined : params[blockParam]
  if (tag === 'earliest') return 0
  return typeof tag === 'string' && /^0x[0-9a-f]{1,13}$/i.test(tag)
    ? Number.parseInt(tag, 16)
    : undefined
}

/**
 * A read at `block` may ask `s` for history it no longer keeps: far enough below its head, or
 * `s` has told no head yet (a client's first read: reviewOfSession38f).
 */
export const oldFor = (s: SourceState, block: number | undefined): boolean =>
  block !== undefined && (!s.head || block + BEHIND <= s.head.number)

/** Learns from a pruned refusal of a read at `block`: older blocks are not asked of `s` again. */
export function notePruned(s: SourceState, block: number | undefined): void {
  if (block !== undefined && s.head && block + BEHIND <= s.head.number)
    s.prunedTo = Math.max(s.prunedTo, block)
}

/** `s` is known to have pruned the state at `block`. */
export const prunedAt = (s: SourceState, block: number | undefined): boolean =>
  block !== undefined && block <= s.prunedTo
