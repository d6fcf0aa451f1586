/**
 * `outlast relay` (the shipped command, as a process) in front of real anvil: what it serves,
 * what it refuses and how it says so, what a hostile peer's frames cost (its own stream, never
 * the relay), its key on disk, and its status.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { type PeerLibp2p, p2p, RPC_PROTOCOL, startPeerNode } from '../../src/p2p/index.ts'
import { createRelay, SERVED } from '../../src/p2p/relay/index.ts'
import { ConfigError, SourceError } from '../../src/shared/errors.ts'
import { type Anvil, startAnvil } from '../lab/index.ts'
import { type RelayProcess, startRelayProcess } from '../lab/relays.ts'

let anvil: Anvil
let relay: RelayProcess
let client: PeerLibp2p
beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 0 })
  relay = await startRelayProcess({ rpc: anvil.url, rate: 400 })
  client = await startPeerNode({ transports: [tcp()] })
})
afterAll(async () => {
  await Promise.all(hostiles.map((h) => h.stop()))
  await client?.stop()
  await relay?.stop()
  await anvil?.stop()
})

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Peers that break the rules, each with its own identity (strikes add up per peer). */
const hostiles: PeerLibp2p[] = []
async function hostilePeer(): Promise<PeerLibp2p> {
  const peer = await startPeerNode({ transports: [tcp()] })
  hostiles.push(peer)
  return peer
}

/** A raw stream to the relay: frames in, frames out, as a hostile peer would use it. */
async function rawStream(from: PeerLibp2p = client, maxAnswer = 16 * 1024 * 1024) {
  const stream = await from.dialProtocol(multiaddr(relay.tcp), RPC_PROTOCOL)
  const lp = lpStream(stream, { maxDataLength: maxAnswer })
  return {
    stream,
    send: (value: unknown) => lp.write(encoder.encode(JSON.stringify(value))),
    sendBytes: (bytes: Uint8Array) => lp.write(bytes),
    read: async () =>
      JSON.parse(
        decoder.decode((await lp.read({ signal: AbortSignal.timeout(5_000) })).subarray()),
      ),
  }
}

const call = (method: string, params: unknown[] = [], id: number | string = 1) => ({
  jsonrpc: '2.0',
  id,
  method,
  params,
})

