import type { TrustedHeader } from './trust.ts'

/** One source's answer to one call, inside a proven read. */
export type ProverCall = (method: string, params: unknown[]) => Promise<unknown>

export type ProverContext = {
  /** The trusted header of the pinned block (state reads). */
  header: TrustedHeader | undefined
  /** Resolves a block hash to a trusted header (receipts), or undefined. */
  trusted(hash: string): Promise<TrustedHeader | undefined>
  /** The trusted header of the agreed head (what `latest` means), or undefined; asked only when needed. */
  head?(): Promise<TrustedHeader | undefined>
  /** Calls the source this attempt is bound to. */
  call: ProverCall
  /** The configured chain id. */
  chainId?: number
  /** Aborted when the engine no longer needs this attempt (another source answered first). */
  signal?: AbortSignal
}

/**
 * Answers methods from proofs instead of agreement: `outlast/proofs` provides one. `answer`
 * throws a `VerificationError` when the source's data does not prove what it claims (the
 * source is then marked as lying), and returns undefined when it cannot prove this request
 * (the engine falls back to quorum).
 */
export type Prover = {
  /** Methods this prover can answer. */
  readonly methods: ReadonlySet<string>
  /** Methods whose answer depends on a pinned block's state (they need `header`). */
  readonly stateMethods: ReadonlySet<string>
  answer(method: string, params: readonly unknown[], ctx: ProverContext): Promise<unknown>
  /**
   * Round trips to the source one answer takes (a hint, then proofs: 2), so that the engine
   * does not hedge to a second source while the first is still proving. @default 1
   */
  roundTrips?(method: string): number
  /** Loads what the prover loads on first use, ahead (the client's `preload`). */
  preload?(): Promise<unknown>
}

/** Several provers as one: each method goes to the first prover that lists it. */
export function combineProvers(provers: readonly Prover[]): Prover {
  const owner = new Map<string, Prover>()
  for (const p of provers) for (const m of p.methods) if (!owner.has(m)) owner.set(m, p)
  const stateMethods = new Set([...owner].filter(([m, p]) => p.stateMethods.has(m)).map(([m]) => m))
  return {
    methods: new Set(owner.keys()),
    stateMethods,
    roundTrips: (method) => owner.get(method)?.roundTrips?.(method) ?? 1,
    preload: () => Promise.allSettled(provers.map(async (p) => p.preload?.())),
    answer: (method, params, ctx) =>
      owner.get(method)?.answer(method, params, ctx) ?? Promise.resolve(undefined),
  }
}
