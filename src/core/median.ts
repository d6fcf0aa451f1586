import { AllSourcesFailedError, BaseError } from './errors.ts'
import { expectedLatency, type SourceState } from './sourceState.ts'

export type MedianResult = { value: string; sources: SourceState[]; attempts: number }

/**
 * Fee figures differ a little from node to node: ask the best source of up to three domains,
 * wait briefly after the first answer for the others, and return the median.
 */
export async function medianAnswer(
  candidates: readonly SourceState[],
  attempt: (s: SourceState, signal: AbortSignal) => Promise<unknown>,
  method: string,
  deadline: number,
): Promise<MedianResult> {
  const picks: SourceState[] = []
  for (const s of candidates)
    if (picks.length < 3 && !picks.some((p) => p.domain === s.domain)) picks.push(s)
  const controller = new AbortController()
  const signal = AbortSignal.any([
    controller.signal,
    AbortSignal.timeout(Math.max(0, deadline - Date.now())),
  ])
  const answers: { s: SourceState; value: bigint }[] = []
  const failures: { source: string; reason: string }[] = []
  await new Promise<void>((resolve) => {
    let pending = picks.length
    if (!pending) return resolve()
    for (const s of picks)
      attempt(s, signal)
        .then((v) => {
          answers.push({ s, value: BigInt(v as string) })
          if (answers.length === 1) setTimeout(resolve, Math.max(20, expectedLatency(s, 100)))
        })
        .catch((e) =>
          failures.push({
            source: s.name,
            reason: e instanceof BaseError ? e.shortMessage : String(e),
          }),
        )
        .finally(() => {
          if (--pending === 0) resolve()
        })
  })
  controller.abort()
  if (answers.length === 0) throw new AllSourcesFailedError(method, failures)
  answers.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
  const mid = answers[Math.floor((answers.length - 1) / 2)]!
  return {
    value: `0x${mid.value.toString(16)}`,
    sources: answers.map((a) => a.s),
    attempts: picks.length,
  }
}
