/**
 * Reads: `quorum`, `verified` and `single` methods. Proven first where a prover can; else
 * `latest` pinned to the agreed head, then fan-out until an answer stands alone or the quorum
 * agrees. Steps 3 to 9 of "A quorum read, step by step" in docs/architecture.md.
 */
import { beforeDeadline } from '../../shared/abort.ts'
import {
  AllSourcesFailedError,
  ProviderRpcError,
  QuorumError,
  RpcResponseError,
} from '../../shared/errors.ts'
import { names, serves } from '../../shared/route.ts'
import type { Answer, Call, Engine } from '../engine.ts'
import { type FanOutRequest, fanOut } from '../fanOut.ts'
import type { Head } from '../head.ts'
import { isHash } from '../params.ts'
import { isCallersError } from '../policy.ts'
import { blockOfRead } from '../pruned.ts'
import { checkAnswer, type Pinned, pinBlock, verifyingCall } from '../rules.ts'
import type { SourceState } from '../sourceState.ts'
import { noHead } from './noHead.ts'

export async function read(engine: Engine, c: Call): Promise<Answer> {
  const { config } = engine
  if (!engine.pool.states.some(asks(c)))
    throw new ProviderRpcError(
      4200,
      c.policy.named
        ? `${c.method} hands transactions on: outlast asks it only of a source whose methods.include names it, and none does.`
        : `${c.method} is left out of every source's methods route.`,
    )
  engine.budget.deposit()
  if (config.prover?.methods.has(c.method)) {
    // Loaded with the prover's first proof: a dApp without `outlast/proofs` never carries it.
    const { prove } = await import('./prove.ts')
    const proof = await prove(engine, config.prover, c)
    if (proof.kind === 'proven') return proof.answer
    if (proof.kind === 'reverted') throw proof.error
  }
  const pin = () =>
    beforeDeadline(
      pinBlock(c.method, c.params, c.policy, engine.head, config.pinByHash, async (tag) =>
        (await agreedChain()).resolveTag(engine, tag),
      ),
      c.deadline,
      () => noHead(engine, c),
    )
  const first = await pin()
  if (first.empty) return { result: [], meta: c.meta({ consistency: 'head', block: first.block }) }
  if (first.shown) return atShown(engine, c, first, pin)
  if (!first.unpinned)
    return isPendingNonce(c) ? pendingNonce(engine, c, first) : agreeOn(engine, c, first)
  try {
    return await agreeOn(engine, c, first)
  } catch (error) {
    // Cold, the domains answered at different blocks: ask again at the agreed head.
    if (!(error instanceof QuorumError)) throw error
    return agreeOn(engine, c, await pin())
  } finally {
    engine.head.get().catch(() => {}) // head discovery, for the reads that follow
  }
}

/**
 * A read of `latest` pinned to the block the caller was shown. Failed by every source, it is made
 * again at the agreed head only once domains enough that reached that block say it is none (a
 * reorg took it before the head reached it: reviewOfSession39d), and `latest` is not pinned to it
 * any more. Not on the failure alone: a lagging domain's "not found" and one slow answer made the
 * client forget it and read the state before the caller's own transaction, agreed (39f).
 */
async function atShown(engine: Engine, c: Call, pinned: Pinned, pin: () => Promise<Pinned>) {
  const read = (p: Pinned) =>
    isPendingNonce(c) ? pendingNonce(engine, c, p) : agreeOn(engine, c, p)
  try {
    return await read(pinned)
  } catch (error) {
    if (
      !(error instanceof AllSourcesFailedError && (await gone(engine, pinned.block!, c.deadline)))
    )
      throw error
    engine.head.forgetShown(pinned.block!.hash)
    return read(await pin())
  }
}

/**
 * `shown` is no block, as domains enough (two, or the quorum's one) say by hash that reported it
 * as their head or a head at its height since: a node below it says `null` for "not yet" (two
 * lagging domains' `null` made the client forget it: reviewOfSession39h).
 */
async function gone(engine: Engine, shown: Head, deadline: number): Promise<boolean> {
  // Not one whose own chain still holds it: a load-balanced node's backend a block behind says
  // `null` by hash while its head stands past it (reviewOfSession40e 2).
  const reached = engine.pool.states.filter(
    (s) =>
      !s.untrusted &&
      (s.heads.has(shown.hash) || (s.head?.number ?? -1) >= shown.number) &&
      s.hashes.get(shown.number) !== shown.hash,
  )
  const signal = AbortSignal.timeout(Math.max(0, Math.ceil(deadline - Date.now())))
  const none = await Promise.all(
    reached.map((s) =>
      engine.pool.attempt(s, 'eth_getBlockByHash', [shown.hash, false], signal).then(
        (block) => (block === null ? s.domain : undefined),
        () => undefined,
      ),
    ),
  )
  const domains = new Set(none.filter((d) => d !== undefined)).size
  return domains >= Math.min(2, engine.config.quorum.domains)
}

/** 0 (old for every node) where the caller names the read's block by hash, else undefined. */
const byHashAt = (c: Call, pinned: Pinned) => {
  const at = c.policy.blockParam === undefined ? undefined : pinned.params[c.policy.blockParam]
  return isHash(at) || (typeof at === 'object' && at !== null && 'blockHash' in at) ? 0 : undefined
}

