/**
 * Shape checks for results, so that a garbled answer from a source is a failure of that source
 * and never reaches the caller as a valid answer.
 */
import { checkedHeader } from '../verify/block.ts'

// A lowercase `0x`, hex digits in either case; quantities canonical (no leading zero) and at most 256 bits.
const QUANTITY = /^0x(0|[1-9a-fA-F][0-9a-fA-F]{0,63})$/
const DATA = /^0x([0-9a-fA-F]{2})*$/
const HASH = /^0x[0-9a-fA-F]{64}$/
const ADDRESS = /^0x[0-9a-fA-F]{40}$/

/** keccak256(RLP([])): the `sha3Uncles` of a block without uncles (every block since the merge). */
export const EMPTY_UNCLES_HASH =
  '0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347'

type Check = (value: unknown) => string | undefined

const isString = (v: unknown) => typeof v === 'string'

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
  orNull(quantity)((v as { number?: unknown }).number) ??
  invalidBlockFields(v as Record<string, unknown>)
const transaction: Check = (v) =>
  object(v) ?? invalidTransactionFields(v as Record<string, unknown>)

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
  eth_getTransactionByHash: orNull(transaction),
  eth_getTransactionByBlockHashAndIndex: orNull(transaction),
  eth_getTransactionByBlockNumberAndIndex: orNull(transaction),
  eth_getRawTransactionByHash: orNull(data),
  eth_getTransactionReceipt: orNull(object),
  eth_getBlockReceipts: orNull(array),
  eth_getLogs: array,
  eth_getProof: object,
  eth_feeHistory: object,
}

const TX_QUANTITIES = [
  'blockNumber',
  'transactionIndex',
  'type',
  'chainId',
  'nonce',
  'gas',
  'gasPrice',
  'maxFeePerGas',
  'maxPriorityFeePerGas',
  'maxFeePerBlobGas',
  'value',
  'v',
  'r',
  's',
  'yParity',
] as const

/**
 * Why a transaction object is malformed in the fields its hash does not cover (the engine
 * checks the hash itself), or undefined.
 */
export function invalidTransactionFields(tx: Record<string, unknown>): string | undefined {
  if (typeof tx.hash !== 'string' || !HASH.test(tx.hash)) return 'hash is not a 32-byte hash'
  if (typeof tx.from !== 'string' || !ADDRESS.test(tx.from)) return 'from is not an address'
  for (const f of ['blockHash'] as const)
    if (tx[f] !== null && tx[f] !== undefined && !(typeof tx[f] === 'string' && HASH.test(tx[f])))
      return `${f} is not a 32-byte hash`
  for (const f of TX_QUANTITIES)
    if (tx[f] !== null && tx[f] !== undefined && quantity(tx[f]))
      return `${f} is not a hex quantity`
  return undefined
}

const BLOCK_QUANTITIES = [
  'number',
  'difficulty',
  'gasLimit',
  'gasUsed',
  'timestamp',
  'baseFeePerGas',
  'blobGasUsed',
  'excessBlobGas',
  'size',
  'totalDifficulty',
] as const

/** Why a block object is malformed in fields its hash does not cover, or undefined. */
export function invalidBlockFields(block: Record<string, unknown>): string | undefined {
  for (const f of BLOCK_QUANTITIES)
    if (block[f] !== null && block[f] !== undefined && quantity(block[f]))
      return `${f} is not a hex quantity`
  if (block.transactions !== undefined && !Array.isArray(block.transactions))
    return 'transactions is not an array'
  return undefined
}

/**
 * A block (or an uncle) with only the fields a check covers: those its header hash covers
 * (verify/block.ts `checkedHeader`), its body (checked against the header's roots, or agreed
 * whole: rules.ts `blockRules`), and its `size` where the body can be measured (every
 * transaction in full, or none; no uncles: verify/trie.ts `blockSizes`). Whatever else a source
 * adds is dropped: `totalDifficulty` (no hash covers it, the execution API dropped it at the
 * merge, clients disagree on it), aliases that clients read first (ethers reads `prevRandao`
 * before `mixHash`), fields of one client or chain. A copy; any other answer as it is.
 */
export function withoutUnchecked(method: string, result: unknown): unknown {
  if (!/^eth_get(Block|Uncle)By/.test(method) || object(result) !== undefined) return result
  const block = result as Record<string, unknown>
  const out = checkedHeader(block)
  for (const k of ['transactions', 'uncles', 'withdrawals']) if (k in block) out[k] = block[k]
  // No uncles, as its hashed `sha3Uncles` says: the list every client sends, not left out.
  if (!('uncles' in block) && String(out.sha3Uncles).toLowerCase() === EMPTY_UNCLES_HASH)
    out.uncles = []
  // A withdrawal's root covers these four fields, and no more.
  if (Array.isArray(block.withdrawals))
    out.withdrawals = block.withdrawals.map((w) =>
      object(w)
        ? w
        : {
            index: w.index,
            validatorIndex: w.validatorIndex,
            address: w.address,
            amount: w.amount,
          },
    )
  // Hashes (of transactions or uncles) hide what the encoding holds.
  const measured =
    method.startsWith('eth_getBlockBy') &&
    [block.transactions, block.uncles].every((l) => !Array.isArray(l) || !l.some(isString))
  if (measured && 'size' in block) out.size = block.size
  return out
}

/** Why `result` is not a valid answer to `method`, or undefined if it is (or we can't tell). */
export function invalidResult(method: string, result: unknown): string | undefined {
  if (result === undefined) return 'missing result'
  return checks[method]?.(result)
}
