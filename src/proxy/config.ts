/**
 * `outlast.config.json`: the sources and options of an `outlast proxy`, as JSON. `${NAME}` in
 * any string is replaced by the environment variable NAME (API keys stay out of the file); a
 * missing variable is an error naming the variable, never its value. Every field is checked
 * here and the rest by `createOutlast`, so a bad file fails at start with the path of what is
 * wrong.
 */
import { ConfigError } from '../shared/errors.ts'
import type { Source } from '../shared/types.ts'
import { http } from '../sources/http.ts'
import { webSocket } from '../sources/webSocket.ts'

export type ProxyServerOptions = {
  /** @default 8545 */
  port?: number
  /** Where to listen; anything but loopback must be said here. @default '127.0.0.1' */
  host?: string
  /**
   * Browser origins allowed to call it, each exactly as a browser sends it
   * (`["https://app.example"]`: no path, lowercase), or `["*"]`; `"null"` is refused.
   * @default [] (none)
   */
  cors?: string[]
  /** Largest request body, in bytes. @default 1_048_576 */
  maxBodyBytes?: number
  /** Requests handled at once; more are refused with HTTP 503 and `Retry-After: 1`. @default 256 */
  maxConcurrent?: number
}

export type SourceEntry =
  | ({ type: 'http'; url: string } & Record<string, unknown>)
  | ({ type: 'webSocket'; url: string } & Record<string, unknown>)
  | ({ type: 'p2p'; peers: unknown[] } & Record<string, unknown>)

/** The file, as read. */
export type ProxyConfigFile = {
  chainId: number
  sources: SourceEntry[]
  /** `true` or the options of `proofs()` from `outlast/proofs`. @default false */
  proofs?: boolean | Record<string, unknown>
  /** Every other `createOutlast` option (quorum, onQuorumLoss, timeout…). */
  options?: Record<string, unknown>
  proxy?: ProxyServerOptions
}

export type ResolvedProxyConfig = {
  chainId: number
  sources: (Source | Source[])[]
  proofs: false | Record<string, unknown>
  options: Record<string, unknown>
  server: Required<ProxyServerOptions>
}

const TOP = new Set(['chainId', 'sources', 'proofs', 'options', 'proxy', '$schema'])
const SERVER = new Set(['port', 'host', 'cors', 'maxBodyBytes', 'maxConcurrent'])

/** `${NAME}` replaced from `env` in every string of `value`; a missing one names itself and where. */
export function substituteEnv(
  value: unknown,
  env: Record<string, string | undefined>,
  at = '',
): unknown {
  if (typeof value === 'string')
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name]
      if (v === undefined || v === '')
        throw new ConfigError(
          `outlast.config: ${at || 'a value'} uses \${${name}}, which is not set in the environment.`,
        )
      return v
    })
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, `${at}[${i}]`))
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, at ? `${at}.${k}` : k)]),
    )
  return value
}

/**
 * The file's text checked and turned into sources and options. `loadP2p` loads `outlast/p2p`
 * only if a `p2p` entry needs it (libp2p is an optional peer).
 */
