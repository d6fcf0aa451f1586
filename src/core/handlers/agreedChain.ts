/**
 * Questions the read path asks the domains about the chain itself, each through the whole
 * request path (agreed or verified): is a block on the agreed chain, which block `safe` or
 * `finalized` means, a header by hash for the trust store, a sent transaction's receipt.
 */

import { ProviderRpcError } from '../../shared/errors.ts'
import type { Hex } from '../../shared/types.ts'
import { computeBlockHash } from '../../verify/block.ts'
import type { RpcBlockWithBody } from '../../verify/trie.ts'
import type { Answer, Engine } from '../engine.ts'
import { fanOut, type Inclusion } from '../fanOut.ts'
import { type TagBlock, verifyingCall } from '../rules.ts'

/**
 * Is `hash` the agreed chain's block at `n`? The head tracker knows recent heights; below them,
 * the block at `n` is asked of the domains (agreed, or checked against the agreed chain).
 */
export async function onAgreedChain(engine: Engine, n: number, hash: string): Promise<boolean> {
  if (!Number.isSafeInteger(n) || n < 0) return false
  const { head } = engine
  const known = head.confirmed() ? head.hashAt(n) : undefined
  if (known) return known === hash
  const { result, meta } = await engine.request('eth_getBlockByNumber', [
    `0x${n.toString(16)}`,
    false,
  ])
  const ok =
    meta.consistency === 'verified' ||
    meta.consistency === 'agreed' ||
    meta.consistency === 'cached'
  return ok && String((result as { hash?: unknown } | null)?.hash).toLowerCase() === hash
}

/**
 * Does one source's receipt of transaction `hash` stand against other domains' "not found"? It
 * names that transaction, its block is on the agreed chain, and that block's checked body holds
 * the transaction at the receipt's index: then the "not found" is a node behind, not a veto.
 * A body that holds another transaction there refutes it: a made-up receipt in a real block.
 */
export async function receiptStands(
  engine: Engine,
  receipt: unknown,
  hash: string,
): Promise<Inclusion> {
  const r = receipt as Record<
    'transactionHash' | 'blockHash' | 'blockNumber' | 'transactionIndex',
    unknown
  >
  if (typeof r?.blockHash !== 'string' || String(r.transactionHash).toLowerCase() !== hash)
    return false
  const block = r.blockHash.toLowerCase()
  if (!(await onAgreedChain(engine, Number(r.blockNumber), block))) return false
  return includes(engine, block, Number(r.transactionIndex), hash)
}

/**
 * The block `safe` or `finalized` stands for, as the domains agree (or verify) it; `degraded`
 * when one domain alone named it (`onQuorumLoss: 'degrade'`): a read at that block is then no
 * better than that domain's word, however many domains agree on the state there.
 */
export async function resolveTag(engine: Engine, tag: 'safe' | 'finalized'): Promise<TagBlock> {
  const { result, meta } = await engine.request('eth_getBlockByNumber', [tag, false])
  const block = result as { number?: unknown; hash?: unknown } | null
  if (!block || typeof block.hash !== 'string' || meta.consistency === 'single')
    throw new ProviderRpcError(-32000, `No agreed ${tag} block.`)
  const at = { number: Number(block.number), hash: block.hash.toLowerCase() }
  return meta.consistency === 'degraded' ? { ...at, degraded: true } : at
}

/**
 * The receipt of a transaction just sent, as the domains agree (or prove) it, by `until`. Else
 * EIP-7966's timeout, code 4 with the hash as its data: the transaction is out, and a caller who
 * took the error for a failed send and signed another would pay twice. Why no receipt came (a
 * read's own error) is its cause. A read is given up at `until` (or a second after it began):
 * one that a silent domain holds to its own deadline does not hold the caller past theirs.
 * `once`: one read. `stopped()`: no more reads (the caller has its answer).
 */
export async function receiptOf(
  engine: Engine,
  hash: Hex,
  until: number,
  once?: boolean,
  stopped?: () => boolean,
): Promise<Answer> {
  let cause: unknown
  while (!stopped?.() && !engine.closed()) {
    let timer: unknown
    // One read's error (a split a liar's made-up error makes, a source's hiccup) ends no wait:
    // it is the cause if none comes (reviewOfSession38e).
    const r = await Promise.race([
      engine.request('eth_getTransactionReceipt', [hash]).catch((error: unknown) => {
        cause = error
        return { result: null } as const
      }),
      new Promise<undefined>((late) => {
        timer = setTimeout(late, Math.max(until - Date.now(), READ_GRACE))
      }),
    ]).finally(() => clearTimeout(timer as never))
    if (!r) break
    // A receipt of another transaction is none of this one's (reviewOfSession38a).
    if (r.result !== null && ofHash(r.result, hash)) return r as Answer
    const left = until - Date.now()
    if (once || left <= 0) break
    await new Promise((resolve) => setTimeout(resolve, Math.min(250, left)))
  }
  throw new ProviderRpcError(4, `Transaction ${hash} was sent; no agreed receipt came in time.`, {
    data: hash,
    cause,
  })
}

const ofHash = (receipt: unknown, hash: Hex) =>
  String((receipt as { transactionHash?: unknown }).transactionHash).toLowerCase() === hash

/** How long a receipt read may run past a synchronous send's own timeout. */
const READ_GRACE = 1_000

