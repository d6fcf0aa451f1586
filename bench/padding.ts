/**
 * Memory against padded answers: 1,000 lookups by hash of distinct blocks whose headers are
 * correctly hashed but padded with a field no hash covers (1 MiB each), from in-process sources
 * in two domains. What outlast keeps (the cache of checked answers, bounded by bytes; headers
 * stripped to their hashed fields) must stay bounded: the retained heap after a full GC is
 * reported against the 1,000 MiB the padding adds up to.
 *
 * Usage: node --expose-gc bench/padding.ts [--lookups 1000] [--json]
 * (`npm run bench` runs it in a child process at the end.)
 */
import { readFileSync } from 'node:fs'
import { createOutlast, type Source } from '../src/index.ts'
import { computeBlockHash, type RpcBlockHeader } from '../src/verify/block.ts'
import { EMPTY_TRIE_ROOT, EMPTY_UNCLES_HASH } from '../src/verify/trie.ts'

export type PaddingResult = {
  lookups: number
  paddingMiB: number
  heapBeforeMiB: number
  heapAfterMiB: number
  retainedMiB: number
}

/** A fresh 1 MiB string per answer: the source keeps none, so what stays is what outlast keeps. */
const padding = (i: number) => `${i}:`.padEnd(1024 * 1024, 'p')

const { block } = JSON.parse(
  readFileSync(
    new URL('../src/verify/fixtures/block-prague-24630100.json', import.meta.url),
    'utf8',
  ),
) as { block: Record<string, unknown> }

/** Block `i`: an empty body its header's roots say is empty, correctly hashed. */
function emptyBlock(i: number): Record<string, unknown> {
  const header: Record<string, unknown> = {
    ...block,
    extraData: `0x${i.toString(16).padStart(8, '0')}`,
    transactionsRoot: EMPTY_TRIE_ROOT,
    withdrawalsRoot: EMPTY_TRIE_ROOT,
    sha3Uncles: EMPTY_UNCLES_HASH,
    transactions: [],
    withdrawals: [],
    uncles: [],
  }
  // The fixture's `size` is its full body's; no `size` here (where given, it is checked).
  delete header.size
  header.hash = computeBlockHash(header as unknown as RpcBlockHeader)
  return header
}

function paddingSource(
  name: string,
  domain: string,
  blocks: readonly Record<string, unknown>[],
): Source {
  const byHash = new Map(blocks.map((b, i) => [String(b.hash), i]))
  return {
    config: { name, kind: 'cloud', domain, weight: 1, label: 'mem' },
    request: async ({ method, params }) => {
      if (method === 'eth_chainId') return '0x1'
      if (method === 'eth_getBlockByNumber') return { ...blocks[0], padding: padding(0) }
      if (method === 'eth_getBlockByHash') {
        const i = byHash.get(String(params?.[0]))
        return i === undefined ? null : { ...blocks[i], padding: padding(i) }
      }
      throw new Error(`padding source: ${method} is not served`)
    },
  }
}

const heapMiB = () => {
  globalThis.gc?.()
  return process.memoryUsage().heapUsed / 2 ** 20
}

export async function measurePadding(lookups = 1_000): Promise<PaddingResult> {
  const blocks = Array.from({ length: lookups }, (_, i) => emptyBlock(i))
  const rpc = createOutlast({
    chainId: 1,
    sources: [paddingSource('a', 'domain-a', blocks), paddingSource('b', 'domain-b', blocks)],
  })
  await rpc.request({ method: 'eth_getBlockByHash', params: [blocks[0]!.hash, false] })
  const before = heapMiB()
  for (const b of blocks) {
    const answer = (await rpc.request({
      method: 'eth_getBlockByHash',
      params: [b.hash, false],
    })) as { hash: string }
    if (answer.hash !== b.hash) throw new Error('wrong block')
  }
  const after = heapMiB()
  await rpc.close()
  return {
    lookups,
    paddingMiB: lookups,
    heapBeforeMiB: before,
    heapAfterMiB: after,
    retainedMiB: after - before,
  }
}

export function paddingMarkdown(r: PaddingResult): string {
  return [
    `${r.lookups} lookups by hash of distinct blocks, each correctly hashed and padded with 1 MiB that no hash covers (${r.paddingMiB} MiB in all), from in-process sources in two domains; heap after a full GC: ${r.heapBeforeMiB.toFixed(1)} MiB before, ${r.heapAfterMiB.toFixed(1)} MiB after, **${r.retainedMiB.toFixed(1)} MiB retained** (bound: the 8 MiB cache of checked answers plus headers stripped to their hashed fields).`,
  ].join('\n')
}

if (import.meta.main) {
  const argv = process.argv.slice(2)
  const i = argv.indexOf('--lookups')
  if (!globalThis.gc) console.error('padding: run with node --expose-gc for exact heap figures')
  const r = await measurePadding(i >= 0 ? Number(argv[i + 1]) : 1_000)
  console.log(argv.includes('--json') ? JSON.stringify(r) : paddingMarkdown(r))
}
