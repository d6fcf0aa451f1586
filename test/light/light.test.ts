/**
 * `light()` over real HTTP on 127.0.0.1: the mainnet captures replayed by the lab Beacon API
 * (test/lab/beaconApi.ts), on a clock at the recording's slot. Honest, lying, missing, slow and
 * silent sources; checkpoints from config, storage and two agreeing domains; weak subjectivity.
 */
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, it } from 'vitest'
import {
  beaconApi,
  createLightClientCore,
  type LightBlock,
  type LightClient,
  type LightEvents,
  light,
  mainnet,
  toHex,
} from '../../src/light/index.ts'
import { AllSourcesFailedError, ConfigError, SourceError } from '../../src/shared/errors.ts'
import {
  type BeaconCapture,
  type BeaconServer,
  type BeaconServerOptions,
  startBeaconApi,
} from '../lab/beaconApi.ts'
import {
  CAPELLA_CHECKPOINT,
  capella,
  clockAtSlot,
  DENEB_CHECKPOINT,
  deneb,
  ELECTRA_CHECKPOINT,
  electra,
} from './captures.ts'

const FINALIZED_17923026 = '0xbc8499537876e5406c7a65e25f99063f1cd85a17014a3aa5ade38271b1fbf64f'

const servers: BeaconServer[] = []
const plain: { close(): void }[] = []
afterEach(() => {
  for (const p of plain.splice(0)) p.close()
})

/** A loopback server whose every answer `handler` writes. */
async function plainServer(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  plain.push({
    close: () => {
      server.closeAllConnections()
      server.close()
    },
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}
const clients: LightClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()))
  await Promise.all(servers.splice(0).map((s) => s.stop()))
})

async function serve(
  capture: BeaconCapture,
  options: BeaconServerOptions = {},
): Promise<BeaconServer> {
  const s = await startBeaconApi(capture, options)
  servers.push(s)
  return s
}

/** A light client over `servers` (one domain each), its events collected. */
function client(
  list: BeaconServer[],
  o: {
    now: number
    format?: 'ssz' | 'json'
    checkpoint?: string
    strict?: boolean
    storage?: Parameters<typeof light>[0]['storage']
    timeout?: number
  },
) {
  const seen: { [K in keyof LightEvents]: LightEvents[K][] } = {
    head: [],
    finalized: [],
    lie: [],
    warning: [],
    error: [],
  }
  const lc = light({
    ...(o.checkpoint ? { checkpoint: o.checkpoint as `0x${string}` } : {}),
    ...(o.storage ? { storage: o.storage } : {}),
    strict: o.strict ?? false,
    clock: clockAtSlot(o.now),
    sources: list.map((s) =>
      beaconApi(`${s.url}/secret-key-path?apikey=SECRET`, {
        name: s.name,
        domain: `domain-${s.name}`,
        format: o.format ?? 'ssz',
        timeout: o.timeout ?? 2_000,
        events: false,
      }),
    ),
  })
  for (const k of Object.keys(seen) as (keyof LightEvents)[])
    lc.on(k, (e) => (seen[k] as unknown[]).push(e))
  clients.push(lc)
  return { lc, seen }
}

