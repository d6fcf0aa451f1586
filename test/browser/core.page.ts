/**
 * The page of core.browser.test.ts: the library's core (`createOutlast` + `http`) as a dApp
 * frontend loads it, over the lab's sources, driven from the test through `window.outlastTest`.
 * Everything returned is plain data (it crosses into Node).
 */
import { createOutlast, http, type Outlast, type ResponseMeta } from '../../src/index.ts'

export type PageSource = { name: string; domain: string; url: string }

export type Answer = {
  result: unknown
  consistency: ResponseMeta['consistency']
  sources: string[]
  domains: string[]
  ms: number
}

export type Reads = { chainId: Answer; blockNumber: Answer; balance: Answer; ms: number }

let rpc: Outlast | undefined
const events: string[] = []

function client(): Outlast {
  if (!rpc) throw new Error('start() first')
  return rpc
}

async function read(method: string, params: unknown[] = []): Promise<Answer> {
  const { result, meta } = await client().requestWithMeta({ method, params })
  const { consistency, sources, domains, ms } = meta
  return { result, consistency, sources, domains, ms }
}

const api = {
  /** A client over `sources`, each in its own failure domain; quorum of two domains (default); `preload` as given. */
  start(chainId: number, sources: PageSource[], preload?: boolean): true {
    rpc = createOutlast({
      chainId,
      ...(preload === undefined ? {} : { preload }),
      pollingInterval: 500,
      // Every read goes to the sources: none may be answered from what was agreed before.
      cacheSize: 0,
      sources: sources.map(({ name, domain, url }) => http(url, { name, domain, timeout: 2_000 })),
    })
    rpc.on('source', (e) => events.push(`${e.source}: ${e.from} -> ${e.to}`))
    rpc.on('quorumLoss', (e) =>
      events.push(`quorum lost: ${e.method} from ${e.domains.join(', ')}`),
    )
    return true
  },
  /** eth_chainId, eth_blockNumber and `address`'s balance at `latest`, all at once. */
  async read(address: string): Promise<Reads> {
    const start = performance.now()
    const [chainId, blockNumber, balance] = await Promise.all([
      read('eth_chainId'),
      read('eth_blockNumber'),
      read('eth_getBalance', [address, 'latest']),
    ])
    return { chainId, blockNumber, balance, ms: Math.round(performance.now() - start) }
  },
  /** One request's result, or its error's message (as `{ error }`). */
  async request(method: string, params: unknown[] = []) {
    try {
      return { result: await client().request({ method, params }) }
    } catch (e) {
      return { error: String((e as Error).message) }
    }
  },
  status() {
    const { toString: _, ...status } = client().status()
    return { ...status, text: String(client().status()), events: [...events] }
  },
  async close(): Promise<true> {
    await rpc?.close()
    rpc = undefined
    return true
  },
  /** What the browser is: the test reports it. */
  userAgent: () => navigator.userAgent,
}

export type PageApi = typeof api

declare global {
  interface Window {
    outlastTest?: PageApi
  }
}

window.outlastTest = api
