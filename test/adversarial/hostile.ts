/**
 * Hostile sources for the adversarial tests: a real source (over a lab proxy to real anvil)
 * whose answers are rewritten on purpose — well-formed, correctly hashed, and wrong.
 */
import { http, type Source } from '../../src/index.ts'
import { computeBlockHash, type RpcBlockHeader } from '../../src/verify/block.ts'
import type { Lab } from '../lab/index.ts'

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