describe('light(): the mainnet captures through a local Beacon API', () => {
  it('Capella (JSON): bootstrap, 6 periods, finality to block 17923026, optimistic to 17923113', async (t) => {
    const cap = capella()
    const { lc, seen } = client([await serve(cap, { name: 'capella' })], {
      now: cap.now,
      format: 'json',
      checkpoint: CAPELLA_CHECKPOINT,
    })
    await lc.start()
    assert.equal(lc.finalized()?.number, 17923026)
    assert.equal(lc.finalized()?.hash, FINALIZED_17923026)
    assert.equal(lc.head()?.number, 17923113)
    const sync = lc.status().sync
    assert.equal(sync.state, 'following')
    assert.equal(sync.period, 867)
    assert.equal(sync.checkpointVia, 'config')
    assert.ok((sync.checkpointAge as number) < 14 * 86_400)
    assert.deepEqual(seen.warning, [])
    assert.equal(seen.finalized.at(-1)?.number, 17923026)
    assert.equal(seen.head.at(-1)?.number, 17923113)
    // The hook vouches for verified hashes, and by number gives the verified hash.
    assert.equal(await lc.trustedHeader({ hash: FINALIZED_17923026 }), true)
    assert.equal(await lc.trustedHeader({ number: 17923026n }), FINALIZED_17923026)
    assert.equal(await lc.trustedHeader({ hash: `0x${'ab'.repeat(32)}` }), undefined)
    assert.equal(await lc.trustedHeader({ number: 17923027n }), undefined)
    await t.annotate(`capella: status ${JSON.stringify(lc.status().sources[0])}`)
  })

  it('Deneb (SSZ): 46 periods to block 22186786; the 51-day-old checkpoint warns', async (t) => {
    const cap = deneb()
    const s = await serve(cap, { name: 'deneb' })
    const { lc, seen } = client([s], { now: cap.now, checkpoint: DENEB_CHECKPOINT })
    const t0 = performance.now()
    await lc.start()
    const ms = performance.now() - t0
    assert.equal(lc.status().sync.period, 1392)
    assert.equal(lc.finalized()?.number, 22186786)
    assert.equal(seen.warning.length, 1)
    assert.equal(seen.warning[0]?.kind, 'old-checkpoint')
    assert.match(seen.warning[0]?.message ?? '', /51\.\d days old/)
    assert.equal(
      s.requests['/eth/v1/beacon/light_client/updates'],
      1,
      'one range request for 46 periods',
    )
    await t.annotate(
      `deneb: bootstrap + 46-period catch-up over HTTP (SSZ, pure JS BLS): ${ms.toFixed(0)} ms`,
    )
  })

  it("a body past maxResponseBytes is that source's failure, cut off, never decoded", async () => {
    const s = await serve(deneb(), { name: 'deneb' })
    const source = beaconApi(s.url, { name: 'capped', events: false, maxResponseBytes: 4_096 })
    await assert.rejects(source.updates(1347, 46), (error: unknown) => {
      assert.ok(error instanceof SourceError, String(error))
      assert.equal(error.kind, 'body')
      assert.match(error.message, /exceeds maxResponseBytes \(4096\)/)
      return true
    })
  })

  it('Deneb: the figures (bootstrap, one period update, 46-period catch-up), annotated', async (t) => {
    const cap = deneb()
    const s = await serve(cap, { name: 'deneb' })
    const source = beaconApi(s.url, { name: 'deneb', events: false })
    let t0 = performance.now()
    const b = await source.bootstrap(DENEB_CHECKPOINT)
    const fetchBootstrap = performance.now() - t0
    assert.ok(b)
    t0 = performance.now()
    const lc = createLightClientCore({
      config: mainnet,
      checkpoint: DENEB_CHECKPOINT,
      bootstrap: b,
    })
    const verifyBootstrap = performance.now() - t0
    t0 = performance.now()
    const updates = await source.updates(1347, 46)
    const fetchUpdates = performance.now() - t0
    assert.equal(updates.length, 46)
    const times: number[] = []
    for (const u of updates) {
      const start = performance.now()
      lc.processUpdate(u, cap.now)
      times.push(performance.now() - start)
    }
    assert.equal(lc.finalized.execution?.blockNumber, 22186786)
    const sorted = [...times].sort((a, z) => a - z)
    const total = times.reduce((a, z) => a + z, 0)
    await t.annotate(
      `deneb over loopback HTTP (SSZ): bootstrap fetch+decode ${fetchBootstrap.toFixed(1)} ms, verify ${verifyBootstrap.toFixed(1)} ms; ` +
        `46 updates fetch+decode ${fetchUpdates.toFixed(0)} ms; period update median ${(sorted[23] as number).toFixed(1)} ms, ` +
        `max ${(sorted[45] as number).toFixed(1)} ms; 46-period verify total ${total.toFixed(0)} ms (noble, pure JS)`,
    )
  })

  it('Deneb, strict: the checkpoint past 14 days is refused, nothing followed', async () => {
    const cap = deneb()
    const s = await serve(cap, { name: 'deneb' })
    const { lc } = client([s], { now: cap.now, checkpoint: DENEB_CHECKPOINT, strict: true })
    await assert.rejects(
      lc.start(),
      (e: unknown) => e instanceof ConfigError && /weak subjectivity/.test(e.message),
    )
    assert.equal(lc.head(), undefined)
    assert.equal(s.requests['/eth/v1/beacon/light_client/updates'], undefined)
  })

  it('Electra (SSZ): bootstrap in period 1422 and its update to block 22432991', async () => {
    const cap = electra()
    const { lc } = client([await serve(cap, { name: 'electra' })], {
      now: cap.now,
      checkpoint: ELECTRA_CHECKPOINT,
    })
    await lc.start()
    assert.equal(lc.finalized()?.number, 22432991)
    assert.equal(lc.status().sync.period, 1422)
  })
})

