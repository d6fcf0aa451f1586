import { ConfigError } from '../shared/errors.ts'
import { badRoute } from '../shared/route.ts'
import {
  type MethodRoute,
  type SourceConfig,
  URL_KINDS,
  type UrlSourceKind,
} from '../shared/types.ts'
import { redactHost, redactUrl } from '../shared/url.ts'

/** Options every URL source shares (`http`, `webSocket`). */
export type UrlSourceOptions = {
  name?: string
  kind?: UrlSourceKind
  domain?: string
  weight?: number
  timeout?: number
  maxResponseBytes?: number
  untrusted?: boolean
  methods?: MethodRoute
}

export type UrlSourceSettings = {
  url: URL
  name: string
  kind: UrlSourceKind
  domain: string
  weight: number
  untrusted: boolean
  methods: MethodRoute | undefined
  /** Whole milliseconds (timers and `AbortSignal.timeout` need an integer). */
  timeout: number
  maxResponseBytes: number
  /** Throws a `ConfigError` naming the source unless `ok`. */
  check(ok: boolean, what: string): void
}

/**
 * Parses a source's URL and its shared options, with the defaults the options' JSDoc states,
 * and rejects bad values with an error naming the source and the option.
 */
export function urlSource(
  factory: string,
  url: string,
  protocols: readonly string[],
  options: UrlSourceOptions,
): UrlSourceSettings {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError(`${factory}(): invalid URL ${JSON.stringify(redactUrl(url))}.`)
  }
  if (!protocols.includes(parsed.protocol))
    throw new ConfigError(
      `${factory}(): URL must be ${protocols.join(' or ')}, got ${parsed.protocol}`,
    )
  const {
    name = redactHost(parsed),
    kind = 'cloud',
    domain = redactHost(parsed),
    weight = 1,
    timeout = 10_000,
    maxResponseBytes = 16 * 1024 * 1024,
    untrusted = false,
    methods,
  } = options
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new ConfigError(`${factory}(${name}): ${what}`)
  }
  check(typeof name === 'string' && name.length > 0, 'name must be a non-empty string')
  check(typeof domain === 'string' && domain.length > 0, 'domain must be a non-empty string')
  check(
    URL_KINDS.includes(kind),
    `kind must be one of ${URL_KINDS.map((k) => `'${k}'`).join(', ')}, got ${JSON.stringify(kind)}`,
  )
  check(
    finite(timeout) && timeout > 0 && timeout <= MAX_TIMER,
    `timeout must be a number of ms > 0 and <= ${MAX_TIMER}, got ${timeout}`,
  )
  check(finite(weight) && weight > 0, `weight must be > 0, got ${weight}`)
  check(typeof untrusted === 'boolean', `untrusted must be true or false, got ${untrusted}`)
  const route = badRoute(methods)
  check(route === undefined, route ?? '')
  check(
    finite(maxResponseBytes) && maxResponseBytes > 0,
    `maxResponseBytes must be > 0, got ${maxResponseBytes}`,
  )
  return {
    url: parsed,
    name,
    kind,
    domain,
    weight,
    untrusted,
    methods,
    timeout: Math.ceil(timeout),
    maxResponseBytes,
    check,
  }
}

export const finite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n)

/** The longest delay a timer takes (2^31 − 1 ms); a longer one fires at once. */
export const MAX_TIMER = 2_147_483_647

/** A URL source's `config`: what it is, and its URL without secrets (`redact` scrubs answers). */
export function urlSourceConfig(
  s: Pick<UrlSourceSettings, 'name' | 'kind' | 'domain' | 'weight' | 'untrusted' | 'methods'>,
  url: string,
  redact: (text: string) => string,
): SourceConfig {
  const { name, kind, domain, weight, untrusted, methods } = s
  return {
    name,
    kind,
    domain,
    weight,
    untrusted,
    ...(methods ? { methods } : {}),
    label: redactUrl(url),
    redact,
  }
}
