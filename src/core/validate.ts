/**
 * Shape checks for results, so that a garbled answer from a source is a failure of that source
 * and never reaches the caller as a valid answer.
 */
const QUANTITY = /^0x(0|[1-9a-f][0-9a-f]*)$/i
const DATA = /^0x([0-9a-f]{2})*$/i
const HASH = /^0x[0-9a-f]{64}$/i

type Check = (value: unknown) => string | undefined

const quantity: Check = (v) =>
  typeof v === 'string' && QUANTITY.test(v) ? undefined : 'not a hex quantity'
const data: Check = (v) => (typeof v === 'string' && DATA.test(v) ? undefined : 'not hex data')
const hash: Check = (v) =>
  typeof v === 'string' && HASH.test(v) ? undefined : 'not a 32-byte hash'
const object: Check = (v) =>
  v && typeof v === 'object' && !Array.isArray(v) ? undefined : 'not an object'
const orNull =
  (check: Check): Check =>
  (v) =>
    v === null ? undefined : check(v)
const array: Check = (v) => (Array.isArray(v) ? undefined : 'not an array')
// A pending block has no hash (and on some nodes no number).
const block: Check = (v) =>
  object(v) ??
  orNull(hash)((v as { hash?: unknown }).hash) ??
  orNull(quantity)((v as { number?: unknown }).number)

const checks: Record<string, Check> = {
  eth_chainId: quantity,
  eth_blockNumber: quantity,
  eth_gasPrice: quantity,
  eth_maxPriorityFeePerGas: quantity,
  eth_blobBaseFee: quantity,
  eth_getBalance: quantity,
  eth_getTransactionCount: quantity,
  eth_estimateGas: quantity,
  eth_getCode: data,
  eth_call: data,
  eth_getStorageAt: data,
  eth_sendRawTransaction: hash,
  eth_getBlockByHash: orNull(block),
  eth_getBlockByNumber: orNull(block),
  eth_getTransactionByHash: orNull(object),
  eth_getTransactionByBlockHashAndIndex: orNull(object),
  eth_getTransactionByBlockNumberAndIndex: orNull(object),
  eth_getTransactionReceipt: orNull(object),
  eth_getBlockReceipts: orNull(array),
  eth_getLogs: array,
  eth_getProof: object,
  eth_feeHistory: object,
}

/** Why `result` is not a valid answer to `method`, or undefined if it is (or we can't tell). */
export function invalidResult(method: string, result: unknown): string | undefined {
  if (result === undefined) return 'missing result'
  return checks[method]?.(result)
}
