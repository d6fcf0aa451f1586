/**
 * Errors of the proof and trie checks. A `VerificationError` means the source's answer is
 * contradicted by what was computed (a lie or a broken node); an `UnsupportedTypeError` means
 * the answer could not be checked at all and says nothing about the source.
 */

import { clip } from '../shared/clip.ts'
import { BaseError, VerificationError } from '../shared/errors.ts'

/** Throws a `VerificationError` naming the field whose claimed value the computation contradicts. */
export function mismatch(
  field: string,
  reason: string,
  claimed?: unknown,
  computed?: unknown,
): never {
  throw new VerificationError(`Field "${field}" ${reason}.`, {
    details:
      claimed === undefined && computed === undefined
        ? undefined
        : `${field}: claimed ${show(claimed)}, computed ${show(computed)}`,
  })
}

/**
 * A transaction or receipt type that this version cannot rebuild (for example an L2 deposit,
 * type 0x7e). The answer is neither proven nor disproven: fall back to quorum, do not blame the source.
 */
export class UnsupportedTypeError extends BaseError {
  override name = 'UnsupportedTypeError'
  readonly field: string
  readonly type: string

  constructor(field: string, type: string) {
    super(`Cannot verify "${field}": type ${type} is not supported (types 0x0 to 0x4 are).`)
    this.field = field
    this.type = type
  }
}

function show(value: unknown): string {
  if (typeof value === 'bigint') return `0x${value.toString(16)}`
  const text = typeof value === 'string' ? value : String(value)
  return clip(text, 81)
}
