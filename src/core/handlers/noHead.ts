import { DeadlineError } from '../../shared/errors.ts'
import type { Engine } from '../engine.ts'

/** No head agreed before the deadline: each source's last error says why. */
export const noHead = ({ pool }: Engine, method: string) =>
  new DeadlineError(`No agreed chain head for ${method} before the deadline.`, {
    metaMessages: pool.states.map((s) => `- ${s.name}: ${s.lastError ?? 'no answer yet'}`),
  })
