/**
 * Hostile sources for the adversarial tests: a real source (over a lab proxy to real anvil)
 * whose answers are rewritten on purpose — well-formed, correctly hashed, and wrong.
 */
import assert from 'node:assert/strict'
import type { ProverContext } from '../../src/core/prover.ts'
import { createTrustStore } from '../../src/core/trust.ts'
import { http, RpcResponseError, type Source } from '../../src/index.ts'
import { computeBlockHash, type RpcBlockHeader } from '../../src/verify/block.ts'
import { EMPTY_CODE_HASH } from '../../src/verify/proof.ts'
import { EMPTY_TRIE_ROOT, EMPTY_UNCLES_HASH } from '../../src/verify/trie.ts'
import type { Anvil, Lab } from '../lab/index.ts'

export type Rewrite = (
  method: string,
  params: readonly unknown[],
  answer: () => Promise<unknown>,
) => Promise<unknown>

/** `inner` under another name and domain, its answers passed through `rewrite`. */
export function hostile(
  inner: Source,
  rewrite: Rewrite,
  config: { name?: string; domain?: string } = {},
): Source {
  return {
    config: { ...inner.config, ...config },
    request: (body, options) =>
      rewrite(body.method, body.params ?? [], () => inner.request(body, options)),
  }
}

const hex = (n: number | bigint) => `0x${n.toString(16)}`

/**
 * A header at `number` built from a real one: correctly hashed, so only agreement can tell it
 * is not on the chain. `salt` changes its contents (and so its hash) for siblings.
 */
export function forgeHeader(
  real: Record<string, unknown>,
  number: number,
  salt = 1,
): Record<string, unknown> {
  const { transactions: _t, ...rest } = real
  const forged: Record<string, unknown> = {
    ...rest,
    number: hex(number),
    extraData: `0x${salt.toString(16).padStart(8, '0')}`,
    transactions: [],
  }
  forged.hash = computeBlockHash(forged as unknown as RpcBlockHeader)
  return forged
}

/** The lab's honest sources named (all of them by default), each over its own proxy. */
export function labSources(lab: Lab, names?: readonly string[]): Source[] {
  return lab.sources
    .filter((s) => !names || names.includes(s.name))
    .map((s) => http(s.proxy.url, { name: s.name, domain: s.domain, fetchFn: s.proxy.fetch }))
}

/** A Cancun header's fields (no requestsHash, blobs in excess) over an empty state. */
export const EMPTY_CANCUN = {
  parentHash: `0x${'11'.repeat(32)}`,
  sha3Uncles: EMPTY_UNCLES_HASH,
  miner: `0x${'c0'.repeat(20)}`,
  stateRoot: EMPTY_TRIE_ROOT,
  transactionsRoot: EMPTY_TRIE_ROOT,
  receiptsRoot: EMPTY_TRIE_ROOT,
  logsBloom: `0x${'00'.repeat(256)}`,
  difficulty: '0x0',
  number: '0x100',
  gasLimit: '0x1c9c380',
  gasUsed: '0x0',
  timestamp: '0x67000000',
  extraData: '0x',
  mixHash: `0x${'22'.repeat(32)}`,
  nonce: '0x0000000000000000',
  baseFeePerGas: '0x7',
  withdrawalsRoot: EMPTY_TRIE_ROOT,
  blobGasUsed: '0x0',
  excessBlobGas: '0x4000000',
  parentBeaconBlockRoot: `0x${'33'.repeat(32)}`,
}

/** Init code returning BLOBBASEFEE as one word: its value depends on the blob fee schedule. */
export const BLOB_BASE_FEE = '0x4a5f5260205ff3'

/** A prover's view of one source over the empty state (every account proven absent) at `header`. */
export function emptyStateContext(header: Record<string, unknown>, chainId: number): ProverContext {
  const store = createTrustStore({
    checkpoints: [],
    hook: undefined,
    fetchHeader: async () => null,
  })
  const trusted = store.add(header, 'agreed')
  assert.ok(trusted, 'the header hashes to its hash')
  return {
    header: trusted,
    trusted: store.resolve,
    chainId,
    call: async (method, params) => {
      if (method === 'eth_getProof')
        return {
          address: params[0],
          accountProof: [],
          balance: '0x0',
          nonce: '0x0',
          codeHash: EMPTY_CODE_HASH,
          storageHash: EMPTY_TRIE_ROOT,
          storageProof: [],
        }
      if (method === 'eth_getCode') return '0x'
      if (method === 'eth_createAccessList') return { accessList: [], gasUsed: '0x0' }
      throw new Error(`unexpected ${method}`)
    },
  }
}

/**
 * An honest node at its own pace: `node`'s answers, each `ms` late (`slowFor`: another delay for
 * the methods named), as source `name` in a domain of its own.
 */
export function paced(
  node: { url: string },
  name: string,
  ms: number,
  slowFor: Record<string, number> = {},
): Source {
  const inner = http(node.url, { name, domain: name, timeout: 5_000 })
  return hostile(inner, async (method, _params, answer) => {
    await new Promise((r) => setTimeout(r, slowFor[method] ?? ms))
    return answer()
  })
}

/**
 * An honest node that imports each block `lag` ms after it appears (a node further from the
 * block producer): until then its `latest` is the block before, and a read pinned to the new
 * block's hash gets geth's "header for hash not found".
 */
export function lateImporter(anvil: Anvil, name: string, lag: number): Source & { stop(): void } {
  const inner = http(anvil.url, { name, domain: name, timeout: 5_000 })
  const arrived = new Map<string, number>() // block hash → when it appeared
  const byNumber = new Map<number, string>()
  let stopped = false
  let first = true
  void (async () => {
    while (!stopped) {
      const b = await anvil
        .rpc<{ hash: string; number: string }>('eth_getBlockByNumber', ['latest', false])
        .catch(() => undefined)
      if (b && !arrived.has(b.hash)) {
        // The head at start was imported long ago: the node is behind new blocks only.
        arrived.set(b.hash, first ? 0 : Date.now())
        byNumber.set(Number(b.number), b.hash)
      }
      if (b) first = false
      await new Promise((r) => setTimeout(r, 10))
    }
  })()
  const imported = (hash: string) => Date.now() - (arrived.get(hash) ?? 0) >= lag
  return {
    config: inner.config,
    stop: () => {
      stopped = true
    },
    request: async (body, options) => {
      const params = (body.params ?? []) as unknown[]
      if (body.method === 'eth_getBlockByNumber' && params[0] === 'latest') {
        const top = Math.max(...byNumber.keys())
        for (let n = top; n >= 0; n--) {
          const hash = byNumber.get(n)
          if (hash === undefined || imported(hash))
            return inner.request(
              { ...body, params: [`0x${n.toString(16)}`, ...params.slice(1)] },
              options,
            )
        }
      }
      const pinned = params.find(
        (p): p is { blockHash: string } => typeof p === 'object' && p !== null && 'blockHash' in p,
      )
      if (pinned && !imported(pinned.blockHash.toLowerCase()))
        throw new RpcResponseError(name, { code: -32000, message: 'header for hash not found' })
      return inner.request(body, options)
    },
  }
}
