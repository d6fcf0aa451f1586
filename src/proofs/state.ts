/** Account and storage reads proven with `eth_getProof` against the pinned block's `stateRoot`. */
import type { ProverContext } from '../core/prover.ts'
import { type ProvableMethod, proofParams, provenAnswer, type RpcProof } from '../verify/proof.ts'

/** `eth_getBalance`, `eth_getTransactionCount`, `eth_getCode`, `eth_getStorageAt` at `ctx.header`. */
export async function proveState(
  method: ProvableMethod,
  params: readonly unknown[],
  ctx: ProverContext,
): Promise<unknown> {
  const header = ctx.header
  if (!header) return undefined
  const at = { blockHash: header.hash }
  // The code is asked beside the proof, not after it: it is checked against the proven
  // account's code hash either way, and one round trip is saved.
  const [proof, code] = await Promise.all([
    ctx.call('eth_getProof', proofParams(method, params, at)) as Promise<RpcProof>,
    method === 'eth_getCode'
      ? (ctx.call('eth_getCode', [params[0], at]) as Promise<`0x${string}`>)
      : undefined,
  ])
  return provenAnswer(method, params, proof, header.stateRoot, code)
}
