/**
 * A prover's context over one source at its latest block, outside the engine, for tests that
 * call a prover's `answer` directly: the calls it makes are logged, and `lie` rewrites the
 * source's answers.
 */
import { createTrustStore } from '../src/core/trust.ts'
import type { Source } from '../src/index.ts'
import { CHAIN_ID } from './helpers.ts'

export type Lie = (method: string, result: unknown) => unknown

export async function proverContext(source: Source, lie?: Lie) {
  const calls: { method: string; params: unknown[] }[] = []
  const call = async (method: string, params: unknown[]) => {
    calls.push({ method, params })
    const result = await source.request({ method, params })
    return lie ? lie(method, result) : result
  }
  const block = (await source.request({
    method: 'eth_getBlockByNumber',
    params: ['latest', false],
  })) as Record<string, unknown>
  const trust = createTrustStore({
    checkpoints: [],
    hook: undefined,
    fetchHeader: async (hash) =>
      (await source.request({ method: 'eth_getBlockByHash', params: [hash, false] })) as Record<
        string,
        unknown
      >,
  })
  const header = trust.add(block, 'agreed')!
  return { ctx: { header, trusted: trust.resolve, call, chainId: CHAIN_ID }, calls, header }
}
