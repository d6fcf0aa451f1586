/**
 * `eth_sendRawTransaction` and its variants: to every domain (broadcast.ts; both load with the
 * first send: a dApp that only reads never carries them). A synchronous send answers with the
 * receipt the domains agree on (or prove), never the sender's own.
 */

import { clip } from '../../shared/clip.ts'
import { AllSourcesFailedError, RpcResponseError } from '../../shared/errors.ts'
import { privateRoute, serves } from '../../shared/route.ts'
import { type BroadcastOutcome, broadcast, hashOf } from '../broadcast.ts'
import type { Answer, Call, Engine, Handler } from '../engine.ts'
import type { SourceState } from '../sourceState.ts'
import { receiptOf } from './agreedChain.ts'

export const send: Handler = async (engine, c) => {
  const { method, params, started, deadline } = c
  engine.budget.deposit()
  const receipt = (r: Answer) => ({
    result: r.result,
    meta: { ...r.meta, method, policy: 'broadcast' as const },
  })
  // A synchronous send's wait (its second parameter) is outlast's own: nodes take none alike
  // (anvil refuses any), and each waits its own default, which may be shorter.
  if (method === SYNC)
    return receipt(await sendSync(engine, c, Math.min(deadline, started + waitOf(params[1]))))
  const { hash, accepted, passedOn, targets } = await sendToAll(engine, c).catch((e: unknown) => {
    // One domain's refusal alone (broadcast.ts `rejectionOf`): a lone word, told as such.
    if (e instanceof RpcResponseError && e.degraded) {
      const domain = engine.pool.states.find((s) => s.name === e.source)?.domain
      engine.events.emit('quorumLoss', { method, domains: domain ? [domain] : [] })
    }
    throw e
  })
  const domains = [
    ...new Set(targets.filter((s) => accepted.includes(s.name)).map((s) => s.domain)),
  ]
  // Only passed on (gossip): no domain has judged it yet.
  if (accepted.length === 0)
    return { result: hash, meta: c.meta({ consistency: 'degraded', sources: passedOn, domains }) }
  // The hash is computed here; that the transaction reached a node is the sources' word: one
  // domain's alone (the others out, or silent) is a lone word, told as such.
  const alone = domains.length < Math.min(2, engine.config.quorum.domains)
  if (alone) engine.events.emit('quorumLoss', { method, domains })
  const consistency = alone ? 'degraded' : 'verified'
  return { result: hash, meta: c.meta({ consistency, sources: accepted, domains }) }
}

const SYNC = 'eth_sendRawTransactionSync'

/**
 * A synchronous send's receipt, read from the first acceptance on beside the rest of the
 * broadcast: once it stands (agreed, proven, or placed by the agreed chain's body) it is the
 * answer, whoever is still silent: mined, the transaction is sent whatever a domain says. The
 * broadcast hears the domains up to the send's timeout and `REFUSAL_GRACE` (a domain silent on
 * sends does not hold the caller to the deadline): sent, then no receipt by `until` is EIP-7966's
 * code 4 ("sent, not mined yet"); refused by one domain while another accepted, the receipt is
 * still awaited to `until` (a liar's instant "insufficient funds" beside a node that took it,
 * mined seconds later); refused otherwise, one more read: a receipt that stands is the answer,
 * not a refusal inviting a second signature. Receipt reads stop once the answer is out.
 */
async function sendSync(engine: Engine, c: Call, until: number): Promise<Answer> {
  const hash = await hashOf(c.params[0])
  let over = false
  let heard = false
  const refusing = new Set<string>()
  let accepted!: () => void
  const read = new Promise<void>((r) => (accepted = r)).then(() =>
    receiptOf(engine, hash, until, false, () => over),
  )
  read.catch(() => {}) // settled in the background once the answer is out
  const deadline = Math.min(c.deadline, until + REFUSAL_GRACE)
  const listen = {
    heard({ outcome, source }: BroadcastOutcome) {
      const domain = engine.pool.states.find((s) => s.name === source)?.domain
      if (outcome === 'rejected') refusing.add(domain ?? source)
      if (outcome !== 'accepted' && outcome !== 'known') return
      heard = true
      accepted()
    },
    // The private routes' refusal is not the public domains' word (reviewOfSession38a).
    fellBack: () => refusing.clear(),
  }
  const sent = sendToAll(engine, { ...c, deadline }, listen).then(
    () => ({ refusal: undefined }),
    (error: unknown) => ({ refusal: { error } }),
  )
  try {
    const first = await Promise.race([
      sent,
      read.then(
        (r) => ({ r }),
        () => ({}),
      ),
    ])
    if ('r' in first) return first.r
    const { refusal } = await sent
    if (!refusal) {
      accepted() // sent with no acceptance heard (known to two domains that refused, passed on)
      return await read
    }
    const r =
      heard && refusing.size < 2
        ? await read.catch(() => undefined)
        : await receiptOf(engine, hash, until, true).catch(() => undefined)
    if (r) return r
    throw refusal.error
  } finally {
    over = true
  }
}

/** How long past a synchronous send's timeout the domains still silent may refuse it. */
const REFUSAL_GRACE = 1_000

type Sent = Awaited<ReturnType<typeof broadcast>> & { targets: readonly SourceState[] }

