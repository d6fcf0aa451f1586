/**
 * `eth_sendRawTransaction` and its variants: to every domain (broadcast.ts; both load with the
 * first send: a dApp that only reads never carries them). A synchronous send answers with the
 * receipt the domains agree on (or prove), never the sender's own.
 */

import { RpcResponseError } from '../../shared/errors.ts'
import { serves } from '../../shared/route.ts'
import type { Hex } from '../../shared/types.ts'
import { broadcast, hashOf } from '../broadcast.ts'
import type { Answer, Handler } from '../engine.ts'
import type { SourceState } from '../sourceState.ts'
import { receiptOf } from './agreedChain.ts'

export const send: Handler = async (engine, { method, params, started, deadline, meta }) => {
  const { pool, events, redact, config } = engine
  // A synchronous send's wait (its second parameter) is outlast's own, below: nodes take none
  // alike (anvil refuses any), and each waits its own default, which may be shorter. A node
  // without the method takes the transaction as eth_sendRawTransaction (`withoutSync`).
  const sync = method === 'eth_sendRawTransactionSync'
  engine.budget.deposit()
  // Not untrusted sources: their "accepted" would count for nothing, and a p2p source publishes
  // the transaction to its peers' gossip anyway. Not sources whose route leaves it out.
  const routed = pool.states.filter(
    (s) => s.chain !== 'mismatch' && !s.untrusted && serves(s.source.config.methods, method),
  )
  // Sources that name transactions in their route are private routes: the only ones used.
  const named = (s: SourceState) => {
    const include = s.source.config.methods?.include ?? []
    return include.includes(method) || include.includes('eth_sendRawTransaction')
  }
  const privateRoutes = routed.filter(named)
  const send = (targets: SourceState[]) =>
    broadcast(
      params[0],
      targets,
      (s, signal) =>
        sync
          ? pool.attempt(s, method, [params[0]], signal).catch((error: unknown) => {
              if (!withoutSync(error)) throw error
              return pool.attempt(s, 'eth_sendRawTransaction', [params[0]], signal)
            })
          : pool.attempt(s, method, params, signal),
      deadline,
      (o) => events.emit('broadcast', o.reason ? { ...o, reason: redact(o.reason) } : o),
      (s, hash, signal) => pool.attempt(s, 'eth_getTransactionByHash', [hash], signal),
    )
  let targets = privateRoutes.length > 0 ? privateRoutes : routed
  const until = Math.min(deadline, started + waitOf(params[1]))
  const receipt = (r: Answer) => ({
    result: r.result,
    meta: { ...r.meta, method, policy: 'broadcast' as const },
  })
  let sent: Awaited<ReturnType<typeof broadcast>>
  try {
    try {
      sent = await send(targets)
    } catch (error) {
      // Every private route failed: the public sources only if the app said so.
      const rest = routed.filter((s) => !named(s))
      if (privateRoutes.length === 0 || config.privateTransactions !== 'fallback' || !rest.length)
        throw error
      targets = rest
      sent = await send(rest)
    }
  } catch (error) {
    // Refused, yet a node answered its receipt: one domain's "insufficient funds" beside another's
    // receipt is no failed send once the receipt read stands (placed by the agreed chain's body
    // where one domain alone has it): one read, a second at most. Mined: the receipt, not a
    // refusal inviting a second signature.
    const r =
      sync &&
      (await hashOf(params[0])
        .then((h) => receiptOf(engine, h, until, true))
        .catch(() => undefined))
    if (r) return receipt(r)
    throw error
  }
  const { hash, accepted, passedOn } = sent
  if (sync) return receipt(await receiptOf(engine, hash as Hex, until))
  const domains = [
    ...new Set(targets.filter((s) => accepted.includes(s.name)).map((s) => s.domain)),
  ]
  // Only passed on (gossip): no domain has judged it yet.
  if (accepted.length === 0)
    return { result: hash, meta: meta({ consistency: 'degraded', sources: passedOn, domains }) }
  // The hash is computed here; that the transaction reached a node is the sources' word: one
  // domain's alone (the others out, or silent) is a lone word, told as such.
  const alone = domains.length < Math.min(2, config.quorum.domains)
  if (alone) events.emit('quorumLoss', { method, domains })
  const consistency = alone ? 'degraded' : 'verified'
  return { result: hash, meta: meta({ consistency, sources: accepted, domains }) }
}

/**
 * How long a synchronous send may wait for its receipt: EIP-7966's second parameter (ms, a
 * quantity or a number), if a positive one; else the request's deadline alone.
 */
function waitOf(param: unknown): number {
  const ms = typeof param === 'string' ? Number.parseInt(param, 16) : param
  return typeof ms === 'number' && ms > 0 ? ms : Number.POSITIVE_INFINITY
}

/** A node's "no such method" to eth_sendRawTransactionSync (EIP-7966 is new: most lack it). */
const withoutSync = (error: unknown) =>
  error instanceof RpcResponseError &&
  (error.code === -32601 ||
    /method.*(not (found|supported|available)|does not exist)|unsupported method/i.test(
      error.reason,
    ))
