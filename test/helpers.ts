/** Shared set-up for the core tests: a lab and outlast clients over its sources. */

import { privateKeyToAccount } from 'viem/accounts'
import { createOutlast, http, type Outlast, type OutlastOptions } from '../src/index.ts'
import { type Anvil, devAccounts, type FaultProxy, type Lab, type LabSource } from './lab/index.ts'

export const CHAIN_ID = 31337

/**
 * One outlast client over every source of the lab (each source in its lab domain); `fetchFor`
 * may wrap a source's fetch (to tamper with its answers).
 */
export function clientFor(
  lab: Lab,
  options: Partial<OutlastOptions> = {},
  fetchFor: (s: LabSource & { proxy: FaultProxy }) => typeof fetch = (s) => s.proxy.fetch,
  /** Milliseconds one attempt at a source may take. */
  sourceTimeout = 2_000,
): Outlast {
  return createOutlast({
    chainId: CHAIN_ID,
    pollingInterval: 500,
    sources: lab.sources.map((s) =>
      http(s.proxy.url, {
        name: s.name,
        domain: s.domain,
        kind: s.kind,
        fetchFn: fetchFor(s),
        timeout: sourceTimeout,
      }),
    ),
    ...options,
  })
}

export const threeDomains = [
  { name: 'aws', domain: 'aws-us-east-1', latency: 20 },
  { name: 'gcp', domain: 'gcp-europe-west1', latency: 40 },
  { name: 'home', domain: 'home', kind: 'self-hosted' as const, latency: 60 },
]

/** Every proxy of the lab back to `ok`, its call counts cleared. */
export async function resetLab(lab: Lab): Promise<void> {
  for (const p of lab.proxies) {
    await p.setMode({ kind: 'ok' })
    p.resetStats()
  }
}

/** `eth_getBalance` of dev account `i` (cycling) at `latest`. */
export const balanceCall = (i: number) => ({
  method: 'eth_getBalance',
  params: [devAccounts[i % devAccounts.length]!.address, 'latest'],
})

/**
 * A node's block as outlast returns it (src/core/validate.ts `withoutUnchecked`): without
 * `totalDifficulty`, which no hash covers, and without `size` where the body cannot be measured
 * (its transactions as hashes, or uncles). Anything else as it is.
 */
export function asReturned<T>(answer: T): T {
  if (!answer || typeof answer !== 'object' || !('parentHash' in answer)) return answer
  const { totalDifficulty: _, size, ...rest } = answer as Record<string, unknown>
  const { transactions, uncles } = rest as { transactions?: unknown[]; uncles?: unknown[] }
  const measured = !transactions?.some((tx) => typeof tx === 'string') && !uncles?.length
  return (measured && size !== undefined ? { ...rest, size } : rest) as T
}

/**
 * A node's receipt (or a block's receipts) as `outlast/proofs` returns it on the lab's chain
 * (src/proofs/receipts.ts `provenOnly`): without `blobGasPrice`, which cannot be derived on a
 * chain whose blob forks are not known (anvil sends it on every receipt once blobs exist).
 */
export function asProven<T>(receipt: T): T {
  if (Array.isArray(receipt)) return receipt.map(asProven) as T
  if (!receipt || typeof receipt !== 'object') return receipt
  const { blobGasPrice: _, ...rest } = receipt as Record<string, unknown>
  return rest as T
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A signed 1-wei transfer from dev account 3 to dev account 2, at the node's pending nonce. */
export async function signedTransfer(anvil: Anvil): Promise<`0x${string}`> {
  const account = privateKeyToAccount(devAccounts[3]!.privateKey)
  return account.signTransaction({
    chainId: CHAIN_ID,
    type: 'eip1559',
    to: devAccounts[2]!.address,
    value: 1n,
    nonce: Number(await anvil.rpc('eth_getTransactionCount', [account.address, 'pending'])),
    gas: 21_000n,
    maxFeePerGas: 20_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
  })
}
