/**
 * What each entry weighs in a browser dApp's bundle, dependencies and optional peers included
 * (size-limit leaves peers out): built by vite for the browser as a dApp would, minified, each
 * chunk gzipped. `first` is the entry chunk and what it imports statically; `all` adds the
 * chunks it loads on first use.
 *
 *   node bench/bundles.ts
 *
 * A second table splits the core's first load into the parts it is made of (`PARTS`).
 *
 * `outlast/ipfs`'s first load is the gateway path (Helia and libp2p load only when `startHelia()`
 * runs): its "first use" column with `startHelia` is the weight with Helia.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build, minifySync, type Rollup } from 'vite'

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

/**
 * The parts of the core's first load, by what they are for (the first match of a module's path
 * wins). What each weighs is its share of the minified bytes times the gzipped total: gzip does
 * not add up module by module, so the shares are estimates; the total is measured.
 */
const PARTS: [part: string, path: RegExp][] = [
  [
    'http source: fetch, bounded bodies, JSON-RPC, network errors, Retry-After',
    /dist\/sources\/(?!secrets)|dist\/shared\/(retryAfter|url|route)\./,
  ],
  ['secrets: keys scrubbed from errors, events and status()', /dist\/sources\/secrets\./],
  ['config: every option checked, named in its error', /dist\/core\/(config|options)\./],
  ['head tracking: the agreed head, lag, forks, stale and future heads, links', /dist\/core\/head/],
  [
    'answer checks: method table, parameters, answer shapes, block rules',
    /dist\/core\/(rules|validate|params|policy|canonical|pruned)\./,
  ],
  [
    'header hashing: keccak and RLP (@noble/hashes, @ethereumjs/rlp)',
    /dist\/verify\/|dist\/shared\/keccak\.|@noble\/hashes|@ethereumjs\/rlp/,
  ],
  ['errors and status()', /dist\/shared\/errors\.|dist\/core\/status\./],
  ['the request engine: fan-out, tally, hedges, handlers, breakers, budgets', /dist\//],
]

/** Splits the core's first load (min+gzip) into `PARTS`. */
async function parts(code: string) {
  const { chunks, first } = await bundle(code)
  const minified = new Map<string, number>()
  for (const name of first)
    for (const [id, m] of Object.entries(byFile(chunks).get(name)?.modules ?? {})) {
      if (id.includes('outlast-bundles')) continue // the app's entry: two lines
      const part = PARTS.find(([, path]) => path.test(id))?.[0] ?? 'other'
      const bytes = m.code ? minifySync(id, m.code).code.length : 0
      minified.set(part, (minified.get(part) ?? 0) + bytes)
    }
  const total = [...first].reduce((t, n) => t + gzipSync(byFile(chunks).get(n)!.code).length, 0)
  const all = [...minified.values()].reduce((t, n) => t + n, 0)
  return { total, parts: [...minified].map(([part, n]) => [part, (n / all) * total] as const) }
}

const byFile = (chunks: Rollup.OutputChunk[]) => new Map(chunks.map((c) => [c.fileName, c]))

/**
 * `export { a, b } from 'm'` lines as an app uses them: imported, and kept (on `globalThis`) so
 * that nothing they need is shaken out.
 */
function appEntry(code: string): string {
  const names: string[] = []
  const imports = code.replace(
    /^export \{ ([^}]+) \} from ('[^']+')$/gm,
    (_, list: string, from) => {
      const local = list.split(',').map((name, i) => [name.trim(), `_${names.length + i}`])
      names.push(...local.map(([, as]) => as!))
      return `import { ${local.map(([name, as]) => `${name} as ${as}`).join(', ')} } from ${from}`
    },
  )
  return `${imports}\nglobalThis.__entry = [${names.join(', ')}]\n`
}

async function measure(code: string) {
  const { chunks, first } = await bundle(code)
  const gz = (name: string) => gzipSync(byFile(chunks).get(name)!.code).length
  const sum = (names: Iterable<string>) => [...names].reduce((t, n) => t + gz(n), 0)
  return { first: sum(first), all: sum(chunks.map((c) => c.fileName)) }
}

/** A browser app's build of `code`: its chunks, and those that load first (the entry's static imports). */
async function bundle(code: string) {
  // Inside the project, so that an entry's bare imports (viem) resolve from its node_modules.
  await mkdir(CACHE, { recursive: true })
  const dir = await mkdtemp(join(CACHE, 'bundle-'))
  try {
    const entry = join(dir, 'entry.js')
    await writeFile(entry, appEntry(code))
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
      // An app build (a library build leaves whitespace in ES output) of an app's entry, which
      // exports nothing: rollup may then put what the entry and the on-use chunks share into
      // the entry's chunk, as in a dApp's build. (Keeping the entry's exports split the core's
      // first load into 11 chunks: 3.3 kB more than a dApp gets.)
      build: {
        write: false,
        minify: true,
        modulePreload: false,
        rollupOptions: { input: entry, preserveEntrySignatures: false },
      },
    })) as Rollup.RollupOutput[]
    const chunks = [out]
      .flat()
      .flatMap((o) => o.output)
      .filter((c): c is Rollup.OutputChunk => c.type === 'chunk')
    const byName = byFile(chunks)
    const first = new Set<string>()
    const visit = (name: string) => {
      if (first.has(name)) return
      first.add(name)
      for (const i of byName.get(name)?.imports ?? []) visit(i)
    }
    for (const c of chunks) if (c.isEntry) visit(c.fileName)
    return { chunks, first }
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

const core = await parts(ENTRIES[0]![1])
console.log(`\n| the core's first load, by part | min+gzip (share) |`)
console.log('|---|---:|')
for (const [part, n] of core.parts.filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]))
  console.log(`| ${part} | ${kB(n)} (${Math.round((100 * n) / core.total)} %) |`)
console.log(`| all (measured) | ${kB(core.total)} |`)
