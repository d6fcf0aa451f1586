/**
 * A trustless gateway's answer as bytes: none for 404 and 410 (it does not have them), an error
 * naming the status for any other failure, and at most `maxBytes` (readBytes.ts); with `signal`,
 * the body's read ends when it aborts.
 */
import { readResponse } from '../shared/readBytes.ts'

/** A gateway's answer other than 2xx, 404 and 410. */
export class GatewayStatusError extends Error {
  override name = 'GatewayStatusError'
}

export async function gatewayBytes(
  response: Response,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Uint8Array | undefined> {
  if (response.status === 404 || response.status === 410) {
    await response.body?.cancel()
    return undefined
  }
  if (!response.ok) {
    await response.body?.cancel()
    throw new GatewayStatusError(`HTTP ${response.status}`)
  }
  return readResponse(response, maxBytes, signal)
}
