/** Type-level tests for outlast/ethers, checked by `tsc --noEmit` (never run). */
import {
  type AbstractProvider,
  Contract,
  type ContractRunner,
  type JsonRpcApiProvider,
  type Provider,
  Wallet,
} from 'ethers'
import type { Outlast } from '../core/createOutlast.ts'
import { OutlastProvider, type OutlastProviderOptions } from './ethers.ts'

declare const rpc: Outlast

const provider = new OutlastProvider(rpc)
new OutlastProvider(rpc, { pollingInterval: 1_000, cacheTimeout: -1, closeOnDestroy: true })

// It is an ethers Provider, usable wherever one is taken.
const asProvider: Provider = provider
const asAbstract: AbstractProvider = provider
const asJsonRpc: JsonRpcApiProvider = provider
const asRunner: ContractRunner = provider
const wallet: Wallet = new Wallet('0x01', provider)
new Contract('0x0000000000000000000000000000000000000001', ['function f()'], provider)
new Contract('0x0000000000000000000000000000000000000001', ['function f()'], wallet)

// The outlast client is exposed, typed.
const client: Outlast = provider.outlast
const balance: Promise<bigint> = provider.getBalance('0x0000000000000000000000000000000000000001')

// Every option is optional; each has one type.
const none: OutlastProviderOptions = {}

// @ts-expect-error the outlast client is required
new OutlastProvider()
// @ts-expect-error a URL is not an outlast client
new OutlastProvider('https://example.invalid')
// @ts-expect-error a bare EIP-1193 provider is not an outlast client (no chainId, status, close)
new OutlastProvider({ request: async () => null })
// @ts-expect-error pollingInterval is milliseconds, not a string
new OutlastProvider(rpc, { pollingInterval: '1s' })
// @ts-expect-error unknown option
new OutlastProvider(rpc, { batchMaxCount: 10 })
// @ts-expect-error closeOnDestroy is a boolean
new OutlastProvider(rpc, { closeOnDestroy: 'yes' })
// @ts-expect-error outlast is read-only
provider.outlast = rpc

export { asAbstract, asJsonRpc, asProvider, asRunner, balance, client, none }
