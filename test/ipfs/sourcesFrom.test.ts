/**
 * `sourcesFrom`: a source list read from IPFS (verified by `createIpfs`), through an IPNS name
 * (records verified), checked, keys filled from vars; published, updated, and picked up by a
 * running client; bad documents refused with a message naming what is wrong.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createIPNSRecord, marshalIPNSRecord } from 'ipns'
import { base36 } from 'multiformats/bases/base36'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { ConfigError, createOutlast, type Outlast } from '../../src/index.ts'
import { createIpfs } from '../../src/ipfs/index.ts'
import {
  parseSourceList,
  type SourceList,
  sourcesFrom,
  watchSources,
} from '../../src/ipfs/sourcesFrom.ts'
import { type Anvil, startAnvil } from '../lab/index.ts'
import { type LoopbackGateway, startGateway } from '../lab/ipnsLab.ts'

const RELAY = '/ip4/127.0.0.1/tcp/4002/ws/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
const SECRET = 'sk_live_9f8e7d6c5b4a39281706f5e4'
/** The caller's key and the hosts it was issued for. */
const KEY = { value: SECRET, hosts: ['mainnet.example', 'x.example'] }
/** A key for the loopback node the lab runs. */
const LOCAL_KEY = { value: 'k', hosts: ['127.0.0.1'] }
/** A placeholder as documents write it. */
const $ = (name: string) => `\${${name}}`

