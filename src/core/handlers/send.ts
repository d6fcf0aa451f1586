/**
 * `eth_sendRawTransaction` and its variants: to every domain (broadcast.ts; both load with the
 * first send: a dApp that only reads never carries them). A synchronous send answers with the
 * receipt the domains agree on (or prove), never the sender's own.
 */

import { RpcResponseError } from '../../shared/errors.ts'
import { serves } from '../../shared/route.ts'
import { broadcast, hashOf } from '../broadcast.ts'
import type { Answer, Call, Engine, Handler } from '../engine.ts'
import type { SourceState } from '../sourceState.ts'
import { receiptOf } from './agreedChain.ts'

export const send: Handler = async (engine, c) => {
  const { method, params, started, deadline } = c
  engine.budget.deposit()
  // A synchronous send's wait (its second parameter) is outlast's own: nodes take none alike
  // (anvil refuses any), and each waits its own default, which may be shorter.
  const until = Math.min(deadline, started + waitOf(params[1]))
  const receipt = (r: Answer) => ({
    result: r.result,
    meta: { ...r.meta, method, policy: 'broadcast' as const },
  })
  let sent: Sent
  try {
    sent = await sendToAll(engine, c)
  } catch (error) {
    // Refused, yet a node answered its receipt: one domain's "insufficient funds" beside another's
    // receipt is no failed send once the receipt read stands (placed by the agreed chain's body
    // where one domain alone has it): one read, a second at most. Mined: the receipt, not a
    // refusal inviting a second signature.
    const r =
      method === SYNC &&
      (await hashOf(params[0])
        .then((h) => receiptOf(engine, h, until, true))
        .catch(() => undefined))
    if (r) return receipt(r)
    throw error
  }
  if (method === SYNC) return receipt(await receiptOf(engine, sent.hash, until))
  const { hash, accepted, passedOn, targets } = sent
  const domains = [
    ...new Set(targets.filter((s) => accepted.includes(s.name)).map((s) => s.domain)),
  ]
  // Only passed on (gossip): no domain has judged it yet.
  if (accepted.length === 0)
    return { result: hash, meta: c.meta({ consistency: 'degraded', sources: passedOn, domains }) }
  // The hash is computed here; that the transaction reached a node is the sources' word: one
  // domain's alone (the others out, or silent) is a lone word, told as such.
  const alone = domains.length < Math.min(2, engine.config.quorum.domains)
  if (alone) engine.events.emit('quorumLoss', { method, domains })
  const consistency = alone ? 'degraded' : 'verified'
  return { result: hash, meta: c.meta({ consistency, sources: accepted, domains }) }
}

const SYNC = 'eth_sendRawTransactionSync'

type Sent = Awaited<ReturnType<typeof broadcast>> & { targets: readonly SourceState[] }

/**
 * The broadcast to every source the send may go to: the private routes alone where sources
 * name transactions in their route (then the public ones, if every private route failed and
 * the app said `fallback`). A node without the synchronous send takes the transaction as
 * eth_sendRawTransaction (`withoutSync`): outlast awaits the receipt itself either way.
 */
async function sendToAll(engine: Engine, { method, params, deadline }: Call): Promise<Sent> {
  const { pool, events, redact, config } = engine
  // Not untrusted sources: their "accepted" would count for nothing, and a p2p source publishes
  // the transaction to its peers' gossip anyway. Not sources whose route leaves it out.
  const routed = pool.states.filter(
    (s) => s.chain !== 'mismatch' && !s.untrusted && serves(s.source.config.methods, method),
  )
  const named = (s: SourceState) => {
    const include = s.source.config.methods?.include ?? []
    return include.includes(method) || include.includes('eth_sendRawTransaction')
  }
  const privateRoutes = routed.filter(named)
  const attempt = (s: SourceState, signal: AbortSignal) =>
    method === SYNC
      ? pool.attempt(s, method, [params[0]], signal).catch((error: unknown) => {
          if (!withoutSync(error)) throw error
          return pool.attempt(s, 'eth_sendRawTransaction', [params[0]], signal)
        })
      : pool.attempt(s, method, params, signal)
  const to = async (targets: SourceState[]): Promise<Sent> => ({
    ...(await broadcast(
      params[0],
      targets,
      attempt,
      deadline,
      (o) => events.emit('broadcast', o.reason ? { ...o, reason: redact(o.reason) } : o),
      (s, hash, signal) => pool.attempt(s, 'eth_getTransactionByHash', [hash], signal),
    )),
    targets,
  })
  if (privateRoutes.length === 0) return to(routed)
  try {
    return await to(privateRoutes)
  } catch (error) {
    const rest = routed.filter((s) => !named(s))
    if (config.privateTransactions !== 'fallback' || !rest.length) throw error
    return to(rest)
  }
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
