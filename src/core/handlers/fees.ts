/** Fee figures (`eth_gasPrice`…): the median of several domains (loaded on first use, with median.ts). */
import { QuorumLostError } from '../../shared/errors.ts'
import type { Handler } from '../engine.ts'
import { medianAnswer } from '../median.ts'

export const fees: Handler = async (engine, { method, params, deadline, meta }) => {
  const { candidates, reserve } = engine.candidatesFor(false, false, method)
  const m = await medianAnswer({
    candidates,
    ...(reserve ? { reserve } : {}),
    attempt: (s, signal) => engine.pool.attempt(s, method, params, signal),
    method,
    deadline,
    quorum: engine.config.quorum.domains,
  })
  const domains = [...new Set(m.sources.map((s) => s.domain))]
  if (m.degraded && engine.config.onQuorumLoss === 'fail')
    throw new QuorumLostError(
      `Quorum lost for ${method}: only ${domains.join(', ')} answered and onQuorumLoss is 'fail'.`,
    )
  if (m.degraded) engine.events.emit('quorumLoss', { method, domains })
  return {
    result: m.value,
    meta: meta({
      consistency: m.degraded ? 'degraded' : 'median',
      sources: m.sources.map((s) => s.name),
      domains,
      attempts: m.attempts,
    }),
  }
}
