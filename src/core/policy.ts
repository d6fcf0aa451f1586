import { RpcResponseError } from '../shared/errors.ts'
import { handsOn } from '../shared/route.ts'
import { chainData } from './nodeErrors.ts'
import { isPruned, isUnknownBlock } from './pruned.ts'

/**
 * Which rule decides the answer to each JSON-RPC method. The README's policy table is made
 * from `methodPolicies` below; users override single methods with the `policies` option.
 */
export type PolicyClass =
  /** Answered from configuration (`eth_chainId`, `net_version`). */
  | 'static'
  /** From the head tracker: agreed, never backwards. */
  | 'head'
  /** Fee figures: the median of several sources. */
  | 'median'
  /** Looked up by hash: the first answer that verifies locally; `null` needs agreement. */
  | 'verified'
  /** State at a block: `latest` pinned to the agreed head, then quorum across domains. */
  | 'quorum'
  /** `eth_sendRawTransaction`: broadcast to every healthy source. */
  | 'broadcast'
  /** Answered by the first source that answers: only node-local data (`web3_clientVersion`), an explicit list. */
  | 'single'
  /** Subscriptions and filters: emulated by outlast over one gap-free chain stream. */
  | 'subscription'
  /** Not served by outlast: EIP-1193 error 4200, so the wallet handles it. */
  | 'unsupported'

export type MethodPolicy = {
  class: PolicyClass
  /** Index of the block parameter: spelled one way (params.ts), `latest` pinned (rules.ts). */
  blockParam?: number
  /** The node accepts an EIP-1898 `{ blockHash }` object in that parameter. */
  byHash?: boolean
  /** Index of the hash looked up (a block's or a transaction's): `0x` and 64 hex digits. */
  hashParam?: number
  /** Asked only of the sources whose route names it (route.ts `names`): a relay's own method. */
  named?: true
}

const q = (blockParam?: number, byHash = false): MethodPolicy =>
  blockParam === undefined ? { class: 'quorum' } : { class: 'quorum', blockParam, byHash }

export const methodPolicies: Readonly<Record<string, MethodPolicy>> = {
  eth_chainId: { class: 'static' },
  net_version: { class: 'static' },

  eth_blockNumber: { class: 'head' },

  eth_gasPrice: { class: 'median' },
  eth_maxPriorityFeePerGas: { class: 'median' },
  eth_blobBaseFee: { class: 'median' },

  eth_getBlockByHash: { class: 'verified', hashParam: 0 },
  eth_getTransactionByHash: { class: 'verified', hashParam: 0 },
  eth_getTransactionByBlockHashAndIndex: { class: 'verified', hashParam: 0 },
  eth_getBlockByNumber: { class: 'verified', blockParam: 0 },
  eth_getTransactionByBlockNumberAndIndex: { class: 'verified', blockParam: 0 },
  eth_getRawTransactionByHash: { class: 'verified', hashParam: 0 },

  eth_getBalance: q(1, true),
  eth_getCode: q(1, true),
  eth_getTransactionCount: q(1, true),
  eth_getStorageAt: q(2, true),
  eth_call: q(1, true),
  eth_getProof: q(2, true),
  eth_estimateGas: q(1),
  eth_createAccessList: q(1),
  eth_getLogs: q(),
  eth_getTransactionReceipt: { class: 'quorum', hashParam: 0 },
  eth_getBlockReceipts: q(0),
  eth_getBlockTransactionCountByHash: { class: 'quorum', hashParam: 0 },
  eth_getBlockTransactionCountByNumber: q(0),
  eth_getUncleCountByBlockHash: { class: 'quorum', hashParam: 0 },
  eth_getUncleCountByBlockNumber: q(0),
  eth_feeHistory: q(1),
  eth_simulateV1: q(1),
  eth_syncing: { class: 'single' },

  eth_sendRawTransaction: { class: 'broadcast' },
  // Its variants go to every domain too: conditional sends (L2s), synchronous sends (EIP-7966).
  eth_sendRawTransactionConditional: { class: 'broadcast' },
  eth_sendRawTransactionSync: { class: 'broadcast' },

  web3_clientVersion: { class: 'single' },
  // keccak256 of the data, computed here: no source is asked.
  web3_sha3: { class: 'static' },
  net_listening: { class: 'single' },
  net_peerCount: { class: 'single' },
  eth_protocolVersion: { class: 'single' },

  eth_accounts: { class: 'unsupported' },
  eth_requestAccounts: { class: 'unsupported' },
  eth_sendTransaction: { class: 'unsupported' },
  eth_sign: { class: 'unsupported' },
  eth_signTransaction: { class: 'unsupported' },
  eth_signTypedData: { class: 'unsupported' },
  eth_signTypedData_v3: { class: 'unsupported' },
  eth_signTypedData_v4: { class: 'unsupported' },
  personal_sign: { class: 'unsupported' },
  eth_coinbase: { class: 'unsupported' },
  // Send as an account the node holds, without the caller's signature (anvil; geth's re-sign).
  eth_sendUnsignedTransaction: { class: 'unsupported' },
  eth_resend: { class: 'unsupported' },
  // Emulated by outlast itself, so that losing the node that held a filter loses nothing.
  eth_subscribe: { class: 'subscription' },
  eth_unsubscribe: { class: 'subscription' },
  eth_newFilter: { class: 'subscription' },
  eth_newBlockFilter: { class: 'subscription' },
  eth_getFilterChanges: { class: 'subscription' },
  eth_getFilterLogs: { class: 'subscription' },
  eth_uninstallFilter: { class: 'subscription' },
  eth_newPendingTransactionFilter: { class: 'unsupported' },
}

