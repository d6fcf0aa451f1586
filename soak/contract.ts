/**
 * A counter contract for the workload, in raw bytecode (no compiler needed). A call without
 * data returns two words: the counter (slot 0) and `block.number`, so a read pinned to the
 * wrong block shows. A transaction with any data increments the counter.
 */

import type { Anvil } from '../test/lab/index.ts'
import { devAccounts } from '../test/lab/index.ts'

// CALLDATASIZE ISZERO PUSH1 0x0f JUMPI                    (no data: jump to the read)
// PUSH1 0 SLOAD PUSH1 1 ADD PUSH1 0 SSTORE STOP             (increment)
// JUMPDEST PUSH1 0 SLOAD PUSH1 0 MSTORE NUMBER PUSH1 0x20 MSTORE PUSH1 0x40 PUSH1 0 RETURN
export const COUNTER_RUNTIME = '0x3615600f57600054600101600055005b6000546000524360205260406000f3'
const RUNTIME_BYTES = (COUNTER_RUNTIME.length - 2) / 2
// PUSH1 len PUSH1 12 PUSH1 0 CODECOPY PUSH1 len PUSH1 0 RETURN, then the runtime.
const len = RUNTIME_BYTES.toString(16).padStart(2, '0')
export const COUNTER_INIT = `0x60${len}600c60003960${len}6000f3${COUNTER_RUNTIME.slice(2)}`

/** Deploys the counter from dev account 0 (unlocked on anvil) and returns its address. */
export async function deployCounter(anvil: Anvil): Promise<`0x${string}`> {
  const hash = await anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[0].address, data: COUNTER_INIT, gas: '0x30000' },
  ])
  for (let i = 0; i < 100; i++) {
    const receipt = await anvil.rpc<{ contractAddress: `0x${string}`; status: string } | null>(
      'eth_getTransactionReceipt',
      [hash],
    )
    if (receipt) {
      if (receipt.status !== '0x1') throw new Error('harness: the counter contract did not deploy')
      return receipt.contractAddress
    }
    await anvil.rpc('evm_mine')
  }
  throw new Error('harness: the counter contract was never mined')
}
