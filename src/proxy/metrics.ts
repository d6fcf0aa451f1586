/**
 * Prometheus metrics of one outlast client, in the text exposition format (version 0.0.4):
 * counters and histograms fed by its `attempt`, `request` and `lie` events, gauges read from
 * `status()` when scraped. Source names and methods are label values, escaped; no URL appears.
 */
import type { Outlast } from '../core/createOutlast.ts'
import type { OutlastEvents } from '../core/events.ts'
import { methodPolicies } from '../core/policy.ts'

/** A method as a label value: a method outlast does not know is `other` (callers pick names). */
const methodLabel = (method: string) => (Object.hasOwn(methodPolicies, method) ? method : 'other')

/** Upper bounds (ms) of the latency histograms' buckets. */
const BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000]

type Histogram = { counts: number[]; sum: number; count: number }

const BREAKER = { closed: 0, 'half-open': 1, open: 2 } as const

export type Metrics = { text(): string; stop(): void }

export function metricsOf(rpc: Outlast): Metrics {
  const attempts = new Map<string, number>()
  const sourceLatency = new Map<string, Histogram>()
  const requests = new Map<string, number>()
  const requestLatency = new Map<string, Histogram>()
  const lies = new Map<string, number>()

  const onAttempt = (e: OutlastEvents['attempt']) => {
    add(
      attempts,
      labels({ source: e.source, domain: e.domain, outcome: e.ok ? 'ok' : (e.kind ?? 'error') }),
    )
    if (e.ok) observe(sourceLatency, labels({ source: e.source }), e.ms)
  }
  const onRequest = (e: {
    method: string
    ok: boolean
    ms: number
    meta?: { consistency: string } | undefined
    degraded?: true | undefined
  }) => {
    // A node's error one domain alone gave is counted apart from an agreed one.
    const error = e.degraded ? 'degraded-error' : 'error'
    const consistency = e.ok ? (e.meta?.consistency ?? 'ok') : error
    add(requests, labels({ method: methodLabel(e.method), consistency }))
    observe(requestLatency, labels({ method: methodLabel(e.method) }), e.ms)
  }
  const onLie = (e: { source: string }) => add(lies, labels({ source: e.source }))
  rpc.on('attempt', onAttempt)
  rpc.on('request', onRequest)
  rpc.on('lie', onLie)

  return {
    stop() {
      rpc.removeListener('attempt', onAttempt)
      rpc.removeListener('request', onRequest)
      rpc.removeListener('lie', onLie)
    },
    text() {
      const st = rpc.status()
      const out: string[] = []
      const family = (name: string, type: string, help: string) =>
        out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
      family(
        'outlast_requests_total',
        'counter',
        'Requests answered, by method and how the answer was reached (error: none).',
      )
      for (const [l, v] of requests) out.push(`outlast_requests_total{${l}} ${v}`)
      family(
        'outlast_request_duration_ms',
        'histogram',
        'Time to answer a request, in milliseconds.',
      )
      histogramLines(out, 'outlast_request_duration_ms', requestLatency)
      family(
        'outlast_source_attempts_total',
        'counter',
        'Attempts at each source, by outcome (ok, or the failure kind).',
      )
      for (const [l, v] of attempts) out.push(`outlast_source_attempts_total{${l}} ${v}`)
      family(
        'outlast_source_latency_ms',
        'histogram',
        "Latency of each source's answered attempts, in milliseconds.",
      )
      histogramLines(out, 'outlast_source_latency_ms', sourceLatency)
      family(
        'outlast_source_lies_total',
        'counter',
        'Answers of each source that failed a proof or a hash check.',
      )
      for (const [l, v] of lies) out.push(`outlast_source_lies_total{${l}} ${v}`)
      family(
        'outlast_source_breaker_state',
        'gauge',
        "Each source's circuit breaker: 0 closed, 1 half-open, 2 open.",
      )
      for (const s of st.sources)
        out.push(
          `outlast_source_breaker_state{${labels({ source: s.name })}} ${BREAKER[s.breaker]}`,
        )
      family(
        'outlast_source_up',
        'gauge',
        '1 if the source is healthy, degraded or not yet asked; 0 otherwise.',
      )
      for (const s of st.sources)
        out.push(
          `outlast_source_up{${labels({ source: s.name, domain: s.domain, condition: s.condition })}} ${UP.has(s.condition) ? 1 : 0}`,
        )
      family(
        'outlast_source_head_lag_blocks',
        'gauge',
        "Blocks each source's head is behind the agreed head.",
      )
      for (const s of st.sources)
        out.push(`outlast_source_head_lag_blocks{${labels({ source: s.name })}} ${s.lag}`)
      family(
        'outlast_source_error_rate',
        'gauge',
        'Recent share of failed attempts of each source (0 to 1).',
      )
      for (const s of st.sources)
        out.push(`outlast_source_error_rate{${labels({ source: s.name })}} ${s.errorRate}`)
      family(
        'outlast_head_block',
        'gauge',
        'The agreed head block number (absent before one is known).',
      )
      if (st.head) out.push(`outlast_head_block ${st.head.number}`)
      family(
        'outlast_head_confirmed',
        'gauge',
        '1 while the head is confirmed by a quorum of domains.',
      )
      out.push(`outlast_head_confirmed ${st.headConfirmed ? 1 : 0}`)
      family('outlast_quorum_met', 'gauge', '1 while the healthy domains meet the quorum.')
      out.push(`outlast_quorum_met ${st.quorum.met ? 1 : 0}`)
      family('outlast_quorum_healthy_domains', 'gauge', 'Failure domains with a healthy source.')
      out.push(`outlast_quorum_healthy_domains ${st.quorum.healthyDomains.length}`)
      return `${out.join('\n')}\n`
    },
  }
}

const UP = new Set(['healthy', 'degraded', 'unknown'])

const add = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1)

function observe(m: Map<string, Histogram>, key: string, ms: number) {
  let h = m.get(key)
  if (!h) {
    h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }
    m.set(key, h)
  }
  for (let i = 0; i < BUCKETS.length; i++) if (ms <= BUCKETS[i]!) h.counts[i]!++
  h.sum += ms
  h.count++
}

function histogramLines(out: string[], name: string, m: Map<string, Histogram>) {
  for (const [l, h] of m) {
    for (const [i, le] of BUCKETS.entries())
      out.push(`${name}_bucket{${l},le="${le}"} ${h.counts[i]}`)
    out.push(
      `${name}_bucket{${l},le="+Inf"} ${h.count}`,
      `${name}_sum{${l}} ${h.sum}`,
      `${name}_count{${l}} ${h.count}`,
    )
  }
}

/** Label pairs, values escaped as the format says (backslash, quote, newline). */
function labels(pairs: Record<string, string>): string {
  return Object.entries(pairs)
    .map(
      ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
    )
    .join(',')
}