describe('the source-list document', () => {
  const good = {
    version: 1,
    chainId: 1,
    sources: [
      {
        url: `https://mainnet.example/v3/${$('KEY')}`,
        kind: 'cloud',
        domain: 'aws-us-east-1',
        name: 'example',
      },
      { url: 'wss://eth.other.example/ws?network=mainnet', domain: 'gcp-europe' },
      { relay: RELAY, domain: 'relay-home', name: 'home-relay' },
    ],
  }

  it('builds http and webSocket sources with keys filled in, and relays for p2p()', () => {
    const list = parseSourceList(good, { vars: { KEY }, chainId: 1 })
    assert.equal(list.chainId, 1)
    assert.deepEqual(
      list.sources.map((s) => [s.config.name, s.config.kind, s.config.domain]),
      [
        ['example', 'cloud', 'aws-us-east-1'],
        ['eth.other.example', 'cloud', 'gcp-europe'],
      ],
    )
    assert.ok(!JSON.stringify(list.sources.map((s) => s.config)).includes(SECRET))
    assert.deepEqual(list.relays, [{ address: RELAY, name: 'home-relay', domain: 'relay-home' }])
  })

  const refused = (doc: unknown, pattern: RegExp, options = {}) =>
    assert.throws(
      () => parseSourceList(doc, { vars: { KEY }, ...options }),
      (e: Error) => {
        assert.ok(e instanceof ConfigError, String(e))
        assert.match(e.message, pattern)
        assert.ok(!e.message.includes(SECRET), 'a key never shows in an error')
        return true
      },
    )
  const withSource = (source: unknown) => ({ ...good, sources: [source] })

  it('refuses bad documents, naming what is wrong', () => {
    refused({ ...good, version: 2 }, /unknown version 2; this outlast reads version 1/)
    refused({ ...good, chainId: 5 }, /for chain 5, not the expected 1/, { chainId: 1 })
    refused({ ...good, sources: [] }, /sources must be a non-empty array/)
    refused({ ...good, extra: 1 }, /unknown field "extra"/)
    refused(
      withSource({ url: 'ftp://x.example' }),
      /sources\[0\]\.url must be http\(s\) or ws\(s\)/,
    )
    refused(withSource({ url: 'not a url' }), /sources\[0\]\.url is not a URL/)
    refused(
      withSource({ url: 'https://x.example', kind: 'p2p' }),
      /sources\[0\]\.kind must be one of/,
    )
    refused(
      withSource({ url: 'https://x.example', relay: RELAY }),
      /exactly one of "url" or "relay"/,
    )
    refused(withSource({ url: 'https://x.example', weigth: 2 }), /unknown field "weigth"/)
    refused(
      withSource({ relay: '/ip4/1.2.3.4/tcp/1' }),
      /sources\[0\]\.relay must be a relay multiaddr/,
    )
    refused(
      withSource({ url: `https://x.example/${$('OTHER')}` }),
      /sources\[0\]\.url needs \$\{OTHER\}: pass it in vars/,
    )
  })

  it('refuses a key embedded in a URL: templates only', () => {
    refused(
      withSource({ url: `https://mainnet.example/v3/${SECRET}` }),
      /looks like a key in its path/,
    )
    refused(
      withSource({ url: 'https://mainnet.example/v3/0123456789abcdef0123456789abcdef' }),
      /looks like a key in its path/,
    )
    refused(withSource({ url: `https://x.example/rpc?apikey=${SECRET}` }), /in its query/)
    refused(withSource({ url: 'https://user:hunter2@x.example/' }), /in its credentials/)
    // Placeholders are fine wherever a key would go.
    const ok = parseSourceList(
      withSource({
        url: `https://${$('KEY')}:${$('KEY')}@x.example/v2/${$('KEY')}?apikey=${$('KEY')}`,
      }),
      { vars: { KEY } },
    )
    assert.equal(ok.sources.length, 1)
  })

  it('leaves out entries whose vars are missing, when asked to', () => {
    const list = parseSourceList(good, { missingVars: 'skip' })
    assert.deepEqual(list.skipped, [{ index: 0, missing: ['KEY'] }])
    assert.equal(list.sources.length, 1)
    // A placeholder named like an object's own members is a var like any other: missing here.
    const built = parseSourceList(withSource({ url: `https://x.example/${$('constructor')}` }), {
      vars: { KEY },
      missingVars: 'skip',
    })
    assert.deepEqual(built.skipped, [{ index: 0, missing: ['constructor'] }])
  })

  // The publisher (whoever holds the IPNS name's key) chooses the URLs, the caller the keys: a
  // key goes only to a host the caller named for it, never to one the list picked.
  it("never sends a key to a host the caller did not name for it (the publisher's own, say)", () => {
    refused(
      withSource({ url: `https://collector.attacker.example/k/${$('KEY')}`, domain: 'evil' }),
      /sources\[0\]\.url would send \$\{KEY\} to collector\.attacker\.example, a host vars\.KEY\.hosts does not name/,
    )
    // Look-alikes: a suffix that is not a subdomain, the named host as a subdomain of another.
    refused(withSource({ url: `https://evilmainnet.example/${$('KEY')}` }), /would send/)
    refused(withSource({ url: `https://mainnet.example.evil.example/${$('KEY')}` }), /would send/)
    // A key in the host goes out in every DNS lookup, whatever the host: no placeholder there.
    refused(withSource({ url: `https://${$('KEY')}.evil.example/` }), /placeholder in its host/)
    refused(withSource({ url: `https://${$('KEY')}.mainnet.example/` }), /placeholder in its host/)
    // In the clear, a key can be read on the way, whoever the host.
    refused(withSource({ url: `http://mainnet.example/v3/${$('KEY')}` }), /unencrypted \(http:\)/)
    refused(withSource({ url: `ws://x.example/${$('KEY')}` }), /unencrypted \(ws:\)/)
  })

  it('sends a key to the hosts named for it: exact, any subdomain with *., loopback in the clear', () => {
    const list = (url: string, hosts: string[]) =>
      parseSourceList(withSource({ url }), { vars: { KEY: { value: SECRET, hosts } } }).sources
    assert.equal(list(`https://MAINNET.example/v3/${$('KEY')}`, ['mainnet.example']).length, 1)
    assert.equal(
      list(`wss://eth-mainnet.g.alchemy.example/${$('KEY')}`, ['*.g.alchemy.example']).length,
      1,
    )
    assert.equal(
      list(`https://rpc.quicknode.example/${$('KEY')}/`, ['*.quicknode.example']).length,
      1,
    )
    assert.equal(list(`http://127.0.0.1:8545/${$('KEY')}`, ['127.0.0.1']).length, 1)
    assert.throws(
      () => list(`https://g.alchemy.example/${$('KEY')}`, ['*.g.alchemy.example']),
      /would send/,
    )
  })

  it('refuses vars that do not say where their key may go, naming the var, never its value', () => {
    for (const vars of [
      { KEY: SECRET },
      { KEY: { value: SECRET } },
      { KEY: { value: SECRET, hosts: [] } },
      { KEY: { value: SECRET, hosts: ['https://mainnet.example'] } },
      { KEY: { value: '', hosts: ['mainnet.example'] } },
    ])
      assert.throws(
        () => parseSourceList(good, { vars: vars as never }),
        (e: Error) => {
          assert.ok(e instanceof ConfigError, String(e))
          assert.match(e.message, /^sourcesFrom\(\): vars\.KEY must be \{ value, hosts \}/)
          assert.ok(!e.message.includes(SECRET))
          return true
        },
      )
  })
})

