/**
 * Which Chromium the browser tests use, and how it is kept off the network: shared by the
 * harness (test/browser/harness.ts) and vitest's browser project (vitest.config.ts), so this
 * file imports nothing but `node:fs` (the config loads it before any test runs).
 */
import { accessSync, constants } from 'node:fs'

const INSTALL = 'apt-get update && apt-get install -y chromium'

/** Debian's chromium (or `CHROMIUM_PATH`), or why there is none. */
export function findChromium(): { path: string } | { path: undefined; message: string } {
  const fromEnv = process.env.CHROMIUM_PATH
  const path = fromEnv || '/usr/bin/chromium'
  try {
    accessSync(path, constants.X_OK)
    return { path }
  } catch {
    const where = fromEnv ? `CHROMIUM_PATH=${fromEnv} is not an executable` : `no ${path}`
    return {
      path: undefined,
      message: `headless Chromium not found (${where}): install Debian's chromium as root with \`${INSTALL}\`, or set CHROMIUM_PATH to a Chromium binary (never \`playwright install\`)`,
    }
  }
}

/**
 * Arguments that keep Chromium off the network, beside those playwright-core always adds
 * (`--disable-background-networking`, `--disable-component-update`, `--disable-extensions`,
 * `--disable-default-apps`, `--disable-sync`, `--metrics-recording-only`, `--no-first-run`,
 * `--no-sandbox`…): no proxy, no pings, reporting or crash uploads, no safe-browsing or
 * phishing models, and no host name resolves but `localhost` (the tests use 127.0.0.1
 * literals), so anything that slips through fails before it leaves the machine.
 */
export const offlineArgs = [
  '--no-proxy-server',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--safebrowsing-disable-auto-update',
  '--no-pings',
  '--disable-crash-reporter',
  '--disable-gpu',
]
