/**
 * Keys in gateway URLs (`https://gw.example/KEY/`) never reach errors or `status()`, even when
 * the app's fetch names the URL in its errors and a hostile gateway cuts every connection; a URL
 * with `user:password@` (which fetch refuses, quoting it whole) is refused at construction.
 */
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { base36 } from 'multiformats/bases/base36'
import { afterAll, describe, it } from 'vitest'
import { gateway } from '../../src/ipfs/gateway.ts'
import { ipfsHeaders } from '../../src/ipfs/headerSource.ts'
import { ipnsResolver } from '../../src/ipfs/ipns.ts'
import { ConfigError } from '../../src/shared/errors.ts'

const SECRET = 'S3cretKey0123456789abcdef'
const servers: { close(): void }[] = []
afterAll(() => {
  for (const s of servers) s.close()
})

/** A loopback server; `handler` decides every answer. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  servers.push({
    close: () => {
      server.closeAllConnections()
      server.close()
    },
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** A hostile gateway: it cuts every connection without an answer. */
const resetting = () => serve((req) => req.socket.destroy())

/**
 * What many apps pass as `fetch`: a wrapper (retries, logging) whose errors name the request, as
 * ky's and ofetch's do. outlast's own rule (sources/networkError.ts) is to build failure messages
 * from fixed words for exactly this reason.
 */
const namingFetch: typeof fetch = async (input, init) => {
  try {
    return await globalThis.fetch(input, init)
  } catch (error) {
    throw new Error(`GET ${String(input)} failed: ${(error as Error).message}`)
  }
}

const everything = (x: unknown) =>
  JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? String(v) : v))

describe('keys in gateway URLs', () => {
  it('ipfsHeaders: a key in the path never reaches errors or status when a gateway resets', async () => {
    const src = ipfsHeaders({
      chainId: 1,
      gateways: [`${await resetting()}/${SECRET}`],
      fetchFn: namingFetch,
    })
    const error = await src
      .request({ method: 'eth_getBlockByHash', params: [`0x${'ab'.repeat(32)}`, false] })
      .catch((e: Error) => e)
    assert.ok(error instanceof Error)
    assert.match(error.message, /network error/)
    assert.ok(!error.message.includes(SECRET), error.message)
    const status = everything(src.status())
    assert.ok(!status.includes(SECRET), status)
  })

  it('ipnsResolver: a key in the path never reaches errors or status when a gateway resets', async () => {
    const key = await generateKeyPair('Ed25519')
    const name = peerIdFromPrivateKey(key).toCID().toString(base36)
    const ipns = ipnsResolver({ gateways: [`${await resetting()}/${SECRET}`], fetch: namingFetch })
    const error = await ipns.record(name).catch((e: Error) => e)
    assert.ok(error instanceof Error)
    const shown = `${error.message} ${everything((error as { reasons?: unknown }).reasons)}`
    assert.match(shown, /network error/)
    assert.ok(!shown.includes(SECRET), shown)
    const status = everything(ipns.status())
    assert.ok(!status.includes(SECRET), status)
  })

  it('user:password@ in a gateway URL is refused at construction, the password not shown', () => {
    const url = `http://user:${SECRET}@127.0.0.1:8080`
    for (const make of [
      () => ipfsHeaders({ chainId: 1, gateways: [url] }),
      () => ipnsResolver({ gateways: [url] }),
      () => gateway(url),
    ])
      assert.throws(make, (e: Error) => {
        assert.ok(e instanceof ConfigError, String(e))
        assert.match(e.message, /carries user:password@, which fetch refuses/)
        assert.ok(!e.message.includes(SECRET), e.message)
        return true
      })
  })
})
