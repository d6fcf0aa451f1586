import { plain } from '../shared/clip.ts'
import { ConfigError, RpcResponseError, SourceError } from '../shared/errors.ts'
import { badRoute } from '../shared/route.ts'
import type {
  MethodRoute,
  RpcRequest,
  Source,
  SourceKind,
  SourceRequestOptions,
} from '../shared/types.ts'
import { finite, MAX_TIMER } from './options.ts'

/** The part of an EIP-1193 provider that a source needs. */
export type Eip1193Like = {
  request(args: { method: string; params?: readonly unknown[] | object }): Promise<unknown>
}

export type Eip1193SourceOptions = {
  /** Unique name shown in events, errors and `status()`. @default 'wallet' */
  name?: string
  /** @default 'wallet' */
  kind?: SourceKind
  /** Which methods it is asked: `{ include }` or `{ exclude }` (see `http`). @default every method */
  methods?: MethodRoute
  /** Failure domain; a wallet's RPC usually sits with one cloud provider. @default 'wallet' */
  domain?: string
  /** Ranking weight. @default 1 */
  weight?: number
  /** Milliseconds one attempt may take. @default 10_000 */
  timeout?: number
}

/** Any EIP-1193 provider (a wallet's injected `window.ethereum`, another library) as a source. */
export function eip1193(provider: Eip1193Like, options: Eip1193SourceOptions = {}): Source {
  if (typeof provider?.request !== 'function')
    throw new ConfigError('eip1193(): provider must have a request({ method, params }) function.')
  const { name = 'wallet', kind = 'wallet', domain = 'wallet', weight = 1, methods } = options
  const route = badRoute(methods)
  if (route) throw new ConfigError(`eip1193(${name}): ${route}`)
  const { timeout: ms = 10_000 } = options
  if (!(finite(ms) && ms > 0 && ms <= MAX_TIMER))
    throw new ConfigError(
      `eip1193(${name}): timeout must be a number of ms > 0 and <= ${MAX_TIMER}, got ${ms}`,
    )
  if (!(finite(weight) && weight > 0))
    throw new ConfigError(`eip1193(${name}): weight must be > 0, got ${weight}`)
  const timeout = Math.ceil(ms)

  return {
    config: { name, kind, domain, weight, label: 'eip1193', ...(methods ? { methods } : {}) },
    request(body: RpcRequest, { signal }: SourceRequestOptions = {}) {
      const timeoutSignal = AbortSignal.timeout(timeout)
      const abort = signal ? AbortSignal.any([signal, timeoutSignal]) : timeoutSignal
      return new Promise((resolve, reject) => {
        const onAbort = () =>
          reject(
            signal?.aborted
              ? new SourceError(name, 'aborted', 'attempt cancelled')
              : new SourceError(name, 'timeout', `no answer within ${timeout} ms`),
          )
        if (abort.aborted) return onAbort()
        abort.addEventListener('abort', onAbort, { once: true })
        provider
          .request({ method: body.method, params: body.params ?? [] })
          .then(resolve, (error: { code?: unknown; message?: unknown; data?: unknown }) => {
            // The wallet's words, on one line and cut short (it has no secrets of ours to scrub).
            const message = plain(
              typeof error?.message === 'string' ? error.message : String(error),
            )
            reject(
              typeof error?.code === 'number'
                ? new RpcResponseError(name, { code: error.code, message, data: error.data })
                : new SourceError(name, 'network', message, { cause: error }),
            )
          })
          .finally(() => abort.removeEventListener('abort', onAbort))
      })
    },
  }
}
