/**
 * What the reviews of a liar behind its own lab proxy share (reviewOfFlapping,
 * reviewOfWiderQuorums): the honest sources, a proxy run through up and out phases, and a chain
 * forged on the real head as the real head is read.
 */
import { http, type Source } from '../../src/index.ts'
import { computeBlockHash, type RpcBlockHeader } from '../../src/verify/block.ts'
import { sleep, threeDomains } from '../helpers.ts'
import { type FaultMode, type Lab, startLab } from '../lab/index.ts'
import type { Header } from './forger.ts'
import { hostile } from './hostile.ts'

/** The balance the liar claims for everyone: no dev account holds it. */
export const MARK = '0x1234567890abcdef'

const hex = (n: number) => `0x${n.toString(16)}`
const seconds = () => Math.floor(Date.now() / 1_000)

/** The lab's sources named `names`, over their proxies, each attempt bounded by `timeout` ms. */
export const honestOf = (lab: Lab, names: readonly string[], timeout = 1_000): Source[] =>
  lab.sources
    .filter((s) => names.includes(s.name))
    .map((s) =>
      http(s.proxy.url, { name: s.name, domain: s.domain, fetchFn: s.proxy.fetch, timeout }),
    )

/** Runs proxy `name` through `phases` (mode, ms) over and over until the returned stop. */
export function flap(lab: Lab, phases: readonly [FaultMode['kind'], number][], name = 'liar') {
  let on = true
  const done = (async () => {
    while (on)
      for (const [kind, ms] of phases) {
        if (!on) break
        await lab.proxy(name).setMode({ kind } as FaultMode)
        await sleep(ms)
      }
    await lab.proxy(name).setMode({ kind: 'ok' })
  })()
  return async () => {
    on = false
    await done
  }
}

/**
 * A chain forged on the first real head `extend` is given, `rate` blocks a second from then
 * (correctly hashed, linked, with fresh timestamps, marked in `extraData`): `extend` gives its
 * tip, `byHash` and `byNumber` its blocks.
 */
export function forgedChain(rate: number) {
  const byHash = new Map<string, Header>()
  const byNumber = new Map<string, Header>()
  let base: Header | undefined
  let tip: Header | undefined
  let started = 0
  const extend = (real: Header): Header => {
    if (!base) {
      base = real
      tip = real
      started = Date.now()
    }
    const want = 1 + Math.floor((rate * (Date.now() - started)) / 1_000)
    while (Number(tip!.number) - Number(base.number) < want) {
      const parent = tip!
      const forged: Record<string, unknown> = {
        ...parent,
        number: hex(Number(parent.number) + 1),
        parentHash: parent.hash,
        timestamp: hex(Math.max(seconds(), Number(parent.timestamp))),
        extraData: '0x6c696172',
      }
      forged.hash = computeBlockHash(forged as unknown as RpcBlockHeader)
      tip = forged as Header
      byHash.set(tip.hash.toLowerCase(), tip)
      byNumber.set(tip.number, tip)
    }
    return tip!
  }
  return { extend, byHash, byNumber, tip: () => tip }
}

/** The liar over its lab proxy (so `refused` and `blackhole` reach it), its answers rewritten. */
export const liarOf = (
  lab: Lab,
  rewrite: (method: string, params: readonly unknown[], real: () => Promise<unknown>) => unknown,
): Source =>
  hostile(
    http(lab.proxy('liar').url, {
      name: 'liar',
      domain: 'liar-host',
      fetchFn: lab.proxy('liar').fetch,
      timeout: 1_000,
    }),
    async (method, params, answer) => rewrite(method, params, answer),
  )

/** A lab of the three honest domains and the liar's own (`liar-host`, no added latency), 3 blocks in. */
export async function startLiarLab(): Promise<Lab> {
  const lab = await startLab({
    blockTime: 0,
    sources: [...threeDomains, { name: 'liar', domain: 'liar-host', latency: 0 }],
  })
  await lab.anvil.rpc('anvil_mine', ['0x3'])
  return lab
}