/** JSON-RPC codes for a request the node could not take: method not found, invalid request. */
const CALLERS_CODES = new Set([-32601, -32600])

/**
 * A node's "method not found" or "invalid request" to a method outside the table: the caller's
 * own error (a typo, a namespace nodes do not serve), returned with its code and never counted
 * against the source. For a method in the table, every node serves it: the source is at fault.
 * So is a node's invalid params (-32602) to a read of the chain's data (nodeErrors.ts
 * `chainData`): a log filter no node reads (a 19-byte address), a fee history's count `'zz'`.
 * It is no answer there: as one, a single source's -32602 beside another domain's logs split
 * every log read and stalled every log subscription (reviewOfSession39a). As the source's
 * failure, the nodes' refusal of the caller's params was "all sources failed" (4900). The
 * domains that agree on it give it to the caller.
 */
export function isCallersError(method: string, error: unknown): error is RpcResponseError {
  if (!(error instanceof RpcResponseError)) return false
  // Not "unknown block" or pruned state in -32602's clothes: those have their own rules, and as
  // the caller's a liar's went uncharged while it split every read by hash (reviewOfSession39b).
  if (error.code === -32602 && chainData(method)) return !isUnknownBlock(error) && !isPruned(error)
  if (Object.hasOwn(methodPolicies, method)) return false
  return CALLERS_CODES.has(error.code) || error.code === -32004 || NOT_SERVED.test(error.reason)
}

/**
 * A node's words (or EIP-1474's -32004) for a method it does not serve at all: a namespace not
 * enabled, a method not supported. To a method outside the table that is the caller's reach, as
 * -32601 is: counted as each source's failure, a dApp's traces where no node serves `debug_`
 * opened every breaker (reviewOfSession39k).
 */
const NOT_SERVED =
  /method .*not (?:supported|enabled|allowed)|not (?:supported|enabled)|(?:api|namespace|module) .*(?:disabled|not enabled)/i

/**
 * The rule for `method`: the user's override, the table, `unsupported` for wallet namespaces,
 * else `quorum`: what outlast does not know gets the strictest read rule (agreement across
 * domains, lagging and forked sources left out: rules.ts), never one source's word.
 */
export function classify(
  method: string,
  overrides: Readonly<Record<string, PolicyClass | MethodPolicy>> = {},
): MethodPolicy {
  const own = Object.hasOwn(overrides, method) ? overrides[method] : undefined
  const base = Object.hasOwn(methodPolicies, method) ? methodPolicies[method] : undefined
  if (own !== undefined) return typeof own === 'string' ? { ...base, class: own } : own
  if (base) return base
  // Namespaces that sign, spend or run the node (an unlisted method is otherwise asked of every
  // domain): never a read to fan out.
  if (/^(wallet|personal|admin|miner|engine)_/.test(method)) return { class: 'unsupported' }
  // Handed on only to a relay or builder that names it (route.ts `handsOn`): its answer.
  if (handsOn(method)) return { class: 'single', named: true }
  return { class: 'quorum' }
}
