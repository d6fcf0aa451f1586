/** Answers that need no source: from the configuration, computed here, or refused. */
import { ProviderRpcError } from '../../shared/errors.ts'
import { keccak256 } from '../../shared/keccak.ts'
import type { Hex } from '../../shared/types.ts'
import type { Handler } from '../engine.ts'

/** `eth_chainId`, `net_version` from the configuration; `web3_sha3` computed here. */
export const staticAnswer: Handler = async ({ config }, { method, params, meta }) => {
  const result =
    method === 'net_version'
      ? String(config.chainId)
      : method === 'web3_sha3'
        ? sha3(params[0])
        : `0x${config.chainId.toString(16)}`
  return { result, meta: meta({ consistency: 'static' }) }
}

function sha3(data: unknown): Hex {
  if (typeof data !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(data))
    throw new ProviderRpcError(-32602, 'web3_sha3 needs one hex string of whole bytes.')
  return keccak256(data as Hex)
}

/** EIP-1193 4200: the wallet (or a later outlast release) handles it. */
export const unsupported: Handler = async (_, { method }) => {
  throw new ProviderRpcError(
    4200,
    `${method} is not served by outlast: the wallet (or a later outlast release) handles it.`,
  )
}

/** Subscriptions and filters, over one gap-free chain stream (loaded on first use: streams.ts). */
export const subscription: Handler = async (engine, { method, params, meta }) =>
  (await engine.streams()).answer(method, params, meta)
