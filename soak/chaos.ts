/**
 * Applies schedule steps to the lab: each proxy's fault mode and the node it forwards to. A
 * fresh lagging node (stopped following main where it started) or forked node (own blocks from
 * main's head − 2) is started for each step that asks for one, and stopped when it is left.
 * After applying, every proxy is read back: the lab must be exactly what the step says.
 */
import { isDeepStrictEqual } from 'node:util'
import { type Anvil, type Lab, startForkedNode, startLaggingNode } from '../test/lab/index.ts'
import { SOURCES, type Step, type Upstream } from './schedule.ts'

export type Chaos = {
  /** Applies a step; resolves with the time (performance.now) it began switching proxies. */
  apply(step: Step): Promise<number>
  /** Every source back to `ok` on the main node; extra nodes stopped. */
  restore(): Promise<void>
  /** Nodes started for lagging and forked steps so far. */
  readonly nodesStarted: number
}

export function createChaos(lab: Lab): Chaos {
  /** The extra node each source forwards to now, if any. */
  const extra = new Map<string, Anvil>()
  const upstreamOf = new Map<string, Upstream>(SOURCES.map((s) => [s.name, 'main']))
  let nodesStarted = 0

  const startNode = async (kind: Upstream): Promise<Anvil> => {
    nodesStarted++
    return kind === 'lagging'
      ? startLaggingNode(lab.anvil)
      : startForkedNode(lab.anvil, { depth: 2, blockTime: 1 })
  }

  const apply = async (step: Step): Promise<number> => {
    // Start the nodes first, so that the switch itself is quick.
    const fresh = new Map<string, Anvil>()
    for (const s of SOURCES) {
      const { upstream } = step.assign[s.name]!
      if (upstream !== 'main') fresh.set(s.name, await startNode(upstream))
    }
    const began = performance.now()
    const retired: Anvil[] = []
    await Promise.all(
      SOURCES.map((s) => {
        const a = step.assign[s.name]!
        const proxy = lab.proxy(s.name)
        const node = fresh.get(s.name)
        proxy.setUpstream(node ? node.url : lab.anvil.url)
        const old = extra.get(s.name)
        if (old) retired.push(old)
        if (node) extra.set(s.name, node)
        else extra.delete(s.name)
        upstreamOf.set(s.name, a.upstream)
        return proxy.setMode(a.mode)
      }),
    )
    verify(step)
    await Promise.all(retired.map((node) => node.stop()))
    return began
  }

  /** The lab must be exactly what the step says: never more down than it claims. */
  const verify = (step: Step) => {
    for (const s of SOURCES) {
      const a = step.assign[s.name]!
      const proxy = lab.proxy(s.name)
      if (!isDeepStrictEqual(proxy.mode, a.mode) || upstreamOf.get(s.name) !== a.upstream)
        throw new Error(
          `harness: ${s.name} is ${JSON.stringify(proxy.mode)} on ${upstreamOf.get(s.name)}, step ${step.index} says ${JSON.stringify(a)}`,
        )
    }
  }

  return {
    apply,
    async restore() {
      for (const s of SOURCES) {
        lab.proxy(s.name).setUpstream(lab.anvil.url)
        upstreamOf.set(s.name, 'main')
        await lab.proxy(s.name).setMode({ kind: 'ok' })
      }
      await Promise.all([...extra.values()].map((node) => node.stop()))
      extra.clear()
    },
    get nodesStarted() {
      return nodesStarted
    },
  }
}
