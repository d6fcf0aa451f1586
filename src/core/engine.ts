/**
 * What a request handler sees of the engine: the parts `createOutlast` wires together, and the
 * request on its way. Handlers (src/core/handlers/) are keyed by policy class; see
 * docs/architecture.md for the request path.
 */
import type { ResolvedConfig } from './config.ts'
import type { Emitter } from './emitter.ts'
import type { OutlastEvents, ResponseMeta } from './events.ts'
import type { FanOutContext, Need } from './fanOut.ts'
import type { EngineStreams } from './follow/streams.ts'
import type { HeadTracker } from './head.ts'
import type { MethodPolicy } from './policy.ts'
import type { RetryBudget } from './retryBudget.ts'
import type { SourcePool } from './sourcePool.ts'
import type { SourceState } from './sourceState.ts'
import type { TrustStore } from './trust.ts'

export type Answer = { result: unknown; meta: ResponseMeta }

export type Engine = {
  config: ResolvedConfig
  pool: SourcePool
  head: HeadTracker
  events: Emitter<OutlastEvents>
  budget: RetryBudget
  /** What `fanOut` needs of the engine. */
  fan: FanOutContext
  /** Trusted headers for proofs, loaded on first use (again, if that load failed); only with a prover. */
  trust: (() => Promise<TrustStore>) | undefined
  /** Subscriptions and filters, loaded on first use. */
  streams(): Promise<EngineStreams>
  /** The client was closed: work in the background (a receipt's wait) stops. */
  closed(): boolean
  /** Every source's secrets removed from a text the engine shows. */
  redact(text: string): string
  /**
   * Eligible sources, or as a last resort those held back by an open breaker or our own 429
   * backoff (then asked anyway); those are also the reserve when every eligible source fails.
   * Untrusted sources only with `checkedAlone` (every answer is checked alone).
   */
  candidatesFor(
    headDependent: boolean,
    checkedAlone: boolean,
    /** Leaves out sources whose route does not include it. */
    method?: string,
  ): {
    candidates: SourceState[]
    force: boolean
    reserve?: SourceState[]
  }
  /** The quorum for this request, reduced (and flagged) when fewer domains are left. */
  needFor(candidates: readonly SourceState[], method: string): { need: Need; degraded: boolean }
  /** Another request through the whole path (cache, sharing): a handler's own question. */
  request(method: string, params: unknown[]): Promise<Answer>
}

/** A request on its way: the method, its policy, its clock. */
export type Call = {
  method: string
  params: unknown[]
  policy: MethodPolicy
  started: number
  deadline: number
  meta(m: Partial<ResponseMeta> & Pick<ResponseMeta, 'consistency'>): ResponseMeta
}

export type Handler = (engine: Engine, call: Call) => Promise<Answer>
