/**
 * Why a light-client object was refused. Every check of the sync protocol has its own code, so
 * that a source can be judged by what it sent: `isLie(reason)` tells a provable lie (a forged
 * branch, a bad signature, a malformed body) from data that is only out of place now (stale, for
 * a period the store has no committee for, signed in what our clock says is the future).
 */
import { BaseError, type BaseErrorOptions } from '../shared/errors.ts'

export const LIGHT_CLIENT_REASONS = [
  /** Bytes or JSON that do not decode as the container they claim to be. */
  'malformed',
  /** The bootstrap's header is not the trusted block root. */
  'checkpoint-mismatch',
  /** A header's execution payload does not prove into its body root (or is set before Capella). */
  'invalid-header',
  /**
   * An object in another fork's containers than its slot's: the network sends each in its own
   * fork's (a Fulu update re-wrapped in Gloas's would hide its block numbers).
   */
  'wrong-fork',
  /** The current or next sync committee does not prove into the attested state root. */
  'committee-branch',
  /** The finalized header does not prove into the attested state root. */
  'finality-branch',
  /** A non-finality update that still carries a finalized header. */
  'finalized-header-not-empty',
  /** An update without a committee branch that still carries a next sync committee. */
  'next-committee-not-empty',
  /** The next sync committee differs from the one the store already verified for that period. */
  'next-committee-mismatch',
  /** Fewer signers than MIN_SYNC_COMMITTEE_PARTICIPANTS. */
  'too-few-participants',
  /** Not `signature_slot > attested slot >= finalized slot`. */
  'slot-order',
  /** The aggregate signature does not verify for the participants (bits, message, fork, domain). */
  'bad-signature',
  /** A committee key that does not decode as a BLS12-381 G1 point in the subgroup. */
  'invalid-key',
  /** Signed after the current slot (by the caller's clock). */
  'future-signature-slot',
  /** Signed in a period the store has no committee for (a gap, or before the bootstrap). */
  'unknown-period',
  /** Nothing newer than what the store already has. */
  'stale',
  /** A container of a fork this version cannot read (Gloas), or no fork at that epoch. */
  'unsupported-fork',
] as const

export type LightClientReason = (typeof LIGHT_CLIENT_REASONS)[number]

/** Reasons that an honest source can produce: its data is old, ours is, or our clocks differ. */
const NOT_LIES: ReadonlySet<LightClientReason> = new Set([
  'future-signature-slot',
  'unknown-period',
  'stale',
  'unsupported-fork',
])

/** True when the object could only come from a lying (or broken) source. */
export function isLie(reason: LightClientReason): boolean {
  return !NOT_LIES.has(reason)
}

/** A light-client object (bootstrap, update) was refused; `reason` says which check failed. */
export class LightClientError extends BaseError {
  override name = 'LightClientError'
  readonly reason: LightClientReason

  constructor(reason: LightClientReason, message: string, options: BaseErrorOptions = {}) {
    super(message, options)
    this.reason = reason
  }

  /** True when the source that sent the object lied (see `isLie`). */
  get lie(): boolean {
    return isLie(this.reason)
  }
}

/** Throws a `LightClientError` with `reason` unless `ok`. */
export function check(ok: boolean, reason: LightClientReason, message: string): asserts ok {
  if (!ok) throw new LightClientError(reason, message)
}

/** A `malformed` error naming the field path and what is wrong with it. */
export function malformed(path: string, what: string): LightClientError {
  return new LightClientError('malformed', `${path}: ${what}.`)
}
