import { verifyBlockHash } from '../verify/block.ts'
import { computeTransactionHash } from '../verify/transaction.ts'
import type { Head, HeadTracker } from './head.ts'
import type { MethodPolicy } from './policy.ts'
import { invalidBlockFields, invalidTransactionFields } from './validate.ts'

const toHex = (n: number) => `0x${n.toString(16)}`
const isHash = (v: unknown): v is string => typeof v === 'string' && /^0x[0-9a-fA-F]{64}$/.test(v)

export type Pinned = {
  params: unknown[]
  /** Lagging and forked sources must not answer. */
  headDependent: boolean
  /** The block `latest` was pinned to. */
  block?: Head
  /** The hash an answer must carry (a block looked up by hash, or the agreed head). */
  expectedHash?: string
}

/**
 * Pins `latest` (or an omitted block) to the agreed head so that sources a block apart answer
 * about the same block: by hash (EIP-1898) where the method allows, else by number.
 */
export async function pinBlock(
  method: string,
  params: readonly unknown[],
  policy: MethodPolicy,
  head: HeadTracker,
  byHash: boolean,
): Promise<Pinned> {
  const out = [...params]
  if (method === 'eth_getLogs') return pinLogs(out, head)
  if (policy.class === 'verified' && policy.blockParam === undefined)
    return { params: out, headDependent: false, expectedHash: isHash(out[0]) ? out[0] : undefined }
  const i = policy.blockParam
  if (i === undefined || (policy.class !== 'quorum' && policy.class !== 'verified'))
    return { params: out, headDependent: false }

  const tag = out[i]
  if (tag === undefined || tag === 'latest') {
    const h = await head.get()
    out[i] = policy.byHash && byHash ? { blockHash: h.hash } : toHex(h.number)
    return { params: out, headDependent: true, block: h, expectedHash: h.hash }
  }
  if (typeof tag === 'string' && /^0x[0-9a-fA-F]+$/.test(tag)) {
    const known = head.hashAt(Number.parseInt(tag, 16))
    return { params: out, headDependent: true, ...(known ? { expectedHash: known } : {}) }
  }
  return { params: out, headDependent: tag === 'pending' }
}

async function pinLogs(params: unknown[], head: HeadTracker): Promise<Pinned> {
  const filter = params[0]
  if (!filter || typeof filter !== 'object' || 'blockHash' in filter)
    return { params, headDependent: false }
  const f = { ...(filter as Record<string, unknown>) }
  const latest = (v: unknown) => v === undefined || v === 'latest'
  if (!latest(f.fromBlock) && !latest(f.toBlock)) return { params, headDependent: true }
  const h = await head.get()
  if (latest(f.fromBlock)) f.fromBlock = toHex(h.number)
  if (latest(f.toBlock)) f.toBlock = toHex(h.number)
  return { params: [f, ...params.slice(1)], headDependent: true, block: h }
}

export type AnswerRules = {
  check?: (result: unknown) => string | undefined
  standsAlone?: (result: unknown) => boolean
  key?: (result: unknown) => string
  /** `null` may only mean "not yet" (a node a block behind): it is asked again, not outvoted. */
  pending?: (result: unknown) => boolean
}

const isNull = (r: unknown) => r === null

/** Lookups whose `null` answer ("not found") may be a node that has not seen the block yet. */
const NOT_YET = new Set([
  'eth_getTransactionReceipt',
  'eth_getBlockReceipts',
  'eth_getBlockTransactionCountByHash',
  'eth_getBlockTransactionCountByNumber',
])

type Block = { hash?: string; number?: string; transactions?: unknown[] }
type Tx = { hash?: string; blockHash?: string | null; transactionIndex?: string | null }

/** Local checks for answers that can be proven by hashing; agreement keys for the rest. */
export function checkAnswer(
  method: string,
  params: readonly unknown[],
  expectedHash?: string,
): AnswerRules {
  const expected = expectedHash?.toLowerCase()
  // Looked up by hash, a different hash is a lie. Looked up by number, a different hash than
  // the agreed chain's may be a reorg the head tracker has not seen yet: it needs agreement.
  switch (method) {
    case 'eth_getBlockByHash':
      return {
        check: (r) => (r === null ? undefined : checkBlock(r as Block, expected, undefined)),
        standsAlone: (r) => r !== null,
        key: blockKey,
        pending: isNull,
      }
    case 'eth_getBlockByNumber':
      return {
        check: (r) => (r === null ? undefined : checkBlock(r as Block, undefined, params[0])),
        standsAlone: (r) =>
          r !== null && expected !== undefined && (r as Block).hash?.toLowerCase() === expected,
        key: blockKey,
        pending: isNull,
      }
    case 'eth_getTransactionByHash':
    case 'eth_getTransactionByBlockHashAndIndex':
    case 'eth_getTransactionByBlockNumberAndIndex': {
      const byHash = method === 'eth_getTransactionByHash'
      const byBlockHash = method === 'eth_getTransactionByBlockHashAndIndex'
      const inBlock = (tx: Tx) => tx.blockHash?.toLowerCase() === expected
      return {
        check: (r) => {
          if (r === null) return undefined
          const tx = r as Tx
          const why = checkTx(tx, byHash ? expected : undefined)
          if (why) return why
          if (byBlockHash && !inBlock(tx))
            return `transaction is in block ${tx.blockHash}, not ${expected}`
          if (!byHash && tx.transactionIndex?.toLowerCase() !== String(params[1]).toLowerCase())
            return `transaction index ${tx.transactionIndex} is not ${params[1]}`
          return undefined
        },
        standsAlone: (r) =>
          r !== null &&
          computeTransactionHash(r as never) !== undefined &&
          (byHash || (expected !== undefined && inBlock(r as Tx))),
        pending: isNull,
      }
    }
    default:
      return NOT_YET.has(method) ? { pending: isNull } : {}
  }
}

const blockKey = (r: unknown) => (r === null ? 'null' : String((r as Block).hash).toLowerCase())

function checkBlock(
  block: Block,
  expected: string | undefined,
  requested: unknown,
): string | undefined {
  const shape = invalidBlockFields(block as Record<string, unknown>)
  if (shape) return shape
  let ok: boolean
  try {
    ok = verifyBlockHash(block as never)
  } catch (error) {
    return (error as Error).message
  }
  if (!ok) return `header does not hash to ${block.hash}`
  if (expected && block.hash?.toLowerCase() !== expected)
    return `block ${block.hash} is not the expected ${expected}`
  if (typeof requested === 'string' && /^0x[0-9a-fA-F]{1,16}$/.test(requested))
    if (Number.parseInt(requested, 16) !== Number.parseInt(String(block.number), 16))
      return `block number ${block.number} is not the requested ${requested}`
  for (const tx of block.transactions ?? []) {
    if (typeof tx === 'string') continue
    const why = checkTx(tx as Tx, undefined)
    if (why) return `transaction ${(tx as Tx).hash}: ${why}`
  }
  return undefined
}

function checkTx(tx: Tx, expected: string | undefined): string | undefined {
  const shape = invalidTransactionFields(tx as Record<string, unknown>)
  if (shape) return shape
  let computed: string | undefined
  try {
    computed = computeTransactionHash(tx as never)
  } catch (error) {
    return (error as Error).message
  }
  if (computed !== undefined && computed.toLowerCase() !== tx.hash?.toLowerCase())
    return `transaction does not hash to ${tx.hash}`
  if (expected && tx.hash?.toLowerCase() !== expected)
    return `transaction ${tx.hash} is not ${expected}`
  return undefined
}
