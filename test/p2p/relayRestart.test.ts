/**
 * A relay restarted with the same key file keeps its WebRTC-Direct address whole: the same peer
 * id and the same certhash, so a client that recorded the address before the restart reads
 * through it after. The certificate file beside the key: owner-only, renewed near expiry (a new
 * certhash, said in status), refused with a clear error when corrupt.
 */
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { webRTCDirect } from '@libp2p/webrtc'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { ConfigError, createOutlast } from '../../src/index.ts'
import { p2p } from '../../src/p2p/index.ts'
import { createRelay, type Relay } from '../../src/p2p/relay/index.ts'
import {
  CERTIFICATE_LIFESPAN,
  certificateDue,
  certificateFileFor,
  loadOrCreateCertificate,
  RENEW_BEFORE,
} from '../../src/p2p/relay/relayCertificate.ts'
import { CHAIN_ID } from '../helpers.ts'
import { type Anvil, devAccounts, startAnvil } from '../lab/index.ts'
import { type RelayProcess, startRelayProcess } from '../lab/relays.ts'

let anvil: Anvil
let dir: string
const relays: Relay[] = []
beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 0 })
  await anvil.rpc('evm_mine')
  dir = await mkdtemp(join(tmpdir(), 'outlast-relay-restart-'))
})
afterAll(async () => {
  await Promise.all(relays.map((r) => r.stop().catch(() => {})))
  await anvil?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** A UDP port free now on loopback: the address must stay the same across the restart. */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  const { port } = socket.address()
  await new Promise<void>((resolve) => socket.close(() => resolve()))
  return port
}

async function startRelay(keyFile: string, port: number): Promise<Relay> {
  const relay = await createRelay({
    rpc: anvil.url,
    keyFile,
    listen: [`/ip4/127.0.0.1/udp/${port}/webrtc-direct`],
    gossip: false,
  })
  relays.push(relay)
  return relay
}

const webrtcOf = (relay: Relay) => {
  const address = relay.addresses.find((a) => a.includes('/webrtc-direct/'))
  assert.ok(address, `a WebRTC-Direct address among ${relay.addresses.join(', ')}`)
  return address
}
const certhashIn = (address: string) => /\/certhash\/([^/]+)/.exec(address)?.[1]

describe('relay restart', () => {
  it('keeps its WebRTC-Direct address (peer id and certhash): a client dials the old one', async () => {
    const keyFile = join(dir, 'a', 'relay.key')
    const port = await freeUdpPort()
    // The shipped command, restarted as an operator restarts it: a new process. (In one
    // process, node-datachannel keeps a stopped listener's UDP port until the process exits.)
    const listen = `/ip4/127.0.0.1/udp/${port}/webrtc-direct`
    const start = () =>
      startRelayProcess({ rpc: anvil.url, keyFile, gossip: false, args: ['--listen', listen] })
    const pinned = (r: RelayProcess) => {
      const address = r.addresses.find((a) => a.startsWith(`${listen}/certhash/`))
      assert.ok(address, `${listen} among ${r.addresses.join(', ')}`)
      return address
    }
    const first = await start()
    const before = pinned(first)
    const firstStatus = await first.status()
    assert.equal(firstStatus.certificate?.made, 'created')
    assert.equal(
      certhashIn(before),
      firstStatus.certificate?.certhash,
      'the file is what is served',
    )
    const file = certificateFileFor(keyFile)
    assert.equal((await stat(file)).mode & 0o777, 0o600, 'the certificate file is owner-only')
    await first.stop()

    const second = await start()
    assert.equal(pinned(second), before, 'the same address, certhash and peer id')
    assert.equal(second.peerId, first.peerId)
    assert.equal((await second.status()).certificate?.made, 'loaded')
    assert.equal((await second.status()).certificate?.due, false)

    // A client that only knows the address recorded before the restart.
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [
        p2p({
          peers: [before],
          transports: [webRTCDirect({ rtcConfiguration: { iceServers: [] } })],
          gossip: false,
        }),
      ],
    })
    try {
      const address = devAccounts[1]!.address
      assert.equal(
        await rpc.request({ method: 'eth_getBalance', params: [address, 'latest'] }),
        await anvil.rpc('eth_getBalance', [address, 'latest']),
      )
      assert.ok((await second.status()).served >= 1, 'the restarted relay served the read')
    } finally {
      await rpc.close()
      await second.stop()
    }

    // Without the file, a new certificate: the certhash was the file's, not chance.
    await rm(file)
    const third = await start()
    try {
      assert.equal(third.peerId, first.peerId)
      assert.notEqual(certhashIn(pinned(third)), certhashIn(before))
    } finally {
      await third.stop()
    }
  })

  it('renews a certificate within a day of expiry at start, and says so (a new certhash)', async () => {
    const keyFile = join(dir, 'b', 'relay.key')
    const file = certificateFileFor(keyFile)
    // Made 13.5 days ago: 12 hours left, inside the renewal day.
    const old = await loadOrCreateCertificate(
      file,
      Date.now() - CERTIFICATE_LIFESPAN + 12 * 3_600_000,
    )
    assert.equal(old.made, 'created')
    const relay = await startRelay(keyFile, await freeUdpPort())
    const status = relay.status().certificate
    assert.equal(status?.made, 'renewed')
    assert.notEqual(status?.certhash, old.certificate.certhash)
    assert.equal(certhashIn(webrtcOf(relay)), status?.certhash)
    const days = (Date.parse(status!.expires) - Date.now()) / 86_400_000
    assert.ok(days > 13.9 && days <= 14, `a fresh 14-day certificate, got ${days} days`)
    const kept = await loadOrCreateCertificate(file)
    assert.equal(kept.made, 'loaded', 'the renewed certificate was written back')
    assert.equal(kept.certificate.certhash, status?.certhash)
    await relay.stop()
  })

  it('refuses a corrupt certificate file, naming it and what to do', async () => {
    const keyFile = join(dir, 'c', 'relay.key')
    const file = certificateFileFor(keyFile)
    await loadOrCreateCertificate(file)
    const good = await readFile(file, 'utf8')
    await loadOrCreateCertificate(join(dir, 'c', 'other.pem'))
    const other = await readFile(join(dir, 'c', 'other.pem'), 'utf8')
    const keyOf = (pem: string) => pem.slice(0, pem.indexOf('-----BEGIN CERTIFICATE-----'))
    const certOf = (pem: string) => pem.slice(pem.indexOf('-----BEGIN CERTIFICATE-----'))
    const cases: [string, RegExp][] = [
      ['not a certificate at all', /must hold one PRIVATE KEY in PEM, found 0/],
      [keyOf(good), /must hold one CERTIFICATE in PEM, found 0/],
      [good.replace(/(BEGIN CERTIFICATE-----\n)(....)/, '$1AAAA'), /does not decode/],
      [`${keyOf(other)}${certOf(good)}`, /holds a certificate that is not its key's/],
    ]
    for (const [text, why] of cases) {
      await writeFile(file, text)
      await assert.rejects(
        createRelay({ rpc: anvil.url, keyFile, listen: ['/ip4/127.0.0.1/tcp/0'], gossip: false }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error))
          assert.ok(error.message.includes(file), error.message)
          assert.match(error.message, why)
          assert.match(error.message, /delete it to make a new one/)
          return true
        },
      )
    }
  })

  it('is due for renewal from a day before expiry', () => {
    const notAfter = new Date(10 * RENEW_BEFORE)
    assert.equal(certificateDue(notAfter, 9 * RENEW_BEFORE - 1), false)
    assert.equal(certificateDue(notAfter, 9 * RENEW_BEFORE), true)
    assert.equal(certificateDue(notAfter, 11 * RENEW_BEFORE), true)
  })
})