describe('light(): lying, missing and silent sources', () => {
  for (const lie of ['signature', 'block-hash'] as const) {
    it(`a liar (${lie}) ranked first and an honest source: the liar is marked, the head is right`, async () => {
      const cap = capella()
      const liar = await serve(cap, { name: 'liar', fault: 'lie', lie })
      const honest = await serve(cap, { name: 'honest', latency: 20 })
      const { lc, seen } = client([liar, honest], { now: cap.now, checkpoint: CAPELLA_CHECKPOINT })
      await lc.start()
      assert.equal(lc.finalized()?.hash, FINALIZED_17923026)
      assert.equal(lc.head()?.number, 17923113)
      assert.ok(seen.lie.length >= 1)
      assert.ok(seen.lie.every((e) => e.source === 'liar'))
      const [l, h] = lc.status().sources
      assert.equal(l?.condition, 'lying')
      assert.ok((l?.lies ?? 0) >= 1)
      assert.equal(h?.condition, 'healthy')
      assert.equal(h?.lies, 0)
      // Cut off: after the first lie, nothing more is asked of it during the cool-off.
      assert.equal(
        Object.values(liar.requests).reduce((a, b) => a + b, 0),
        1,
      )
      // Only blocks of the honest capture were ever told of.
      const honestHashes = new Set(
        [
          cap.bootstrap.header,
          cap.finality?.finalizedHeader,
          cap.finality?.attestedHeader,
          cap.optimistic?.attestedHeader,
        ]
          .concat(cap.updates.flatMap((u) => [u.attestedHeader, u.finalizedHeader]))
          .map((h) => h?.execution && toHex(h.execution.blockHash)),
      )
      const told = [...seen.head, ...seen.finalized]
      assert.ok(told.length >= 2)
      assert.deepEqual(
        told.filter((b: LightBlock) => !honestHashes.has(b.hash)),
        [],
      )
    })
  }

  it('every source lying: start() rejects, never a head', async () => {
    const cap = capella()
    const a = await serve(cap, { name: 'a', fault: 'lie' })
    const b = await serve(cap, { name: 'b', fault: 'lie', lie: 'block-hash' })
    const { lc, seen } = client([a, b], { now: cap.now, checkpoint: CAPELLA_CHECKPOINT })
    await assert.rejects(lc.start(), (e: unknown) => {
      assert.ok(e instanceof AllSourcesFailedError)
      assert.deepEqual(e.failures.map((f) => f.source).sort(), ['a', 'b'])
      assert.ok(e.failures.every((f) => /lied/.test(f.reason)))
      return true
    })
    assert.equal(lc.head(), undefined)
    assert.equal(lc.finalized(), undefined)
    assert.deepEqual(seen.head, [])
    assert.equal(seen.lie.length, 2)
  })

  it('an honest bootstrap, then only lies: the head stays at the checkpoint, start() rejects', async () => {
    const cap = capella()
    const bare = await serve(
      { ...cap, updates: [], finality: undefined, optimistic: undefined },
      { name: 'bare' },
    )
    const liar = await serve(cap, { name: 'liar', fault: 'lie', latency: 30 })
    const { lc, seen } = client([bare, liar], { now: cap.now, checkpoint: CAPELLA_CHECKPOINT })
    await assert.rejects(lc.start(), AllSourcesFailedError)
    assert.equal(lc.finalized()?.slot, cap.bootstrap.header.beacon.slot, 'still the checkpoint')
    assert.equal(lc.head()?.slot, cap.bootstrap.header.beacon.slot)
    assert.ok(seen.lie.length >= 1)
    assert.ok(seen.head.every((b) => b.slot === cap.bootstrap.header.beacon.slot))
  })

  for (const fault of ['not-found', 'error', 'blackhole', 'slow'] as const) {
    it(`a source that is ${fault} and an honest one: synced, and ${fault} is no lie`, async () => {
      const cap = capella()
      const bad = await serve(cap, { name: 'bad', fault })
      const honest = await serve(cap, { name: 'honest' })
      const { lc, seen } = client([bad, honest], {
        now: cap.now,
        checkpoint: CAPELLA_CHECKPOINT,
        timeout: 1_500,
      })
      const t0 = performance.now()
      await lc.start()
      assert.equal(lc.finalized()?.number, 17923026)
      assert.equal(lc.head()?.number, 17923113)
      assert.deepEqual(seen.lie, [])
      const bad0 = lc.status().sources[0]
      assert.equal(bad0?.lies, 0)
      if (fault === 'error') assert.match(bad0?.lastError ?? '', /HTTP 503/)
      // Hedged: a silent or slow source costs about a hedge delay per call, not its timeout each time.
      assert.ok(performance.now() - t0 < 15_000)
    })
  }

  it('no URL path or key appears in status or errors', async () => {
    const cap = capella()
    const s = await serve(cap, { name: 'x', fault: 'error' })
    const lc = light({
      checkpoint: CAPELLA_CHECKPOINT,
      clock: clockAtSlot(cap.now),
      sources: [beaconApi(`${s.url}/v1/SECRET?apikey=SECRET`, { events: false })],
    })
    clients.push(lc)
    const error = await lc.start().catch((e: Error) => e)
    assert.ok(error instanceof AllSourcesFailedError)
    const text = `${error.message} ${JSON.stringify(lc.status())}`
    assert.ok(!text.includes('SECRET'), text)
    assert.match(text, /HTTP 503/)
  })

  it('a redirect is refused, never followed with the key headers (polls and the event stream)', async () => {
    const seen: string[] = []
    const other = await plainServer((req, res) => {
      seen.push(`${req.url} ${req.headers['x-api-key']}`)
      res.writeHead(404).end()
    })
    const beacon = await plainServer((req, res) =>
      res.writeHead(307, { location: `${other}${req.url}` }).end(),
    )
    const src = beaconApi(beacon, { headers: { 'x-api-key': 'SECRET' }, reconnectDelay: 50 })
    const error = await src.finalityUpdate().catch((e: Error) => e)
    assert.ok(error instanceof SourceError)
    assert.match(error.message, /HTTP 307: redirects are not followed/)
    const stop = src.events?.(
      () => {},
      () => {},
    )
    await new Promise((r) => setTimeout(r, 300))
    stop?.()
    assert.deepEqual(seen, [], 'the host a redirect named was asked, with the key header')
  })

  it('a URL with user:password@ is refused at construction, the password not shown', () => {
    assert.throws(
      () => beaconApi('https://user:SECRET@beacon.example/'),
      (e: Error) =>
        e instanceof ConfigError &&
        /user:password@/.test(e.message) &&
        !e.message.includes('SECRET'),
    )
  })
})

