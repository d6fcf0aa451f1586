import { DeadlineError } from '../../shared/errors.ts'
import type { Call, Engine } from '../engine.ts'

/**
 * No head agreed before the deadline: each source's last error says why. As good as
 * disconnected (4900) only when no source answered anything since the request began; sources
 * that answered but agreed on no head are no disconnection (-32603): a wallet shows 4900 as an
 * outage.
 */
export const noHead = (
  { pool }: Pick<Engine, 'pool'>,
  { method, started }: Pick<Call, 'method' | 'started'>,
) =>
  new DeadlineError(`No agreed chain head for ${method} before the deadline.`, {
    silent: !pool.states.some((s) => s.lastAnswerAt >= started),
    metaMessages: pool.states.map((s) => `- ${s.name}: ${s.lastError ?? 'no answer yet'}`),
  })
