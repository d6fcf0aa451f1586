/**
 * `outlast/proxy` (Node): an outlast client served as a local JSON-RPC endpoint, the engine of
 * `outlast proxy`. See server.ts for what it serves and config.ts for the file.
 */

import type { OutlastOptions } from '../core/config.ts'
import { createOutlast, type Outlast } from '../core/createOutlast.ts'
import { ConfigError } from '../shared/errors.ts'
import { type ProxyServerOptions, resolveProxyConfig, serverOf } from './config.ts'
import { type ProxyServer, startProxyServer } from './server.ts'

export type { ProxyConfigFile, ProxyServerOptions } from './config.ts'
export { substituteEnv } from './config.ts'
export type { ProxyServer } from './server.ts'

export type StartProxyOptions = {
  /** The config file's text (JSON). */
  config: string
  /** Where `${NAME}` values come from. @default process.env */
  env?: Record<string, string | undefined>
  /** Overrides of the file's `proxy` section (the command line's `--port`, `--host`). */
  server?: ProxyServerOptions
}

/** Starts the proxy; resolves once it listens. Bad configuration rejects with a `ConfigError`. */
export async function startProxy(o: StartProxyOptions): Promise<ProxyServer & { rpc: Outlast }> {
  const c = await resolveProxyConfig(o.config, o.env ?? process.env)
  // The overrides pass the file's checks too (an empty host would listen on every interface).
  const server = serverOf(
    { ...c.server, ...definedOnly(o.server ?? {}) },
    (what) => {
      throw new ConfigError(`startProxy: ${what}`)
    },
    'server.',
  )
  const prover = c.proofs
    ? (await import('../proofs/index.ts')).proofs(c.proofs as never)
    : undefined
  const rpc = createOutlast({
    ...(c.options as Partial<OutlastOptions>),
    chainId: c.chainId,
    sources: c.sources,
    ...(prover ? { prover } : {}),
  })
  try {
    const proxy = await startProxyServer(rpc, server)
    return Object.assign(proxy, { rpc })
  } catch (error) {
    await rpc.close()
    throw error
  }
}

const definedOnly = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
