/**
 * `createLightClientCore`: the verifying core with noble's pure-JS BLS by default. `light()`
 * builds its core with `createCore` instead and loads the BLS code when it first verifies, so
 * that a dApp's first load does not carry the curve.
 */
import { type BlsVerifier, nobleVerifier } from './bls.ts'
import { type CoreOptions, createCore, type LightClientCore } from './core.ts'

export type LightClientCoreOptions = Omit<CoreOptions, 'verifier'> & {
  /** Checks the sync committee's signatures. @default nobleVerifier() (pure JS) */
  verifier?: BlsVerifier
}

/**
 * A light client store bootstrapped from `bootstrap` against `checkpoint`. Throws a
 * `LightClientError` (`checkpoint-mismatch`, `committee-branch`, `invalid-header`) when the
 * bootstrap does not match.
 */
export function createLightClientCore(options: LightClientCoreOptions): LightClientCore {
  return createCore({ ...options, verifier: options.verifier ?? nobleVerifier() })
}
