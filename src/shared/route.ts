/**
 * Per-source method routing: which methods a source is asked. Pure; the engine consults it when
 * it picks candidates, polls heads and broadcasts, and an attempt outside a source's route fails
 * at once without touching its health.
 */
import type { MethodRoute } from './types.ts'

const matches = (patterns: readonly string[], method: string) =>
  patterns.some((p) => (p.endsWith('*') ? method.startsWith(p.slice(0, -1)) : p === method))

/** Whether a source with `route` is asked `method`. */
export function serves(route: MethodRoute | undefined, method: string): boolean {
  if (!route) return true
  if (route.include && !matches(route.include, method)) return false
  return !(route.exclude && matches(route.exclude, method))
}

/**
 * A method that hands transactions on, outlast's own sends aside (`eth_sendPrivateTransaction`,
 * `eth_sendBundle`, `mev_sendBundle`, `eth_callBundle`, `eth_cancelPrivateTransaction`,
 * bloXroute's `blxr_tx` and `blxr_private_tx`, `hmyv2_sendRawTransaction`,
 * `Filecoin.EthSendRawTransaction`…): a namespace, then a name that sends, cancels, submits,
 * bundles or is private, or ends in `_tx`. Asked like a read it would reach every source, the
 * public ones with the signed transactions in it (reviewOfSession38a, 38d): unless the app gives
 * it a policy, it is asked only of a source that `names` it.
 */
export const handsOn = (method: string): boolean =>
  /^[a-z][a-z0-9]*[_.](.*(send(?!er)|cancel|submit|private|bundle)|(.*_)?tx$)/i.test(method) &&
  !BROADCAST.has(method)

/** A source whose route names `method` in `include`, by its name (no wildcard). */
export const names = (route: MethodRoute | undefined, method: string): boolean =>
  !!route?.include?.includes(method) && serves(route, method)

/**
 * A source that names `eth_sendRawTransaction` or `eth_sendRawTransactionSync` in `include`: a
 * private route for transactions, both kinds (a sync send reaches the nodes as a plain one).
 */
export const privateRoute = (route: MethodRoute | undefined): boolean =>
  !!route?.include?.some((m) => m === PLAIN || m === SYNC)

/** Checks a route from options; returns why it is wrong, or undefined. */
export function badRoute(route: unknown): string | undefined {
  if (route === undefined) return undefined
  if (typeof route !== 'object' || route === null || Array.isArray(route))
    return 'methods must be { include: [...] } or { exclude: [...] }'
  for (const [key, list] of Object.entries(route)) {
    if (key !== 'include' && key !== 'exclude')
      return `methods has an unknown field "${key}" (include, exclude)`
    if (!Array.isArray(list) || !list.every((m) => typeof m === 'string' && m.length > 0))
      return `methods.${key} must be an array of method names (or prefixes ending in *)`
  }
  // A route for sync sends that does not take plain ones would be passed by: the nodes get a
  // sync send as a plain one (a private route so written leaked to the public sources).
  const { include } = route as MethodRoute
  if (
    (privateRoute(route as MethodRoute) || (include && matches(include, SYNC))) &&
    !serves(route as MethodRoute, PLAIN)
  )
    return `methods take a send method (a private route for transactions) but leave out ${PLAIN}: outlast sends a synchronous send to the nodes as ${PLAIN} (it awaits the receipt itself); let it through`
  return undefined
}

const PLAIN = 'eth_sendRawTransaction'
const SYNC = 'eth_sendRawTransactionSync'
/** The sends outlast broadcasts by its own rules (policy.ts: class `broadcast`). */
const BROADCAST = new Set([PLAIN, SYNC, 'eth_sendRawTransactionConditional'])
