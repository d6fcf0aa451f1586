/**
 * The headless-Chromium harness: Debian's `chromium` driven by playwright-core (no browser is
 * ever downloaded), a page entry bundled by vite's build API in memory, served with its page
 * from an in-process server on 127.0.0.1, and the functions the page exposes called from the
 * test. Everything stays on loopback: Chromium is started with its background services off and
 * every host name but `localhost` unresolvable, and a request the page makes off 127.0.0.1
 * fails the test.
 *
 *   describeInBrowser('my page', () => {
 *     let browser: BrowserPage
 *     beforeAll(async () => { browser = await openBrowserPage({ entry: new URL('./my.page.ts', import.meta.url) }) })
 *     afterAll(() => browser?.close())
 *     it('works', async () => assert.equal(await browser.call('sum', 1, 2), 3))
 *   })
 *
 * The entry puts its functions on `window.outlastTest` (see `BrowserApi`); `call` runs one in
 * the page and fails with the page's own error, and with any uncaught page error or unexpected
 * console error since the last call.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'
import { describe, it } from 'vitest'
import { findChromium, offlineArgs } from './chromium.ts'

export { findChromium, offlineArgs }

/** What a page entry puts on `window` under the harness's `global` name (`outlastTest`). */
export type BrowserApi = Record<string, (...args: never[]) => unknown>

const inCi = () => ['true', '1'].includes(String(process.env.CI).toLowerCase())

/**
 * `describe`, for browser suites. Without Chromium the suite cannot run, and says so: under
 * `CI=true` (or `CI=1`) it fails with how to install it; elsewhere it is skipped with that
 * message (in the test report and on stderr).
 */
export function describeInBrowser(name: string, fn: () => void): void {
  const found = findChromium()
  if (found.path !== undefined) {
    describe(name, fn)
    return
  }
  if (inCi()) {
    describe(name, () => {
      it('needs Chromium', () => {
        throw new Error(found.message)
      })
    })
    return
  }
  // One skipped test (counted in the summary, unlike a skipped suite) and a banner.
  process.stderr.write(`\n!!! SKIPPED browser suite "${name}": ${found.message}\n\n`)
  describe(name, () => {
    it('needs Chromium', (t) => t.skip(found.message))
  })
}

export type BrowserPageOptions = {
  /** The page's TypeScript entry (a file URL or path); bundled with everything it imports. */
  entry: string | URL
  /** The page's markup (what its `<body>` holds, stylesheets as `<link>`s left out). @default empty */
  body?: string
  /** CSS put in the page's `<head>`. */
  styles?: string
  /** The query the page is opened with (`?config=…`). @default none */
  search?: string
  /** Console errors matching one of these are expected (e.g. failed loads in fault tests). */
  allowConsole?: RegExp[]
  /** The global the entry sets when ready. @default 'outlastTest' */
  global?: string
  /** Milliseconds one `call` may take. @default 15_000 */
  callTimeout?: number
}

export type BrowserPage = {
  page: Page
  browser: Browser
  /** The page's address, `http://127.0.0.1:PORT/`. */
  url: string
  /** Milliseconds each stage took. */
  timings: { launch: number; bundle: number; load: number }
  /** Size of the bundle served (entry and lazily loaded chunks), in bytes. */
  bundleBytes: number
  /** Paths the page fetched from its host so far (`/page.js`, chunks), in order. */
  fetched: string[]
  /**
   * Takes the page's own host down (`true`: every request answered 503, as an edge whose origin
   * is gone) or brings it back: a dApp whose host sat on the failed cloud.
   */
  setHostDown(down: boolean): void
  /** Console errors expected from now on; push to it as a test starts a fault. */
  allowConsole: RegExp[]
  /** Every console message of type `error`, expected or not, and every uncaught page error. */
  consoleErrors: string[]
  pageErrors: string[]
  /** Requests that failed in the browser's network stack (`url: reason`), for diagnostics. */
  failedRequests: string[]
  /** Runs `window[global][name](...args)` in the page and returns its (serialisable) result. */
  call<T = unknown>(name: string, ...args: unknown[]): Promise<T>
  /** Throws if the page had an uncaught error, an unexpected console error or an off-loopback request. */
  check(): void
  /** Closes the browser and the server and removes the temporary directory; safe to call twice. */
  close(): Promise<void>
}

