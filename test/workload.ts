/**
 * A wallet-like workload (balance, block number, contract call, block by hash) run through
 * each surface outlast offers, with the truth read straight from the node for comparison.
 */
import { keccak256, toHex } from 'viem'
import type { Anvil } from './lab/index.ts'
import { devAccounts } from './lab/index.ts'

/** Runtime code that returns 42 as one 32-byte word, and init code that deploys it. */
export const ANSWER_RUNTIME = '0x602a60005260206000f3'
export const ANSWER_INIT = `0x600a600c600039600a6000f3${ANSWER_RUNTIME.slice(2)}`
export const ANSWER_WORD = `0x${'2a'.padStart(64, '0')}`

/** `Ping(uint256)`: the ping contract logs its calldata under this topic. */
export const PING = keccak256(toHex('Ping(uint256)'))
/** Runtime: CALLDATACOPY the calldata to memory, LOG1 it under PING. */
export const PING_RUNTIME = `0x3660006000377f${PING.slice(2)}366000a100`
export const PING_INIT = `0x602c600c600039602c6000f3${PING_RUNTIME.slice(2)}`

/** Deploys the answer contract from dev account 0 and returns its address. */
export async function deployAnswer(anvil: Anvil, init = ANSWER_INIT): Promise<`0x${string}`> {
  const hash = await anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[0].address, data: init, gas: '0x30000' },
  ])
  for (;;) {
    const receipt = await anvil.rpc<{ contractAddress: `0x${string}` } | null>(
      'eth_getTransactionReceipt',
      [hash],
    )
    if (receipt) return receipt.contractAddress
    await anvil.rpc('evm_mine')
  }
}

/** Sends a ping to `emitter` (a PING_INIT contract: it logs `Ping` with `n`) from dev account 1; its hash. */
export const sendPing = (anvil: Anvil, emitter: string, n: number): Promise<string> =>
  anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[1].address, to: emitter, data: toHex(n, { size: 32 }) },
  ])

/** A ping mined into its own block; that block's number. */
export async function minePing(anvil: Anvil, emitter: string, n: number): Promise<number> {
  const hash = await sendPing(anvil, emitter, n)
  await anvil.rpc('evm_mine')
  const receipt = await anvil.rpc<{ blockNumber: string }>('eth_getTransactionReceipt', [hash])
  return Number(receipt.blockNumber)
}

/** The calls a wallet makes, as one surface (raw EIP-1193, viem, ethers) performs them. */
export type Surface = {
  name: string
  balance(address: `0x${string}`): Promise<bigint>
  blockNumber(): Promise<bigint>
  call(to: `0x${string}`, data: `0x${string}`): Promise<string>
  blockHash(hash: `0x${string}`): Promise<string>
  close(): Promise<void>
}
