/**
 * What the demo's and the soak's truth checks compare with the node: the fields of blocks,
 * receipts and transactions that must match, and a comparison that ignores hex case.
 */

/** Fields of a block header (and its transaction list) that must match the node's. */
export const BLOCK_FIELDS = [
  'number',
  'hash',
  'parentHash',
  'stateRoot',
  'transactionsRoot',
  'receiptsRoot',
  'timestamp',
  'miner',
  'gasUsed',
  'baseFeePerGas',
  'transactions',
] as const

/** Fields of a receipt that must match the node's. */
export const RECEIPT_FIELDS = [
  'transactionHash',
  'blockHash',
  'blockNumber',
  'from',
  'to',
  'status',
  'gasUsed',
  'cumulativeGasUsed',
  'effectiveGasPrice',
  'contractAddress',
  'logs',
] as const

/** Fields of a transaction that must match the node's. */
export const TX_FIELDS = [
  'hash',
  'nonce',
  'from',
  'to',
  'value',
  'input',
  'gas',
  'r',
  's',
  'chainId',
] as const

/** The same JSON, ignoring the case of hex digits. */
export const sameJson = (a: unknown, b: unknown): boolean =>
  JSON.stringify(a)?.toLowerCase() === JSON.stringify(b)?.toLowerCase()

export const hex = (n: number): `0x${string}` => `0x${n.toString(16)}`
