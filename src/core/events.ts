import type { ProviderRpcError } from '../shared/errors.ts'
import type { Hex } from '../shared/types.ts'
import type { BroadcastOutcome } from './broadcast.ts'
import type { Head } from './head.ts'
import type { PolicyClass } from './policy.ts'
import type { SourceCondition } from './sourceState.ts'

/** What outlast says about how an answer was reached. */
export type ResponseMeta = {
  method: string
  policy: PolicyClass
  /** Sources whose answers agreed (or the one whose answer verified). */
  sources: string[]
  domains: string[]
  /**
   * `proven`: Merkle-proven against a trusted header; `verified`: hash checked locally; `agreed`: quorum; `single`: one source by policy;
   * `degraded`: quorum lost, one domain answered; `head` / `median` / `static` / `cached`.
   */
  consistency:
    | 'static'
    | 'proven'
    | 'verified'
    | 'agreed'
    | 'single'
    | 'degraded'
    | 'head'
    | 'median'
    | 'cached'
  /** The block `latest` was pinned to, if any. */
  block?: Head
  attempts: number
  ms: number
}

export type OutlastEvents = {
  /**
   * A source changed condition (healthy, down, rate-limited, lagging, forked, wrong-chain...).
   * Also sent with `from` equal to `to` when a source already `lagging` is then found stale (its
   * head far behind the local clock while another domain's is fresh): the reason says so.
   */
  source: {
    source: string
    domain: string
    from: SourceCondition
    to: SourceCondition
    reason?: string
  }
  /** A source sent data that failed a proof or a hash check; it is cut off for `lieCooloff`. */
  lie: { source: string; domain: string; reason: string }
  /**
   * Every domain's data failed a proof the same way, so no one is called a liar: the data cannot
   * be proven here (anvil's genesis state, say) and the read was answered by quorum instead.
   */
  unproven: { method: string; reason: string; domains: string[] }
  /** Sources answered the same request differently. */
  disagreement: { method: string; answers: { source: string; domain: string; answer: string }[] }
  /** Only one failure domain was left to answer. */
  quorumLoss: { method: string; domains: string[] }
  /** One request's outcome. */
  request: {
    method: string
    ok: boolean
    meta?: ResponseMeta
    error?: string
    /** The source whose node error it is (its message is the node's own words). */
    source?: string
    /** A node's error one domain alone gave (the others out): no agreement behind it. */
    degraded?: true
    ms: number
  }
  /**
   * One attempt at one source: answered (`ok`, a node's own error counted as an answer), or
   * failed, with the failure's kind (`timeout`, `network`, `dns`, `refused`, `http`,
   * `rate-limited`, `body`, `rpc`, `chain`, `unavailable`, `aborted` for a hedge's loser).
   */
  attempt: {
    source: string
    domain: string
    method: string
    ms: number
    ok: boolean
    kind?: string | undefined
  }
  /** One source's outcome for a broadcast transaction. */
  broadcast: BroadcastOutcome
  /** The agreed head moved. */
  head: Head
  /** EIP-1193: a subscription's notification (`eth_subscribe`). */
  message: { type: 'eth_subscription'; data: { subscription: string; result: unknown } }
  /** The chain stream behind subscriptions hit a problem (it retries on its own). */
  streamError: { message: string }
  /** EIP-1193: a source is reachable again. */
  connect: { chainId: Hex }
  /** EIP-1193: every source is down. */
  disconnect: ProviderRpcError
}
