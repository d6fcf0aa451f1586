/**
 * The EVM's view of state: writes go to checkpointed layers in memory, reads fall through to
 * `ProvenReads`, which only ever yields proven data. Nothing is written back anywhere: each
 * execution gets a fresh one over the same proven reads.
 */
import type { StateManagerInterface } from '@ethereumjs/common'
import {
  Account,
  type Address,
  bigIntToUnpaddedBytes,
  bytesToHex,
  hexToBytes,
  KECCAK256_NULL,
  unpadBytes,
} from '@ethereumjs/util'
import * as Hash from 'ox/Hash'
import type { Hex } from '../shared/types.ts'
import type { ProvenReads } from './provenReads.ts'

type Layer = {
  accounts: Map<string, Account | undefined>
  code: Map<string, Uint8Array>
  /** `${address}:${slot}` → value without leading zeros (empty for zero). */
  storage: Map<string, Uint8Array>
  /** Accounts whose storage was wiped in this layer: lower layers and the chain don't count. */
  cleared: Set<string>
}

const layer = (): Layer => ({
  accounts: new Map(),
  code: new Map(),
  storage: new Map(),
  cleared: new Set(),
})

const copy = (a: Account) => new Account(a.nonce, a.balance, a.storageRoot, a.codeHash)
const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((byte, i) => byte === b[i])

export type ProvenState = StateManagerInterface & {
  /** Drops every write: back to the state of the block, for the next execution. */
  reset(): void
}

/**
 * A `StateManagerInterface` for `@ethereumjs/evm` over proven reads at one block; `waiting` wraps
 * each read from the chain (the pace's clock stops while a proof is on the network).
 */
export function provenState(
  reads: ProvenReads,
  waiting: <T>(read: Promise<T>) => Promise<T> = (read) => read,
): ProvenState {
  const layers: Layer[] = [layer()]
  const top = () => layers[layers.length - 1]!

  const fromChain = async (address: string) => {
    const a = await waiting(reads.account(address as Hex))
    return a
      ? new Account(a.nonce, a.balance, hexToBytes(a.storageHash), hexToBytes(a.codeHash))
      : undefined
  }
  const chainStorage = async (address: string, key: Uint8Array) =>
    bigIntToUnpaddedBytes(await waiting(reads.storage(address as Hex, bytesToHex(key))))

  const getAccount = async (address: Address) => {
    const a = address.toString()
    for (let i = layers.length - 1; i >= 0; i--)
      if (layers[i]!.accounts.has(a)) {
        const found = layers[i]!.accounts.get(a)
        return found && copy(found)
      }
    return fromChain(a)
  }

  const putAccount = async (address: Address, account?: Account) => {
    if (account === undefined) return deleteAccount(address)
    top().accounts.set(address.toString(), copy(account))
  }

  const clearStorage = async (address: Address) => {
    const a = address.toString()
    const t = top()
    for (const k of t.storage.keys()) if (k.startsWith(`${a}:`)) t.storage.delete(k)
    t.cleared.add(a)
  }

  const deleteAccount = async (address: Address) => {
    top().accounts.set(address.toString(), undefined)
    await clearStorage(address)
  }

  const getCode = async (address: Address): Promise<Uint8Array> => {
    const account = await getAccount(address)
    if (!account || sameBytes(account.codeHash, KECCAK256_NULL)) return new Uint8Array(0)
    const a = address.toString()
    for (let i = layers.length - 1; i >= 0; i--) {
      const code = layers[i]!.code.get(a)
      if (code) return code
    }
    return hexToBytes(await waiting(reads.code(a as Hex)))
  }

  const state: ProvenState = {
    reset() {
      layers.length = 0
      layers.push(layer())
    },
    getAccount,
    putAccount,
    deleteAccount,
    async modifyAccountFields(address, fields) {
      const account = (await getAccount(address)) ?? new Account()
      account.nonce = fields.nonce ?? account.nonce
      account.balance = fields.balance ?? account.balance
      account.storageRoot = fields.storageRoot ?? account.storageRoot
      account.codeHash = fields.codeHash ?? account.codeHash
      await putAccount(address, account)
    },
    async putCode(address, value) {
      top().code.set(address.toString(), value)
      const account = (await getAccount(address)) ?? new Account()
      account.codeHash = Hash.keccak256(value)
      await putAccount(address, account)
    },
    getCode,
    getCodeSize: async (address) => (await getCode(address)).length,
    async getStorage(address, key) {
      const a = address.toString()
      const k = `${a}:${bytesToHex(key)}`
      for (let i = layers.length - 1; i >= 0; i--) {
        const l = layers[i]!
        const value = l.storage.get(k)
        if (value) return value
        if (l.cleared.has(a)) return new Uint8Array(0)
      }
      return chainStorage(a, key)
    },
    async putStorage(address, key, value) {
      top().storage.set(`${address.toString()}:${bytesToHex(key)}`, unpadBytes(value))
    },
    clearStorage,
    async checkpoint() {
      layers.push(layer())
    },
    async commit() {
      if (layers.length < 2) return
      const t = layers.pop()!
      const below = top()
      for (const a of t.cleared) {
        for (const k of below.storage.keys()) if (k.startsWith(`${a}:`)) below.storage.delete(k)
        below.cleared.add(a)
      }
      for (const [k, v] of t.accounts) below.accounts.set(k, v)
      for (const [k, v] of t.code) below.code.set(k, v)
      for (const [k, v] of t.storage) below.storage.set(k, v)
    },
    async revert() {
      if (layers.length > 1) layers.pop()
      else layers[0] = layer()
    },
    // Storage as it was before the call (for SSTORE gas): what the chain holds.
    originalStorageCache: {
      get: (address, key) => chainStorage(address.toString(), key),
      clear() {},
    },
    getStateRoot: () => Promise.reject(new Error('provenState has no state root')),
    setStateRoot: () => Promise.reject(new Error('provenState has no state root')),
    hasStateRoot: () => Promise.reject(new Error('provenState has no state root')),
    clearCaches() {},
    shallowCopy: () => provenState(reads),
  }
  return state
}
