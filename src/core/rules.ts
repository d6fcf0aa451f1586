import { BaseError, QuorumError, SourceError, VerificationError } from '../shared/errors.ts'
import { keccak256 } from '../shared/keccak.ts'
import { runsBackwards } from '../shared/logFilter.ts'
import type { Hex } from '../shared/types.ts'
import { verifyBlockHash } from '../verify/block.ts'
import type { RpcBlockWithBody } from '../verify/trie.ts'
import type { Unhashed } from './blockBody.ts'
import { canonical } from './canonical.ts'
import type { Inclusion } from './fanOut.ts'
import type { Head, HeadTracker } from './head.ts'
import { isHash } from './params.ts'
import type { MethodPolicy } from './policy.ts'
import type { SourceState } from './sourceState.ts'
import type { Tx } from './txRules.ts'
import { invalidBlockFields, invalidTransactionFields } from './validate.ts'

const toHex = (n: number) => `0x${n.toString(16)}`

export type Pinned = {
  params: unknown[]
  /** Lagging and forked sources must not answer. */
  headDependent: boolean
  /** The block `latest` was pinned to. */
  block?: Head
  /** The hash an answer must carry (a block looked up by hash, or the agreed head). */
  expectedHash?: string
  /**
   * `latest` left as it is: no head was agreed yet (a cold start). Answers that agree are each
   * domain's state at a recent block; a split is asked again pinned, once the head is known.
   */
  unpinned?: boolean
  /**
   * The height of `expectedHash`, the head tracker's (`latest`, a block by number), when no
   * domains enough had confirmed it as the read was pinned (a lone head): an answer that carries
   * it is no better than that hash, unless it is confirmed by the time the read settles.
   */
  tracked?: number
  /** The block was named by one domain alone (a `safe` or `finalized` tag, `degraded`). */
  degraded?: true
  /** `latest` is the block the caller was shown, above the agreed head (`shownAbove`). */
  shown?: true
  /** A log range that starts past `latest`: no block in it, nothing to ask (`pinLogs`). */
  empty?: true
}

/** The block a tag stands for; `degraded` when one domain alone named it. */
export type TagBlock = Head & { degraded?: true }

/**
 * Pins `latest` (or an omitted block) to the agreed head so that sources a block apart answer
 * about the same block: by hash (EIP-1898) where the method allows, else by number. `params` are
 * spelled one way (params.ts). Only a lookup by hash (not a transaction's: where it was mined is
 * the chain's), or a read at a block named by its hash, is the same to every node that has it;
 * any other read (an unlisted method's too) is about the chain as it is now: lagging, forked and
 * unconfirmed sources must not answer it.
 */
export async function pinBlock(
  method: string,
  params: readonly unknown[],
  policy: MethodPolicy,
  head: HeadTracker,
  byHash: boolean,
  /** The block `safe` or `finalized` stands for, as the domains agree on it. */
  resolveTag?: (tag: 'safe' | 'finalized') => Promise<TagBlock>,
): Promise<Pinned> {
  const out = [...params]
  if (method === 'eth_getLogs') return pinLogs(out, head)
  // Node-local answers (`single`): no block to be at.
  if (policy.class !== 'quorum' && policy.class !== 'verified')
    return { params: out, headDependent: false }
  const i = policy.blockParam
  if (i === undefined) {
    const hash = policy.hashParam === undefined ? undefined : out[policy.hashParam]
    const expected = policy.class === 'verified' && isHash(hash) ? { expectedHash: hash } : {}
    return {
      params: out,
      headDependent: policy.hashParam === undefined || PLACED_BY_CHAIN.has(method),
      ...expected,
    }
  }

  const tag = out[i]
  const toBlock = (h: Head) => (policy.byHash && byHash ? { blockHash: h.hash } : toHex(h.number))
  if (tag === undefined || tag === 'latest') {
    // Cold: a state read need not wait for head discovery (the caller starts it once the read
    // has its answer, so that the two do not compete for the same sources).
    if (!head.peek() && policy.class === 'quorum') {
      out[i] = 'latest'
      return { params: out, headDependent: true, unpinned: true }
    }
    const h = await head.get()
    // Read-your-writes: a block the caller was shown, its hash agreed, while the agreed head is
    // still below it (one domain's `latest` a block behind): read there, not before it (the
    // balance before the caller's own payment, agreed: reviewOfSession39c).
    // State only: a block lookup is the agreed head's (nodes below the shown block have none
    // there: two lagging domains' `null` was `latest`, agreed: reviewOfSession39j).
    const above = policy.class === 'quorum' ? shownAbove(head, method) : undefined
    if (above) {
      out[i] = toBlock(above)
      return {
        params: out,
        headDependent: true,
        block: above,
        expectedHash: above.hash,
        shown: true,
      }
    }
    out[i] = toBlock(h)
    const lone = head.holds(h.hash, h.number) ? {} : { tracked: h.number }
    return { params: out, headDependent: true, block: h, expectedHash: h.hash, ...lone }
  }
  if (typeof tag === 'string' && /^0x[0-9a-f]{1,16}$/.test(tag)) {
    const n = Number.parseInt(tag, 16)
    const known = head.hashAt(n)
    if (!known) return { params: out, headDependent: true }
    const lone = head.holds(known, n) ? {} : { tracked: n }
    return { params: out, headDependent: true, expectedHash: known, ...lone }
  }
  // `safe` and `finalized` are resolved like `latest`: to the block the domains agree they mean
  // (a block by number itself is agreed on as it is).
  if ((tag === 'safe' || tag === 'finalized') && resolveTag && method !== 'eth_getBlockByNumber') {
    const { degraded, ...h } = await resolveTag(tag)
    out[i] = toBlock(h)
    return {
      params: out,
      headDependent: !byBlockHash(out[i]),
      block: h,
      expectedHash: h.hash,
      ...(degraded ? { degraded } : {}),
    }
  }
  return { params: out, headDependent: !byBlockHash(tag) }
}

