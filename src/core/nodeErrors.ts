/**
 * A node's JSON-RPC error object to a read: its answer, or its "cannot serve this now". An
 * answer (a revert, -32003 "insufficient funds for gas * price + value", geth's -32000
 * "intrinsic gas too high") is what every honest node says about the same request at the same
 * state: it is grouped and agreed like a result (tally.ts `judgeTrusted`), agreed it is the
 * caller's answer, and it costs its source nothing (sourcePool.ts). Counted as a failure, three
 * honest domains' agreed refusal left a lone liar's revert or made-up result standing, degraded,
 * and their breakers opened for being right (test/adversarial/reviewOfSession38c.test.ts).
 * "Cannot serve now" (a rate limit, an internal error, a timeout, a method not served, state
 * pruned, a block not known, a log range past the provider's limit) is that source's failure,
 * or its own rule's (pruned.ts, logRanges.ts, policy.ts `isCallersError`), as before.
 */
import { RpcResponseError } from '../shared/errors.ts'
import { canonical } from './canonical.ts'
import { isPruned, isUnknownBlock } from './pruned.ts'

/**
 * Codes that say the node could not take or serve the call, not what the chain says: parse
 * error and invalid request (the call's framing, a batch too large), method not found or not
 * supported (a routing matter: policy.ts `isCallersError` reads them), internal error, resource
 * unavailable (geth's timeouts), limit exceeded, JSON-RPC version not supported.
 */
const NOT_NOW_CODES: ReadonlySet<number> = new Set([
  -32700, -32600, -32601, -32603, -32002, -32004, -32005, -32006,
])

/**
 * Providers' and nodes' words for "not now", whatever the code (-32000 is every server error):
 * rate limits and quotas, timeouts (geth's "execution aborted (timeout = 5s)" depends on the
 * node's load), overload, gateways and backends, keys and plans, a node still syncing or
 * indexing (geth's "transaction indexing is in progress" to a receipt read).
 */
const NOT_NOW =
  /rate.?limit|indexing|in progress|syncing|too many requests|limit (?:reached|exceeded)|exceeded .*(?:limit|quota|capacity)|quota|capacity|timed? ?out|timeout|deadline exceeded|try again|temporar|busy|overload|unavailable|not available|internal error|upstream|backend|gateway|unauthori[sz]ed|forbidden|api key|not (?:supported|allowed|whitelisted|enabled)|disabled|method .*(?:not found|does not exist)|too (?:large|big)/i

/** The node says it cannot serve the call now (or at all): no answer about the chain. */
export function cannotServeNow(error: RpcResponseError): boolean {
  const { code } = error
  // EIP-1193's provider states (4001 rejected, 4100 unauthorized, 4200 unsupported, 4900
  // disconnected; 4444 pruned history) and HTTP statuses some providers send as codes (429).
  if (NOT_NOW_CODES.has(code) || (code >= 4_000 && code < 5_000) || (code >= 400 && code < 600))
    return true
  return NOT_NOW.test(error.reason)
}

/**
 * `error` is a node's answer to a read of `method` (a trusted source's: tally.ts `judge` counts
 * an untrusted one's for nothing). Reverts and invalid params always are (`deterministic`);
 * state pruned and "unknown block" have their own rules (pruned.ts) and are not; nor is any
 * `eth_getLogs` error beyond those (its -32602 is the caller's failure: policy.ts
 * `isCallersError`): providers word their range and result limits in too many ways (logRanges.ts splits for those it reads; the rest must stay that source's failure, as
 * follow/secondOpinion.ts takes them to be). Nor, at a block `old` for the node (pruned.ts
 * `oldFor`), any other: a full node's "history gone" in words not read as pruned yet (two of
 * them agreed on it against the archives' answer: reviewOfSession38e).
 */
export function isNodeAnswer(
  error: unknown,
  method: string,
  old = false,
): error is RpcResponseError {
  if (!(error instanceof RpcResponseError)) return false
  if (pruned(error) || chainData(method)) return false
  if (error.deterministic) return true
  // Only to a method that runs a transaction (tracing one too: the nodes' "insufficient funds"
  // to debug_traceCall, counted as each source's failure, opened every honest breaker:
  // reviewOfSession39i).
  if (!EXECUTES.has(method)) return false
  // A kind is an answer whatever its code (Besu's -32004 for insufficient funds), and at an
  // old block too: it is about the account, not the node's history. So is how a run ended.
  if (kindOf(error) || halted(error)) return true
  if (old || isUnknownBlock(error)) return false
  return !cannotServeNow(error)
}

/**
 * Reads of the chain's own data (blocks, transactions, receipts, logs, fee history): a node that
 * lacks one says `null` or "unknown block" (its own rule); any other error is that source's
 * failure, never an answer beside another domain's data. Read as answers, one source's -32000
 * "boom" to every block fetch split each of them: with two domains, every subscription and
 * filter stalled for good, the source unpunished (reviewOfSession38i).
 */
export const chainData = (method: string): boolean =>
  /^eth_(?:getBlock\w*|get(?:Raw)?Transaction(?:By\w+|Receipt)|getUncle\w*|getLogs|feeHistory|blockNumber)$/.test(
    method,
  )

/**
 * Where a node's error other than a revert or invalid params is the chain's answer: execution,
 * simulation and tracing a call, whose refusals every node gives at that state.
 */
const EXECUTES: ReadonlySet<string> = new Set([
  'eth_call',
  'eth_estimateGas',
  'eth_createAccessList',
  'eth_simulateV1',
  'eth_callMany',
  'eth_callBundle',
  'debug_traceCall',
  'debug_traceCallMany',
  'trace_call',
  'trace_callMany',
])

