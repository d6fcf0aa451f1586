/** Shared set-up for the core tests: a lab and outlast clients over its sources. */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
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

/**
 * Transfers from dev account 3 to dev account 2, signed here: `sign(nonce, value)`; the
 * account's nonce now (`nonceNow`, at `latest`: it moves once a transaction is mined) and the
 * next one free (`nonceNext`, at `pending`) on the node `anvil()` gives. A fresh transaction
 * takes `nonceNext`: signed at `latest` while the last one still waits for its block (anvil
 * mines every second), it is that same transaction again, as the signature is deterministic.
 */
export function transfers(anvil: () => Pick<Anvil, 'rpc'>) {
  const account = privateKeyToAccount(devAccounts[3]!.privateKey)
  const sign = (nonce: number, value = 1n) =>
    account.signTransaction({
      chainId: CHAIN_ID,
      type: 'eip1559',
      to: devAccounts[2]!.address,
      value,
      nonce,
      gas: 21_000n,
      maxFeePerGas: 20_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
    })
  const nonceNow = async () =>
    Number(await anvil().rpc<string>('eth_getTransactionCount', [account.address, 'latest']))
  const nonceNext = async () =>
    Number(await anvil().rpc<string>('eth_getTransactionCount', [account.address, 'pending']))
  return { account, sign, nonceNow, nonceNext }
}

/** A signed 1-wei transfer from dev account 3 to dev account 2, at the node's pending nonce. */
export async function signedTransfer(anvil: Anvil): Promise<`0x${string}`> {
  const { account, sign } = transfers(() => anvil)
  return sign(Number(await anvil.rpc('eth_getTransactionCount', [account.address, 'pending'])))
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void

/**
 * A node:http server on 127.0.0.1 handing each request, body read, to `handler`; its closing is
 * pushed to `cleanups` (run them after each test). Resolves with its URL.
 */
export async function serve(
  handler: Handler,
  cleanups: (() => Promise<unknown>)[],
): Promise<string> {
  const server = createServer(async (req, res) => {
    let body = ''
    for await (const c of req) body += c
    handler(req, res, body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanups.push(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}