/**
 * Looked up by a transaction's hash, the answer says where the chain holds it (its block and
 * index, its receipt, or not yet): the hash covers the signed envelope only. Nodes on another
 * chain agree with each other on a block the agreed chain does not have.
 */
const PLACED_BY_CHAIN = new Set(['eth_getTransactionByHash', 'eth_getTransactionReceipt'])

/**
 * A block parameter that names its block by hash (params.ts spells it): the same to every node
 * that has the block, but for EIP-1898's `requireCanonical`, which asks about the chain as it is
 * now (a node on a fork would say its own).
 */
const byBlockHash = (block: unknown) =>
  isHash(block) ||
  (typeof block === 'object' &&
    block !== null &&
    'blockHash' in block &&
    !(block as { requireCanonical?: unknown }).requireCanonical)

/** `head.shownAbove()`; an error while the domains are split over it (head.ts `contested`). */
function shownAbove(head: HeadTracker, method: string): Head | undefined {
  const p = head.shownAbove()
  if (p && head.contested(p))
    throw new QuorumError(
      method,
      2,
      [],
      [{ source: 'head', reason: `split over block ${p.number}` }],
    )
  return p
}

async function pinLogs(params: unknown[], head: HeadTracker): Promise<Pinned> {
  const filter = params[0]
  if (!filter || typeof filter !== 'object' || 'blockHash' in filter)
    return { params, headDependent: false }
  const f = { ...(filter as Record<string, unknown>) }
  const latest = (v: unknown) => v === undefined || v === 'latest'
  if (!latest(f.fromBlock) && !latest(f.toBlock)) return { params, headDependent: true }
  // Not below a block the caller was shown (`pinBlock`).
  const h = shownAbove(head, 'eth_getLogs') ?? (await head.get())
  if (latest(f.fromBlock)) f.fromBlock = toHex(h.number)
  if (latest(f.toBlock)) f.toBlock = toHex(h.number)
  const pinned = { params: [f, ...params.slice(1)], headDependent: true, block: h }
  // From past `latest` (a dApp's "any new logs?" before the next block): no block, no logs. Asked,
  // every node refused the range, and each was charged for it (reviewOfSession39e).
  return runsBackwards(f) ? { ...pinned, empty: true as const } : pinned
}

export type AnswerRules = {
  check?: (result: unknown) => string | undefined
  standsAlone?: (result: unknown) => boolean
  key?: (result: unknown) => string
  /** `null` may only mean "not yet" (a node a block behind): it is asked again, not outvoted. */
  pending?: (result: unknown) => boolean
  /** An answer that stands against "not yet" answers alone (its inclusion is checked). */
  beatsNotYet?: (result: unknown) => Promise<Inclusion>
  /**
   * A check too slow for `check` (a block body against its header's roots), run inside the
   * attempt on answers that pass `check`: throws `VerificationError` for a lie. See `verifyingCall`.
   */
  verify?: (result: unknown) => Promise<void>
}

/**
 * One attempt of a request whose rules `verify` asynchronously: the source's answer, verified
 * before the engine sees it. An answer that contradicts itself (a body that does not match its
 * header) is that source's lie: `onLie` hears it and the attempt fails.
 */
export function verifyingCall(
  rules: AnswerRules,
  ask: (s: SourceState, signal: AbortSignal) => Promise<unknown>,
  onLie: (s: SourceState, reason: string) => void,
): ((s: SourceState, signal: AbortSignal) => Promise<unknown>) | undefined {
  const verify = rules.verify
  if (!verify) return undefined
  return async (s, signal) => {
    const result = await ask(s, signal)
    try {
      await verify(result)
    } catch (error) {
      const why = error instanceof BaseError ? error.shortMessage : String(error)
      if (error instanceof VerificationError) onLie(s, why)
      throw new SourceError(s.name, 'body', `answer rejected: ${why}`, { cause: error as Error })
    }
    return result
  }
}

const isNull = (r: unknown) => r === null

