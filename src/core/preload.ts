/**
 * The engine's parts that load on first use (fee medians, sends, transaction lookups, block-body
 * checks, reorg walks, split log queries, subscriptions and filters, the proofs' anchors),
 * fetched ahead once a first answer is out (`preload`, on by default in browsers).
 *
 * A dApp's own host can fail with the cloud it sits on. A part the page had not fetched by then
 * would never load, and the first send, fee estimate or receipt lookup during the outage would
 * fail on outlast's own code while its sources still answer. Nothing here is fetched before the
 * first answer: the first read does not wait for it, and the first load stays what it is (this
 * module too loads then).
 */
import type { Prover } from './prover.ts'

/**
 * Every module the core imports on first use. test/preload.test.ts reads the code's `import()`s
 * and fails when one is missing here.
 */
const onFirstUse: readonly (() => Promise<unknown>)[] = [
  () => import('./handlers/fees.ts'),
  () => import('./handlers/send.ts'),
  () => import('./handlers/prove.ts'),
  () => import('./handlers/agreedChain.ts'),
  () => import('./trust.ts'),
  () => import('./txRules.ts'),
  () => import('./headWalk.ts'),
  () => import('./logQuery.ts'),
  () => import('./follow/streams.ts'),
  () => import('./blockBody.ts'),
  () => import('../verify/rawTransaction.ts'),
  () => import('../sources/batch.ts'),
]

/**
 * Loads every part, and the prover's own, now. Never rejects. A part that fails to load now is
 * tried again on first use, but a browser keeps a failed module load for the page's life (the
 * HTML module map does), so it fails then too: the preload runs right after the page's host
 * served the page and outlast, when it is likeliest to answer.
 */
export async function preload(prover: Prover | undefined): Promise<void> {
  const loads = [...onFirstUse, () => prover?.preload?.()]
  await Promise.allSettled(loads.map((load) => Promise.resolve().then(load)))
}
