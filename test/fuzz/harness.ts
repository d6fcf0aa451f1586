/** Glue between fast-check plans, the fuzz servers and outlast clients. */
import fc from 'fast-check'
import { createOutlast, http, type Outlast } from '../../src/index.ts'
import { honest, render } from './render.ts'
import { type Gates, type Reply, reply } from './replies.ts'
import type { Call, FuzzServer } from './server.ts'

/** The sources' maxResponseBytes: small, so that oversized bodies are cheap to send. */
export const MAX_BYTES = 8_192

/**
 * What one malformed source does: its replies, used in turn for each HTTP request it gets.
 * With `housekeeping`, it answers the engine's own calls (`eth_chainId`, head polls) honestly
 * and garbles only the call under test, so that the garbage gets past the chain check.
 */
export type SourcePlan = { replies: Reply[]; batch: boolean; housekeeping: boolean }

export const sourcePlan = (gates: Gates, hang: number): fc.Arbitrary<SourcePlan> =>
  fc.record({
    replies: fc.array(reply(gates, { hang }), { minLength: 1, maxLength: 5 }),
    batch: fc.boolean(),
    housekeeping: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, fc.constant(false)),
  })

/** The JSON-RPC calls the engine makes to serve `method` (a head comes from block polls). */
export const targetCalls = (method: string): ReadonlySet<string> =>
  new Set([method === 'eth_blockNumber' ? 'eth_getBlockByNumber' : method])

/** Makes `server` answer with `plan`'s replies in turn, garbling the calls in `target`. */
export function script(
  server: FuzzServer,
  plan: SourcePlan,
  gates: Gates,
  target: ReadonlySet<string>,
): void {
  let i = 0
  const fuzzed = (c: Call) => !plan.housekeeping || target.has(c.method)
  server.handle((calls) => {
    if (!(Array.isArray(calls) ? calls : [calls]).some(fuzzed)) return honest(calls)
    return render(plan.replies[i++ % plan.replies.length]!, calls, MAX_BYTES, gates, fuzzed)
  })
}

export type Outcome =
  | { ok: true; value: unknown; ms: number }
  | { ok: false; error: unknown; ms: number }

/** Runs `promise` to the end and says how it ended and when. */
export async function outcome(promise: Promise<unknown>): Promise<Outcome> {
  const started = performance.now()
  try {
    const value = await promise
    return { ok: true, value, ms: performance.now() - started }
  } catch (error) {
    return { ok: false, error, ms: performance.now() - started }
  }
}

/** A source's URL, whether it batches, and its own timeout if not the client-wide one. */
export type Endpoint = { url: string; batch: boolean; timeout?: number }

/** A fresh client (no health history, no cache) over `endpoints`, each in its own domain. */
export function client(
  endpoints: readonly Endpoint[],
  o: { timeout: number; sourceTimeout: number },
): Outlast {
  return createOutlast({
    chainId: 1,
    timeout: o.timeout,
    cacheSize: 0,
    sources: endpoints.map((e, i) =>
      http(e.url, {
        name: `s${i}`,
        domain: `domain-${i}`,
        timeout: e.timeout ?? o.sourceTimeout,
        maxResponseBytes: MAX_BYTES,
        batch: e.batch,
      }),
    ),
  })
}

/** Records every unhandled rejection and uncaught exception while installed. */
export function crashRecorder() {
  const seen: unknown[] = []
  const record = (error: unknown) => {
    seen.push(error)
  }
  return {
    seen,
    install() {
      process.on('unhandledRejection', record)
      process.on('uncaughtException', record)
    },
    uninstall() {
      process.off('unhandledRejection', record)
      process.off('uncaughtException', record)
    },
  }
}

/** A short, JSON-safe description of a value for assertion messages. */
export function show(value: unknown): string {
  const text = JSON.stringify(value, (_k, v) =>
    v instanceof Uint8Array ? `<${v.length} bytes>` : typeof v === 'bigint' ? `${v}n` : v,
  )
  return text === undefined ? String(value) : text.length > 600 ? `${text.slice(0, 600)}…` : text
}