/** Lookups whose `null` answer ("not found") may be a node that has not seen the block yet. */
const NOT_YET = new Set([
  'eth_getTransactionReceipt',
  'eth_getBlockReceipts',
  'eth_getBlockTransactionCountByHash',
  'eth_getBlockTransactionCountByNumber',
])

type Block = {
  hash?: string
  number?: string
  transactions?: unknown[]
  uncles?: unknown
  withdrawals?: unknown
  size?: unknown
}

/** Local checks for answers that can be proven by hashing; agreement keys for the rest. */
export async function checkAnswer(
  method: string,
  params: readonly unknown[],
  expectedHash?: string,
  /** Does a receipt stand against "not found"s? (handlers/agreedChain.ts `receiptStands`) */
  receiptStands: (receipt: unknown, hash: string) => Promise<Inclusion> = async () => false,
): Promise<AnswerRules> {
  const expected = expectedHash?.toLowerCase()
  // Looked up by hash, a different hash is a lie. Looked up by number, a different hash than
  // the agreed chain's may be a reorg the head tracker has not seen yet: it needs agreement.
  switch (method) {
    case 'eth_getBlockByHash':
    case 'eth_getBlockByNumber':
      return blockRules(method === 'eth_getBlockByHash', params, expected)
    case 'eth_getTransactionByHash':
    case 'eth_getTransactionByBlockHashAndIndex':
    case 'eth_getTransactionByBlockNumberAndIndex':
      // Loaded with the first transaction lookup, with the code that rebuilds its hash.
      return (await import('./txRules.ts')).transactionRules(method, params, expected)
    case 'eth_getRawTransactionByHash':
      // The signed bytes hash to the transaction hash: checked alone.
      return {
        check: (r) =>
          r === null || (expected !== undefined && keccak256(r as Hex) === expected)
            ? undefined
            : `raw transaction does not hash to ${expected}`,
        standsAlone: (r) => r !== null,
        pending: isNull,
      }
    case 'eth_getTransactionReceipt':
      return {
        pending: isNull,
        // One source's receipt beside another's "not found": handlers/agreedChain.ts judges it.
        beatsNotYet: (r) => receiptStands(r, String(params[0]).toLowerCase()),
      }
    default:
      return NOT_YET.has(method) ? { pending: isNull } : {}
  }
}

/**
 * A block's hash covers its header, not its body. A body is whole when it was checked against
 * the header's roots (full transactions, withdrawals, no uncles; an empty body also as hashes),
 * with each typed transaction's `gasPrice` and `blockTimestamp` against the header. Only an
 * empty whole body stands alone: transactions' senders (`from`) are no root's, and recovering
 * each from its signature (~1.5 ms) is too slow here, so answers must agree on them; a body
 * that is not whole must be agreed whole. Looked up by number, a block must also be the agreed
 * chain's (else it may be a reorg: agreement).
 */
function blockRules(
  byHash: boolean,
  params: readonly unknown[],
  expected: string | undefined,
): AnswerRules {
  const checked = new WeakMap<object, string | undefined>()
  /** Whole bodies, each with what of a transaction no check covers (txRules.ts, loaded by then). */
  const whole = new WeakMap<object, Unhashed>()
  const check = (r: unknown): string | undefined => {
    if (r === null) return undefined
    const block = r as Block
    if (!checked.has(block))
      checked.set(
        block,
        checkBlock(block, byHash ? expected : undefined, byHash ? undefined : params[0]),
      )
    return checked.get(block)
  }
  return {
    check,
    verify: async (r) => {
      if (r === null || check(r) !== undefined) return // the engine refuses it
      // The body's checks load with the first block body to check: reads without one never
      // carry them.
      const { verifyBody } = await import('./blockBody.ts')
      const unhashed = await verifyBody(r as RpcBlockWithBody)
      if (unhashed) whole.set(r as object, unhashed)
    },
    // Only the block asked for (by hash) or agreed (by number), never one no hash was expected of.
    standsAlone: (r) =>
      r !== null &&
      whole.has(r as object) &&
      (r as Block).transactions?.length === 0 &&
      expected !== undefined &&
      (r as Block).hash?.toLowerCase() === expected,
    // Two checked bodies under one hash are the same body but for what no check covers: each
    // transaction's sender (`from`), place, and whatever else a node adds (txRules.ts `unhashed`).
    // A body not checked is agreed whole, with its `size` where one is kept unmeasured (full
    // transactions of a type this version cannot rebuild: validate.ts `withoutUnchecked`).
    key: (r) => {
      if (r === null) return 'null'
      const { hash, transactions, uncles, withdrawals, size } = r as Block
      const id = String(hash).toLowerCase()
      const unhashed = whole.get(r as object)
      return unhashed
        ? `${id}:${canonical((transactions as Tx[]).map((tx) => unhashed(tx, true)))}`
        : `${id}:${canonical({ transactions, uncles, withdrawals, size })}`
    },
    pending: isNull,
  }
}

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
    const why = invalidTransactionFields(tx as Record<string, unknown>)
    if (why) return `transaction ${(tx as Tx).hash}: ${why}`
  }
  return undefined
}
