/**
 * The light client's start: the candidate checkpoints (the stored root, the configured one, else
 * a root two failure domains agree on), and the first whose bootstrap verifies at some source.
 * One past the weak subjectivity period is kept back while a later candidate may be fresh.
 */
import { AllSourcesFailedError } from '../shared/errors.ts'
import type { Hex } from '../shared/types.ts'
import type { BlsVerifier } from './bls.ts'
import { agreedRoot, type CheckpointVia, checkpointAge, collectRootClaims } from './checkpoint.ts'
import { createCore, type LightClientCore } from './core.ts'
import type { LightWarning } from './light.ts'
import type { LightSettings } from './lightOptions.ts'
import { type LightPool, reasons } from './lightPool.ts'

export type Bootstrapped = { core: LightClientCore; root: Hex; via: CheckpointVia }

export async function bootstrapLight(
  o: LightSettings,
  pool: LightPool,
  signal: AbortSignal,
  currentSlot: () => number,
  warn: (w: LightWarning) => void,
): Promise<Bootstrapped> {
  const candidates = await candidatesOf(o, signal, warn)
  // The BLS code loads with the first bootstrap, not with the page (the curve is most of
  // outlast/light's weight); the bootstrap itself is fetched meanwhile.
  let bls = o.verifier
  const blsLoaded = bls
    ? Promise.resolve()
    : import('./bls.ts').then(({ nobleVerifier }) => {
        bls = nobleVerifier()
      })
  const failures: { source: string; reason: string }[] = []
  // A root stored weeks ago must not shadow the checkpoint the app was given.
  let stale: Bootstrapped | undefined
  for (const c of candidates) {
    const { value, outcomes } = await pool.ask(
      async (s, signal) => (await Promise.all([s.bootstrap(c.root, { signal }), blsLoaded]))[0],
      (b) =>
        createCore({
          config: o.config,
          checkpoint: c.root,
          bootstrap: b,
          verifier: bls as BlsVerifier,
        }),
      signal,
    )
    if (!value) {
      failures.push(...reasons(outcomes, `bootstrap ${c.root} (${c.via})`))
      continue
    }
    if (checkpointAge(o.config, value.finalized.slot, currentSlot()) <= o.maxCheckpointAge)
      return { core: value, ...c }
    stale ??= { core: value, ...c }
  }
  if (stale) return stale
  throw new AllSourcesFailedError('light_client bootstrap', failures)
}

/** The stored root, then the configured checkpoint; with neither, a root two domains agree on. */
async function candidatesOf(
  o: LightSettings,
  signal: AbortSignal,
  warn: (w: LightWarning) => void,
): Promise<{ root: Hex; via: CheckpointVia }[]> {
  const candidates: { root: Hex; via: CheckpointVia }[] = []
  const stored = o.storage ? await o.storage.get().catch(() => undefined) : undefined
  if (stored !== undefined) {
    if (/^0x[0-9a-fA-F]{64}$/.test(stored))
      candidates.push({ root: stored.toLowerCase() as Hex, via: 'storage' })
    else
      warn({
        kind: 'storage',
        message: `ignored a stored checkpoint that is not a block root: ${JSON.stringify(stored).slice(0, 80)}`,
      })
  }
  if (o.checkpoint) candidates.push({ root: o.checkpoint.toLowerCase() as Hex, via: 'config' })
  if (candidates.length > 0) return candidates
  const { claims, failures: missing } = await collectRootClaims(o.sources, signal, o.clock)
  const agreed = agreedRoot(claims)
  if (!agreed) {
    const said = claims.map((c) => ({
      source: c.source,
      reason: `claims ${c.root} at slot ${c.slot} (${c.from}, domain ${c.domain})`,
    }))
    throw new AllSourcesFailedError(
      'light_client checkpoint (no root agreed by two failure domains)',
      [...said, ...missing],
    )
  }
  return [{ root: agreed.root, via: 'agreed' }]
}
