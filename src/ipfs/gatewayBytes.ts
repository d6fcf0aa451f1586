/**
 * A trustless gateway's answer as bytes: none for 404 and 410 (it does not have them), an error
 * naming the status for any other failure, and at most `maxBytes` (readBytes.ts).
 */
import { readResponse } from '../shared/readBytes.ts'

export async function gatewayBytes(
  response: Response,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  if (response.status === 404 || response.status === 410) {
    await response.body?.cancel()
    return undefined
  }
  if (!response.ok) {
    await response.body?.cancel()
    throw new Error(`HTTP ${response.status}`)
  }
  return readResponse(response, maxBytes)
}
