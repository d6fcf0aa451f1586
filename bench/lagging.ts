/**
 * A source that stays about `lag` blocks behind the lab's head for as long as a scenario runs.
 *
 * A lagging node from the lab (`startLaggingNode`) is an anvil fork that stopped following main:
 * its lag grows by one block a second. To hold the lag near `lag`, a new fork of main at
 * head − lag is started every `every` ms, the proxy switched to it, and the old one stopped a
 * moment later; the lag therefore runs from `lag` to `lag + every/1000` blocks.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { type Anvil, type FaultProxy, type Lab, startAnvil } from '../test/lab/index.ts'

async function forkAt(main: Anvil, block: number): Promise<Anvil> {
  return startAnvil({
    forkUrl: main.url,
    forkBlockNumber: block,
    chainId: Number(await main.rpc<string>('eth_chainId')),
    noMining: true,
    args: ['--no-storage-caching'],
  })
}

/** Points `proxy` at nodes `lag` blocks behind `lab`'s head; resolves once the first is up. */
export async function holdLag(
  lab: Lab,
  proxy: FaultProxy,
  { lag = 5, every = 2_000 } = {},
): Promise<() => Promise<void>> {
  const behind = async () => Math.max(0, Number(await lab.anvil.rpc('eth_blockNumber')) - lag)
  let current = await forkAt(lab.anvil, await behind())
  proxy.setUpstream(current.url)
  let stopped = false
  const halt = new AbortController()
  const retiring = new Set<Promise<void>>()
  const loop = (async () => {
    while (!stopped) {
      await sleep(every, undefined, { signal: halt.signal }).catch(() => {})
      if (stopped) break
      const next = await forkAt(lab.anvil, await behind()).catch(() => undefined)
      if (!next) continue
      if (stopped) {
        await next.stop()
        break
      }
      const old = current
      current = next
      proxy.setUpstream(next.url)
      // Let requests already forwarded to the old node finish before it goes.
      const retire = sleep(500).then(() => old.stop())
      retiring.add(retire)
      retire.finally(() => retiring.delete(retire))
    }
  })()
  return async () => {
    stopped = true
    halt.abort()
    await loop
    await Promise.all(retiring)
    proxy.setUpstream(lab.anvil.url)
    await current.stop()
  }
}
