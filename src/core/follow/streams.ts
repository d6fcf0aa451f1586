/**
 * Subscriptions and filters wired to the engine: its requests, its sources' pushed heads (hints,
 * like polled ones: a head reaches subscribers once agreed) and its events. Loaded with the first
 * subscription or filter (`Engine.streams`): a dApp that never subscribes never carries it.
 */
import { BaseError } from '../../shared/errors.ts'
import type { Outlast } from '../createOutlast.ts'
import type { Answer, Call, Engine } from '../engine.ts'
import type { OutlastEvents } from '../events.ts'
import type { RpcHeader as FollowedHeader, HeadPusher } from './chainFollower.ts'
import { heldBack } from './heldBack.ts'
import type { RpcLog } from './logs.ts'
import { secondOpinion } from './secondOpinion.ts'
import { createSubscriptions, type Subscriptions } from './subscriptions.ts'

/** The longest an agreed `[]` another domain has logs for is held back (a lagging logs index). */
const DISPUTE = 6_000

/** Labels of an `eth_getLogs` answer that more than one domain's word stands behind. */
const CHECKED = new Set(['agreed', 'verified', 'proven', 'cached'])

/** The streams, and the answer to a subscription method with its label (`answer`). */
export type EngineStreams = Subscriptions & {
  answer(method: string, params: unknown[], meta: Call['meta']): Promise<Answer>
}

/** `Outlast.subscribe` (createOutlast.ts): `eth_subscribe` with a callback. */
export async function subscribe(
  client: Outlast,
  closed: () => boolean,
  params: readonly unknown[],
  onData: (result: unknown) => void,
): ReturnType<Outlast['subscribe']> {
  const id = (await client.request({ method: 'eth_subscribe', params })) as string
  const listener = (m: OutlastEvents['message']) => {
    if (m.data.subscription === id) onData(m.data.result)
  }
  client.on('message', listener)
  return {
    id,
    // Never rejects: after close() (or any failure) the subscription is gone either way.
    async unsubscribe() {
      client.removeListener('message', listener)
      if (closed()) return false
      return (await client
        .request({ method: 'eth_unsubscribe', params: [id] })
        .catch(() => false)) as boolean
    },
  }
}

export function engineStreams(engine: Engine): EngineStreams {
  const { pool, head, events, config } = engine
  const { states } = pool
  // Those the head tracker hears: untrusted sources neither report nor back heads.
  const trusted = states.filter((s) => !s.untrusted)
  const subs = createSubscriptions({
    request: async (method, params) => (await engine.request(method, params)).result,
    getLogs: streamLogs(engine),
    pollingInterval: engine.config.pollingInterval,
    pushers: () =>
      states.flatMap((s) =>
        // An untrusted source's pushed heads are not even hints: anyone can run many.
        s.source.subscribe && !s.untrusted
          ? [
              {
                name: s.name,
                subscribe: s.source.subscribe.bind(s.source),
                onState: (s.source as Partial<HeadPusher>).onState?.bind(s.source),
              },
            ]
          : [],
      ),
    // A pushed head is a hint, like a polled one: it reaches subscribers once agreed.
    confirmHead: (pusher, header) => {
      const s = states.find((x) => x.name === pusher.name)
      // Nor from a source cut off as a liar: each of its pushes would be hashed (and a lie) again.
      if (s?.chain !== 'ok' || s.forked || s.lyingUntil > Date.now())
        return Promise.resolve(undefined)
      return head.confirm(s, header) as Promise<FollowedHeader | undefined>
    },
    refreshHead: () => head.refresh(),
    confirmed: () => head.confirmed(),
    heldBack: (header) =>
      heldBack(
        Number.parseInt(header.number, 16),
        header.hash.toLowerCase(),
        trusted,
        Math.min(2, config.quorum.domains),
        pool.up,
      ),
    confirmedHead: () => head.confirmedHead()?.hash,
    notify: (subscription, result) =>
      events.emit('message', { type: 'eth_subscription', data: { subscription, result } }),
    onError: (error) =>
      events.emit('streamError', {
        message: error instanceof BaseError ? error.shortMessage : String(error),
      }),
  })
  /**
   * Labels say what was checked: a filter's changes are hash-checked heads linked by parent
   * hash (`verified`) or logs the domains agreed on (`agreed`), `degraded` when any came while
   * one domain alone backed the head; a log filter's logs asked for at once are an `eth_getLogs`
   * read, answered and labelled as one; ids and flags are this client's bookkeeping (`static`).
   */
  const answer: EngineStreams['answer'] = async (method, params, meta) => {
    if (method === 'eth_getFilterLogs')
      return engine.request('eth_getLogs', [subs.criteria(params[0])])
    if (method === 'eth_getFilterChanges') {
      const { result, alone, logs } = subs.changes(params[0])
      return {
        result,
        meta: meta({ consistency: alone ? 'degraded' : logs ? 'agreed' : 'verified' }),
      }
    }
    return { result: await subs.handle(method, params), meta: meta({ consistency: 'static' }) }
  }
  return Object.assign(subs, { answer })
}

/**
 * A stream's `eth_getLogs`: the logs with whether one domain alone backs them (the domains held
 * back from the request asked first: `secondOpinion`), an agreed `[]` doubted for a while.
 */
function streamLogs(engine: Engine) {
  /** Until when each agreed `[]` still owed may be held back. */
  const disputed = new Map<string, number>()
  return async (filter: object) => {
    const { result, meta } = await engine.request('eth_getLogs', [filter])
    // One domain's logs: the domains held back from the request are asked first.
    const alone =
      !CHECKED.has(meta.consistency) && !(await secondOpinion(engine, filter, result, meta.domains))
    // An agreed `[]` is weak evidence: a node lagging its own logs index answers `[]` for a
    // block it has not indexed yet, and two such (or one and a liar) agreed and the block's
    // logs were never delivered (logSweep). So every other domain is asked too: one that has
    // logs, or cannot answer now but answered lately, makes it owed, for at most DISPUTE (a
    // liar answering made-up logs for empty blocks delays the stream, never stops it).
    if (meta.consistency === 'agreed' && !(result as []).length) {
      // By its first block (logs.ts builds each alike): blocks owed, then joined by new ones in
      // one range, keep their deadline (else a liar disputing could hold them for good).
      const key = JSON.stringify({ ...filter, toBlock: 0 })
      const now = Date.now()
      const until = disputed.get(key) ?? now + DISPUTE
      if (disputed.size > 99) disputed.clear() // those a reorg took while owed
      disputed.set(key, until) // kept while owed: secondOpinion throws
      if (now < until) await secondOpinion(engine, filter, result, meta.domains, 1 / 0)
      disputed.delete(key)
    }
    return { logs: result as RpcLog[], degraded: alone }
  }
}
