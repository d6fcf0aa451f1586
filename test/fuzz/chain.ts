/**
 * The fixed chain state the fuzz tests' honest source serves: mainnet (chain id 1) at block
 * 23,182,607, whose header and one of whose transactions are real and verify locally.
 */
import { readFileSync } from 'node:fs'
import { keccak256 } from 'ox/Hash'
import type { Hex } from '../../src/index.ts'

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../src/verify/fixtures/${name}`, import.meta.url), 'utf8'))

/** The head block (without `transactions`, as `eth_getBlockByNumber(n, false)` may give it). */
export const HEAD_BLOCK: Record<string, unknown> = fixture('block-prague-23182607.json').block
export const HEAD_HASH = HEAD_BLOCK.hash as Hex
export const HEAD_NUMBER = HEAD_BLOCK.number as Hex

/** A later real block: a valid head some source may be ahead at. */
export const LATER_BLOCK: Record<string, unknown> = fixture('block-prague-24630100.json').block

/** A type-2 transaction mined in the head block. */
export const TX: Record<string, unknown> = (
  fixture('transactions.json').transactions as { tx: Record<string, unknown> }[]
).find(
  (t) => t.tx.hash === '0x2c522d01183e9ed70caaf75c940ba9908d573cfc9996b3e7adc90313798279c8',
)!.tx
export const TX_HASH = TX.hash as Hex

export const ADDRESS = '0x388c818ca8b9251b393131c08a736a67ccb19297'
export const BALANCE = '0x1bc16d674ec80000'
export const CALL_RESULT = `0x${'00'.repeat(31)}2a`
export const GAS_PRICE = '0x23cf3fd4'
/**
 * A real signed transaction (EIP-2930, Ropsten, from ethers v5's tests): the engine decodes the
 * envelope (one canonical RLP list after the type byte) before it hashes and sends it.
 */
export const RAW_TX =
  '0x01f87c030d8465cf89a0825b689432162f3581e88a5f62e8a61892b42c46e2c18f7b8080d7d6940000000000000000000000000000000000000000c080a09659cba42376dbea1433cd6afc9c8ffa38dbeff5408ffdca0ebde6207281a3eca027efbab3e6ed30b088ce0a50533364778e101c9e52acf318daec131da64e7758' as Hex
export const RAW_TX_HASH = keccak256(RAW_TX)

/** The methods fuzzed through the engine, with the params a caller would give. */
export const CALLS = {
  eth_getBalance: [ADDRESS, 'latest'],
  eth_call: [{ to: ADDRESS, data: '0x70a08231' }, 'latest'],
  eth_blockNumber: [],
  eth_getBlockByHash: [HEAD_HASH, false],
  eth_getTransactionByHash: [TX_HASH],
  eth_sendRawTransaction: [RAW_TX],
  eth_gasPrice: [],
} as const satisfies Record<string, readonly unknown[]>

export type FuzzMethod = keyof typeof CALLS
export const METHODS = Object.keys(CALLS) as FuzzMethod[]

/** What the engine must answer for each fuzzed call when one honest source is reachable. */
export const EXPECTED: Record<FuzzMethod, unknown> = {
  eth_getBalance: BALANCE,
  eth_call: CALL_RESULT,
  eth_blockNumber: HEAD_NUMBER,
  // Its `sha3Uncles` says it has none: outlast gives the empty list the fixture leaves out.
  eth_getBlockByHash: { ...HEAD_BLOCK, uncles: [] },
  eth_getTransactionByHash: TX,
  eth_sendRawTransaction: RAW_TX_HASH,
  eth_gasPrice: GAS_PRICE,
}

/** The honest answer (`result` member) to any call the engine makes; `undefined` for unknown methods. */
export function honestResult(method: string, params: readonly unknown[]): unknown {
  switch (method) {
    case 'eth_chainId':
      return '0x1'
    case 'eth_blockNumber':
      return HEAD_NUMBER
    case 'eth_getBlockByNumber': {
      const tag = params[0]
      return tag === 'latest' || tag === HEAD_NUMBER ? HEAD_BLOCK : null
    }
    case 'eth_getBlockByHash':
      return String(params[0]).toLowerCase() === HEAD_HASH ? HEAD_BLOCK : null
    case 'eth_getTransactionByHash':
      return String(params[0]).toLowerCase() === TX_HASH ? TX : null
    case 'eth_getBalance':
      return BALANCE
    case 'eth_call':
      return CALL_RESULT
    case 'eth_gasPrice':
      return GAS_PRICE
    case 'eth_sendRawTransaction':
      return keccak256(params[0] as Hex)
    default:
      return undefined
  }
}
