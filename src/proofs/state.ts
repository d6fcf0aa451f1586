/** Account and storage reads proven with `eth_getProof` against the pinned block's `stateRoot`. */
import type { ProverContext } from '../core/prover.ts'
import type { Hex } from '../shared/types.ts'
import {
  type ProvableMethod,
  proofParams,
  provenAnswer,
  type RpcProof,
  verifiedProof,
} from '../verify/proof.ts'

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

/**
 * `eth_getProof` itself at `ctx.header`: the source's proof, checked against the header's
 * `stateRoot` before a wallet shows its balance or a bridge passes it on. Parameters that are no
 * address and slots are left to the nodes, which name the caller's error.
 */
export async function proveProof(params: readonly unknown[], ctx: ProverContext): Promise<unknown> {
  const [address, slots] = params
  const header = ctx.header
  if (!header || !isAddress(address) || !Array.isArray(slots) || !slots.every(isSlot))
    return undefined
  const proof = await ctx.call('eth_getProof', [address, slots, { blockHash: header.hash }])
  return verifiedProof(header.stateRoot, address, slots, proof as RpcProof)
}

const isAddress = (v: unknown): v is Hex => typeof v === 'string' && /^0x[0-9a-fA-F]{40}$/.test(v)
const isSlot = (v: unknown): v is Hex => typeof v === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(v)
