import type { ResolvedConfig } from './config.ts'
import type { Head } from './head.ts'
import type { SourcePool } from './sourcePool.ts'
import { conditionOf, type SourceCondition } from './sourceState.ts'

export type SourceStatus = {
  name: string
  kind: string
  domain: string
  /** Its answers count only when checked here, never toward a quorum (`SourceConfig.untrusted`). */
  untrusted: boolean
  /** Host only: API keys and credentials are never shown. */
  url: string
  condition: SourceCondition
  breaker: 'closed' | 'open' | 'half-open'
  latency: { ewma: number | undefined; p50: number | undefined; p95: number | undefined }
  /** Recent share of failed attempts, 0 to 1. */
  errorRate: number
  requests: number
  failures: number
  head: number | undefined
  /** Blocks behind the agreed head. */
  lag: number
  /** Why its head is not counted, judged by the head's timestamp (stale, from the future). */
  headNote: string | undefined
  /** What it was found not to serve: its `eth_getLogs` range limit, the newest block whose state it pruned. */
  limits: { logRange: number | undefined; prunedTo: number | undefined }
  lastError: string | undefined
}

export type OutlastStatus = {
  chainId: number
  head: Head | undefined
  /** False while the head is one domain's claim that no second domain confirmed yet. */
  headConfirmed: boolean
  quorum: { domains: number; healthyDomains: string[]; met: boolean }
  sources: SourceStatus[]
  /** A fixed-width table of the above, for terminals and logs. */
  toString(): string
}

const UP: ReadonlySet<SourceCondition> = new Set(['healthy', 'degraded', 'unknown'])

export function statusOf(
  config: ResolvedConfig,
  { states, redact }: Pick<SourcePool, 'states' | 'redact'>,
  head: Head | undefined,
  headConfirmed = head !== undefined,
): OutlastStatus {
  const sources = states.map((s): SourceStatus => {
    const round = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 10) / 10)
    return {
      name: s.name,
      kind: s.source.config.kind,
      domain: s.domain,
      untrusted: s.untrusted,
      url: s.source.config.label,
      condition: conditionOf(s, config.maxLag),
      breaker: s.breaker.state,
      latency: {
        ewma: round(s.latency.ewma),
        p50: round(s.latency.percentile(50)),
        p95: round(s.latency.percentile(95)),
      },
      errorRate: Math.round(s.errorRate * 1000) / 1000,
      requests: s.requests,
      failures: s.failures,
      head: s.head?.number,
      lag: s.lag,
      headNote: s.headVerdict?.reason,
      limits: { logRange: s.logSpan, prunedTo: s.prunedTo < 0 ? undefined : s.prunedTo },
      lastError: s.lastError && redact(s.lastError),
    }
  })
  const healthyDomains = [
    ...new Set(sources.filter((s) => UP.has(s.condition) && !s.untrusted).map((s) => s.domain)),
  ]
  const status: OutlastStatus = {
    chainId: config.chainId,
    head,
    headConfirmed,
    quorum: {
      domains: config.quorum.domains,
      healthyDomains,
      met: healthyDomains.length >= config.quorum.domains,
    },
    sources,
    toString: () => formatStatus(status),
  }
  return status
}

const ms = (v: number | undefined) => (v === undefined ? '-' : `${Math.round(v)}ms`)

/** Renders a status as an aligned table. */
export function formatStatus(status: Omit<OutlastStatus, 'toString'>): string {
  const rows = [
    ['source', 'domain', 'state', 'p50', 'p95', 'errors', 'reqs', 'head', 'lag', 'breaker'],
    ...status.sources.map((s) => [
      s.name,
      s.domain,
      s.condition,
      ms(s.latency.p50),
      ms(s.latency.p95),
      `${Math.round(s.errorRate * 100)}%`,
      String(s.requests),
      s.head === undefined ? '-' : String(s.head),
      String(s.lag),
      s.breaker,
    ]),
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  const lines = rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  )
  const q = status.quorum
  const headLine = status.head
    ? `#${status.head.number} ${status.head.hash.slice(0, 10)}…${status.headConfirmed ? '' : ' (one domain, unconfirmed)'}`
    : 'unknown'
  return [
    `chain ${status.chainId}  head ${headLine}  quorum ${q.healthyDomains.length}/${q.domains} domains${q.met ? '' : ' (degraded)'}`,
    ...lines,
  ].join('\n')
}
