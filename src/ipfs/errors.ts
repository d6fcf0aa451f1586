/** The errors of `outlast/ipfs`: each names the CID it is about. */
import { BaseError, type BaseErrorOptions, VerificationError } from '../shared/errors.ts'

/** What one route said or did about a block, as an error lists it. */
export type RouteReason = { route: string; reason: string }

/** Content that could not be had: no route had it, it was too large, or not what was asked. */
export class ContentError extends BaseError {
  override name = 'ContentError'
  /** The CID asked for (the root of the path, or the block). */
  readonly cid: string

  constructor(cid: string, shortMessage: string, options: BaseErrorOptions = {}) {
    super(shortMessage, options)
    this.cid = cid
  }
}

/** Every route was asked and none served a block that verifies. Lists each route's reason. */
export class ContentNotFoundError extends ContentError {
  override name = 'ContentNotFoundError'
  readonly reasons: readonly RouteReason[]

  /** `subject`: what was asked, as the message names it. @default `block ${cid}` */
  constructor(cid: string, reasons: readonly RouteReason[], subject = `block ${cid}`) {
    super(cid, `No route served ${subject}.`, {
      metaMessages: reasons.length
        ? reasons.map((r) => `- ${r.route}: ${r.reason}`)
        : ['- no route was available (all cooling off, rate-limited or open-circuit)'],
    })
    this.reasons = reasons
  }
}

/** The deadline passed (or the caller aborted) first. Lists what each route had done by then. */
export class ContentTimeoutError extends ContentError {
  override name = 'ContentTimeoutError'
  readonly reasons: readonly RouteReason[]

  constructor(cid: string, message: string, reasons: readonly RouteReason[]) {
    super(cid, message, { metaMessages: reasons.map((r) => `- ${r.route}: ${r.reason}`) })
    this.reasons = reasons
  }
}

/** The content is larger than `maxBytes`. */
export class ContentTooLargeError extends ContentError {
  override name = 'ContentTooLargeError'
  readonly maxBytes: number

  constructor(cid: string, maxBytes: number, size?: bigint | number) {
    const of = size === undefined ? 'more than' : `${size} bytes, more than`
    super(cid, `Content ${cid} is ${of} maxBytes (${maxBytes}).`)
    this.maxBytes = maxBytes
  }
}

/** A CID whose hash function outlast cannot compute: its blocks cannot be checked, so are refused. */
export class UnsupportedHashError extends VerificationError {
  override name = 'UnsupportedHashError'
  readonly hashCode: number

  /** `truncated`: the digest's length, when the function is known but the digest is cut short. */
  constructor(cid: string, code: number, truncated?: number) {
    super(
      truncated === undefined
        ? `Cannot verify ${cid}: hash function 0x${code.toString(16)} is not supported (sha2-256, sha2-512, keccak-256, identity are).`
        : `Cannot verify ${cid}: its digest is truncated to ${truncated} bytes (only whole digests are checked).`,
    )
    this.hashCode = code
  }
}

/** The caller's signal aborted the fetch. `cause` is the signal's reason. */
export class ContentAbortedError extends ContentError {
  override name = 'ContentAbortedError'

  constructor(cid: string, cause: unknown, subject = cid) {
    super(cid, `Fetch of ${subject} was aborted.`, { cause, details: 'aborted by the caller' })
  }
}
