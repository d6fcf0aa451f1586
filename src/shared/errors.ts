/**
 * One error family, modelled on viem's `errors/base.ts`: a short message for people, details
 * for logs, the cause chain, and `walk()` to find a specific cause.
 */
export type BaseErrorOptions = {
  cause?: unknown
  details?: string | undefined
  metaMessages?: readonly string[] | undefined
}

export class BaseError extends Error {
  override name = 'OutlastError'
  /** EIP-1193 / EIP-1474 code for the provider surface. @default -32603 (internal error) */
  code = -32603
  // `declare`: fields the constructor sets are not declared again in the output (where a class
  // field without a value would take bytes and define each as undefined first).
  declare readonly shortMessage: string
  declare readonly details: string | undefined
  declare readonly metaMessages: readonly string[]

  constructor(shortMessage: string, options: BaseErrorOptions = {}) {
    const details =
      options.details ?? (options.cause instanceof Error ? options.cause.message : undefined)
    const lines = [shortMessage]
    if (options.metaMessages?.length) lines.push('', ...options.metaMessages)
    if (details && details !== shortMessage) lines.push('', `Details: ${details}`)
    super(lines.join('\n'), options.cause === undefined ? undefined : { cause: options.cause })
    this.shortMessage = shortMessage
    this.details = details
    this.metaMessages = options.metaMessages ?? []
  }

  /** Walks the cause chain; returns the first error for which `fn` is true (or the last one). */
  walk(fn?: (err: unknown) => boolean): unknown {
    let err: unknown = this
    while (err instanceof Error) {
      if (fn?.(err)) return err
      if (err.cause === undefined) return fn ? undefined : err
      err = err.cause
    }
    return fn ? undefined : err
  }
}

/** Bad options given to `createOutlast` or a source factory. Thrown at construction. */
export class ConfigError extends BaseError {
  override name = 'ConfigError'
}

/** What went wrong with one source in one attempt. */
export type SourceFailureKind =
  | 'timeout'
  | 'network'
  | 'dns'
  | 'refused'
  | 'http'
  | 'rate-limited'
  | 'body'
  | 'rpc'
  | 'chain'
  | 'unavailable'
  /**
   * It answered, but cannot serve this request: state it pruned, a log range beyond its limits.
   * Not its fault (its health is untouched); the request goes to the sources that can.
   */
  | 'unserved'
  /**
   * It could not answer, but passed the request on unjudged: a raw transaction its relay could
   * not take, published to gossip (p2p). Never a domain's acceptance.
   */
  | 'passed-on'
  | 'aborted'

export class SourceError extends BaseError {
  override name = 'SourceError'
  /** The source's name. */
  declare readonly source: string
  /** What went wrong, without the source's name (the message is `${source}: ${reason}`). */
  declare readonly reason: string
  declare readonly kind: SourceFailureKind
  declare readonly status: number | undefined
  /** Milliseconds the source asked us to wait (HTTP 429 `Retry-After`). */
  declare readonly retryAfter: number | undefined

  constructor(
    source: string,
    kind: SourceFailureKind,
    message: string,
    options: BaseErrorOptions & { status?: number; retryAfter?: number | undefined } = {},
  ) {
    super(`${source}: ${message}`, options)
    this.source = source
    this.reason = message
    this.kind = kind
    this.status = options.status
    this.retryAfter = options.retryAfter
  }
}

/** A JSON-RPC error object returned by a source (inside HTTP 200 or otherwise). */
export class RpcResponseError extends SourceError {
  override name = 'RpcResponseError'
  declare readonly code: number
  declare readonly data: unknown
  /**
   * One domain's error alone (the others out, `onQuorumLoss: 'degrade'`): no agreement stands
   * behind it, as `meta.consistency: 'degraded'` says of a result.
   */
  declare degraded?: true

  constructor(source: string, error: { code: number; message: string; data?: unknown }) {
    super(source, 'rpc', `JSON-RPC error ${error.code}: ${error.message}`)
    this.code = error.code
    this.data = error.data
  }

  /**
   * Errors every honest node gives for the same request (a revert, invalid params): they are
   * answers to agree on, not source failures.
   */
  get deterministic(): boolean {
    return this.code === 3 || this.code === -32602 || /revert/i.test(this.shortMessage)
  }
}

