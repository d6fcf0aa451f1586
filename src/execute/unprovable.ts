import { BaseError } from '../shared/errors.ts'

/**
 * This call cannot be executed over proven state here (an untrusted ancestor for BLOCKHASH, a
 * feature not supported, a source without `eth_getProof`). It says nothing about the source:
 * the prover answers undefined and the engine falls back to quorum.
 */
export class UnprovableError extends BaseError {
  override name = 'UnprovableError'
}
