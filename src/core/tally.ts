/**
 * The answer tally of one fan-out (fanOut.ts): what each answer counts as, and the groups of
 * sources that gave the same one. No timers and no I/O: the driver feeds it answers and asks it
 * whether one is agreed.
 */

import { plain } from '../shared/clip.ts'
import { RpcResponseError, SourceError } from '../shared/errors.ts'
import { canonical } from './canonical.ts'
import {
  chainData,
  halted,
  isNodeAnswer,
  KIND_CODES,
  KINDS,
  kindOf,
  nodeErrorKey,
  OUT_OF_GAS,
  revertData,
  wordsOf,
} from './nodeErrors.ts'
import { isUnknownBlock, namesNoBlock, notYetImported, oldFor } from './pruned.ts'
import type { SourceState } from './sourceState.ts'

/**
 * How many sources, and in how many failure domains, must give one answer. `uncounted`: domains
 * left out of a quorum reduced for them (on probation or silent, quorumNeed.ts `needFor`); each
 * that answers after all counts again, up to `full` domains: its answer alone is no quorum.
 */
export type Need = {
  sources: number
  domains: number
  uncounted?: readonly string[]
  full?: number
}

/** Sources that gave one answer (or one node error, a revert), and their domains. */
export type Group = {
  value: unknown
  error?: RpcResponseError
  sources: SourceState[]
  domains: Set<string>
}

/** One source's answer as events and errors show it. */
export type ShownAnswer = { source: string; domain: string; answer: string }

/** The parts of a request that judge an answer (see `FanOutRequest`). */
export type AnswerRules = {
  method: string
  check?(result: unknown, s: SourceState): string | undefined
  standsAlone?(result: unknown): boolean
  key?(result: unknown): string
  callersError?(error: unknown): boolean
  /** The height of the agreed chain's block the read is pinned to (`latest` made a block). */
  pinnedAt?: number
  /** The block a read names by number (pruned.ts `blockOfRead`): old for a node, history. */
  block?: number | undefined
  params?: readonly unknown[]
}

/** What one attempt's outcome counts as. */
export type Verdict =
  /** An answer, counted under its agreement key. */
  | { kind: 'answer'; key: string }
  /** An answer proven locally: it needs no agreement. */
  | { kind: 'alone' }
  /**
   * A node error that is the node's answer (a revert, -32003: nodeErrors.ts `isNodeAnswer`):
   * agreed on like an answer. `notYet`: a node's "unknown block" that is no contradiction of an
   * answer (pruned.ts `notYetImported`).
   */
  | { kind: 'nodeError'; key: string; error: RpcResponseError; notYet?: boolean }
  /** The source failed; `callers` when the error is the caller's (an unknown method). */
  | { kind: 'failed'; reason: string; callers: boolean }
  /** The answer failed a local check: that source's lie or garbage. */
  | { kind: 'rejected'; lie: SourceError }

const ALONE: Verdict = { kind: 'alone' }

/** Judges one attempt's outcome: `error` when it rejected, else `result`. */
export function judge(
  rules: AnswerRules,
  s: SourceState,
  result: unknown,
  error: unknown,
): Verdict {
  if (s.untrusted) {
    const v = judgeTrusted(rules, s, result, error)
    // An untrusted source's word counts only when checked: no agreement key, no node error.
    if (v.kind !== 'answer' && v.kind !== 'nodeError') return v
    return { kind: 'failed', reason: UNCHECKED, callers: false }
  }
  return judgeTrusted(rules, s, result, error)
}

/** A live node's "no such block" about a block named by hash: its dissent. */
const UNKNOWN_BLOCK_KEY = 'error:unknown-block'

/** Why an untrusted source's answer counted for nothing. */
export const UNCHECKED = 'untrusted source: its answer counts only when checked here'

