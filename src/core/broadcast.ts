import { clip } from '../shared/clip.ts'
import {
  AllSourcesFailedError,
  BaseError,
  RpcResponseError,
  SourceError,
} from '../shared/errors.ts'
import type { Hex } from '../shared/types.ts'
import { expectedLatency, type SourceState } from './sourceState.ts'

export type BroadcastOutcome = {
  hash: Hex
  source: string
  /** `passed-on`: the source could not answer but passed it on (gossip); nothing judged it. */
  outcome: 'accepted' | 'known' | 'rejected' | 'failed' | 'passed-on'
  reason?: string
}

const KNOWN =
  /already known|known transaction|already imported|already exists|alreadyknown|already in (the )?(mem)?pool|tx already/i

/** JSON-RPC "Internal error": the node failed, it did not judge the transaction. */
const INTERNAL_ERROR = -32603

/** A second domain's word is waited for this long at least, once one domain accepted. */
const SECOND_FLOOR = 1_000
/** How long after a contradicted acceptance the other domains are asked again whether they know it. */
const KNOWN_RECHECK = 500

/**
 * `eth_sendRawTransaction`: send to every target at once, compute the hash locally (for a blob
 * transaction in network form, the hash of its body: `rawTransactionHash`), and return it once
 * two failure domains accepted the transaction or already have it. One domain's acceptance is
 * weak evidence (a source can answer the hash without sending anything): it stands when the
 * other domains are silent or failing, and when another domain rejects the transaction it
 * stands only if a second domain turns out to know it (`lookup`); else the rejection is the
 * answer. A rejection that every answering source gives (nonce too low) is returned as is. When
 * no domain accepted or rejected it and a source passed it on (p2p gossip), the hash is the
 * answer: sent, not yet judged (`accepted` empty).
 */
export async function broadcast(
  raw: unknown,
  targets: readonly SourceState[],
  send: (s: SourceState, signal: AbortSignal) => Promise<unknown>,
  deadline: number,
  report: (o: BroadcastOutcome) => void,
  lookup?: Lookup,
): Promise<Sent> {
  const hash = await hashOf(raw)
  if (targets.length === 0) throw new AllSourcesFailedError('eth_sendRawTransaction', [])
  return new Promise((resolve, reject) => {
    const b = new Broadcast(hash, targets, deadline, report, lookup, (error) =>
      error ? reject(error) : resolve(b.sent()),
    )
    for (const s of targets)
      send(s, b.signal).then(
        (answer) => b.heard(s, answerVerdict(answer, hash)),
        (error: unknown) => b.heard(s, errorVerdict(error), error),
      )
  })
}

type Sent = { hash: Hex; accepted: string[]; passedOn: string[] }
/** Asks a source for a transaction by its hash. */
type Lookup = (s: SourceState, hash: Hex, signal: AbortSignal) => Promise<unknown>

/** One broadcast's state: what it heard from whom, and when it is settled (`#finish`, once). */
class Broadcast {
  readonly signal: AbortSignal
  readonly #hash: Hex
  readonly #targets: readonly SourceState[]
  readonly #report: (o: BroadcastOutcome) => void
  readonly #lookup: Lookup | undefined
  /** Sent (no error), or refused with `error`. */
  readonly #done: (error?: Error) => void
  readonly #h: Heard
  readonly #domains: number
  #over = false
  /** The silent domains had their patience (`#unaccepted`). */
  #waited = false
  #patience: ReturnType<typeof setTimeout> | undefined

