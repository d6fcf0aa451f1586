/** Fee figures (`eth_gasPrice`…): the median of several domains (median.ts, loaded on first use). */
import type { Handler } from '../engine.ts'

export const fees: Handler = async (engine, { method, params, deadline, meta }) => {
  const { candidates, reserve } = engine.candidatesFor(false)
  const { medianAnswer } = await import('../median.ts')
  const m = await medianAnswer({
    candidates,
    ...(reserve ? { reserve } : {}),
    attempt: (s, signal) => engine.pool.attempt(s, method, params, signal),
    method,
    deadline,
    quorum: Math.min(2, engine.config.quorum.domains),
  })
  const domains = [...new Set(m.sources.map((s) => s.domain))]
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
