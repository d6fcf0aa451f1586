/**
 * src/core/preload.ts lists every module the core bundle (`outlast`) imports on first use, so
 * that a page whose host failed after it loaded still has them all.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { it } from 'vitest'

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src')
/** The folders of the core bundle (`outlast`); the subpaths' own files are theirs to load. */
const CORE = ['core', 'sources', 'shared', 'verify']

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')
        ? [join(dir, e.name)]
        : [],
  )
}

/** Each `import('./x.ts')` in `file`, as a path under src/. */
function dynamicImports(file: string): string[] {
  const code = readFileSync(file, 'utf8')
  return [...code.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)].map((m) =>
    relative(SRC, resolve(dirname(file), m[1] as string)),
  )
}

it('lists every module the core imports on first use', () => {
  const listed = new Set(dynamicImports(join(SRC, 'core/preload.ts')))
  const used = CORE.flatMap((dir) => sourceFiles(join(SRC, dir)))
    .filter((f) => !f.endsWith('preload.ts'))
    .flatMap((f) => dynamicImports(f).map((target) => ({ from: relative(SRC, f), target })))
    .filter((u) => u.target !== 'core/preload.ts')
  assert.ok(used.length >= 10, `found ${used.length} import() calls: the scan is broken`)
  const missing = used.filter((u) => !listed.has(u.target))
  assert.deepEqual(missing, [], 'each is loaded by preload() too (src/core/preload.ts)')
})

it("proofs() preloads what outlast/proofs imports on first use (the prover's preload)", () => {
  const listed = new Set(dynamicImports(join(SRC, 'proofs/index.ts')))
  const used = sourceFiles(join(SRC, 'proofs'))
    .filter((f) => !f.endsWith('index.ts'))
    .flatMap((f) => dynamicImports(f).map((target) => ({ from: relative(SRC, f), target })))
  assert.ok(used.length >= 1, 'found no import() in src/proofs: the scan is broken')
  const missing = used.filter((u) => !listed.has(u.target))
  assert.deepEqual(missing, [], 'each is loaded by the preload of proofs() (src/proofs/index.ts)')
})