/**
 * How a run ended without a revert, in the clients' words, whatever the code: revm's -32603 "EVM
 * error OutOfGas" (InvalidFEOpcode, InvalidJump, StackUnderflow …), geth's "out of gas", "invalid
 * opcode: …", "stack limit reached 1024 (1023)" (core/vm/errors.go), an estimate's "gas required
 * exceeds allowance". Every node says it at that state, at an old block too: no node words
 * missing history so. One answer whichever client says it (`nodeErrorKey`): keyed by its words,
 * anvil and geth split on it, and a liar echoing one client's words framed the other
 * (reviewOfSession40c 3). Read as "not now" (-32603 is "internal error", "limit reached" a rate
 * limit's words), a view that ran out of gas was 4900 with every honest breaker open
 * (reviewOfSession40a 1, 40c 2). A state the node could not fetch (revm's "EVM error Database…")
 * or more words after revm's halt ("… try again") are no halt.
 */
export const halted = (error: RpcResponseError): boolean =>
  (error.data == null || error.data === '0x') && HALT.test(wordsOf(error))
const HALT =
  /^(?:evm error (?!database)[a-z]+(?:\(\w*\))?$|(?:contract creation code storage )?out of gas|invalid (?:opcode|jump destination|code)|stack (?:underflow|limit reached)|write protection|return data out of bounds|max (?:init)?code size exceeded|contract address collision|max call depth exceeded|gas (?:uint64 overflow|required exceeds allowance))/

/**
 * A halt for want of gas: the node ran the call under its own cap (geth's 50M, a provider's; a
 * gas the caller names is capped too, and geth's estimate reads one below 21000 as none), so a
 * node with a higher cap answers it. Agreed, it stands, but a result beside it is no lie
 * (reviewOfSession40c 1, 40f 2-4: the node that ran the call to its end was charged). Keyed
 * apart from other halts (`nodeErrorKey`): a liar's other halt word joined it as "execution
 * halted" and undid this (40f 1).
 */
export const OUT_OF_GAS = /out ?of ?gas|exceeds allowance/
export const capped = (error: RpcResponseError | undefined): boolean =>
  !!error && halted(error) && OUT_OF_GAS.test(wordsOf(error))

/** `isPruned` as a plain test: its type guard would leave `never` where it is false. */
const pruned = (error: RpcResponseError): boolean => isPruned(error)

/**
 * What nodes that give the same error agree on: its kind, where clients word and number one
 * refusal differently (`KINDS`: anvil's -32003 and geth's -32000 "insufficient funds…", a revert
 * with no data as code 3 or -32000); else its code and data, else its code and message (case and
 * spacing aside). Words that differ under one key are not returned as the nodes' (tally.ts
 * `wordless`).
 */
export function nodeErrorKey(error: RpcResponseError): string {
  const kind = kindOf(error)
  if (kind) return `error:${kind}`
  if (halted(error)) return capped(error) ? 'error:gas' : 'error:halt'
  // A revert with its data: the data, whatever the code (anvil's 3, Besu's -32000).
  if (revertData(error)) return `error:revert:${canonical(error.data)}`
  return `error:${error.code}:${canonical(error.data ?? wordsOf(error))}`
}

/** A revert that carries its reason as data (code 3, or words that say it reverted). */
export const revertData = (error: RpcResponseError): boolean =>
  error.data != null &&
  error.data !== '0x' &&
  (error.code === 3 || wordsOf(error).startsWith('execution reverted'))

/** The node's own message, as nodes that word alike agree on it: case and spacing aside. */
export const wordsOf = (error: RpcResponseError): string =>
  error.reason
    .replace(/^JSON-RPC error -?\d+: /, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()

/**
 * Refusals every client gives in words of its own, and the words they are returned in when the
 * nodes' words differ (viem and ethers read these to name the error).
 */
export const KINDS: Readonly<Record<string, string>> = {
  funds: 'insufficient funds for gas * price + value',
  revert: 'execution reverted',
  'nonce-low': 'nonce too low',
  'nonce-high': 'nonce too high',
  intrinsic: 'intrinsic gas too low',
}

/**
 * The code a kind is returned with when the nodes' codes differ (anvil's and reth's -32003,
 * geth's -32000): fixed, so that no one source (the first to answer, a liar) picks it.
 */
export const KIND_CODES: Readonly<Record<string, number>> = {
  funds: -32003,
  revert: 3,
  'nonce-low': -32000,
  'nonce-high': -32000,
  intrinsic: -32000,
}

/**
 * `error`'s kind (`KINDS`), if it is one: a bare revert with no reason data (code 3, or geth's
 * -32000 "execution reverted"), or one of the refusals below, whatever follows their words (geth
 * adds "address 0x… have 0 want N").
 */
export function kindOf(error: RpcResponseError): string | undefined {
  if (error.data != null && error.data !== '0x') return undefined
  const words = wordsOf(error)
  return Object.keys(KIND_WORDS).find((k) => KIND_WORDS[k]!.test(words))
}

/**
 * Each kind's words in the clients' messages: geth's "insufficient funds for transfer" (a gas
 * estimate with fees), Besu's "upfront cost exceeds account balance" (-32004) are insufficient
 * funds too (reviewOfSession38g). A revert's reason in its words (no data) is its own: only the
 * bare words are the kind.
 */
const KIND_WORDS: Readonly<Record<string, RegExp>> = {
  funds: /^(?:insufficient funds for (?:gas|transfer)|upfront cost exceeds account balance)/,
  revert: /^execution reverted:?$/,
  'nonce-low': /^nonce too low/,
  'nonce-high': /^nonce too high/,
  // anvil's words for a gas limit below the call's own cost (reviewOfSession40a 2).
  intrinsic: /^intrinsic gas too (?:low|high -- callgascostmorethangaslimit)/,
}