describe('light(): checkpoints', () => {
  it('by two failure domains agreeing on the finalized root (headers/finalized); a liar outvoted', async () => {
    const cap = capella()
    const a = await serve(cap, { name: 'a' })
    const b = await serve(cap, { name: 'b' })
    const liar = await serve(cap, { name: 'liar', fault: 'lie' })
    const { lc } = client([liar, a, b], { now: cap.now })
    await lc.start()
    const sync = lc.status().sync
    assert.equal(sync.checkpointVia, 'agreed')
    assert.equal(sync.checkpoint, CAPELLA_CHECKPOINT)
    assert.equal(lc.finalized()?.number, 17923026)
  })

  it('one honest domain against one liar: no agreement, refused', async () => {
    const cap = capella()
    const a = await serve(cap, { name: 'a' })
    const liar = await serve(cap, { name: 'liar', fault: 'lie' })
    const { lc } = client([a, liar], { now: cap.now })
    await assert.rejects(
      lc.start(),
      (e: unknown) => e instanceof AllSourcesFailedError && /two failure domains/.test(e.message),
    )
    assert.equal(lc.head(), undefined)
  })

  it('from storage: the stored root is used, and the new finalized root stored', async () => {
    const cap = capella()
    const stored: string[] = []
    const storage = {
      get: async () => CAPELLA_CHECKPOINT,
      set: (root: string) => void stored.push(root),
    }
    const { lc } = client([await serve(cap, { name: 'a' })], { now: cap.now, storage })
    await lc.start()
    assert.equal(lc.status().sync.checkpointVia, 'storage')
    assert.equal(lc.finalized()?.number, 17923026)
    assert.equal(stored.at(-1), lc.finalized()?.beaconRoot)
  })

  it('a wrong configured checkpoint: every bootstrap refused, no head', async () => {
    const cap = capella()
    const { lc } = client([await serve(cap, { name: 'a' })], {
      now: cap.now,
      checkpoint: DENEB_CHECKPOINT,
    })
    await assert.rejects(lc.start(), AllSourcesFailedError)
    assert.equal(lc.head(), undefined)
  })
})

describe('light(): the event stream', () => {
  it('a finality update pushed over SSE is verified and moves the head without a poll', async () => {
    const cap = capella()
    const s = await serve(cap, { name: 'sse', hold: true })
    const lc = light({
      checkpoint: CAPELLA_CHECKPOINT,
      clock: clockAtSlot(cap.now),
      sources: [beaconApi(s.url, { name: 'sse' })],
    })
    clients.push(lc)
    await lc.start()
    assert.notEqual(lc.finalized()?.number, 17923026, 'not published yet')
    const polls = s.requests['/eth/v1/beacon/light_client/finality_update'] ?? 0
    const finalized = new Promise<LightBlock>((resolve) => lc.on('finalized', resolve))
    // The stream connects after start(); give it a moment.
    for (let i = 0; i < 50 && !s.requests['/eth/v1/events']; i++)
      await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 50))
    s.publish('finality')
    const b = await finalized
    assert.equal(b.number, 17923026)
    assert.equal(
      s.requests['/eth/v1/beacon/light_client/finality_update'] ?? 0,
      polls,
      'pushed, not polled',
    )
  })
})