/**
 * `e` as the caller gets a node's error: its message the node's own words, with its code and data
 * (viem reads a revert's reason from "execution reverted: …", ethers and `cast` show it); the
 * source stays in `source`, the whole in `reason`. As "aws: JSON-RPC error 3: …", viem's revert
 * reason was that text, and the proxy's clients got it too (reviewOfSession40d 1).
 */
export function inNodesWords(e: RpcResponseError): RpcResponseError {
  const words = e.reason.replace(/^JSON-RPC error -?\d+: /, '')
  for (const k of ['message', 'shortMessage'])
    Object.defineProperty(e, k, { value: words, writable: true, configurable: true })
  return e
}

/** A source is on another chain than the configured `chainId`. */
export class ChainMismatchError extends SourceError {
  override name = 'ChainMismatchError'
  constructor(source: string, expected: number, actual: number) {
    super(source, 'chain', `on chain ${actual}, expected ${expected}`)
  }
}

/**
 * Every source was tried and none gave an answer that passed its checks (down, refusing, garbage
 * or lies alike: 4900, as a provider with no usable source). Lists each source's reason.
 */
export class AllSourcesFailedError extends BaseError {
  override name = 'AllSourcesFailedError'
  override code = 4900
  declare readonly method: string
  declare readonly failures: readonly { source: string; reason: string }[]

  constructor(method: string, failures: readonly { source: string; reason: string }[]) {
    super(`All sources failed for ${method}.`, {
      metaMessages: failures.length
        ? failures.map((f) => `- ${f.source}: ${f.reason}`)
        : ['- no source was eligible (all excluded, cooling off or open-circuit)'],
    })
    this.method = method
    this.failures = failures
  }
}

/** Sources answered but not enough failure domains agreed. Lists the answers by source. */
export class QuorumError extends BaseError {
  override name = 'QuorumError'
  declare readonly method: string
  declare readonly answers: readonly { source: string; domain: string; answer: string }[]

  constructor(
    method: string,
    required: number,
    answers: readonly { source: string; domain: string; answer: string }[],
    failures: readonly { source: string; reason: string }[] = [],
  ) {
    super(`No answer to ${method} was agreed by ${required} failure domains.`, {
      metaMessages: [
        ...answers.map((a) => `- ${a.source} (${a.domain}) answered ${a.answer}`),
        ...failures.map((f) => `- ${f.source} failed: ${f.reason}`),
      ],
    })
    this.method = method
    this.answers = answers
  }
}

/** Only one failure domain was left and `onQuorumLoss: 'fail'` was set. */
export class QuorumLostError extends BaseError {
  override name = 'QuorumLostError'
}

/** The overall deadline passed before the policy was satisfied. */
export class DeadlineError extends BaseError {
  override name = 'DeadlineError'
  /** True when no source answered at all (the provider is as good as disconnected: 4900). */
  declare readonly silent: boolean

  constructor(shortMessage: string, options: BaseErrorOptions & { silent?: boolean } = {}) {
    super(shortMessage, options)
    this.silent = options.silent ?? true
    this.code = this.silent ? 4900 : -32603
  }
}

/** A locally computed hash did not match what a source sent. */
export class VerificationError extends BaseError {
  override name = 'VerificationError'
}

/**
 * A proof that does not lead to the trusted root. Unlike a proof that contradicts its own claim
 * (always a lie), this may be a state the node cannot prove (anvil's genesis): when every domain
 * fails the same way, no one is called a liar.
 */
export class UnanchoredProofError extends VerificationError {
  override name = 'UnanchoredProofError'
}

/**
 * EIP-1193 / EIP-1474 error on the provider surface. `code` is 4200 for methods outlast does
 * not serve (wallet-only), 4900 when every source is down, or the node's JSON-RPC code.
 */
export class ProviderRpcError extends BaseError {
  override name = 'ProviderRpcError'
  declare readonly code: number
  declare readonly data: unknown

  constructor(code: number, message: string, options: BaseErrorOptions & { data?: unknown } = {}) {
    super(message, options)
    this.code = code
    this.data = options.data
  }
}

/** An error's short message (a `BaseError`'s `shortMessage`), for a reason or a reply. */
export const messageOf = (error: unknown): string =>
  error instanceof BaseError
    ? error.shortMessage
    : error instanceof Error
      ? error.message
      : String(error)