/** Launches Chromium, bundles `entry`, serves and opens it, and waits for its global. */
export async function openBrowserPage(options: BrowserPageOptions): Promise<BrowserPage> {
  const found = findChromium()
  if (found.path === undefined) throw new Error(found.message)
  const global = options.global ?? 'outlastTest'
  const allow = [...(options.allowConsole ?? [])]
  const callTimeout = options.callTimeout ?? 15_000
  const entry = options.entry instanceof URL ? fileURLToPath(options.entry) : options.entry

  const dir = await mkdtemp(join(tmpdir(), 'outlast-browser-'))
  let browser: Browser | undefined
  let server: Server | undefined
  const close = async () => {
    const b = browser
    const s = server
    browser = undefined
    server = undefined
    await b?.close().catch(() => {})
    if (s) {
      s.closeAllConnections()
      await new Promise<void>((resolve) => s.close(() => resolve()))
    }
    await rm(dir, { recursive: true, force: true })
  }

  try {
    const since = (start: number) => Math.round(performance.now() - start)
    // Launching and bundling take the longest, and need nothing from each other.
    const launching = (async () => {
      const start = performance.now()
      const launched = await chromium.launch({
        executablePath: found.path,
        headless: true,
        args: offlineArgs,
        timeout: 30_000,
      })
      return { launched, ms: since(start) }
    })()
    const bundling = (async () => {
      const start = performance.now()
      const files = await bundle(entry, dir, options.body ?? '', options.styles ?? '')
      return { files, ms: since(start) }
    })()
    const [launchResult, bundleResult] = await Promise.allSettled([launching, bundling])
    if (launchResult.status === 'fulfilled') browser = launchResult.value.launched
    if (launchResult.status === 'rejected')
      throw new Error(`Chromium (${found.path}) did not start: ${message(launchResult.reason)}`)
    if (bundleResult.status === 'rejected')
      throw new Error(`vite could not bundle ${entry}: ${message(bundleResult.reason)}`)
    const { files } = bundleResult.value

    const host = { down: false, fetched: [] as string[] }
    server = await serve(files, host)
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${options.search ?? ''}`

    const loadStart = performance.now()
    const context = await browser!.newContext({ serviceWorkers: 'block' })
    const page = await context.newPage()
    const consoleErrors: string[] = []
    const pageErrors: string[] = []
    const failedRequests: string[] = []
    const unexpected: string[] = []
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return
      const where = msg.location().url ? ` (${msg.location().url})` : ''
      const text = `${msg.text()}${where}`
      consoleErrors.push(text)
      if (!allow.some((re) => re.test(text))) unexpected.push(`console error: ${text}`)
    })
    page.on('pageerror', (error) => {
      const text = error.stack || `${error.name}: ${error.message}`
      pageErrors.push(text)
      unexpected.push(`uncaught in the page: ${text}`)
    })
    page.on('request', (request) => {
      const host = new URL(request.url()).hostname
      if (host !== '127.0.0.1' && !request.url().startsWith('data:'))
        unexpected.push(`request off loopback: ${request.method()} ${request.url()}`)
    })
    page.on('requestfailed', (request) =>
      failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`),
    )

    const check = () => {
      if (unexpected.length === 0) return
      const all = unexpected.splice(0)
      throw new Error(`the page failed:\n  ${all.join('\n  ')}`)
    }
    await page.goto(url, { waitUntil: 'load', timeout: 15_000 })
    // Ready once the entry has set its global; a page that failed to load says why at once.
    const ready = () => page.evaluate((name) => name in globalThis, global)
    for (const deadline = Date.now() + 15_000; !(await ready()); ) {
      check()
      if (Date.now() > deadline) throw new Error(`the page never set window.${global} (15 s)`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    check()
    const load = since(loadStart)

    const call = async <T>(name: string, ...args: unknown[]): Promise<T> => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${global}.${name} took over ${callTimeout} ms in the page`)),
          callTimeout,
        )
      })
      try {
        const running = page.evaluate(
          ([g, n, a]) => {
            const api = (globalThis as unknown as Record<string, BrowserApi>)[g]
            const fn = api?.[n] as ((...args: unknown[]) => unknown) | undefined
            if (typeof fn !== 'function') throw new Error(`window.${g}.${n} is not a function`)
            return fn(...a)
          },
          [global, name, args] as const,
        )
        return (await Promise.race([running, timeout])) as T
      } catch (error) {
        // Uncaught errors and console errors first: they usually explain the failed call.
        const before = unexpected.length > 0 ? `${unexpected.join('\n  ')}\n  ` : ''
        unexpected.length = 0
        throw new Error(`${global}.${name}() failed in the page:\n  ${before}${message(error)}`)
      } finally {
        clearTimeout(timer)
        check()
      }
    }

    return {
      page,
      browser: browser!,
      url,
      timings: { launch: launchResult.value.ms, bundle: bundleResult.value.ms, load },
      bundleBytes: [...files.values()].reduce((n, f) => n + f.body.length, 0),
      fetched: host.fetched,
      setHostDown: (down) => {
        host.down = down
      },
      allowConsole: allow,
      consoleErrors,
      pageErrors,
      failedRequests,
      call,
      check,
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}

type Served = { type: string; body: Buffer }

/**
 * The entry as an ES module bundle for the browser (vite's lib build, in memory): `page.js` and
 * any chunk it loads on first use, plus the page that loads it. Unminified, so that stacks
 * name the library's functions.
 */
async function bundle(
  entry: string,
  dir: string,
  body: string,
  styles: string,
): Promise<Map<string, Served>> {
  const { build } = await import('vite')
  const result = await build({
    configFile: false,
    envFile: false,
    root: dir,
    cacheDir: join(dir, 'vite-cache'),
    publicDir: false,
    logLevel: 'silent',
    mode: 'production',
    build: {
      lib: { entry, formats: ['es'], fileName: 'page' },
      outDir: join(dir, 'out'),
      write: false,
      minify: false,
      target: 'es2022',
      reportCompressedSize: false,
      copyPublicDir: false,
    },
  })
  const outputs = Array.isArray(result) ? result : [result]
  const files = new Map<string, Served>()
  for (const output of outputs) {
    if (!('output' in output)) throw new Error('vite returned a watcher, not a bundle')
    for (const file of output.output) {
      const body = file.type === 'chunk' ? file.code : file.source
      const type = /\.m?js$/.test(file.fileName)
        ? 'text/javascript; charset=utf-8'
        : 'application/octet-stream'
      files.set(`/${file.fileName}`, { type, body: Buffer.from(body) })
    }
  }
  const main = [...files.keys()].find((name) => /^\/page\.m?js$/.test(name))
  if (!main) throw new Error(`vite produced no page.js (got ${[...files.keys()].join(', ')})`)
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>outlast browser test</title><link rel="icon" href="data:,"><style>${styles}</style><script type="module" src="${main}"></script></head><body>${body}</body></html>`
  files.set('/', { type: 'text/html; charset=utf-8', body: Buffer.from(html) })
  return files
}

/** Serves `files` on 127.0.0.1 at a random port; 503 to everything while `host.down`. */
async function serve(
  files: Map<string, Served>,
  host: { down: boolean; fetched: string[] },
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    if (host.down) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('origin unreachable\n')
      return
    }
    host.fetched.push(path)
    const file = files.get(path)
    if (!file || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    res
      .writeHead(200, {
        'content-type': file.type,
        'content-length': file.body.length,
        'cache-control': 'no-store',
      })
      .end(file.body)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return server
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
