import { fileURLToPath } from 'node:url'
import { playwright } from '@vitest/browser-playwright'
import { defineConfig } from 'vitest/config'
import { findChromium, offlineArgs } from './test/browser/chromium.ts'

/**
 * `npm test` (`vitest run`) runs two projects; `--project node` or `--project browser` picks one.
 *
 * `node`: every test file. The tests start real processes (anvil nodes, relay and demo children,
 * headless Chromium) and each file owns its own, so:
 *
 * - `pool: 'forks'`: each file runs in its own child process (`isolate`, the default), as under
 *   `node --test`: a test's `process.on(...)` listeners, globals and children stay with its file.
 *   vitest ends that process with SIGTERM, not a normal exit, so `process.once('exit')` clean-ups
 *   do not run: `test/lab/afterFile.ts` kills the anvil nodes a failed test left instead;
 * - two files at a time at most (the old `--test-concurrency=2`); the tests in a file run one
 *   after another (vitest's default without `sequence.concurrent`);
 * - two minutes per test and per hook (the old `--test-timeout=120000`).
 *
 * `browser`: the core's unit tests that need nothing of Node's, run again in headless Chromium
 * (Debian's, or `CHROMIUM_PATH`, driven by playwright; no browser is ever downloaded), so that
 * what a dApp runs is tested where it runs. They import `node:assert/strict` as in Node:
 * test/browser/nodeAssert.ts stands in for it there. Chromium is kept off the network as the
 * harness keeps it (test/browser/chromium.ts); vite serves the files on loopback.
 *
 * The `*.test-d.ts` files are type-level tests without `expectTypeOf` or test blocks: `tsc
 * --noEmit` (`npm run typecheck`, part of `npm run check`) checks them with the rest of the code,
 * so vitest's typecheck mode stays off and they are not in `include`.
 */

const core = '{core,sources,shared,proofs,verify,execute,light}'

/**
 * The core's test files that cannot run in a browser, and why (each still runs in `node`). A new
 * test file under these folders runs in both projects unless it is listed here.
 */
const nodeOnly = [
  'src/core/{follow/logs,txRules}.test.ts', // read fixtures with node:fs
  // node:http, process' unhandledRejection, vi.mock of chunks (test/browser/chunkRetry there)
  'src/core/chunkLoadFailure.test.ts',
  'src/sources/eip1193.test.ts', // anvil (test/lab)
  'src/sources/http.test.ts', // node:http servers and the test lab
  'src/sources/networkError.test.ts', // node:net servers
  'src/sources/webSocket.test.ts', // child processes, a ws server, anvil
  'src/verify/{block,proof,receipts,transaction}.test.ts', // anvil, and fixtures via node:fs
  'src/verify/{fullBlock,rawTransaction,sender,trie}.test.ts', // fixtures via node:fs
]

/**
 * playwright on Debian's Chromium. Without it the browser project fails at once with how to
 * install it, instead of playwright's advice to download a browser of its own.
 */
function chromiumProvider() {
  const chromium = findChromium()
  const provider = playwright({
    launchOptions: { executablePath: chromium.path, args: offlineArgs, timeout: 30_000 },
  })
  if (chromium.path !== undefined) return provider
  const missing = chromium.message
  return {
    ...provider,
    prewarm: undefined,
    providerFactory: (): never => {
      throw new Error(missing)
    },
  }
}

export default defineConfig({
  test: {
    // Every test on its own line, with its annotations (the timings the browser and socket tests
    // report), as node's spec reporter printed them.
    reporters: ['verbose'],
    // A failed assertion in the browser points at the test's line, not at the stand-in's.
    onStackTrace: (_error, frame) => !frame.file.endsWith('/test/browser/nodeAssert.ts'),
    projects: [
      {
        test: {
          name: 'node',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'demo/**/*.test.ts'],
          pool: 'forks',
          maxWorkers: 2,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // After each file's own hooks: kills the anvil nodes a failed test left running.
          setupFiles: ['test/lab/afterFile.ts'],
          // After the browser project, not beside it: Chromium's load stays out of the timings.
          sequence: { groupOrder: 1 },
        },
      },
      {
        resolve: {
          alias: [
            {
              find: /^node:assert\/strict$/,
              replacement: fileURLToPath(new URL('./test/browser/nodeAssert.ts', import.meta.url)),
            },
          ],
        },
        test: {
          name: 'browser',
          include: [`src/${core}/**/*.test.ts`, 'test/browser/nodeAssert.test.ts'],
          exclude: nodeOnly,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
          testTimeout: 30_000,
          hookTimeout: 30_000,
          browser: {
            enabled: true,
            headless: true,
            provider: chromiumProvider(),
            instances: [{ browser: 'chromium' }],
            // Failures are reported in the terminal; nothing is written into the tree.
            screenshotFailures: false,
            traceView: false,
            connectTimeout: 30_000,
          },
        },
      },
    ],
  },
})