export async function resolveProxyConfig(
  text: string,
  env: Record<string, string | undefined>,
  loadP2p: () => Promise<{ p2p(options: never): Source[] }> = () =>
    import('../p2p/index.ts') as never,
): Promise<ResolvedProxyConfig> {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`outlast.config: not valid JSON (${(error as Error).message}).`)
  }
  const fail = (what: string): never => {
    throw new ConfigError(`outlast.config: ${what}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('must be a JSON object.')
  const file = raw as Record<string, unknown>
  for (const k of Object.keys(file))
    if (!TOP.has(k)) fail(`unknown field "${k}" (known: ${[...TOP].join(', ')}).`)
  if (!Array.isArray(file.sources) || file.sources.length === 0)
    fail('sources must be a non-empty array of { "type": "http" | "webSocket" | "p2p", … }.')
  const c = substituteEnv(file, env) as ProxyConfigFile
  const sources: (Source | Source[])[] = []
  for (const [i, entry] of c.sources.entries()) {
    const at = `sources[${i}]`
    if (typeof entry !== 'object' || entry === null) fail(`${at} must be an object.`)
    const { type, url, ...options } = entry as Record<string, unknown>
    if (type === 'http' || type === 'webSocket') {
      if (typeof url !== 'string') fail(`${at}.url must be a string.`)
      sources.push(
        type === 'http' ? http(url as string, options) : webSocket(url as string, options),
      )
    } else if (type === 'p2p') {
      const { p2p } = await loadP2p().catch(() =>
        fail(
          `${at} is a p2p source, but libp2p is not installed (npm i libp2p @libp2p/…, see the README).`,
        ),
      )
      sources.push(p2p(options as never))
    } else fail(`${at}.type must be "http", "webSocket" or "p2p", got ${JSON.stringify(type)}.`)
  }
  // null and arrays are refused by name: read as "absent", they would start a proxy silently
  // with defaults (no proofs, no options) the file did not ask for.
  const proofs =
    c.proofs === undefined || c.proofs === false ? false : c.proofs === true ? {} : c.proofs
  if (!isObject(proofs) && proofs !== false)
    fail(`proofs must be true, false or an options object, got ${JSON.stringify(c.proofs)}.`)
  if (c.options !== undefined && !isObject(c.options))
    fail(`options must be an object of createOutlast options, got ${JSON.stringify(c.options)}.`)
  return {
    chainId: c.chainId,
    sources,
    proofs,
    options: c.options ?? {},
    server: serverOf(c.proxy, fail),
  }
}

/** A JSON object: not null, not an array. */
const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x)

/**
 * The server options checked, with their defaults: the file's `proxy` section, and
 * `startProxy`'s `server` overrides merged over it (`at` names where, e.g. "proxy.").
 */
export function serverOf(
  o: ProxyServerOptions | undefined,
  fail: (what: string) => never,
  at = 'proxy.',
): Required<ProxyServerOptions> {
  if (o !== undefined && !isObject(o))
    fail(`${at.slice(0, -1)} must be an object, got ${JSON.stringify(o)}.`)
  for (const k of Object.keys(o ?? {}))
    if (!SERVER.has(k)) fail(`unknown field "${at}${k}" (known: ${[...SERVER].join(', ')}).`)
  const {
    port = 8545,
    host = '127.0.0.1',
    cors = [],
    maxBodyBytes = 1_048_576,
    maxConcurrent = 256,
  } = o ?? {}
  const whole = (n: unknown, min: number, max = Number.MAX_SAFE_INTEGER) =>
    Number.isSafeInteger(n) && (n as number) >= min && (n as number) <= max
  if (!whole(port, 0, 65_535)) fail(`${at}port must be a port number (0 to 65535), got ${port}.`)
  if (typeof host !== 'string' || host.trim() === '')
    fail(
      `${at}host must be a host name or address, got ${JSON.stringify(host)} (an empty one would listen on every interface).`,
    )
  if (!Array.isArray(cors) || !cors.every((x) => typeof x === 'string'))
    fail(`${at}cors must be an array of origins, e.g. ["https://app.example"].`)
  for (const [i, entry] of (cors as string[]).entries()) {
    const problem = corsProblem(entry)
    if (problem) fail(`${at}cors[${i}] ${JSON.stringify(entry)} ${problem}`)
  }
  if (!whole(maxBodyBytes, 64))
    fail(`${at}maxBodyBytes must be an integer >= 64, got ${maxBodyBytes}.`)
  if (!whole(maxConcurrent, 1))
    fail(`${at}maxConcurrent must be an integer >= 1, got ${maxConcurrent}.`)
  return { port, host, cors, maxBodyBytes, maxConcurrent }
}

/**
 * Why a `cors` entry can never match, or undefined: a browser's `Origin` is exactly
 * `scheme://host[:port]`, lowercase, with no path, so an entry is `*` or just that.
 */
/** Schemes whose pages send their own `scheme://host` as Origin though the URL standard gives none. */
const APP_SCHEMES = new Set([
  'chrome-extension',
  'moz-extension',
  'safari-web-extension',
  'app',
  'tauri',
  'capacitor',
])

function corsProblem(entry: string): string | undefined {
  if (entry === '*') return undefined
  if (entry === 'null')
    return 'is refused: every sandboxed iframe, data: and file: page on the web sends Origin "null", so it would let any site use your proxy; list your page\'s own origin.'
  let origin: string
  try {
    origin = new URL(entry).origin
  } catch {
    origin = 'null'
  }
  // Schemes the URL standard has no origin for, which extensions and app shells send as written
  // (a wallet extension's `chrome-extension://<id>`); pages of other such schemes (file:, data:)
  // send "null".
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/[a-z0-9.-]+(?::\d{1,5})?$/.exec(entry)?.[1]
  if (origin === 'null' && scheme !== undefined && APP_SCHEMES.has(scheme)) return undefined
  if (origin === 'null')
    return 'is not an origin: write scheme://host[:port], e.g. "https://app.example".'
  if (origin !== entry)
    return `is not an origin a browser sends, so it would never match: write ${JSON.stringify(origin)}.`
  return undefined
}
