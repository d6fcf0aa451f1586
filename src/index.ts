export type { BreakerOptions, BreakerState } from './core/breaker.ts'
export type { OutlastOptions } from './core/config.ts'
export {
  createOutlast,
  type Outlast,
  type OutlastEvents,
  type RequestArguments,
  type ResponseMeta,
} from './core/createOutlast.ts'
export type { Head } from './core/head.ts'
export { classify, type MethodPolicy, methodPolicies, type PolicyClass } from './core/policy.ts'
export type { Prover, ProverCall, ProverContext } from './core/prover.ts'
export type { RetryBudgetOptions } from './core/retryBudget.ts'
export type { SourceCondition } from './core/sourceState.ts'
export { formatStatus, type OutlastStatus, type SourceStatus } from './core/status.ts'
export type { TrustedHeader, TrustedHeaderHook } from './core/trust.ts'
export {
  AllSourcesFailedError,
  BaseError,
  ChainMismatchError,
  ConfigError,
  DeadlineError,
  ProviderRpcError,
  QuorumError,
  QuorumLostError,
  RpcResponseError,
  SourceError,
  type SourceFailureKind,
  UnanchoredProofError,
  VerificationError,
} from './shared/errors.ts'
export type { Hex, RpcRequest, Source, SourceConfig, SourceKind } from './shared/types.ts'
export { redactUrl } from './shared/url.ts'
export type { BatchOptions } from './sources/batch.ts'
export { type Eip1193Like, type Eip1193SourceOptions, eip1193 } from './sources/eip1193.ts'
export { type HttpSourceOptions, http } from './sources/http.ts'
export {
  type WebSocketSource,
  type WebSocketSourceOptions,
  type WebSocketState,
  webSocket,
} from './sources/webSocket.ts'