describe('a source list under IPNS', () => {
  let anvil: Anvil
  let gateway: LoopbackGateway
  let key: PrivateKey
  let name: string

  /** Stores `doc` as a raw block on the gateway; its CID. */
  const put = async (doc: unknown) => {
    const bytes = new TextEncoder().encode(JSON.stringify(doc))
    const cid = CID.create(1, raw.code, await sha256.digest(bytes))
    gateway.blocks.set(cid.toString(), bytes)
    return cid
  }
  const publish = async (cid: CID, seq: bigint, signer = key) =>
    gateway.records.set(
      name,
      marshalIPNSRecord(await createIPNSRecord(signer, `/ipfs/${cid}`, seq, 60_000)),
    )

  beforeAll(async () => {
    anvil = await startAnvil({ blockTime: 0 })
    gateway = await startGateway()
    key = await generateKeyPair('Ed25519')
    name = peerIdFromPrivateKey(key).toCID().toString(base36)
  }, 60_000)
  afterAll(async () => {
    await gateway?.stop()
    await anvil?.stop()
  })

  it('reads a list by CID and by name', async () => {
    const ipfs = createIpfs({ gateways: [gateway.url] })
    const doc = { version: 1, chainId: 31337, sources: [{ url: `${anvil.url}/?key=${$('KEY')}` }] }
    const cid = await put(doc)
    const byCid = await sourcesFrom(cid.toString(), { ipfs, vars: { KEY: LOCAL_KEY } })
    assert.equal(byCid.path, `/ipfs/${cid}`)
    await publish(cid, 1n)
    const byName = await sourcesFrom(`/ipns/${name}`, {
      ipfs,
      gateways: [gateway.url],
      vars: { KEY: LOCAL_KEY },
    })
    assert.equal(byName.sequence, 1n)
    assert.equal(byName.path, `/ipfs/${cid}`)
    assert.equal(byName.sources.length, 1)
    // A document that is not what its CID says never arrives.
    gateway.setMode({ kind: 'tamper' })
    try {
      await assert.rejects(sourcesFrom(cid.toString(), { ipfs }))
    } finally {
      gateway.setMode({ kind: 'ok' })
      await ipfs.close()
    }
  })

  it('published, updated, and picked up by a running client; forged updates ignored', async () => {
    const ipfs = createIpfs({ gateways: [gateway.url] })
    // The first list's endpoint is the dApp's own server, now down (nothing listens on port 9).
    const first = await put({
      version: 1,
      chainId: 31337,
      sources: [{ url: `http://127.0.0.1:9/?key=${$('KEY')}`, name: 'own-server', domain: 'own' }],
    })
    await publish(first, 1n)
    const updates: SourceList[] = []
    let rpc: Outlast | undefined
    const rebuild = async (list: SourceList) => {
      await rpc?.close()
      rpc = createOutlast({ chainId: list.chainId, sources: list.sources })
    }
    const watch = await watchSources(`/ipns/${name}`, {
      ipfs,
      gateways: [gateway.url],
      vars: { KEY: LOCAL_KEY },
      chainId: 31337,
      interval: 150,
      onUpdate: (list) => {
        updates.push(list)
        void rebuild(list)
      },
    })
    try {
      await rebuild(watch.current())
      assert.deepEqual(
        rpc!.status().sources.map((s) => s.name),
        ['own-server'],
      )
      await assert.rejects(rpc!.request({ method: 'eth_blockNumber' }))

      // A forged record with a higher sequence: refused, no update.
      const forged = await put({
        version: 1,
        chainId: 31337,
        sources: [{ url: 'http://127.0.0.1:9/evil', name: 'evil' }],
      })
      await publish(forged, 5n, await generateKeyPair('Ed25519'))
      await new Promise((r) => setTimeout(r, 500))
      assert.equal(updates.length, 0)

      // The operator publishes a new list: the running client picks it up.
      const second = await put({
        version: 1,
        chainId: 31337,
        sources: [{ url: `${anvil.url}/?key=${$('KEY')}`, name: 'backup', domain: 'home' }],
      })
      await publish(second, 2n)
      const deadline = Date.now() + 5_000
      while (updates.length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50))
      assert.equal(updates.length, 1)
      assert.equal(updates[0]!.sequence, 2n)
      await new Promise((r) => setTimeout(r, 50))
      assert.deepEqual(
        rpc!.status().sources.map((s) => s.name),
        ['backup'],
      )
      assert.equal(
        await rpc!.request({ method: 'eth_blockNumber' }),
        await anvil.rpc('eth_blockNumber'),
      )
      // Nothing newer: no further update.
      assert.equal(await watch.refresh(), undefined)
    } finally {
      watch.stop()
      await rpc?.close()
      await ipfs.close()
    }
  })

  it('a bad document behind a valid name is refused with a clear message', async () => {
    const ipfs = createIpfs({ gateways: [gateway.url] })
    const bad = await put({
      version: 1,
      chainId: 31337,
      sources: [{ url: `https://x.example/v3/${SECRET}` }],
    })
    await publish(bad, 10n)
    try {
      await assert.rejects(
        sourcesFrom(`/ipns/${name}`, { ipfs, gateways: [gateway.url] }),
        /source list: sources\[0\]\.url holds what looks like a key in its path/,
      )
    } finally {
      await ipfs.close()
    }
  })
})