/**
 * The broadcast to every source the send may go to: the private routes alone where sources
 * name transactions in their route (then the public ones, if every private route failed and
 * the app said `fallback`). A synchronous send reaches the nodes as eth_sendRawTransaction:
 * outlast awaits the receipt itself, and a node's own synchronous send holds its answer until
 * the transaction is mined, past a broadcast cut at the caller's timeout (reviewOfSession37b).
 */
async function sendToAll(
  engine: Engine,
  { method, params, deadline }: Call,
  listen?: { heard(o: BroadcastOutcome): void; fellBack(): void },
): Promise<Sent> {
  const { pool, events, redact, config } = engine
  // What the nodes are asked: a sync send as a plain one.
  const asked = method === SYNC ? 'eth_sendRawTransaction' : method
  // Not untrusted sources: their "accepted" would count for nothing, and a p2p source publishes
  // the transaction to its peers' gossip anyway. Not sources whose route leaves it out.
  const routed = pool.states.filter(
    (s) => s.chain !== 'mismatch' && !s.untrusted && serves(s.source.config.methods, asked),
  )
  const named = (s: SourceState) => privateRoute(s.source.config.methods)
  const privateRoutes = routed.filter(named)
  const attempt = (s: SourceState, signal: AbortSignal) =>
    pool.attempt(s, asked, method === SYNC ? [params[0]] : params, signal)
  const to = async (targets: SourceState[], until = deadline): Promise<Sent> => ({
    ...(await broadcast(
      params[0],
      targets,
      attempt,
      until,
      (o) => {
        listen?.heard(o)
        events.emit('broadcast', o.reason ? { ...o, reason: redact(o.reason) } : o)
      },
      (s, hash, signal) => pool.attempt(s, 'eth_getTransactionByHash', [hash], signal),
    )),
    targets,
  })
  // Private routes are the sources that name a send, usable or not: one on another chain (a
  // glitch), or untrusted, leaves none to take it, not the public sources (reviewOfSession37d).
  if (!pool.states.some(named)) return to(routed)
  const rest = routed.filter((s) => !named(s))
  const fallback = config.privateTransactions === 'fallback' && rest.length > 0
  try {
    if (privateRoutes.length === 0)
      throw new AllSourcesFailedError(asked, [
        { source: 'private routes', reason: 'none can take it (another chain, or untrusted)' },
      ])
    // With a fallback, the private routes get half the time left: the public domains get the
    // rest, not a spent deadline (a silent private route ended the send as "all sources failed"
    // though the public domains took it and mined it: reviewOfSession37c).
    return await to(privateRoutes, fallback ? Math.floor((Date.now() + deadline) / 2) : deadline)
  } catch (error) {
    // Only the private routes' verdict sends it on: not an error of outlast's own. The public
    // broadcast gets the time left (its own lookups find a transaction mined already).
    const verdict = error instanceof AllSourcesFailedError || error instanceof RpcResponseError
    if (fallback && verdict) {
      listen?.fellBack()
      return to(rest)
    }
    // Refused, it may be mined already (a wallet's rebroadcast): the private routes do not say.
    const until = Math.min(deadline, Date.now() + MINED_CHECK)
    const mined =
      error instanceof RpcResponseError && (await minedAlready(engine, params[0], until))
    if (mined) return mined
    throw error
  }
}

/** How long a refusal waits on the look for a receipt (`minedAlready`). */
const MINED_CHECK = 2_000

/**
 * A transaction the private routes refused, sent as mined, when its receipt stands (agreed or
 * proven: its hash alone reaches the public domains, and mined it is public). The private routes
 * are asked no lookup (their route names sends only), so a wallet's rebroadcast of a transaction
 * since mined was their "nonce too low" (reviewOfSession38a).
 */
async function minedAlready(
  engine: Engine,
  raw: unknown,
  deadline: number,
): Promise<Sent | undefined> {
  const hash = await hashOf(raw)
  const r = await receiptOf(engine, hash, deadline, true).catch(() => undefined)
  if (!r || r.meta.consistency === 'degraded') return undefined
  const targets = engine.pool.states.filter((s) => r.meta.sources.includes(s.name))
  return { hash, accepted: [...r.meta.sources], passedOn: [], targets }
}

/**
 * How long a synchronous send may wait for its receipt: EIP-7966's second parameter, in ms, a
 * number (geth, erigon) or a hex quantity (as viem sends it); absent, null or 0, the request's
 * deadline alone. Anything else is the caller's -32602, before the transaction goes anywhere:
 * `'1000'` read as hex would be 4 s, `'0x1z'` 1 ms.
 */
function waitOf(param: unknown): number {
  const ms =
    typeof param === 'string' && /^0x[0-9a-f]{1,13}$/i.test(param)
      ? Number.parseInt(param, 16)
      : param
  if (ms === undefined || ms === null || ms === 0) return Number.POSITIVE_INFINITY
  if (typeof ms === 'number' && Number.isSafeInteger(ms) && ms > 0) return ms
  throw new RpcResponseError('outlast', {
    code: -32602,
    message: `${SYNC}: its timeout (second parameter) is milliseconds, a number or a hex quantity, not ${clip(String(JSON.stringify(param)), 40)}`,
  })
}