/** The sources `c` may be asked by their routes: a `named` method only of those naming it. */
const asks =
  (c: Call) =>
  ({ source }: SourceState): boolean =>
    c.policy.named
      ? names(source.config.methods, c.method)
      : serves(source.config.methods, c.method)

/**
 * Questions about the chain itself that only some reads ask (`safe` and `finalized`, a receipt
 * beside a "not yet"): their code loads with the first one.
 */
const agreedChain = () => import('./agreedChain.ts')

/** `eth_getTransactionCount` of `pending`: settled by `pendingNonce`. */
const isPendingNonce = (c: Call) =>
  c.method === 'eth_getTransactionCount' &&
  c.policy.blockParam !== undefined &&
  c.params[c.policy.blockParam] === 'pending'

/**
 * Nodes' pending nonces differ while a transaction spreads: with no agreement, the agreed (or
 * proven) latest nonce is the answer, the floor no pending nonce can be below.
 */
async function pendingNonce(engine: Engine, c: Call, pinned: Pinned): Promise<Answer> {
  const pending = await agreeOn(engine, c, pinned).catch((error: unknown) => {
    if (!(error instanceof QuorumError)) throw error
  })
  // Nor below the nonce at a block the caller was shown: two lagging domains agreed on the
  // pending nonce its own mined transaction had used (reviewOfSession39j).
  if (pending && !engine.head.shownAbove()) return pending
  const latest = await engine.request(c.method, [c.params[0], 'latest'])
  if (pending && BigInt(pending.result as string) >= BigInt(latest.result as string)) return pending
  return {
    result: latest.result,
    meta: { ...latest.meta, method: c.method, ms: Date.now() - c.started },
  }
}

/** A read settled by fan-out: agreed by the quorum, or checked alone; then labelled. */
async function agreeOn(engine: Engine, c: Call, pinned: Pinned): Promise<Answer> {
  const { config, pool, head, events } = engine
  const { method } = c
  // Untrusted sources only where an answer can be checked alone (a block by its hash).
  const checkedAlone = c.policy.class === 'verified'
  const routed = engine.candidatesFor(pinned.headDependent, checkedAlone, method)
  const { force } = routed
  const candidates = routed.candidates.filter(asks(c))
  const reserve = routed.reserve?.filter(asks(c))
  const { need, degraded } = engine.needFor(candidates, method)
  const single = c.policy.class === 'single'
  const rules = await checkAnswer(method, pinned.params, pinned.expectedHash, async (r, hash) =>
    (await agreedChain()).receiptStands(engine, r, hash),
  )
  const verifying = single
    ? undefined
    : verifyingCall(
        rules,
        (s, signal) => pool.attempt(s, method, pinned.params, signal),
        (s, why) => pool.markLying(s, `${method}: ${why}`),
      )
  const request: FanOutRequest = {
    method,
    params: pinned.params,
    candidates,
    need: single ? { domains: 1, sources: 1 } : need,
    check: rules.check,
    standsAlone: single ? () => true : rules.standsAlone,
    key: rules.key,
    pending: rules.pending,
    callersError: (e) => isCallersError(method, e),
    degrade: config.onQuorumLoss === 'degrade',
    deadline: c.deadline,
    force,
  }
  if (reserve) request.reserve = reserve
  if (pinned.block) request.pinnedAt = pinned.block.number
  // A block of the caller's: by number (`earliest` is 0), or by a hash, whose height is not
  // known here: taken as old (reviewOfSession38f).
  else request.block = blockOfRead(pinned.params, c.policy.blockParam) ?? byHashAt(c, pinned)
  if (rules.beatsNotYet) request.beatsNotYet = rules.beatsNotYet
  if (verifying) request.call = verifying
  // An answer that can verify alone needs one source first; hedging adds more if it is slow.
  if (single || (c.policy.class === 'verified' && pinned.expectedHash)) request.initial = 1
  const result = await fanOut(engine.fan, request)
  const verified = !single && result.sources.length === 1 && rules.standsAlone?.(result.value)
  // A read pinned to a head that no second domain confirmed is no better than that domain,
  // whether that head is still the head (and not overtaken) when the read settles or not.
  const at = pinned.expectedHash
  const unconfirmed =
    !!at &&
    ((!head.confirmed() && at === head.peek()?.hash) ||
      (pinned.tracked !== undefined && !head.holds(at, pinned.tracked)))
  const lost =
    !single && (unconfirmed || !!pinned.degraded || (!verified && (degraded || result.degraded)))
  if (lost) events.emit('quorumLoss', { method, domains: result.domains })
  if (result.error) {
    if (lost && result.error instanceof RpcResponseError) result.error.degraded = true
    throw result.error
  }
  return {
    result: result.value,
    meta: c.meta({
      consistency: single ? 'single' : lost ? 'degraded' : verified ? 'verified' : 'agreed',
      sources: result.sources,
      domains: result.domains,
      attempts: result.attempts,
      ...(pinned.block ? { block: pinned.block } : {}),
    }),
  }
}
