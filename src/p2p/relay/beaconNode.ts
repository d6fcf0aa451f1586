/**
 * The relay's line to its operator's beacon node: the Beacon API's light-client endpoints in SSZ
 * (`/eth/v1/beacon/light_client/*`), its genesis and spec, bounded in time and bytes. What it
 * returns is the node's bytes as sent; the callers decode them before anything is served or
 * gossiped. The node's URL may hold a key: it never appears in errors or status.
 */

import { sseParser } from '../../light/sse.ts'
import { SourceError, type SourceFailureKind } from '../../shared/errors.ts'
import { readResponse, TooManyBytes } from '../../shared/readBytes.ts'
import type { Hex } from '../../shared/types.ts'

/** An SSZ object as the node sent it, with the fork its `Eth-Consensus-Version` header names. */
export type BeaconObject = { fork: string; body: Uint8Array }

export type BeaconNode = {
  /** genesis_validators_root and genesis_time. */
  genesis(): Promise<{ root: Hex; time: number }>
  /** `/eth/v1/config/spec`: the chain's constants, as strings. */
  spec(): Promise<Record<string, string>>
  /** The root of the node's finalized block (the relay's own checkpoint). */
  finalizedRoot(): Promise<Hex>
  /** undefined when the node has none (404). */
  bootstrap(root: Hex): Promise<BeaconObject | undefined>
  /** The SSZ list as the node sent it; undefined when it has none. */
  updates(start: number, count: number): Promise<Uint8Array | undefined>
  finality(): Promise<BeaconObject | undefined>
  optimistic(): Promise<BeaconObject | undefined>
  /**
   * Follows the node's event stream (`/eth/v1/events`, SSE) for new light-client updates and
   * calls `onUpdate` at each (reconnecting after a second, up to 30 s, while it is down); the
   * caller then reads the update in SSZ. Returns a function that stops it.
   */
  follow(onUpdate: () => void): () => void
}

/** The largest answer read: 128 Electra updates with their next committees are ~3.3 MB. */
const MAX_BYTES = 8 * 1024 * 1024

const LC = '/eth/v1/beacon/light_client'

export function beaconNode(url: string, timeout: number): BeaconNode {
  const base = url.replace(/\/+$/, '')
  const fail = (kind: SourceFailureKind, message: string) =>
    new SourceError('beacon', kind, message)

  /** The answer's bytes and fork header; undefined on 404. No cause kept: it may carry the URL. */
  const get = async (path: string, accept: string) => {
    let res: Response
    try {
      res = await fetch(`${base}${path}`, {
        headers: { accept },
        signal: AbortSignal.timeout(timeout),
      })
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError'
      throw timedOut
        ? fail('timeout', 'the beacon node did not answer in time')
        : fail('network', 'the beacon node did not answer')
    }
    if (res.status === 404) {
      await res.body?.cancel().catch(() => {})
      return undefined
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {})
      throw fail('http', `the beacon node answered HTTP ${res.status} to ${path.split('?')[0]}`)
    }
    const body = await readCapped(res, MAX_BYTES, fail)
    return { body, fork: (res.headers.get('eth-consensus-version') ?? '').toLowerCase() }
  }
  const json = async (path: string) => {
    const got = await get(path, 'application/json')
    try {
      if (got) return (JSON.parse(new TextDecoder().decode(got.body)) as { data: unknown }).data
    } catch {}
    throw fail('body', `the beacon node sent no JSON data for ${path}`)
  }
  const ssz = (path: string) => get(path, 'application/octet-stream')

  return {
    async genesis() {
      const d = (await json('/eth/v1/beacon/genesis')) as Record<string, unknown> | null
      const root = d?.genesis_validators_root
      const time = Number(d?.genesis_time)
      if (
        typeof root !== 'string' ||
        !/^0x[0-9a-fA-F]{64}$/.test(root) ||
        !Number.isSafeInteger(time)
      )
        throw fail('body', 'the beacon node sent a malformed genesis')
      return { root: root.toLowerCase() as Hex, time }
    },
    async spec() {
      const d = await json('/eth/v1/config/spec')
      if (typeof d !== 'object' || d === null) throw fail('body', 'the beacon node sent no spec')
      return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, String(v)]))
    },
    async finalizedRoot() {
      const root = ((await json('/eth/v1/beacon/headers/finalized')) as { root?: unknown } | null)
        ?.root
      if (typeof root !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(root))
        throw fail('body', 'the beacon node sent no finalized block root')
      return root.toLowerCase() as Hex
    },
    bootstrap: (root) => ssz(`${LC}/bootstrap/${root}`),
    updates: async (start, count) =>
      (await ssz(`${LC}/updates?start_period=${start}&count=${count}`))?.body,
    finality: () => ssz(`${LC}/finality_update`),
    optimistic: () => ssz(`${LC}/optimistic_update`),
    follow(onUpdate) {
      const stop = new AbortController()
      const events = `${base}/eth/v1/events?topics=light_client_finality_update,light_client_optimistic_update`
      void (async () => {
        for (let delay = 1_000; !stop.signal.aborted; delay = Math.min(30_000, delay * 2)) {
          try {
            const res = await fetch(events, {
              headers: { accept: 'text/event-stream' },
              signal: stop.signal,
            })
            if (res.ok && res.body) {
              // An event's body is a hint only (read again in SSZ): 64 kB bounds a line that never ends.
              const parser = sseParser(64 * 1024)
              const text = new TextDecoder()
              for await (const chunk of res.body) {
                delay = 1_000
                const got = parser.push(text.decode(chunk, { stream: true }))
                if (got.some((e) => e.event.startsWith('light_client_'))) onUpdate()
              }
            } else await res.body?.cancel().catch(() => {})
          } catch {}
          await new Promise((r) => setTimeout(r, delay))
        }
      })()
      return () => stop.abort()
    },
  }
}

async function readCapped(
  res: Response,
  max: number,
  fail: (kind: SourceFailureKind, message: string) => SourceError,
): Promise<Uint8Array> {
  try {
    return await readResponse(res, max)
  } catch (error) {
    await res.body?.cancel().catch(() => {})
    throw error instanceof TooManyBytes
      ? fail('body', `the beacon node's answer is larger than ${max} bytes`)
      : fail('network', 'the beacon node broke off its answer')
  }
}
