/**
 * One trustless gateway asked for an IPNS record (`GET /ipns/{name}?format=ipns-record`): the
 * bytes bounded in size and time, then verified with the `ipns` package against the name's key.
 * A record that fails its signature is a lie (counted, reported); an expired one is not.
 */

import { messageOf } from '../shared/errors.ts'
import { redactHost } from '../shared/url.ts'
import { gatewayBytes } from './gatewayBytes.ts'
import type { IpnsOptions, IpnsRecordInfo, IpnsRouteStatus } from './ipns.ts'
import { routeFailure } from './routeFailure.ts'
import { fetchSameOrigin } from './sameOrigin.ts'

/** The IPNS record media type of the trustless gateway spec. */
export const IPNS_RECORD_TYPE = 'application/vnd.ipfs.ipns-record'
/** The spec's limit on a record's size. */
const MAX_RECORD_BYTES = 10_240

/** A gateway asked for records, and what it has done so far. */
export type Route = IpnsRouteStatus & { url: string }

type RouteSettings = Required<Pick<IpnsOptions, 'fetch' | 'timeout'>> & Pick<IpnsOptions, 'onLie'>

/** One route's verified record; undefined when it has none (404). Counts its failures and lies. */
export async function fromRoute(
  r: Route,
  name: string,
  key: Uint8Array,
  ipns: typeof import('ipns') & typeof import('ipns/validator'),
  signal: AbortSignal,
  o: RouteSettings,
): Promise<IpnsRecordInfo | undefined> {
  let bytes: Uint8Array | undefined
  const timeout = AbortSignal.timeout(o.timeout)
  try {
    const response = await fetchSameOrigin(
      o.fetch,
      new URL(`${r.url.replace(/\/+$/, '')}/ipns/${encodeURIComponent(name)}?format=ipns-record`),
      { headers: { accept: IPNS_RECORD_TYPE }, signal: AbortSignal.any([signal, timeout]) },
    )
    bytes = await gatewayBytes(response, MAX_RECORD_BYTES)
    if (!bytes) return undefined
  } catch (error) {
    if (signal.aborted) throw new Error('not needed any more')
    const why = timeout.aborted
      ? `no answer within ${o.timeout} ms`
      : routeFailure(error, redactHost(new URL(r.url)))
    r.failures++
    r.lastError = why
    throw new Error(why)
  }
  try {
    await ipns.ipnsValidator(key, bytes)
  } catch (error) {
    const why = messageOf(error)
    if ((error as Error)?.name === 'RecordExpiredError') {
      r.lastError = `expired record: ${why}`
      throw new Error(`sent an expired record (${why})`)
    }
    r.lies++
    r.lastError = `lied: ${why}`
    o.onLie?.({ route: r.name, name, reason: why })
    throw new Error(`sent a record that failed verification: ${why}`)
  }
  const rec = ipns.unmarshalIPNSRecord(bytes)
  r.records++
  return {
    name,
    value: rec.value,
    sequence: rec.sequence,
    validity: rec.validity,
    ttl: rec.ttl === undefined ? undefined : Number(rec.ttl / 1_000_000_000n),
    route: r.name,
  }
}
