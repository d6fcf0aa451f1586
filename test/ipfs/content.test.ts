/**
 * `createIpfs()` against real parts on loopback: trustless gateways (honest, tampering, slow,
 * 404, 5xx, blackholed, rate-limited, redirecting), a Kubo RPC API reached through the real
 * kubo-rpc-client, content built with ipfs-unixfs-importer. Every byte returned must hash to
 * its CID; liars are flagged in status and events.
 */
import assert from 'node:assert/strict'
import { create as kuboClient } from 'kubo-rpc-client'
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest'
import {
  ContentAbortedError,
  ContentError,
  ContentNotFoundError,
  ContentTimeoutError,
  ContentTooLargeError,
  createIpfs,
  type Ipfs,
  type IpfsEvents,
} from '../../src/ipfs/index.ts'
import { ConfigError } from '../../src/shared/errors.ts'
import { fakeClock } from '../fakeClock.ts'
import {
  buildContent,
  type LabContent,
  type LabGateway,
  type LabKubo,
  startGateway,
  startKuboApi,
} from '../lab/ipfsLab.ts'

let content: LabContent
const gateways: LabGateway[] = []
let kubo: LabKubo
const clients: Ipfs[] = []

beforeAll(async () => {
  content = await buildContent()
  for (let i = 0; i < 3; i++) gateways.push(await startGateway({ blocks: content.blocks }))
  kubo = await startKuboApi({ blocks: content.blocks })
})
afterEach(async () => {
  for (const g of gateways) {
    g.behaviour = 'honest'
    g.tamper = () => true
  }
  kubo.behaviour = 'honest'
  await Promise.all(clients.splice(0).map((c) => c.close()))
})
afterAll(async () => {
  await Promise.all([...gateways.map((g) => g.close()), kubo.close()])
})

function client(options: Parameters<typeof createIpfs>[0]): Ipfs {
  const c = createIpfs(options)
  clients.push(c)
  return c
}

function recorder(ipfs: Ipfs) {
  const seen: { [K in keyof IpfsEvents]: IpfsEvents[K][] } = {
    attempt: [],
    failure: [],
    lie: [],
    route: [],
  }
  for (const k of Object.keys(seen) as (keyof IpfsEvents)[])
    ipfs.on(k, (e) => (seen[k] as unknown[]).push(e))
  return seen
}

const g = (i: number) => gateways[i]!
const route = (ipfs: Ipfs, name: string) => {
  const r = ipfs.status().routes.find((s) => s.name === name)
  assert.ok(r, `route ${name}`)
  return r
}