  constructor(
    hash: Hex,
    targets: readonly SourceState[],
    deadline: number,
    report: (o: BroadcastOutcome) => void,
    lookup: Lookup | undefined,
    done: (error?: Error) => void,
  ) {
    this.#hash = hash
    this.#targets = targets
    this.#report = report
    this.#lookup = lookup
    this.#done = done
    this.#h = heardFrom(targets)
    this.#domains = domainsOf(targets).size
    this.signal = AbortSignal.timeout(Math.max(0, Math.ceil(deadline - Date.now())))
    this.signal.addEventListener('abort', () => void this.#settle(), { once: true })
  }

  sent(): Sent {
    const { accepted, passedOn } = this.#h
    return {
      hash: this.#hash,
      accepted: accepted.map((s) => s.name),
      passedOn: passedOn.map((s) => s.name),
    }
  }

  /** A source's answer or error, counted among the failures and rejections it is. */
  heard(s: SourceState, o: Verdict, error?: unknown) {
    const { accepted, silent } = this.#h
    note(this.#h, s, o, error)
    this.#report({ hash: this.#hash, source: s.name, ...o })
    if (this.#over) return
    if (o.outcome === 'accepted' || o.outcome === 'known') accepted.push(s)
    const mine = domainsOf(accepted)
    // Two domains know it, or there is no other domain to ask: sent.
    if (mine.size >= 2 || (mine.size === 1 && this.#domains === 1)) return this.#finish()
    if (silent.size === 0 || (mine.size === 0 && this.#refusedByTwo())) return void this.#settle()
    // One domain accepted: the others get a few of their round trips to say otherwise.
    if (mine.size === 1 && !this.#patience)
      this.#patience = setTimeout(() => void this.#settle(), waitFor(silent))
  }

  /** Sent, or refused with `error`: once. */
  #finish(error?: Error) {
    if (this.#over) return
    this.#over = true
    clearTimeout(this.#patience)
    this.#done(error)
  }

  /** Domains that make a word more than one domain's: two (one where there is one). */
  #need(): number {
    return Math.min(2, this.#domains)
  }

  /** Refused by two domains (one where there is one). */
  #refusedByTwo(): boolean {
    return domainsOf(this.#h.rejections.map((r) => r.s)).size >= this.#need()
  }

  /** Those of `among` that know the transaction (`knownTo`). */
  #knownTo(among: readonly SourceState[], waits?: readonly number[]) {
    return knownTo(among, this.#hash, this.signal, () => this.#over, this.#lookup, waits)
  }

  /** Everyone who will answer has (or the rest stayed silent past the patience). */
  async #settle(): Promise<void> {
    if (this.#over) return
    const { accepted, rejections, failures } = this.#h
    const mine = domainsOf(accepted)
    if (mine.size === 0) return this.#unaccepted()
    const against = rejections.filter((r) => !mine.has(r.s.domain))
    if (against.length === 0) return this.#finish() // the other domains are out: an outage
    // Contradicted: sent only if a second domain knows the transaction.
    const knownBy = await this.#knownTo(this.#targets.filter((s) => !mine.has(s.domain)))
    if (knownBy.length === 0) return this.#finish(rejectionOf(against, failures, this.#need()))
    accepted.push(...knownBy)
    this.#finish()
  }

  /** Settles a send no domain accepted. */
  async #unaccepted(): Promise<void> {
    const { accepted, passedOn, rejections, failures, silent } = this.#h
    // Refused ("nonce too low") by nodes that hold it: mined or pooled before it reached them (a
    // source relayed it first and answered nothing, or hangs). Sent, as two domains know it;
    // asked as soon as two domains refused, not after the silent ones' deadline.
    if (this.#refusedByTwo()) {
      const knownBy = await this.#knownTo(
        rejections.map((r) => r.s),
        [0],
      )
      if (domainsOf(knownBy).size >= Math.min(2, this.#domains)) {
        accepted.push(...knownBy)
        return this.#finish()
      }
      // Accepted while they were asked: the acceptance settles it (`heard` settles again).
      if (accepted.length > 0) return
    }
    // Wait for the others, up to the deadline; refused by two domains, a few of their round
    // trips: a blackholed domain held two domains' "nonce too low" for its whole attempt
    // timeout (reviewOfSession40d 2). Accepting now, it could not outweigh them (`#settle`).
    if (silent.size > 0 && !this.signal.aborted && !this.#waited) {
      if (this.#refusedByTwo())
        this.#patience ??= setTimeout(() => {
          this.#waited = true
          void this.#settle()
        }, waitFor(silent))
      return
    }
    for (const x of silent)
      failures.push({ source: x.name, reason: 'no answer before the deadline' })
    silent.clear()
    // Out there unjudged (gossip took it) and no one said no: its hash, not an error.
    if (rejections.length === 0 && passedOn.length > 0) return this.#finish()
    this.#finish(rejectionOf(rejections, failures, this.#need()))
  }
}

type Verdict = Omit<BroadcastOutcome, 'hash' | 'source'>
type Rejection = { s: SourceState; error: RpcResponseError }
type Failure = { source: string; reason: string }

const domainsOf = (sources: readonly SourceState[]) => new Set(sources.map((s) => s.domain))

/** What the broadcast has heard so far, and from whom not yet (`silent`). */
type Heard = {
  accepted: SourceState[]
  passedOn: SourceState[]
  rejections: Rejection[]
  failures: Failure[]
  silent: Set<SourceState>
}

const heardFrom = (targets: readonly SourceState[]): Heard => ({
  accepted: [],
  passedOn: [],
  rejections: [],
  failures: [],
  silent: new Set(targets),
})

/** Counts a source's verdict among the failures, rejections and passed-on it is; it spoke. */
function note(h: Omit<Heard, 'accepted'>, s: SourceState, o: Verdict, error?: unknown): void {
  if (o.outcome === 'failed' || o.outcome === 'rejected' || o.outcome === 'passed-on')
    h.failures.push({ source: s.name, reason: o.reason as string })
  if (o.outcome === 'passed-on') h.passedOn.push(s)
  if (o.outcome === 'rejected') h.rejections.push({ s, error: error as RpcResponseError })
  h.silent.delete(s)
}

/** The transaction's hash, computed here; a blob transaction's from its body. */
export async function hashOf(raw: unknown): Promise<Hex> {
  if (typeof raw !== 'string' || !/^0x([0-9a-fA-F]{2})+$/.test(raw))
    throw new RpcResponseError('outlast', {
      code: -32602,
      message: 'eth_sendRawTransaction needs one hex string: the signed transaction',
    })
  try {
    // Decoded first (canonical, no trailing bytes); its decoder loads with the first send.
    return (await import('../verify/rawTransaction.ts')).rawTransactionHash(raw as Hex)
  } catch (error) {
    const message = error instanceof BaseError ? error.shortMessage : String(error)
    throw new RpcResponseError('outlast', { code: -32602, message })
  }
}

/** What a source's answer says: accepted if it names the hash (or a receipt does). */
function answerVerdict(answer: unknown, hash: Hex): Verdict {
  // A hash, or (a synchronous send) a receipt naming it.
  const named =
    typeof answer === 'string'
      ? answer
      : (answer as { transactionHash?: unknown } | null)?.transactionHash
  if (typeof named === 'string' && named.toLowerCase() === hash) return { outcome: 'accepted' }
  // Quoted as far as a hash goes (a source's key it echoes there is scrubbed from what is shown).
  const what = typeof named === 'string' ? `hash ${clip(named, 67)}` : 'no transaction hash'
  return { outcome: 'failed', reason: `answered ${what}, computed ${hash}` }
}

/** What a source's error says: it knows the transaction, rejects it, or failed itself. */
function errorVerdict(error: unknown): Verdict {
  const message = error instanceof BaseError ? error.shortMessage : String(error)
  if (error instanceof RpcResponseError && KNOWN.test(message))
    return { outcome: 'known', reason: message }
  const reason = error instanceof SourceError ? error.reason : message
  if (error instanceof SourceError && error.kind === 'passed-on')
    return { outcome: 'passed-on', reason }
  // A node's verdict on the transaction (nonce too low) is a rejection; its own failure
  // (-32603, "internal error") says nothing about the transaction.
  if (error instanceof RpcResponseError && error.kind === 'rpc' && error.code !== INTERNAL_ERROR)
    return { outcome: 'rejected', reason }
  return { outcome: 'failed', reason }
}

/**
 * The rejections from domains that did not accept: their one reason; or, where they differ, the
 * one that more trusted domains than any other give, two at least (one domain's other words do
 * not hide two domains' "nonce too low"); else every source's.
 */
function rejectionOf(among: readonly Rejection[], failures: Failure[], need: number): Error {
  const domains = (e: RpcResponseError) =>
    new Set(among.filter((r) => !r.s.untrusted && sameRejection(r.error, e)).map((r) => r.s.domain))
      .size
  const first = among[0]?.error
  if (first && among.every((r) => sameRejection(r.error, first))) {
    // One domain's alone (the others out): told as such, as a read's is (reviewOfSession40h 2).
    if (domains(first) < need) first.degraded = true
    return first
  }
  const ranked = among.map((r) => ({ error: r.error, domains: domains(r.error) }))
  ranked.sort((a, b) => b.domains - a.domains)
  const [best, next] = ranked.filter((r, i) => i === 0 || !sameRejection(r.error, ranked[0]!.error))
  if (best && best.domains >= 2 && best.domains > (next?.domains ?? 0)) return best.error
  return new AllSourcesFailedError('eth_sendRawTransaction', failures)
}

/** How long the silent sources get, once one domain accepted, to say otherwise. */
function waitFor(silent: ReadonlySet<SourceState>): number {
  const late = Math.max(...[...silent].map((x) => expectedLatency(x, 250)))
  return Math.max(SECOND_FLOOR, 4 * late)
}

/**
 * Those of `others` that know the transaction: asked after each of `waits` (at once, then
 * again `KNOWN_RECHECK` ms later); none once `over()` or past the deadline.
 */
async function knownTo(
  others: readonly SourceState[],
  hash: Hex,
  signal: AbortSignal,
  over: () => boolean,
  lookup?: (s: SourceState, hash: Hex, signal: AbortSignal) => Promise<unknown>,
  waits: readonly number[] = [0, KNOWN_RECHECK],
): Promise<SourceState[]> {
  for (const wait of waits) {
    if (wait) await new Promise((r) => setTimeout(r, wait))
    if (over() || signal.aborted) break
    const seen = await Promise.all(
      others.map((s) =>
        (lookup?.(s, hash, signal) ?? Promise.resolve(null)).then(
          (tx) => (tx as { hash?: string } | null)?.hash?.toLowerCase() === hash,
          () => false,
        ),
      ),
    )
    const knownBy = others.filter((_, i) => seen[i])
    if (knownBy.length > 0) return knownBy
  }
  return []
}

/** Two nodes reject for the same reason when code and message agree (ignoring the source name). */
function sameRejection(a: RpcResponseError, b: RpcResponseError): boolean {
  const strip = (e: RpcResponseError) => e.reason.toLowerCase()
  return a.code === b.code && strip(a) === strip(b)
}