/**
 * A header by hash for the trust store: its hash is the whole check (the body is not used), so
 * one source's answer stands; `null` needs agreement.
 */
export const headerByHash = (engine: Engine, hash: string) =>
  headerFrom(engine, 'eth_getBlockByHash', hash, hash)

/**
 * The block at height `n` as the first source gives it, for the trust store to walk down to by
 * parent hash (trust.ts `ancestorAt`): that walk is its check, so any answer that hashes to the
 * hash it claims will do; a node behind may not have it yet, and another is asked. `agreed`:
 * as two domains agree on it (asked where the first answers did not link).
 */
export const headerAt = (engine: Engine, n: number, agreed?: boolean) =>
  headerFrom(engine, 'eth_getBlockByNumber', `0x${n.toString(16)}`, undefined, agreed)

/** The trust store's ways to a header through the engine: by hash, and by height for its walks. */
export const headersThrough = (engine: () => Engine) => ({
  fetchHeader: (hash: string) => headerByHash(engine(), hash),
  fetchHeaderAt: (n: number, agreed?: boolean) => headerAt(engine(), n, agreed),
})

/**
 * `block` without its transactions; an answer counts once it hashes to `hash` (by hash: what was
 * asked for; by height: whatever hash it claims). Every header is checked alone, so untrusted
 * sources (an IPFS route) may serve it; `agreed`, by height, only as two domains agree on it.
 */
async function headerFrom(
  engine: Engine,
  method: 'eth_getBlockByHash' | 'eth_getBlockByNumber',
  block: string,
  hash?: string,
  agreed?: boolean,
): Promise<Record<string, unknown> | null> {
  const { candidates, force, reserve } = engine.candidatesFor(false, !agreed, method)
  const hashOf = (h: unknown) => hash ?? String((h as { hash?: unknown } | undefined)?.hash)
  const two = Math.min(2, engine.config.quorum.domains)
  const r = await fanOut(engine.fan, {
    method,
    params: [block, false],
    candidates,
    force,
    ...(reserve ? { reserve } : {}),
    // By hash, "not found" needs the domains' agreement; by height, one answer will do.
    need: hash
      ? engine.needFor(candidates, method).need
      : { sources: agreed ? two : 1, domains: agreed ? two : 1 },
    check: (h) =>
      h === null || headerHashes(h, hashOf(h)) ? undefined : `header is not ${hashOf(h)}`,
    standsAlone: (h) => h !== null && !agreed,
    key: (h) => (h === null ? 'null' : hashOf(h)),
    pending: (h) => h === null,
    degrade: !agreed,
    deadline: Date.now() + engine.config.timeout,
    initial: 1,
  })
  if (r.error) throw r.error
  return r.value as Record<string, unknown> | null
}

/**
 * Is transaction `hash` the one at `index` of block `blockHash`, by that block's body? Asked as
 * the block with its transactions; an answer counts once its header hashes to `blockHash`, each
 * transaction to its own hash and all of them to the header's `transactionsRoot`: then one
 * answer stands, from any source (untrusted ones too), and a body that contradicts its header
 * is its source's lie (blockBody.ts `verifyBody`). The transaction at `index` is another (or there
 * is none): refuted. A body this version cannot check (a transaction type it cannot rebuild,
 * uncles), or none: false.
 */
async function includes(
  engine: Engine,
  blockHash: string,
  index: number,
  hash: string,
): Promise<Inclusion> {
  if (!Number.isSafeInteger(index) || index < 0)
    return { refuted: `transaction index ${index} is not an index` }
  const method = 'eth_getBlockByHash'
  const params = [blockHash, true]
  const whole = new WeakSet<object>()
  const verify = async (block: unknown) => {
    if (block === null) return
    const { verifyBody } = await import('../blockBody.ts')
    if (await verifyBody(block as RpcBlockWithBody)) whole.add(block as object)
  }
  const { candidates, force, reserve } = engine.candidatesFor(false, true, method)
  const r = await fanOut(engine.fan, {
    method,
    params,
    candidates,
    force,
    ...(reserve ? { reserve } : {}),
    need: engine.needFor(candidates, method).need,
    check: (b) =>
      b === null || headerHashes(b, blockHash) ? undefined : `header is not ${blockHash}`,
    call: verifyingCall(
      { verify },
      (s, signal) => engine.pool.attempt(s, method, params, signal),
      (s, why) => engine.pool.markLying(s, `${method}: ${why}`),
    ),
    standsAlone: (b) => b !== null && whole.has(b as object),
    key: (b) => (b === null ? 'null' : blockHash),
    pending: (b) => b === null,
    degrade: true,
    deadline: Date.now() + engine.config.timeout,
    initial: 1,
  })
  if (r.error || !whole.has(r.value as object)) return false
  const tx = (r.value as RpcBlockWithBody).transactions?.[index]
  const at = typeof tx === 'object' && tx !== null ? String(tx.hash).toLowerCase() : undefined
  return (
    at === hash || {
      refuted: `block ${blockHash} has ${at ?? 'no transaction'} at index ${index}, not ${hash}`,
    }
  )
}

/** Does `header` hash to `hash`? */
function headerHashes(header: unknown, hash: string): boolean {
  try {
    return computeBlockHash(header as never) === hash.toLowerCase()
  } catch {
    return false
  }
}