describe('verified content', () => {
  it('fetches NFT metadata, an image of several blocks, and paths through a directory', async () => {
    const ipfs = client({ gateways: [g(0).url] })
    assert.deepEqual(await ipfs.json(`ipfs://${content.metadata.cid}`), content.metadata.json)
    const image = await ipfs.fetch(`ipfs://${content.image.cid}`)
    assert.deepEqual(image, content.image.bytes)
    assert.ok(content.image.leaves.length >= 5, 'the image spans several blocks')
    assert.deepEqual(await ipfs.fetch(`/ipfs/${content.dir.cid}/image.bin`), content.image.bytes)
    assert.equal(
      new TextDecoder().decode(await ipfs.fetch(`${content.dir.cid}/docs/readme.txt`)),
      'read me',
    )
    const shardedFile = await ipfs.fetch(`ipfs://${content.sharded.cid}/file-17.txt`)
    assert.equal(new TextDecoder().decode(shardedFile), 'file 17')
    const status = route(ipfs, `gateway http://${new URL(g(0).url).host}`)
    assert.equal(status.condition, 'healthy')
    assert.ok(status.blocks >= 8)
    assert.equal(status.lies, 0)
  })

  it('reads gateway URLs for their CID and path, without asking their host', async () => {
    const stranger = await startGateway({ blocks: content.blocks })
    try {
      const ipfs = client({ gateways: [g(0).url] })
      const host = new URL(stranger.url).host
      const path = `${content.dir.cid}/42.json`
      for (const url of [
        `${stranger.url}/ipfs/${path}`,
        `http://${content.dir.cid}.ipfs.${host.replace('127.0.0.1', 'localhost.test')}/42.json`,
        `ipfs://ipfs/${path}`,
        `ipfs/${path}`,
      ])
        assert.deepEqual(await ipfs.json(url), content.metadata.json, url)
      assert.equal(stranger.stats.requests, 0, 'the URL’s own host is never asked')
      await assert.rejects(ipfs.fetch('https://example.com/no/cid/here'), ContentError)
    } finally {
      await stranger.close()
    }
  })

  it('every route but one lying or down: the right bytes, and the liars flagged', async () => {
    g(0).behaviour = 'tampering'
    g(1).behaviour = 'error'
    kubo.behaviour = 'lying'
    const ipfs = client({
      kubo: kuboClient({ url: kubo.url }),
      gateways: [g(0).url, g(1).url, { url: g(2).url, name: 'honest' }],
      hedgeDelay: 1_000,
    })
    const seen = recorder(ipfs)
    const image = await ipfs.fetch(`ipfs://${content.image.cid}`)
    assert.deepEqual(image, content.image.bytes)
    const kuboStatus = ipfs.status().routes[0]!
    assert.equal(kuboStatus.kind, 'kubo')
    assert.equal(kuboStatus.condition, 'lying')
    assert.equal(kuboStatus.breaker, 'open')
    assert.ok(kuboStatus.lies >= 1)
    const tampering = ipfs.status().routes[1]!
    assert.equal(tampering.condition, 'lying')
    assert.equal(tampering.blocks, 0)
    assert.equal(route(ipfs, 'honest').condition, 'healthy')
    const liars = new Set(seen.lie.map((e) => e.route))
    assert.deepEqual(liars, new Set([kuboStatus.name, tampering.name]))
    assert.ok(seen.failure.some((e) => e.route === ipfs.status().routes[2]!.name))
    assert.ok(seen.attempt.some((e) => e.outcome === 'lie'))
    // A liar is cut off: the next fetch does not ask it at all.
    const before = g(0).stats.requests
    assert.deepEqual(await ipfs.json(`ipfs://${content.metadata.cid}`), content.metadata.json)
    assert.equal(g(0).stats.requests, before)
  })

  it('never returns a tampered block, even when every route tampers', async () => {
    for (const gw of gateways) gw.behaviour = 'tampering'
    kubo.behaviour = 'lying'
    const ipfs = client({
      kubo: kuboClient({ url: kubo.url }),
      gateways: gateways.map((gw) => gw.url),
    })
    const error = await ipfs.fetch(`ipfs://${content.metadata.cid}`).then(
      () => assert.fail('a tampered block was returned'),
      (e: unknown) => e,
    )
    assert.ok(error instanceof ContentNotFoundError)
    assert.equal(error.cid, content.metadata.cid.toString())
    assert.equal(error.reasons.length, 4)
    for (const r of error.reasons) assert.match(r.reason, /do not hash to the CID/)
    assert.ok(ipfs.status().routes.every((r) => r.condition === 'lying' && r.blocks === 0))
  })

  it('a tampered leaf deep in a file is refused and fetched from another route', async () => {
    const leaf = content.image.leaves[2]!
    g(0).behaviour = 'tampering'
    g(0).tamper = (cid) => cid.equals(leaf)
    const ipfs = client({ gateways: [g(0).url, g(1).url], hedgeDelay: 2_000 })
    const seen = recorder(ipfs)
    assert.deepEqual(await ipfs.fetch(`ipfs://${content.image.cid}`), content.image.bytes)
    assert.equal(seen.lie.length, 1)
    assert.equal(seen.lie[0]!.cid, leaf.toString())
    assert.ok(ipfs.status().routes[0]!.blocks >= 1, 'it served the blocks it did not tamper with')
  })

  it('404 everywhere: one error naming the CID and each route’s reason', async () => {
    const ipfs = client({ kubo: kuboClient({ url: kubo.url }), gateways: [g(0).url, g(1).url] })
    const error = await ipfs.fetch(`ipfs://${content.absent}`).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    )
    assert.ok(error instanceof ContentNotFoundError)
    assert.match(error.message, new RegExp(content.absent.toString()))
    assert.equal(error.reasons.length, 3)
    assert.match(error.message, /kubo.*does not have it \(not found\)/)
    assert.match(error.message, /does not have it \(HTTP 404\)/)
    // Not having a block is no fault.
    for (const r of ipfs.status().routes) {
      assert.equal(r.failures, 0)
      assert.equal(r.breaker, 'closed')
      assert.equal(r.missing, 1)
    }
  })

  it('a blackholed first gateway is hedged around, sinks in the ranking, then times out', async () => {
    g(0).behaviour = 'blackhole'
    // Timings with room for a loaded machine: the hedge comes well before the attempt timeout.
    const ipfs = client({ gateways: [g(0).url, g(1).url], attemptTimeout: 3_000 })
    const first = recorder(ipfs)
    assert.deepEqual(await ipfs.json(`ipfs://${content.metadata.cid}`), content.metadata.json)
    // Hedged after the adaptive delay, not the attempt timeout: served by the second gateway
    // while the first was still out, its attempt never timed out (told by the events, not
    // timed: a busy machine makes a time bound flaky).
    const [black0, other0] = ipfs.status().routes.map((r) => r.name)
    assert.deepEqual(
      first.attempt.filter((a) => a.route === other0).map((a) => a.outcome),
      ['ok'],
    )
    assert.deepEqual(
      first.attempt.filter((a) => a.route === black0 && /within 3000 ms/.test(a.reason ?? '')),
      [],
      'the blackholed gateway ran out its attempt timeout before the hedge',
    )
    // Outpaced: at least as slow as it was let run, so the measured route is asked first now.
    const before = g(0).stats.requests
    assert.deepEqual(await ipfs.fetch(`ipfs://${content.image.cid}`), content.image.bytes)
    assert.equal(g(0).stats.requests, before, 'the blackholed gateway was not asked again')
    // With the other route slow too, the blackholed one runs out its attempt timeout.
    g(1).behaviour = 'slow'
    // Asked 400 ms after the first, answering 800 ms later: after the first one's timeout.
    g(1).delay = 800
    const ipfs2 = client({ gateways: [g(0).url, g(1).url], attemptTimeout: 1_000, hedgeDelay: 400 })
    const seen = recorder(ipfs2)
    assert.deepEqual(await ipfs2.json(`ipfs://${content.metadata.cid}`), content.metadata.json)
    const black = ipfs2.status().routes[0]!
    assert.equal(black.failures, 1)
    assert.match(black.lastError ?? '', /no block within 1000 ms/)
    assert.deepEqual(
      seen.attempt.map((a) => [a.route, a.outcome]),
      [
        [black.name, 'timeout'],
        [ipfs2.status().routes[1]!.name, 'ok'],
      ],
    )
  })

  it('5xx, redirects to other hosts, 429 and non-trustless answers are the route’s failures', async () => {
    g(0).behaviour = 'redirect'
    g(1).behaviour = 'rateLimited'
    g(2).behaviour = 'html'
    kubo.behaviour = 'down'
    const ipfs = client({
      kubo: kuboClient({ url: kubo.url }),
      gateways: gateways.map((x) => x.url),
    })
    const error = await ipfs.fetch(`ipfs://${content.metadata.cid}`).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    )
    assert.ok(error instanceof ContentNotFoundError)
    assert.match(error.message, /kubo.*HTTP 500/)
    assert.match(error.message, /redirect to another host refused/)
    assert.match(error.message, /HTTP 429/)
    assert.match(error.message, /not application\/vnd\.ipld\.raw/)
    const [k, redirect, limited, html] = ipfs.status().routes
    assert.equal(limited!.condition, 'rate-limited')
    for (const r of [k, redirect, html]) assert.equal(r!.condition, 'degraded')
    // The rate-limited route is left alone until its Retry-After (5 s) is over.
    g(1).behaviour = 'honest'
    const before = g(1).stats.requests
    await ipfs.fetch(`ipfs://${content.metadata.cid}`).catch(() => {})
    assert.equal(g(1).stats.requests, before)
  })
})

