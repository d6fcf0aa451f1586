/**
 * `light()` against hostile light-client sources, second review: well-formed, correctly signed
 * (relayed, real) objects that are old news, dripped one step at a time, pushed on a stream, or
 * echoing a URL. Each `it.fails` is a hole still open (its assertion states the right behaviour);
 * each `it` an attack that held. In-memory sources, a hand-moved clock, the minimal preset.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import {
  type BlsVerifier,
  beaconApi,
  type LightClient,
  light,
  nobleVerifier,
} from '../../src/light/index.ts'
import type { LightClientSource } from '../../src/light/sources.ts'
import { sseParser } from '../../src/light/sse.ts'
import { type Chain, chain, movingClock, source, until } from './hostileSource2.helpers.ts'

function start(
  c: Chain,
  clock: Parameters<typeof light>[0]['clock'],
  sources: LightClientSource[],
  extra: Partial<Parameters<typeof light>[0]> = {},
): LightClient {
  return light({
    checkpoint: c.checkpoint,
    config: c.config,
    clock,
    sources,
    verifier: nobleVerifier(),
    ...extra,
  })
}

describe('hostile light-client sources: old news and drips', () => {
  it('follow: a real but stale optimistic update (40 slots old), answered first, does not keep the honest head from being asked', async () => {
    const c = chain()
    const now = 60
    const { clock } = movingClock(now)
    // All 32 sign both: the hostile's is real, only old (newer than the store's slot 8).
    const hostile = source('hostile', {
      bootstrap: c.bootstrap,
      optimistic: () => c.optimistic(20),
    })
    const honest = source('honest', {
      delay: 20,
      bootstrap: c.bootstrap,
      optimistic: () => c.optimistic(58),
    })
    const lc = start(c, clock, [hostile.src, honest.src])
    try {
      await lc.start()
      assert.equal(
        lc.head()?.slot,
        58,
        `head is slot ${lc.head()?.slot} at clock slot ${now}: the honest source was asked for the optimistic head ${honest.calls.optimistic}×`,
      )
      assert.equal(
        await lc.trustedHeader({ latest: true }),
        c.hashOf(c.optimistic(58).attestedHeader),
      )
    } finally {
      await lc.stop()
    }
  })

  it('follow: a real but stale finality update (5 epochs behind), answered first, does not keep the honest finality from being asked', async () => {
    const c = chain()
    const now = 60
    const { clock } = movingClock(now)
    const hostile = source('hostile', {
      bootstrap: c.bootstrap,
      finality: () => c.finality(24, 16),
    })
    const honest = source('honest', {
      delay: 20,
      bootstrap: c.bootstrap,
      finality: () => c.finality(56, 48),
    })
    const lc = start(c, clock, [hostile.src, honest.src], { vouch: 'finalized' })
    try {
      await lc.start()
      assert.equal(
        lc.finalized()?.slot,
        48,
        `finalized is slot ${lc.finalized()?.slot} at clock slot ${now}: the honest source was asked for finality ${honest.calls.finality}×`,
      )
    } finally {
      await lc.stop()
    }
  })
  it('stream: a stale optimistic update pushed each slot (newer than the store, behind the chain) does not stop the optimistic poll of the others', async () => {
    const c = chain()
    const t = movingClock(60)
    let honestHead = 58
    const hostile = source('hostile', { bootstrap: c.bootstrap, events: true })
    const honest = source('honest', {
      delay: 20,
      bootstrap: c.bootstrap,
      optimistic: () => c.optimistic(honestHead),
    })
    const lc = start(c, t.clock, [hostile.src, honest.src])
    try {
      await lc.start()
      assert.equal(lc.head()?.slot, 58)
      // Three slots on: the chain's head is 61; the hostile stream relays the (real) head of 59.
      t.to(62)
      honestHead = 61
      hostile.pushOptimistic(c.optimistic(59))
      const before = honest.calls.optimistic
      t.fire()
      await until(() => lc.head()?.slot === 61 || honest.calls.optimistic > before)
      await until(() => lc.head()?.slot === 61)
      assert.equal(
        lc.head()?.slot,
        61,
        `head is slot ${lc.head()?.slot} at clock slot 62: the honest source was asked for the optimistic head ${honest.calls.optimistic - before}× in the tick`,
      )
    } finally {
      await lc.stop()
    }
  })

  it('stream: a stale finality update pushed each slot does not stop the finality poll of the others', async () => {
    const c = chain()
    const t = movingClock(60)
    let honestFinality = c.finality(50, 40)
    const hostile = source('hostile', { bootstrap: c.bootstrap, events: true })
    const honest = source('honest', {
      delay: 20,
      bootstrap: c.bootstrap,
      finality: () => honestFinality,
    })
    const lc = start(c, t.clock, [hostile.src, honest.src], { vouch: 'finalized' })
    try {
      await lc.start()
      assert.equal(lc.finalized()?.slot, 40)
      // The chain finalizes slot 56; the hostile stream relays the (real) finality of slot 48.
      t.to(63)
      honestFinality = c.finality(62, 56)
      hostile.pushFinality(c.finality(50, 48))
      assert.equal(lc.finalized()?.slot, 48)
      const before = honest.calls.finality
      t.fire()
      await until(() => lc.finalized()?.slot === 56)
      assert.equal(
        lc.finalized()?.slot,
        56,
        `finalized is slot ${lc.finalized()?.slot} at clock slot 63: the honest source was asked for finality ${honest.calls.finality - before}× in the tick`,
      )
    } finally {
      await lc.stop()
    }
  })

  it('catch-up: finality-only updates dripped one epoch a call do not keep the honest period update from being asked', async () => {
    const c = chain()
    const now = 70 // period 1: the store (period 0, slot 8) needs period 1's committee
    const { clock } = movingClock(now)
    // Hostile, ranked first: each call one real update of period 0 finalizing one epoch later,
    // its next committee left out (a finality update, as every node has them by the dozen).
    let step = 0
    const hostile = source('hostile', {
      bootstrap: c.bootstrap,
      updates: () => {
        const finalized = 16 + 8 * step++
        return finalized <= 56 ? [c.finalityOnly(finalized + 6, finalized)] : []
      },
    })
    const honest = source('honest', {
      delay: 20,
      bootstrap: c.bootstrap,
      updates: (start) => (start === 0 ? [c.update(40, 32)] : []),
    })
    const lc = start(c, clock, [hostile.src, honest.src])
    try {
      await lc.start()
      assert.equal(lc.status().sync.state, 'following')
      assert.ok(
        hostile.calls.updates <= 2,
        `catch-up took ${hostile.calls.updates} round trips to the hostile (each a signature check, one epoch of finality) before the honest source was asked (${honest.calls.updates}×)`,
      )
    } finally {
      await lc.stop()
    }
  })
})

describe('hostile beacon nodes: what they send back', () => {
  it('sseParser: a 1 MB event sent in 256-byte pieces costs linear time, not a rescan of the whole buffer per piece', () => {
    // A stream that never ends its line but dribbles it in small TCP writes (each a chunk of
    // the reader): every push re-searches (and re-flattens) the whole buffer for a newline.
    const p = sseParser(1_048_576)
    const piece = 'x'.repeat(256)
    const t0 = performance.now()
    p.push('event: light_client_optimistic_update\ndata: ')
    for (let n = 0; n < 1_000_000; n += piece.length) p.push(piece)
    assert.equal(p.push('\n\n').length, 1)
    const ms = performance.now() - t0
    // Linear is a few ms; the rescan is ~8 s on a 2-core machine.
    assert.ok(ms < 3_000, `one 1 MB event in 256-byte pieces took ${ms.toFixed(0)} ms of CPU`)
  })

  it('beaconApi: a node that echoes the request URL in the version field does not get the API key into lie events, status or errors', async () => {
    const c = chain()
    const { clock } = movingClock(60)
    const KEY = 'k3yS3cr3tPathPart'
    const echo: typeof fetch = async (input) =>
      new Response(JSON.stringify({ version: String(input), data: {} }), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      })
    const src = beaconApi(`https://beacon.example/v1/${KEY}/`, {
      name: 'echoing',
      config: c.config,
      format: 'json',
      events: false,
      fetchFn: echo,
    })
    const lc = start(c, clock, [src])
    const emitted: string[] = []
    lc.on('lie', (e) => emitted.push(JSON.stringify(e)))
    lc.on('warning', (e) => emitted.push(JSON.stringify(e)))
    lc.on('error', (e) => emitted.push(String(e)))
    try {
      const error = await lc.start().then(
        () => undefined,
        (e: Error) => e,
      )
      assert.ok(error, 'start() resolved with no bootstrap')
      emitted.push(String(error), JSON.stringify(lc.status()))
      const leaks = emitted.filter((t) => t.includes(KEY))
      assert.deepEqual(
        leaks,
        [],
        `the URL's key shows in ${leaks.length} emitted texts: ${leaks[0]?.slice(0, 300)}`,
      )
    } finally {
      await lc.stop()
    }
  })
})

describe('hostile sources at start: the agreed checkpoint', () => {
  it('no checkpoint: a node that accepts the connection and never answers does not hold the checkpoint while two domains already agree', async () => {
    const c = chain()
    // The grace after two domains agree runs on the client's clock: moved on every 50 ms here.
    const t = movingClock(20)
    const clock = t.clock
    const agreeing = ['honest-a', 'honest-b'].map((name) => {
      const s = source(name, { bootstrap: c.bootstrap }).src
      s.finalizedRoot = async () => ({ root: c.checkpoint, slot: 8 })
      return s
    })
    let asked = 0
    // Holds every request until it is aborted (its own timeout: 10 s, then the next endpoint).
    const silent: typeof fetch = (_input, init) => {
      asked++
      return new Promise((_, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true }),
      )
    }
    const hostile = beaconApi('https://silent.example/', {
      name: 'silent',
      config: c.config,
      events: false,
      fetchFn: silent,
    })
    const lc = light({
      config: c.config,
      clock,
      sources: [...agreeing, hostile],
      verifier: nobleVerifier(),
    })
    const turning = setInterval(() => t.fire(), 50)
    try {
      // start() itself may then wait for the first follow round (the silent node's timeout).
      void lc.start().catch(() => {})
      const outcome = await Promise.race([
        (async () => {
          while (lc.status().sync.state === 'bootstrapping')
            await new Promise((r) => setTimeout(r, 20))
          return `${lc.status().sync.state}: the checkpoint was taken`
        })(),
        new Promise<string>((r) => setTimeout(() => r('still bootstrapping after 3 s'), 3_000)),
      ])
      assert.match(
        outcome,
        /the checkpoint was taken/,
        `${outcome} (the silent node was asked ${asked}×, two domains agreed at once)`,
      )
    } finally {
      clearInterval(turning)
      await lc.stop()
    }
  })
})

describe('attacks that held', () => {
  it('stream: 20 updates with a real signature of another header, each newer, cost one signature check and cut the stream off', async () => {
    const c = chain()
    const { clock } = movingClock(60)
    const noble = nobleVerifier()
    let checks = 0
    const counting: BlsVerifier = {
      name: 'counting',
      verifySyncAggregate(...args) {
        checks++
        return noble.verifySyncAggregate(...args)
      },
    }
    const hostile = source('hostile', { bootstrap: c.bootstrap, events: true })
    const lc = start(c, clock, [hostile.src], { verifier: counting })
    const lies: string[] = []
    lc.on('lie', (e) => lies.push(e.reason))
    try {
      await lc.start()
      const before = checks
      const borrowed = c.optimistic(30).syncAggregate // all 32, over slot 30's header
      for (let slot = 40; slot < 60; slot++)
        hostile.pushOptimistic({ ...c.optimistic(slot, 1), syncAggregate: borrowed })
      assert.equal(checks - before, 1, `${checks - before} BLS checks for 20 forged pushes`)
      assert.deepEqual(lies, ['bad-signature'])
      assert.equal(lc.head()?.slot, 8)
      assert.equal(lc.status().sources[0]?.condition, 'lying')
    } finally {
      await lc.stop()
    }
  })
})
