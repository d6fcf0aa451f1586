import { defineConfig } from 'vitest/config'

/**
 * `npm test` (`vitest run`). The tests start real processes (anvil nodes, relay and demo
 * children, headless Chromium) and each file owns its own, so:
 *
 * - `pool: 'forks'`: each file runs in its own child process (`isolate`, the default), as under
 *   `node --test`: a test's `process.on(...)` listeners, globals and children stay with its file.
 *   vitest ends that process with SIGTERM, not a normal exit, so `process.once('exit')` clean-ups
 *   do not run: `test/lab/afterFile.ts` kills the anvil nodes a failed test left instead;
 * - two files at a time at most (the old `--test-concurrency=2`); the tests in a file run one
 *   after another (vitest's default without `sequence.concurrent`);
 * - two minutes per test and per hook (the old `--test-timeout=120000`).
 *
 * The `*.test-d.ts` files are type-level tests without `expectTypeOf` or test blocks: `tsc
 * --noEmit` (`npm run typecheck`, part of `npm run check`) checks them with the rest of the code,
 * so vitest's typecheck mode stays off and they are not in `include`.
 */
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'demo/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // After each file's own hooks: kills the anvil nodes a failed test left running.
    setupFiles: ['test/lab/afterFile.ts'],
    // Every test on its own line, with its annotations (the timings the browser and socket tests
    // report), as node's spec reporter printed them.
    reporters: ['verbose'],
  },
})
