/**
 * One source's `eth_getLogs`, within that source's limits: split before it is sent when the
 * source's range limit is known, split again when the source refuses a part (logRanges.ts), the
 * parts joined in block order. The source's answer is the joined list.
 */
import { SourceError } from '../shared/errors.ts'
import { type LogRange, MAX_LOG_PARTS, partsOf, rangeOf, spanHint, withRange } from './logRanges.ts'
import type { SourceState } from './sourceState.ts'

/** Parts of one source's query in flight at once. */
const PARALLEL = 3

export async function logsWithin(
  s: SourceState,
  filter: unknown,
  ask: (filter: unknown) => Promise<unknown>,
): Promise<unknown> {
  const whole = rangeOf(filter)
  if (!whole) return ask(filter)
  let left = MAX_LOG_PARTS
  const span = (r: LogRange) => r.to - r.from + 1

  const part = async (r: LogRange, isWhole: boolean): Promise<unknown> => {
    if (s.logSpan !== undefined && span(r) > s.logSpan) return split(r, s.logSpan)
    left--
    try {
      const logs = await ask(isWhole ? filter : withRange(filter as object, r))
      if (!isWhole && !Array.isArray(logs))
        throw new SourceError(
          s.name,
          'body',
          `eth_getLogs answer for blocks ${r.from}-${r.to} is not a list`,
        )
      return logs
    } catch (error) {
      const hint = spanHint(error, span(r))
      if (!hint) throw error
      if (hint.learned) s.logSpan = Math.min(s.logSpan ?? hint.span, hint.span)
      return split(r, hint.span)
    }
  }

  const split = async (r: LogRange, size: number): Promise<unknown[]> => {
    const parts = partsOf(r, size)
    if (parts.length > left)
      throw new SourceError(
        s.name,
        'unserved',
        `eth_getLogs over ${span(whole)} blocks needs more than ${MAX_LOG_PARTS} queries here (at most ${size} blocks each); ask for a narrower range`,
      )
    const answers: unknown[] = new Array(parts.length)
    let next = 0
    let failed = false
    const worker = async () => {
      while (next < parts.length && !failed) {
        const i = next++
        try {
          answers[i] = await part(parts[i] as LogRange, false)
        } catch (error) {
          failed = true // the other workers send nothing more
          throw error
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(PARALLEL, parts.length) }, worker))
    return (answers as unknown[][]).flat()
  }

  return part(whole, true)
}
