import { plain } from '../shared/clip.ts'
import { AllSourcesFailedError, BaseError } from '../shared/errors.ts'
import { expectedLatency, type SourceState } from './sourceState.ts'

export type MedianResult = {
  value: string
  sources: SourceState[]
  attempts: number
  /** Fewer than two domains answered (only one was reachable). */
  degraded: boolean
}

export type MedianRequest = {
  /** Eligible sources, best first. */
  candidates: readonly SourceState[]
  /** Sources held back (open breaker, our own 429 backoff), asked when the candidates fail. */
  reserve?: readonly SourceState[]
  attempt(s: SourceState, signal: AbortSignal): Promise<unknown>
  method: string
  deadline: number
  /** Domains a figure needs to stand undegraded (`quorum.domains`, at most three). @default 2 */
  quorum?: number
}

/** Domains whose answers make a median: a third is waited for briefly once two answered. */
const DOMAINS = 3
/** A lone answer stands (degraded) once the others were silent this long, at least. */
const LONE_FLOOR = 1_000

/**
 * Fee figures differ a little from node to node: ask the best source of up to three domains,
 * replace those that fail, and return the median once at least two domains answered (the lower
 * of two: one source cannot raise a fee). A single domain's figure is returned only when no
 * second domain answers, and is flagged degraded.
 */
export function medianAnswer(req: MedianRequest): Promise<MedianResult> {
  const controller = new AbortController()
  const signal = AbortSignal.any([
    controller.signal,
    AbortSignal.timeout(Math.max(0, req.deadline - Date.now())),
  ])
  const started = Date.now()
  // At most the domains a median asks: one vote a domain.
  const quorum = Math.min(DOMAINS, req.quorum ?? 2)
  const answers: Figure[] = []
  const failures: { source: string; reason: string }[] = []
  const asked = new Set<SourceState>()
  const inflight = new Set<SourceState>()
  let pool = req.candidates
  let reserveUsed = false

  return new Promise<MedianResult>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined
    let done = false
    const finish = () => {
      if (done) return
      done = true
      clearTimeout(timer)
      controller.abort()
      if (answers.length === 0) return reject(new AllSourcesFailedError(req.method, failures))
      resolve(medianOf(answers, asked.size, quorum))
    }
    /** The best source of a domain nobody answered or was asked for yet; then the reserve. */
    const next = (): SourceState | undefined => {
      const s = unasked(pool, asked, answers, inflight)
      if (s || reserveUsed || !req.reserve?.length) return s
      reserveUsed = true
      pool = req.reserve
      return next()
    }
    const ask = () => {
      const s = next()
      if (!s) return false
      asked.add(s)
      inflight.add(s)
      req.attempt(s, signal).then(
        (v) => {
          inflight.delete(s)
          answers.push({ s, value: BigInt(v as string) })
          settle(s)
        },
        (e) => {
          inflight.delete(s)
          failures.push({ source: s.name, reason: plain(reasonOf(e)) })
          if (!done && !ask() && inflight.size === 0) finish()
        },
      )
      return true
    }
    const settle = (s: SourceState) => {
      if (done) return
      const n = domainsOf(answers)
      if (inflight.size === 0 || n >= DOMAINS) return finish()
      clearTimeout(timer)
      // Two close figures end the wait early only where two domains are the quorum.
      const took = n >= quorum && close(answers) ? Date.now() - started : Number.POSITIVE_INFINITY
      timer = setTimeout(() => wait(s), patience(n, inflight, s, took))
    }
    /** Patience over: two domains, short of a quorum of three, ask one more (a hedge). */
    const wait = (s: SourceState) => {
      if (done) return
      const n = domainsOf(answers)
      if (n >= quorum || n < 2 || !ask()) return finish()
      timer = setTimeout(() => wait(s), patience(n, inflight, s, Number.POSITIVE_INFINITY))
    }
    for (let i = 0; i < DOMAINS; i++) if (!ask()) break
    if (asked.size === 0) finish()
    signal.addEventListener('abort', () => finish(), { once: true })
  })
}

/** One source's figure. */
type Figure = { s: SourceState; value: bigint }

const domainsOf = (answers: readonly Figure[]) => new Set(answers.map((a) => a.s.domain)).size

const reasonOf = (e: unknown) => (e instanceof BaseError ? e.shortMessage : String(e))

/**
 * The median of the domains' figures (the lower of two): each domain's lowest figure is its one
 * vote, so a provider with two endpoints cannot outvote another domain.
 */
function medianOf(answers: Figure[], attempts: number, quorum: number): MedianResult {
  const votes = votesOf(answers)
  const mid = votes[Math.floor((votes.length - 1) / 2)]!
  return {
    value: `0x${mid.value.toString(16)}`,
    sources: answers.map((a) => a.s),
    attempts,
    degraded: domainsOf(answers) < quorum,
  }
}

/** Each domain's lowest figure, lowest first: one vote a domain (`answers` is sorted too). */
function votesOf(answers: Figure[]): Figure[] {
  answers.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
  const seen = new Set<string>()
  return answers.filter((a) => !seen.has(a.s.domain) && seen.add(a.s.domain))
}

/**
 * The best source in `pool` of a domain not asked yet, else of one whose sources all failed (a
 * domain already answering, or still being asked, is not asked twice).
 */
function unasked(
  pool: readonly SourceState[],
  asked: ReadonlySet<SourceState>,
  answers: readonly Figure[],
  inflight: ReadonlySet<SourceState>,
): SourceState | undefined {
  const covered = new Set([...asked].map((s) => s.domain))
  const fresh = pool.find((s) => !asked.has(s) && !covered.has(s.domain))
  const busy = new Set([...answers.map((a) => a.s), ...inflight].map((s) => s.domain))
  const again = pool.find((s) => !asked.has(s) && !busy.has(s.domain))
  return fresh ?? again
}

/**
 * Two domains' figures within 1/64 of each other (each domain's lowest; honest nodes' spread):
 * a third can move the median only between them. Further apart, one may be a liar's low
 * figure, and the third is what outvotes it.
 */
function close(answers: Figure[]): boolean {
  const [low, high, ...more] = votesOf(answers)
  return !!low && !!high && more.length === 0 && high.value * 64n <= low.value * 65n
}

/**
 * How long to wait for the sources still asked once `s` answered and `domains` domains have;
 * `took`: how long two figures that are `close` took (else infinite).
 */
function patience(
  domains: number,
  inflight: ReadonlySet<SourceState>,
  s: SourceState,
  took: number,
): number {
  // Two domains: the third breaks a tie between them, so it gets a couple of its round trips;
  // where their figures are close, no longer than the two took (a domain that answers
  // everything late, its own latency high, must not hold every fee read up by a second). One:
  // wait for a second as long as a silent source takes to be presumed lost.
  const late = Math.max(...[...inflight].map((p) => expectedLatency(p, 250)))
  return domains >= 2
    ? Math.min(LONE_FLOOR, Math.max(20, 2 * late), Math.max(20, took))
    : Math.max(LONE_FLOOR, 4 * Math.max(late, expectedLatency(s, 250)))
}
