/**
 * The page of ipfs.browser.test.ts: a wallet's collectibles view. It reads a token's `tokenURI`
 * through outlast (two HTTP sources in two domains), fetches the metadata through
 * `outlast/ipfs` from loopback trustless gateways (one of them tampering), every block verified
 * in the page, and shows it. Driven from the test through `window.outlastTest`; everything
 * returned is plain data.
 */
import { createOutlast, http } from '../../src/index.ts'
import {
  createIpfs,
  type IpfsEvents,
  type IpnsResolver,
  ipnsResolver,
  tokenMetadata,
} from '../../src/ipfs/index.ts'

export type ShowOptions = {
  chainId: number
  sources: { name: string; domain: string; url: string }[]
  gateways: { name: string; url: string }[]
  contract: string
  tokenId: string
}

export type Shown = {
  uri: string
  metadata: Record<string, unknown>
  image: string | undefined
  origin: string
  verified: boolean
  routes: { name: string; condition: string; blocks: number; lies: number }[]
  lies: IpfsEvents['lie'][]
  ms: number
}

const resolvers: IpnsResolver[] = []

const api = {
  /** Makes an IPNS resolver over `gateways` (`preload` as given, else its default); its index. */
  makeResolver(gateways: string[], preload?: boolean): number {
    resolvers.push(ipnsResolver({ gateways, ...(preload === undefined ? {} : { preload }) }))
    return resolvers.length - 1
  },
  /** Resolves `path` with resolver `i`: the `/ipfs/…` path, or the error's message. */
  async resolveName(i: number, path: string): Promise<{ path?: string; error?: string }> {
    try {
      return { path: await resolvers[i]!.resolve(path) }
    } catch (error) {
      return { error: String(error) }
    }
  },
  /** Reads the token's metadata and shows it in `#token`. */
  async show(o: ShowOptions): Promise<Shown> {
    const started = performance.now()
    const rpc = createOutlast({
      chainId: o.chainId,
      sources: o.sources.map((s) => http(s.url, { name: s.name, domain: s.domain })),
    })
    // A fixed hedge: the tampering gateway (listed first) is asked first, so it is caught.
    const ipfs = createIpfs({ gateways: o.gateways, hedgeDelay: 1_000 })
    const lies: IpfsEvents['lie'][] = []
    ipfs.on('lie', (e) => lies.push(e))
    try {
      const got = await tokenMetadata(
        rpc,
        { contract: o.contract, tokenId: BigInt(o.tokenId) },
        { ipfs, timeout: 10_000 },
      )
      render(got.metadata, got.verified)
      return {
        uri: got.uri,
        metadata: got.metadata,
        image: got.image,
        origin: got.origin,
        verified: got.verified,
        routes: ipfs.status().routes.map(({ name, condition, blocks, lies }) => ({
          name,
          condition,
          blocks,
          lies,
        })),
        lies,
        ms: Math.round(performance.now() - started),
      }
    } finally {
      await ipfs.close()
      await rpc.close()
    }
  },
  userAgent: () => navigator.userAgent,
}

/** What a collectibles tab shows: the name, the description, and the JSON itself. */
function render(metadata: Record<string, unknown>, verified: boolean) {
  const root = document.getElementById('token') ?? document.body.appendChild(element('section'))
  root.id = 'token'
  root.replaceChildren(
    element('h2', String(metadata.name ?? ''), 'name'),
    element('p', String(metadata.description ?? ''), 'description'),
    element('p', verified ? 'verified by CID' : 'NOT verified', 'trust'),
    element('pre', JSON.stringify(metadata), 'json'),
  )
}

function element(tag: string, text = '', className = ''): HTMLElement {
  const e = document.createElement(tag)
  e.textContent = text
  if (className) e.className = className
  return e
}

export type PageApi = typeof api

// Not declared on `Window`: core.page.ts declares `outlastTest` there with its own API.
;(window as unknown as { outlastTest: PageApi }).outlastTest = api
