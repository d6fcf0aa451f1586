/**
 * The demo's outage lab: one local anvil chain behind five fault proxies that play four
 * cloud RPC providers and one self-hosted node, plus the two tiny contracts the workload calls.
 */
import { type Anvil, type Lab, type LabSource, startLab } from '../test/lab/index.ts'
import { deployAnswer } from '../test/workload.ts'

export const CHAIN_ID = 31337

/**
 * The providers, in the order a developer would list them in `fallback([...])`: the two
 * fastest first. Both of them live in aws-us-east-1, so they fail together.
 */
export const demoProviders: LabSource[] = [
  { name: 'infura-like', domain: 'aws-us-east-1', latency: 20 },
  { name: 'alchemy-like', domain: 'aws-us-east-1', latency: 15 },
  { name: 'quicknode-like', domain: 'gcp-us-central1', latency: 35 },
  { name: 'ankr-like', domain: 'azure-westeurope', latency: 80 },
  { name: 'home-node', domain: 'home', kind: 'self-hosted', latency: 50 },
]

export type DemoContracts = {
  /** Returns 42 as one 32-byte word, whatever the calldata. */
  answer: `0x${string}`
  /** Returns the balance of the address in calldata bytes 4..36 (the state changes as we transfer). */
  balanceReader: `0x${string}`
}

/** Runtime: PUSH1 4, CALLDATALOAD, BALANCE, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN. */
const BALANCE_READER_RUNTIME = '6004353160005260206000f3'

/** Starts the lab (a block a second, like a fast mainnet) and deploys the demo contracts. */
export async function startDemoLab(): Promise<{ lab: Lab; contracts: DemoContracts }> {
  const lab = await startLab({ blockTime: 1, sources: demoProviders })
  try {
    const answer = await deployAnswer(lab.anvil)
    const balanceReader = await deployRuntime(lab.anvil, BALANCE_READER_RUNTIME)
    return { lab, contracts: { answer, balanceReader } }
  } catch (error) {
    await lab.stop()
    throw error
  }
}

/** Deploys `runtime` (hex without 0x, under 256 bytes) with a copy-and-return init code. */
async function deployRuntime(anvil: Anvil, runtime: string): Promise<`0x${string}`> {
  const size = (runtime.length / 2).toString(16).padStart(2, '0')
  // PUSH1 size, PUSH1 12 (init length), PUSH1 0, CODECOPY, PUSH1 size, PUSH1 0, RETURN
  const init = `0x60${size}600c60003960${size}6000f3${runtime}`
  const [from] = await anvil.rpc<string[]>('eth_accounts')
  const hash = await anvil.rpc<string>('eth_sendTransaction', [
    { from, data: init, gas: '0x30000' },
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