describe('limits', () => {
  it('size cap: refuses content larger than maxBytes, naming the CID and the cap', async () => {
    const ipfs = client({ gateways: [g(0).url], maxBytes: 100_000 })
    const before = g(0).stats.requests
    const error = await ipfs.fetch(`ipfs://${content.image.cid}`).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    )
    assert.ok(error instanceof ContentTooLargeError)
    assert.match(error.message, new RegExp(`${content.image.cid}.*maxBytes \\(100000\\)`))
    const requests = g(0).stats.requests - before
    assert.ok(requests <= 2, `refused from the declared size, before the leaves (${requests})`)
    // Per call too.
    await assert.rejects(
      client({ gateways: [g(0).url] }).fetch(`ipfs://${content.metadata.cid}`, { maxBytes: 10 }),
      ContentTooLargeError,
    )
  })

  it('a block larger than maxBlockBytes is refused from its route', async () => {
    const ipfs = client({ gateways: [g(0).url], maxBlockBytes: 1_000 })
    const error = await ipfs.fetch(`ipfs://${content.image.leaves[0]}`).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    )
    assert.ok(error instanceof ContentNotFoundError)
    assert.match(error.message, /larger than maxBlockBytes \(1000\)/)
  })

  it('deadline: rejects at `timeout` naming the CID and what each route did', async () => {
    for (const gw of gateways.slice(0, 2)) gw.behaviour = 'blackhole'
    // On a hand-moved clock (the gateways stay real): the deadline is exact, neither before nor
    // after, where a time bound would flake on a busy machine.
    const time = fakeClock()
    const ipfs = client({ gateways: [g(0).url, g(1).url], timeout: 300, clock: time.clock })
    const seen = recorder(ipfs)
    const asked = [g(0).stats.requests, g(1).stats.requests]
    let settled = false
    const fetched = ipfs.fetch(`ipfs://${content.metadata.cid}`)
    fetched.then(
      () => (settled = true),
      () => (settled = true),
    )
    const turn = () => new Promise((resolve) => setTimeout(resolve, 50))
    await turn()
    await time.to(299) // the hedge (200 ms at first) asks the second gateway on the way
    await turn()
    assert.equal(settled, false, 'still waiting 1 ms before the deadline')
    for (let i = 0; g(0).stats.requests === asked[0] || g(1).stats.requests === asked[1]; i++) {
      assert.ok(i < 100, 'both gateways asked')
      await turn()
    }
    await time.to(300)
    for (let i = 0; !settled; i++) {
      assert.ok(i < 100, 'ended at the deadline')
      await turn()
    }
    const error = await fetched.then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    )
    assert.ok(error instanceof ContentTimeoutError)
    assert.match(error.message, new RegExp(`${content.metadata.cid} within 300 ms`))
    assert.equal(error.reasons.length, 2)
    assert.deepEqual(seen.failure, [], 'no attempt failed on its own before the deadline')
  })

  it('abort: the caller’s signal ends the fetch at once', async () => {
    g(0).behaviour = 'blackhole'
    const ipfs = client({ gateways: [g(0).url] })
    const ac = new AbortController()
    setTimeout(() => ac.abort(new Error('user left')), 50)
    const error = await ipfs.fetch(`ipfs://${content.image.cid}`, { signal: ac.signal }).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    )
    assert.ok(error instanceof ContentAbortedError)
    assert.equal((error.cause as Error).message, 'user left')
    await assert.rejects(
      ipfs.fetch(`ipfs://${content.image.cid}`, { signal: AbortSignal.abort() }),
      ContentAbortedError,
    )
  })
})

