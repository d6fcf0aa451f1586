/**
 * What a relay serves to peers: pure checks of each call before it reaches the operator's node.
 * Peers are strangers; the node is the operator's. Reads, proofs and broadcasts are served;
 * anything that administers, signs with, or mines on the node is refused, and so is anything not
 * on the list.
 */

/** The methods a relay forwards. */
export const SERVED = new Set([
  'eth_chainId',
  'net_version',
  'eth_blockNumber',
  'eth_syncing',
  'web3_clientVersion',
  'eth_getBalance',
  'eth_getCode',
  'eth_getStorageAt',
  'eth_getTransactionCount',
  'eth_getProof',
  'eth_call',
  'eth_estimateGas',
  'eth_createAccessList',
  'eth_getBlockByHash',
  'eth_getBlockByNumber',
  'eth_getBlockReceipts',
  'eth_getBlockTransactionCountByHash',
  'eth_getBlockTransactionCountByNumber',
  'eth_getTransactionByHash',
  'eth_getTransactionByBlockHashAndIndex',
  'eth_getTransactionByBlockNumberAndIndex',
  'eth_getRawTransactionByHash',
  'eth_getTransactionReceipt',
  'eth_getUncleCountByBlockHash',
  'eth_getUncleCountByBlockNumber',
  'eth_getLogs',
  'eth_gasPrice',
  'eth_maxPriorityFeePerGas',
  'eth_feeHistory',
  'eth_blobBaseFee',
  'eth_sendRawTransaction',
])

/** Families never served, with the reason a peer is told. */
const NEVER: readonly [prefix: string, why: string][] = [
  ['admin_', 'administers the node'],
  ['debug_', 'debugs the node'],
  ['personal_', "uses the node's accounts"],
  ['eth_sign', "signs with the node's keys"],
  ['eth_sendTransaction', "signs with the node's keys"],
  ['eth_accounts', "lists the node's accounts"],
  ['miner_', 'controls mining'],
  ['txpool_', "reads the node's mempool"],
  ['anvil_', 'controls the node'],
  ['hardhat_', 'controls the node'],
  ['evm_', 'controls the node'],
  ['engine_', "is the consensus client's"],
]

/** A JSON-RPC error object as a relay sends it. */
export type RpcErrorObject = { code: number; message: string }

/** Why a call is refused, or undefined if it may go to the node. */
export function refusal(call: unknown): RpcErrorObject | undefined {
  if (typeof call !== 'object' || call === null || Array.isArray(call))
    return { code: -32600, message: 'invalid request: a call must be a JSON object' }
  const { method, params } = call as { method?: unknown; params?: unknown }
  if (typeof method !== 'string') return { code: -32600, message: 'invalid request: no method' }
  if (params !== undefined && !Array.isArray(params))
    return { code: -32602, message: 'invalid params: params must be an array' }
  const never = NEVER.find(([prefix]) => method.startsWith(prefix))
  if (never) return { code: -32601, message: `${method} is refused by this relay: it ${never[1]}` }
  if (!SERVED.has(method)) return { code: -32601, message: `${method} is not served by this relay` }
  return undefined
}

/** A frame's calls, or why the frame itself is refused. */
export function callsOf(
  message: unknown,
  maxBatch: number,
): { calls: unknown[]; batch: boolean } | RpcErrorObject {
  if (!Array.isArray(message)) return { calls: [message], batch: false }
  if (message.length === 0) return { code: -32600, message: 'invalid request: empty batch' }
  if (message.length > maxBatch)
    return { code: -32600, message: `batch of ${message.length} calls; at most ${maxBatch}` }
  return { calls: message, batch: true }
}

/** The id a reply to `call` carries (null when the call had none usable). */
export function idOf(call: unknown): string | number | null {
  const id = (call as { id?: unknown } | null)?.id
  return typeof id === 'string' || typeof id === 'number' ? id : null
}