describe('outlast relay', () => {
  it('serves reads on one stream, several calls in a row, as its node answers them', async () => {
    const s = await rawStream()
    for (const method of ['eth_chainId', 'eth_blockNumber', 'net_version']) {
      await s.send(call(method, [], method))
      const answer = await s.read()
      assert.equal(answer.id, method)
      assert.deepEqual(answer.result, await anvil.rpc(method))
    }
    await s.send([
      call('eth_chainId', [], 7),
      call(
        'eth_getBalance',
        [anvil.url.length ? '0x0000000000000000000000000000000000000001' : '', 'latest'],
        8,
      ),
    ])
    const batch = await s.read()
    assert.deepEqual(batch.map((a: { id: number }) => a.id).sort(), [7, 8])
    await s.stream.close()
  })

  it('refuses what administers, signs with or mines on its node, naming the method and why', async () => {
    const s = await rawStream()
    const refused = [
      ['admin_peers', /administers the node/],
      ['debug_traceTransaction', /debugs the node/],
      ['personal_sign', /accounts/],
      ['eth_sign', /signs with the node's keys/],
      ['eth_signTransaction', /signs with the node's keys/],
      ['eth_sendTransaction', /signs with the node's keys/],
      ['eth_accounts', /accounts/],
      ['miner_start', /mining/],
      ['anvil_setBalance', /controls the node/],
      ['evm_mine', /controls the node/],
      ['eth_madeUp', /is not served by this relay/],
    ] as const
    for (const [method, why] of refused) {
      await s.send(call(method, [], method))
      const answer = await s.read()
      assert.equal(answer.id, method)
      assert.equal(answer.error?.code, -32601, method)
      assert.match(answer.error.message, new RegExp(method))
      assert.match(answer.error.message, why)
    }
    // In a batch: each refused call answered with its error, the others by the node.
    await s.send([call('eth_chainId', [], 1), call('anvil_mine', [], 2)])
    const batch = await s.read()
    assert.equal(batch.find((a: { id: number }) => a.id === 1).result, '0x7a69')
    assert.equal(batch.find((a: { id: number }) => a.id === 2).error.code, -32601)
    assert.equal(await anvil.rpc('eth_blockNumber'), '0x0', 'nothing was mined')
    for (const m of SERVED) assert.ok(!/^(admin|debug|personal|miner|anvil|evm)_|^eth_sign/.test(m))
  })

  it('closes a stream that sends an oversized frame, and keeps serving', async () => {
    // Just over the limit (1 MiB + 1), and far over it (a longer length prefix).
    const hostile = await hostilePeer()
    for (const size of [1024 * 1024 + 1, 8 * 1024 * 1024]) {
      const s = await rawStream(hostile)
      await s.sendBytes(new Uint8Array(size).fill(0x20))
      await assert.rejects(s.read())
    }
    const next = await rawStream()
    await next.send(call('eth_chainId'))
    assert.equal((await next.read()).result, '0x7a69')
    assert.ok(((await relay.status()).refused.frame ?? 0) >= 2)
  })

  it('closes a stream that sends a malformed frame, and keeps serving', async () => {
    const hostile = await hostilePeer()
    const s = await rawStream(hostile)
    await s.sendBytes(encoder.encode('{"jsonrpc": "2.0", "method": '))
    await assert.rejects(s.read())
    const t = await rawStream(hostile)
    await t.sendBytes(new Uint8Array([0xff, 0xfe, 0x00]))
    await assert.rejects(t.read())
    const next = await rawStream()
    await next.send(call('eth_chainId'))
    assert.equal((await next.read()).result, '0x7a69')
    assert.ok(((await relay.status()).refused.malformed ?? 0) >= 2)
  })

  it('refuses an empty or oversized batch with a JSON-RPC error', async () => {
    const s = await rawStream()
    await s.send([])
    assert.equal((await s.read()).error.code, -32600)
    await s.send(Array.from({ length: 101 }, (_, i) => call('eth_chainId', [], i)))
    const answer = await s.read()
    assert.equal(answer.error.code, -32600)
    assert.match(answer.error.message, /at most 100/)
  })

  it('limits each peer to its rate, and says so (-32005, a rate limit to the engine)', async () => {
    const limited = await startRelayProcess({ rpc: anvil.url, rate: 5, gossip: false })
    const [source] = p2p({ peers: [limited.tcp], transports: [tcp()], gossip: false })
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, () => source!.request({ method: 'eth_chainId' })),
      )
      const refused = results.filter((r) => r.status === 'rejected')
      assert.ok(results.filter((r) => r.status === 'fulfilled').length >= 5)
      assert.ok(refused.length >= 5, `${refused.length} refused`)
      for (const r of refused) {
        const e = (r as PromiseRejectedResult).reason
        assert.ok(e instanceof SourceError && e.kind === 'rate-limited', String(e))
        assert.match(e.message, /at most 5 calls per second per peer/)
      }
      await new Promise((r) => setTimeout(r, 1_100))
      assert.equal(
        await source!.request({ method: 'eth_chainId' }),
        '0x7a69',
        'served again a second later',
      )
      assert.ok(((await limited.status()).refused.rate ?? 0) >= 5)
    } finally {
      await source!.close?.()
      await limited.stop()
    }
  })

  it('refuses streams past its per-peer limit, and serves the streams within it', async () => {
    const hostile = await hostilePeer()
    const held = await Promise.all(Array.from({ length: 32 }, () => rawStream(hostile)))
    const extra = await rawStream(hostile)
    const refusal = await extra.read()
    assert.equal(refusal.error.code, -32005)
    assert.match(refusal.error.message, /at most 32 open streams per peer/)
    await held[0]!.send(call('eth_chainId'))
    assert.equal((await held[0]!.read()).result, '0x7a69')
    await Promise.all(held.map((h) => h.stream.close()))
  })

  it('bans a peer after three violations: its streams and connections are refused, others served', async () => {
    const hostile = await hostilePeer()
    const before = (await relay.status()).refused.banned ?? 0
    for (let i = 0; i < 5; i++) {
      const s = await rawStream(hostile).catch(() => undefined)
      if (!s) break
      await s.sendBytes(encoder.encode('{"not json'))
      await assert.rejects(s.read())
    }
    const status = await relay.status()
    assert.equal(status.refused.banned, before + 1)
    assert.ok(status.banned >= 1)
    await assert.rejects(async () => {
      const s = await rawStream(hostile)
      await s.send(call('eth_chainId'))
      await s.read()
    }, 'the banned peer gets nothing')
    const ok = await rawStream()
    await ok.send(call('eth_chainId'))
    assert.equal((await ok.read()).result, '0x7a69', 'another peer is served')
  })

  it('keeps its peer id across restarts (the key on disk)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outlast-key-'))
    const keyFile = join(dir, 'relay.key')
    try {
      const first = await startRelayProcess({ rpc: anvil.url, keyFile, gossip: false })
      await first.stop()
      const key = await readFile(keyFile)
      const second = await startRelayProcess({ rpc: anvil.url, keyFile, gossip: false })
      await second.stop()
      assert.equal(second.peerId, first.peerId)
      assert.deepEqual(await readFile(keyFile), key)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('reports its status: peers, calls served and refused, gossip; never its node URL key', async () => {
    const status = await relay.status()
    assert.equal(status.peerId, relay.peerId)
    assert.equal(status.chainId, 31337)
    assert.ok(status.served > 0)
    assert.ok(status.peers >= 1)
    assert.ok((status.refused.method ?? 0) >= 11)
    assert.ok((status.gossip.headsPublished ?? 0) >= 1)
  })

  it('says what is wrong with its command line and its node, and exits', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const child = spawn(process.execPath, [
          new URL('../../src/cli/outlast.ts', import.meta.url).pathname,
          ...args,
        ])
        let err = ''
        child.stderr.on('data', (d) => {
          err += d
        })
        child.on('exit', (code) => resolve({ code, err }))
      })
    const noRpc = await run(['relay'])
    assert.equal(noRpc.code, 1)
    assert.match(noRpc.err, /--rpc is required/)
    const badUrl = await run(['relay', '--rpc', 'ftp://example'])
    assert.equal(badUrl.code, 1)
    assert.match(badUrl.err, /rpc must be the node's http\(s\) URL/)
    const secret = 'http://127.0.0.1:1/v3/abcdef0123456789secret'
    const down = await run(['relay', '--rpc', secret, '--listen', '/ip4/127.0.0.1/tcp/0'])
    assert.equal(down.code, 1)
    assert.match(down.err, /did not answer eth_chainId/)
    assert.ok(!down.err.includes('abcdef0123456789secret'), 'the key in the URL is not printed')
    const unknown = await run(['proxyy'])
    assert.equal(unknown.code, 2)
    assert.match(unknown.err, /Unknown command proxyy/)
  })

  it('a start that fails part-way stops what it had started: no connection to the node is left', async () => {
    // A node that answers eth_chainId, and counts the connections open to it.
    const open = new Set<Socket>()
    const node = createServer((req, res) => {
      req.resume()
      req.on('end', () => res.end('{"jsonrpc":"2.0","id":1,"result":"0x7a69"}'))
    })
    node.on('connection', (socket) => {
      open.add(socket)
      socket.on('close', () => open.delete(socket))
    })
    await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve))
    const dir = await mkdtemp(join(tmpdir(), 'outlast-relay-'))
    try {
      const keyFile = join(dir, 'relay.key')
      await writeFile(keyFile, 'not a key')
      await assert.rejects(
        createRelay({
          rpc: `http://127.0.0.1:${(node.address() as AddressInfo).port}`,
          keyFile,
          listen: ['/ip4/127.0.0.1/tcp/0'],
        }),
        (e: unknown) => e instanceof ConfigError && /is not a libp2p private key/.test(e.message),
      )
      // The key is read after the node was asked its chain: that kept-alive connection is closed.
      for (const end = Date.now() + 2_000; open.size > 0 && Date.now() < end; )
        await new Promise((r) => setTimeout(r, 20))
      assert.equal(open.size, 0, 'the connection to the node is closed')
    } finally {
      node.closeAllConnections()
      await new Promise((r) => node.close(r))
      await rm(dir, { recursive: true, force: true })
    }
  })
})
