/**
 * A revert as a node reports it (geth, reth, anvil): JSON-RPC error 3, "execution reverted" with
 * the reason when the data is `Error(string)`, and the revert data in `data`, so that viem and
 * ethers decode a proven revert exactly as an unverified one.
 */
import { bytesToHex, hexToBytes } from '@ethereumjs/util'
import { RpcResponseError } from '../shared/errors.ts'

/** Names the answer's origin where a node's error names the source. */
export const LOCAL_EXECUTION = 'local execution'

const ERROR_STRING = '0x08c379a0'

export function revertError(data: Uint8Array): RpcResponseError {
  const hex = bytesToHex(data)
  const reason = reasonOf(hex)
  return new RpcResponseError(LOCAL_EXECUTION, {
    code: 3,
    message: reason === undefined ? 'execution reverted' : `execution reverted: ${reason}`,
    data: hex,
  })
}

/** The string of ABI-encoded `Error(string)` revert data, if that is what it is. */
function reasonOf(hex: `0x${string}`): string | undefined {
  if (!hex.startsWith(ERROR_STRING)) return undefined
  const body = hex.slice(10)
  const word = (at: number) => Number.parseInt(body.slice(at, at + 64) || 'x', 16)
  const offset = word(0) * 2
  const length = word(offset) * 2
  const text = body.slice(offset + 64, offset + 64 + length)
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || text.length !== length)
    return undefined
  return new TextDecoder().decode(hexToBytes(`0x${text}`))
}
