/**
 * What each entry weighs in a browser dApp's bundle, dependencies and optional peers included
 * (size-limit leaves peers out): built by vite for the browser as a dApp would, minified, each
 * chunk gzipped. `first` is the entry chunk and what it imports statically; `all` adds the
 * chunks it loads on first use.
 *
 *   node bench/bundles.ts
 *
 * `outlast/ipfs`'s first load is the gateway path (Helia and libp2p load only when `startHelia()`
 * runs): its "first use" column with `startHelia` is the weight with Helia.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build, type Rollup } from 'vite'

const ROOT = new URL('..', import.meta.url).pathname
/** The build measured (`npm run build`'s). `OUTLAST_DIST` measures another, e.g. one in node_modules/.cache. */
const DIST = process.env.OUTLAST_DIST ?? `${ROOT}dist/`
const CACHE = `${ROOT}node_modules/.cache/outlast-bundles`

const ENTRIES: [name: string, code: string][] = [
  ['core: createOutlast + http', "export { createOutlast, http } from 'outlast'"],
  [
    'viem alone: createPublicClient + http + fallback (a dApp before outlast)',
    "export { createPublicClient, http, fallback } from 'viem'",
  ],
  [
    'a viem dApp on outlast: createPublicClient + outlast/viem + createOutlast + http',
    "export { createPublicClient } from 'viem'\nexport { outlast } from 'outlast/viem'\nexport { createOutlast, http } from 'outlast'",
  ],
  [
    'outlast/p2p: p2p (libp2p, WebSockets, WebRTC-Direct, gossipsub)',
    "export { p2p } from 'outlast/p2p'",
  ],
  [
    'core + p2p, as a dApp imports both',
    "export { createOutlast, http } from 'outlast'\nexport { p2p } from 'outlast/p2p'",
  ],
  [
    'outlast/ipfs: createIpfs + gateway (gateways only)',
    "export { createIpfs, gateway } from 'outlast/ipfs'",
  ],
  [
    'outlast/ipfs: + tokenMetadata, fetchTokenList (wallet helpers)',
    "export { createIpfs, gateway, tokenMetadata, fetchTokenList } from 'outlast/ipfs'",
  ],
  [
    'outlast/ipfs with Helia: + startHelia (Helia light, bitswap, libp2p, WebSockets, WebRTC-Direct)',
    "export { createIpfs, gateway, startHelia } from 'outlast/ipfs'",
  ],
  [
    'outlast/light: createLightClientCore (the verifying core, @noble/curves)',
    "export { createLightClientCore } from 'outlast/light'",
  ],
  [
    'outlast/light: light + beaconApi (the whole client over Beacon REST, @noble/curves)',
    "export { light, beaconApi } from 'outlast/light'",
  ],
]

async function measure(code: string) {
  // Inside the project, so that an entry's bare imports (viem) resolve from its node_modules.
  await mkdir(CACHE, { recursive: true })
  const dir = await mkdtemp(join(CACHE, 'bundle-'))
  try {
    const entry = join(dir, 'entry.js')
    await writeFile(entry, code)
    const out = (await build({
      configFile: false,
      logLevel: 'silent',
      root: ROOT,
      resolve: {
        alias: {
          'outlast/p2p': `${DIST}p2p/index.js`,
          'outlast/ipfs': `${DIST}ipfs/index.js`,
          'outlast/light': `${DIST}light/index.js`,
          'outlast/viem': `${DIST}adapters/viem.js`,
          outlast: `${DIST}index.js`,
        },
      },
      // An app build (a library build leaves whitespace in ES output), keeping the entry's exports.
      build: {
        write: false,
        minify: true,
        modulePreload: false,
        rollupOptions: { input: entry, preserveEntrySignatures: 'exports-only' },
      },
    })) as Rollup.RollupOutput[]
    const chunks = [out]
      .flat()
      .flatMap((o) => o.output)
      .filter((c): c is Rollup.OutputChunk => c.type === 'chunk')
    const gz = (c: Rollup.OutputChunk) => gzipSync(c.code).length
    const byName = new Map(chunks.map((c) => [c.fileName, c]))
    const first = new Set<string>()
    const visit = (name: string) => {
      if (first.has(name)) return
      first.add(name)
      for (const i of byName.get(name)?.imports ?? []) visit(i)
    }
    for (const c of chunks) if (c.isEntry) visit(c.fileName)
    const sum = (names: Iterable<string>) => [...names].reduce((t, n) => t + gz(byName.get(n)!), 0)
    return { first: sum(first), all: sum(byName.keys()) }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const kB = (n: number) => `${(n / 1000).toFixed(1)} kB`
console.log('| entry | first load (min+gzip) | with what loads on first use |')
console.log('|---|---:|---:|')
for (const [name, code] of ENTRIES) {
  const { first, all } = await measure(code)
  console.log(`| ${name} | ${kB(first)} | ${kB(all)} |`)
}