describe('configuration and secrets', () => {
  it('bad config is a ConfigError at construction', () => {
    const bad: unknown[] = [
      {},
      { gateways: [] },
      { gateways: ['not a url'] },
      { gateways: ['ftp://x.example'] },
      { gateways: 'https://x.example' },
      { gateways: [42] },
      { kubo: {} },
      { helia: { blockstore: {} } },
      { gateways: ['https://a.example'], maxBytes: 0 },
      { gateways: ['https://a.example'], timeout: -1 },
      { gateways: ['https://a.example'], hedgeDelay: Number.NaN },
      { gateways: ['https://a.example'], breaker: { threshold: 0 } },
      { gateways: ['https://a.example'], unknownOption: 1 },
      { gateways: ['https://a.example/k1', 'https://a.example/k2'] },
    ]
    for (const options of bad)
      assert.throws(
        () => createIpfs(options as Parameters<typeof createIpfs>[0]),
        ConfigError,
        JSON.stringify(options),
      )
  })

  it('a key in a gateway URL never appears in errors, events or status', async () => {
    const secret = 'SECRETKEY123'
    const keyed = await startGateway({ blocks: content.blocks, base: `/key/${secret}` })
    const tokened = await startGateway({ blocks: content.blocks, token: secret })
    try {
      const ipfs = client({
        gateways: [keyed.url, { url: `${tokened.url}?token=${secret}`, name: 'tokened' }],
      })
      const seen = recorder(ipfs)
      assert.deepEqual(await ipfs.json(`ipfs://${content.metadata.cid}`), content.metadata.json)
      keyed.behaviour = 'error'
      tokened.behaviour = 'tampering'
      const error = await ipfs.fetch(`ipfs://${content.image.cid}`).catch((e: unknown) => e)
      assert.ok(error instanceof ContentNotFoundError)
      const everything = JSON.stringify([
        String(error),
        (error as Error).stack,
        ipfs.status(),
        seen,
      ])
      assert.ok(!everything.includes(secret), everything)
      assert.match(JSON.stringify(ipfs.status()), /gateway http:\/\/127\.0\.0\.1:\d+\/…/)
      assert.throws(
        () => createIpfs({ gateways: [`not a url/${secret}`] }),
        (e: Error) => e instanceof ConfigError && !e.message.includes(secret),
      )
    } finally {
      await Promise.all([keyed.close(), tokened.close()])
    }
  })
})
