/**
 * `eth_sendRawTransaction` and its variants: to every domain (broadcast.ts; both load with the
 * first send: a dApp that only reads never carries them). A synchronous send answers with the
 * receipt the domains agree on (or prove), never the sender's own.
 */

import type { Hex } from '../../shared/types.ts'
import { broadcast } from '../broadcast.ts'
import type { Handler } from '../engine.ts'
import { receiptOf } from './agreedChain.ts'

export const send: Handler = async (engine, { method, params, deadline, meta }) => {
  const { pool, events, redact } = engine
  engine.budget.deposit()
  // Not untrusted sources: their "accepted" would count for nothing, and a p2p source publishes
  // the transaction to its peers' gossip anyway.
  const targets = pool.states.filter((s) => s.chain !== 'mismatch' && !s.untrusted)
  const { hash, accepted } = await broadcast(
    params[0],
    targets,
    (s, signal) => pool.attempt(s, method, params, signal),
    deadline,
    (o) => events.emit('broadcast', o.reason ? { ...o, reason: redact(o.reason) } : o),
    (s, hash, signal) => pool.attempt(s, 'eth_getTransactionByHash', [hash], signal),
  )
  if (method === 'eth_sendRawTransactionSync') {
    const receipt = await receiptOf(engine, hash as Hex, deadline)
    return { result: receipt.result, meta: { ...receipt.meta, method, policy: 'broadcast' } }
  }
  const domains = [
    ...new Set(targets.filter((s) => accepted.includes(s.name)).map((s) => s.domain)),
  ]
  return { result: hash, meta: meta({ consistency: 'verified', sources: accepted, domains }) }
}
