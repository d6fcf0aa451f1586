/**
 * An outage lab: one main anvil and one fault proxy per source in front of it, so every
 * source sees the same chain until a test breaks some of them.
 */
import { type Anvil, startAnvil } from './anvil.ts'
import { type FaultProxy, startProxy } from './proxy.ts'

export type LabSource = {
  /** Source and proxy name; unique within the lab. */
  name: string
  /** Failure domain the source claims (e.g. `aws-us-east-1`). */
  domain: string
  /** @default 'cloud' */
  kind?: 'cloud' | 'self-hosted'
  /** Milliseconds the proxy adds before each answer. @default 0 */
  latency?: number
}

export type LabOptions = {
  /** Seconds between the main node's blocks; 0 mines on each transaction. @default 1 */
  blockTime?: number
  sources: LabSource[]
}

export type Lab = {
  anvil: Anvil
  /** One per source, in the order given. */
  proxies: FaultProxy[]
  /** The sources as given, with defaults filled in and their proxy (`url`, `fetch`). */
  sources: (Required<LabSource> & { proxy: FaultProxy })[]
  /** The proxy of the named source; throws for an unknown name. */
  proxy(name: string): FaultProxy
  stop(): Promise<void>
}

export async function startLab({ blockTime = 1, sources }: LabOptions): Promise<Lab> {
  const names = new Set(sources.map((source) => source.name))
  if (names.size !== sources.length) throw new Error('startLab: source names must be unique')
  const anvil = await startAnvil({ blockTime })
  const proxies: FaultProxy[] = []
  const stop = async () => {
    await Promise.all(proxies.map((proxy) => proxy.stop()))
    await anvil.stop()
  }
  try {
    for (const { name, latency = 0 } of sources)
      proxies.push(await startProxy(anvil.url, { name, latency }))
  } catch (error) {
    await stop()
    throw error
  }
  return {
    anvil,
    proxies,
    sources: sources.map((source, i) => ({
      name: source.name,
      domain: source.domain,
      kind: source.kind ?? 'cloud',
      latency: source.latency ?? 0,
      proxy: proxies[i]!,
    })),
    proxy(name) {
      const found = proxies.find((proxy) => proxy.name === name)
      if (!found) throw new Error(`lab: no source named ${JSON.stringify(name)}`)
      return found
    },
    stop,
  }
}

/** Runs `fn` in a fresh lab and always stops the lab afterwards. */
export async function withLab<T>(options: LabOptions, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await startLab(options)
  try {
    return await fn(lab)
  } finally {
    await lab.stop()
  }
}
