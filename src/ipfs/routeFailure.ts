/**
 * Why a route's fetch failed, in words that never quote the error's own text: fetch names the
 * URL in its errors (one with credentials in it, say), and so may a custom fetch, key and all.
 * outlast's own errors (a refused redirect, too many bytes, an HTTP status) say what they are;
 * anything else is a network failure, told by its code (networkError.ts).
 */
import { BaseError, SourceError } from '../shared/errors.ts'
import { TooManyBytes } from '../shared/readBytes.ts'
import { networkErrors } from '../sources/networkError.ts'
import { GatewayStatusError } from './gatewayBytes.ts'
import { RedirectRefusedError } from './sameOrigin.ts'

/** The reason for a failed fetch from `host`, safe to show in errors and `status()`. */
export function routeFailure(error: unknown, host: string): string {
  if (error instanceof BaseError) return error.shortMessage
  if (
    error instanceof RedirectRefusedError ||
    error instanceof TooManyBytes ||
    error instanceof GatewayStatusError
  )
    return error.message
  return networkErrors((kind, message) => new SourceError(host, kind, message), host, 0)(error)
    .reason
}