function judgeTrusted(
  rules: AnswerRules,
  s: SourceState,
  result: unknown,
  error: unknown,
): Verdict {
  // A revert, invalid params: the same error from every node, whatever block it names.
  // Not about the chain's own data: there an error is a failure (nodeErrors.ts `chainData`).
  if (error instanceof RpcResponseError && error.deterministic && !chainData(rules.method))
    return { kind: 'nodeError', key: nodeErrorKey(error), error }
  // A live node that does not know the block asked for has answered, not failed: its "unknown
  // block" dissents from an answer about that block (one source's made-up block stands against
  // domains that are up and say no such block; a node a block behind is asked again).
  // About a block of the agreed chain a read was pinned to, it is no dissent: a node behind has
  // not imported it yet (sourcePool.ts counts that against no one), and one that reached it
  // and says so failed. A lone answer beside it may still stand, degraded. Named by the caller's
  // hash, even a held block's, it stays a dissent: as a failure, a live domain's honest "not
  // yet" beside a new block left a liar's made-up balance standing (reviewOfSession39l).
  if (isUnknownBlock(error) && !namesNoBlock(rules.method))
    return rules.pinnedAt !== undefined
      ? { kind: 'failed', reason: reasonOf(error), callers: false }
      : {
          kind: 'nodeError',
          key: UNKNOWN_BLOCK_KEY,
          error,
          notYet: notYetImported(s, rules.params),
        }
  // Any other node error that is no "cannot serve now" (-32003 "insufficient funds…") is the
  // node's answer too: agreed, it is the caller's; a lone liar's revert or result beside
  // honest domains' agreed refusal is one side of a split, never the last domain standing.
  if (isNodeAnswer(error, rules.method, oldFor(s, rules.block)))
    return { kind: 'nodeError', key: nodeErrorKey(error), error }
  if (error !== undefined)
    return { kind: 'failed', reason: reasonOf(error), callers: !!rules.callersError?.(error) }
  // The rules read untrusted data: any exception is that source's malformed answer.
  let bad: string | undefined
  try {
    bad = rules.check?.(result, s)
    if (!bad && rules.standsAlone?.(result)) return ALONE
    if (!bad) return { kind: 'answer', key: (rules.key ?? canonical)(result) }
  } catch (e) {
    bad = `malformed (${e instanceof Error ? e.message : String(e)})`
  }
  return {
    kind: 'rejected',
    lie: new SourceError(s.name, 'body', `${rules.method} answer rejected: ${bad}`),
  }
}

/** A failure's reason without the source's name (the list names it). */
export function reasonOf(error: unknown): string {
  if (error instanceof SourceError) return error.reason
  if (error instanceof Error) return error.message
  return String(error)
}

/** The groups of one request's answers, by agreement key (its state `#private`: shorter minified). */
export class Tally {
  readonly #groups = new Map<string, Group>()
  readonly #need: Need
  /** Domains whose "not yet" was taken back to ask them again (`withdraw`). */
  readonly #withdrawn = new Set<string>()
  /** The answers `clear` forgot, by key: each value and the domains that gave it. */
  readonly #cleared = new Map<string, { value: unknown; domains: Set<string> }>()

  constructor(need: Need) {
    this.#need = need
  }

  /** How many different answers (and node errors) there are. */
  get size(): number {
    return this.#groups.size
  }

  /** Counts `s`'s answer under `key`; returns the group it joined. */
  add(s: SourceState, key: string, value: unknown, error?: RpcResponseError): Group {
    let g = this.#groups.get(key)
    if (!g) {
      g = { value, error: error && asKind(error), sources: [], domains: new Set() }
      this.#groups.set(key, g)
    }
    // Node errors agree on their kind, or code and data, not their words: where these differ,
    // the fastest source's words (a liar's "reason") and name are not returned as the nodes'.
    if (error && g.error && error.reason !== g.error.reason) g.error = wordless(g.error, error)
    g.sources.push(s)
    g.domains.add(s.domain)
    return g
  }

  /** Enough sources in enough domains gave this answer. */
  agreed(g: Group): boolean {
    const { sources, domains, uncounted = [], full = domains } = this.#need
    const back = uncounted.filter((d) => this.answered(d)).length
    return g.sources.length >= sources && g.domains.size >= Math.min(full, domains + back)
  }

