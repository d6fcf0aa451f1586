/**
 * Helpers the node-error reviews share (reviewOfSession38e … 38i, 39a … 39g): lab proxies as
 * sources in domains of their own, a fleet with a quorum of domains, a request's outcome, each
 * source's standing, a request looped, accounts.
 */
import { createOutlast, http, type Source } from '../../src/index.ts'
import { CHAIN_ID } from '../helpers.ts'
import type { Lab } from '../lab/index.ts'
import { hostile, type Rewrite } from './hostile.ts'

/** Lab proxy `proxy` as a source `name` in its own domain `name`, its answers via `rewrite`. */
export function labNode(
  lab: Lab,
  proxy: string,
  name: string,
  rewrite?: Rewrite,
  extra: Record<string, unknown> = {},
): Source {
  const p = lab.proxy(proxy)
  const inner = http(p.url, { name, domain: name, fetchFn: p.fetch, timeout: 5_000, ...extra })
  return rewrite ? hostile(inner, rewrite, { name, domain: name }) : inner
}

/** A client whose answers need `domains` domains (10 s per attempt). */
export const fleet = (sources: Source[], domains = 2) =>
  createOutlast({ chainId: CHAIN_ID, quorum: { domains }, sources, timeout: 10_000 })

/** A client polling the head every `pollingInterval` ms, its answers needing `domains` domains. */
export const polled = (sources: Source[], domains = 2, pollingInterval = 100) =>
  createOutlast({
    chainId: CHAIN_ID,
    quorum: { domains },
    sources,
    timeout: 10_000,
    pollingInterval,
  })
export type Polled = ReturnType<typeof polled>

/** Each source's breaker and condition: `name breaker condition`. */
export const standing = (rpc: Pick<Polled, 'status'>) =>
  rpc.status().sources.map((s) => `${s.name} ${s.breaker} ${s.condition}`)

/** A connected client, the agreed head, and `ask` run `times` times: each outcome, in short. */
export async function loop(
  rpc: Polled,
  times: number,
  ask: (head: number) => Promise<unknown>,
): Promise<string[]> {
  await rpc.connect()
  const head = Number(await rpc.request({ method: 'eth_blockNumber' }))
  const out: string[] = []
  for (let i = 0; i < times; i++) {
    const r = await settle(ask(head))
    out.push(r.error ? `${r.error.name} ${r.error.code}` : 'ok')
  }
  return out
}

/** A promise's value or error, never a rejection. */
export const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ value, error: undefined }),
    (error: unknown) => ({ value: undefined, error: error as Error & Record<string, unknown> }),
  )

export const hex = (n: number | bigint) => `0x${n.toString(16)}`
/** An account with no ether: a transfer it simulates is refused by every node. */
export const POOR = `0x${'77'.repeat(20)}`
/** anvil's first account, funded. */
export const RICH = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266'
export const ETHER = 10n ** 18n
