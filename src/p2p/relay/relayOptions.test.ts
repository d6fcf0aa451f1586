import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { ConfigError } from '../../shared/errors.ts'
import { relaySettings } from './relayOptions.ts'

const rpc = 'http://127.0.0.1:8545'
const refused = (options: unknown, pattern: RegExp) =>
  assert.throws(
    () => relaySettings(options as never),
    (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
  )

describe('relay options', () => {
  it('fills in the defaults', () => {
    const o = relaySettings({ rpc })
    assert.equal(o.rate, 100)
    assert.equal(o.maxBatch, 100)
    assert.equal(o.maxStreamsPerPeer, 32)
    assert.equal(o.maxFrameBytes, 1_048_576)
    assert.equal(o.maxAnswerBytes, 16 * 1024 * 1024)
    assert.equal(o.gossip, true)
    assert.equal(o.ipfs, false)
    assert.equal(relaySettings({ rpc, pin: ['a.car'] }).ipfs, true)
  })

  it('names each bad option', () => {
    refused(undefined, /relay: needs an options object with rpc/)
    refused({ rpc: 'ftp://x' }, /rpc must be the node's http\(s\) URL, got "ftp:\/\/x"/)
    refused({ rpc: 'not a url' }, /rpc must be the node's http\(s\) URL, got "<invalid url>"/)
    refused({ rpc: 42 }, /rpc must be the node's http\(s\) URL, got "42"/)
    refused({ rpc, ws: 'http://x' }, /ws must be the node's ws\(s\) URL/)
    refused({ rpc, beacon: 'ws://x' }, /beacon must be the beacon node's http\(s\) URL/)
    refused({ rpc, maxFrameBytes: 10 }, /maxFrameBytes must be an integer >= 64, got 10/)
    refused({ rpc, maxBatch: 0 }, /maxBatch must be an integer >= 1/)
    refused({ rpc, maxAnswerBytes: 1.5 }, /maxAnswerBytes must be an integer >= 1024/)
    refused({ rpc, rate: -1 }, /rate must be an integer >= 1/)
    refused({ rpc, maxStreamsPerPeer: Number.NaN }, /maxStreamsPerPeer must be an integer >= 1/)
    refused({ rpc, idleTimeout: 0 }, /idleTimeout must be a whole number of ms >= 1/)
    refused({ rpc, listen: [] }, /listen must be a non-empty array of multiaddrs/)
    refused({ rpc, listen: ['nope'] }, /"nope" is not a multiaddr/)
    refused({ rpc, peers: ['/ip4/1.2.3.4/tcp/x'] }, /is not a multiaddr/)
    refused({ rpc, pin: [''] }, /pin must be an array of CAR file paths/)
    refused({ rpc, ipfs: false, pin: ['a.car'] }, /pin needs ipfs/)
    refused({ rpc, ipfs: 'yes' }, /ipfs must be true or false/)
  })

  it('never shows a key of a URL it refuses', () => {
    for (const [key, url] of [
      ['rpc', 'ftp://user:pass@node.example/v3/SECRET1'],
      ['ws', 'https://node.example/ws/SECRET1?key=SECRET2'],
      ['beacon', 'ws://node.example/SECRET1'],
      ['rpc', 'mainnet.node.example/v3/SECRET1'],
      ['ws', 'node.example:8546/SECRET1'],
    ])
      assert.throws(
        () => relaySettings({ rpc, [key as string]: url }),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.message.includes(`${key} must be`) &&
          !/SECRET|pass/.test(e.message),
      )
  })
})