  /** A source of this domain answered (anything). */
  answered(domain: string): boolean {
    for (const g of this.#groups.values()) if (g.domains.has(domain)) return true
    return false
  }

  /** No answer has `need.sources` sources yet. */
  sourcesShort(): boolean {
    let most = 0
    for (const g of this.#groups.values()) most = Math.max(most, g.sources.length)
    return most < this.#need.sources
  }

  all(): Group[] {
    return [...this.#groups.values()]
  }

  /** Some answer (not a node error) is more than "not yet". */
  hasReal(isPending: (value: unknown) => boolean): boolean {
    for (const g of this.#groups.values()) if (!g.error && !isPending(g.value)) return true
    return false
  }

  /** The sources whose answer may only mean "not yet". */
  notYet(isPending: (value: unknown) => boolean): SourceState[] {
    const out: SourceState[] = []
    for (const g of this.#groups.values())
      if (!g.error && isPending(g.value)) out.push(...g.sources)
    return out
  }

  /** The domains that said "not yet", those asked again included. */
  notYetDomains(isPending: (value: unknown) => boolean): number {
    const domains = new Set(this.#withdrawn)
    for (const s of this.notYet(isPending)) domains.add(s.domain)
    return domains.size
  }

  /** Takes `s`'s answer back (it is asked again); a group left empty goes. */
  withdraw(s: SourceState): void {
    for (const [key, g] of this.#groups) {
      const i = g.sources.indexOf(s)
      if (i < 0) continue
      g.sources.splice(i, 1)
      g.domains = new Set(g.sources.map((x) => x.domain))
      this.#withdrawn.add(s.domain)
      if (g.sources.length === 0) this.#groups.delete(key)
      return
    }
  }

  /** Forgets an answer proven false, also as it was before a `clear`: it contests nothing. */
  drop(g: Group): void {
    for (const [key, x] of this.#groups)
      if (x === g) {
        this.#groups.delete(key)
        this.#cleared.delete(key)
      }
  }

  /** Forgets every answer; returns the sources that gave them. */
  clear(): SourceState[] {
    const sources = this.all().flatMap((g) => g.sources)
    for (const [key, g] of this.#groups) {
      const before = this.#cleared.get(key) ?? { value: g.value, domains: new Set<string>() }
      for (const d of g.domains) before.domains.add(d)
      this.#cleared.set(key, before)
    }
    this.#groups.clear()
    return sources
  }

  /**
   * Another domain gave a different answer earlier in this request, before a `clear`: `g` is one
   * side of a split whose other side has not answered again, not the last domain standing. A
   * "not yet" (`isPending`) contradicts nothing (as in `contradicting`).
   */
  contested(g: Group, isPending?: (value: unknown) => boolean): boolean {
    for (const [key, { value, domains }] of this.#cleared) {
      if (this.#groups.get(key) === g || isPending?.(value)) continue
      for (const d of domains) if (!g.domains.has(d)) return true
    }
    return false
  }

  /**
   * Another domain said "not yet" to this request and has not answered since (its re-check or
   * re-ask still silent): `g` stands against that, not alone.
   */
  doubted(g: Group, isPending: (value: unknown) => boolean): boolean {
    for (const d of this.#withdrawn) if (!g.domains.has(d)) return true
    for (const { value, domains } of this.#cleared.values())
      if (isPending(value)) for (const d of domains) if (!g.domains.has(d)) return true
    return false
  }

  /** Every answer, one line per source, as `show` renders a value. */
  list(show: (value: unknown) => string): ShownAnswer[] {
    return this.all().flatMap((g) =>
      g.sources.map((s) => ({
        source: s.name,
        domain: s.domain,
        answer: g.error ? plain(g.error.shortMessage) : show(g.value),
      })),
    )
  }

  /**
   * The sources that contradicted `winner` (which may be outside the tally: an answer that
   * stands alone). "Not found" (`null`) against an answer is a race at the chain's edge more
   * often than a lie: those are left out (and `except`: nodes behind whose "unknown block" is
   * "not yet").
   */
  contradicting(winner: Group, except: ReadonlySet<SourceState>): SourceState[] {
    const out: SourceState[] = []
    for (const g of this.#groups.values())
      if (g !== winner && g.value !== null) out.push(...g.sources.filter((s) => !except.has(s)))
    return out
  }
}

/**
 * A kind (nodeErrors.ts `kindOf`) in its own words and code, whoever gave it: Besu's -32004
 * "Upfront cost exceeds account balance" agreed by two Besu domains read as "limit exceeded" to
 * a proxy client and as a revert to ethers (reviewOfSession38h). Any other error as it came.
 */
function asKind(e: RpcResponseError): RpcResponseError {
  const kind = kindOf(e)
  if (!kind || (e.code === KIND_CODES[kind] && wordsOf(e).startsWith(KINDS[kind]!))) return e
  return new RpcResponseError('outlast', { code: KIND_CODES[kind]!, message: KINDS[kind]! })
}

/**
 * What nodes that worded one error differently (`e`, `other`) agree on, named as outlast's: their
 * words where only case and spacing differ, a kind's fixed words (nodeErrors.ts `KINDS`, which
 * viem and ethers read), else the code and data alone.
 */
function wordless(e: RpcResponseError, other: RpcResponseError): RpcResponseError {
  const kind = kindOf(e)
  const message =
    wordsOf(e) === wordsOf(other)
      ? wordsOf(e)
      : kind
        ? KINDS[kind]!
        : e.code === 3 || revertData(e)
          ? 'execution reverted'
          : halted(e)
            ? [e, other].every((x) => OUT_OF_GAS.test(wordsOf(x)))
              ? 'out of gas'
              : 'execution halted'
            : 'an error the nodes word differently'
  // A halt in revm's -32603 and geth's -32000: geth's code, not the first node's.
  const code =
    e.code === other.code
      ? e.code
      : kind
        ? KIND_CODES[kind]!
        : revertData(e)
          ? 3
          : halted(e)
            ? -32000
            : e.code
  return new RpcResponseError('outlast', { code, message, data: e.data })
}
