/**
 * A second audit of `outlast/p2p`, both sides (see hostileRelays.test.ts, hostilePeers.test.ts
 * for the first). Each test was a hole, now closed: it asserts the correct behaviour, and failed
 * for the hole's own reason before its fix. Relays run in-process in front of
 * a scripted node (hostile2.helpers.ts).
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import * as Secp256k1 from 'ox/Secp256k1'
import * as TxEnvelopeEip1559 from 'ox/TxEnvelopeEip1559'
import * as TxEnvelopeLegacy from 'ox/TxEnvelopeLegacy'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest'
import { blockCid } from '../../src/ipfs/ethBlock.ts'
import { checkTransaction, encodeHead } from '../../src/p2p/gossip.ts'
import { headsTopic, p2p, txsTopic } from '../../src/p2p/index.ts'
import type { Source } from '../../src/shared/types.ts'
import {
  CHAIN_ID,
  call,
  lab,
  madeUpHeader,
  rawStream,
  type ScriptedNode,
  SECRET,
  settle,
  startScriptedNode,
  until,
} from './hostile2.helpers.ts'

let node: ScriptedNode
const { relay: relayWith, peer, cleanup } = lab(() => node)
beforeAll(async () => {
  node = await startScriptedNode()
})
afterEach(async () => {
  await cleanup()
})
afterAll(async () => {
  await node?.stop()
})

const closeAll = async (sources: Source[]) => {
  for (const s of sources) await s.close?.()
}

const toBytes = (hex: string) => Buffer.from(hex.slice(2), 'hex')
const textHex = (text: string) => `0x${Buffer.from(text, 'utf8').toString('hex')}`

/** Transactions that decode for the chain (the dApp's check) and that no relay's check passes. */
async function junkTransactions(): Promise<`0x${string}`[]> {
  const base = {
    chainId: CHAIN_ID,
    gas: 21_000n,
    maxFeePerGas: 1n,
    maxPriorityFeePerGas: 1n,
    to: '0x0000000000000000000000000000000000000001',
    value: 1n,
  } as const
  // EIP-155's unsigned form (a wallet's "serialize before signing" bug).
  const unsigned = TxEnvelopeLegacy.serialize({
    chainId: CHAIN_ID,
    nonce: 0n,
    gasPrice: 1n,
    gas: 21_000n,
    to: '0x0000000000000000000000000000000000000001',
    value: 1n,
  })
  // A signature no key made.
  const forged = TxEnvelopeEip1559.serialize(
    { ...base, nonce: 1n },
    { signature: { r: 1n, s: 1n, yParity: 0 } },
  )
  // A real signature, made malleable (high s: EIP-2). Anyone can turn any pending transaction
  // into this form.
  const account = privateKeyToAccount(`0x${'33'.repeat(32)}`)
  const good = await account.signTransaction({
    chainId: CHAIN_ID,
    type: 'eip1559',
    to: '0x0000000000000000000000000000000000000001',
    value: 1n,
    nonce: 2,
    gas: 21_000n,
    maxFeePerGas: 1n,
    maxPriorityFeePerGas: 1n,
  })
  const tx = TxEnvelopeEip1559.deserialize(good as TxEnvelopeEip1559.Serialized)
  const N = Secp256k1.noble.CURVE.n
  const highS = TxEnvelopeEip1559.serialize(
    {
      ...tx,
      r: undefined,
      s: undefined,
      yParity: undefined,
    } as TxEnvelopeEip1559.TxEnvelopeEip1559,
    { signature: { r: tx.r!, s: N - tx.s!, yParity: tx.yParity === 0 ? 1 : 0 } },
  )
  return [unsigned, forged, highS]
}

describe('outlast/p2p, second audit', () => {
  it('a dApp whose caller sends transactions no key signed is not banned by its own relay', async () => {
    const relay = await relayWith()
    const junk = await junkTransactions()
    for (const raw of junk) assert.ok(checkTransaction(toBytes(raw), CHAIN_ID).ok, 'it decodes')
    const [source] = p2p({ peers: [relay.addresses[0]!], transports: [tcp()] })
    try {
      assert.equal(await source!.request({ method: 'eth_chainId', params: [] }), '0x7a69')
      // The dApp's caller (a user of a wallet backend, a bot's client, an outlast proxy's
      // client) sends three transactions; each is that caller's error, to be returned as such.
      for (const raw of junk)
        await settle(source!.request({ method: 'eth_sendRawTransaction', params: [raw] }))
      // Give gossip (published beside the relay's own answer) time to reach the relay.
      await until(
        'the relay to judge the gossiped transactions',
        () => (relay.status().gossip.txsRejected ?? 0) >= junk.length || relay.status().banned > 0,
        8_000,
      ).catch(() => {})
      const after = await settle(source!.request({ method: 'eth_chainId', params: [] }))
      const { banned, refused, gossip } = relay.status()
      assert.ok(
        after.ok && banned === 0,
        `three bad transactions from the dApp's caller got the dApp's node banned by its pinned ` +
          `relay: banned ${banned}, refused ${JSON.stringify(refused)}, gossip ${JSON.stringify(gossip)}, ` +
          `next call: ${after.ok ? 'answered' : after.error.message}`,
      )
    } finally {
      await closeAll([source!])
    }
  })

  it('a dApp with 40 requests in flight to one relay is not banned for its streams', async () => {
    const relay = await relayWith({ gossip: false })
    node.delay.eth_getBalance = 1_500 // a remote node: the calls overlap
    const [source] = p2p({ peers: [relay.addresses[0]!], transports: [tcp()], gossip: false })
    try {
      assert.equal(await source!.request({ method: 'eth_chainId', params: [] }), '0x7a69')
      // A bot reading 40 balances at once (Promise.all): one stream per call in flight.
      const outcomes = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          settle(
            source!.request({
              method: 'eth_getBalance',
              params: [`0x${(i + 1).toString(16).padStart(40, '0')}`, 'latest'],
            }),
          ),
        ),
      )
      const failed = outcomes.filter((o) => !o.ok)
      const { banned, refused } = relay.status()
      assert.ok(
        banned === 0 && failed.length === 0,
        `an honest burst of 40 concurrent calls: ${failed.length} failed (` +
          `${[...new Set(failed.map((f) => (f.ok ? '' : f.error.message)))].join(' | ')}), ` +
          `the dApp's node banned: ${banned} (refused ${JSON.stringify(refused)})`,
      )
    } finally {
      await closeAll([source!])
    }
  })

  it("a stream past the peer's limit gets a JSON-RPC refusal, not a strike", async () => {
    const relay = await relayWith({ gossip: false, maxStreamsPerPeer: 2 })
    const from = await peer()
    // Two streams held open (a client without outlast's own cap, or two apps on one node).
    const held = [await rawStream(relay, from), await rawStream(relay, from)]
    for (const [i, s] of held.entries()) {
      await s.send(call('eth_chainId', [], i))
      assert.match(await s.readText(), /0x7a69/)
    }
    // Five more at once, each refused: five full strikes would have banned the peer at three.
    for (let i = 0; i < 5; i++) {
      const over = await rawStream(relay, from)
      assert.match(await over.readText(), /-32005/)
    }
    await held[0]!.send(call('eth_chainId', [], 9))
    assert.match(await held[0]!.readText(), /0x7a69/)
    const { banned, refused } = relay.status()
    assert.equal(refused.streams, 5)
    assert.equal(banned, 0, `refused ${JSON.stringify(refused)}`)
  })

  it("a peer cannot learn the relay node's key by guessing its prefix through the node's echo", async () => {
    const relay = await relayWith({ gossip: false })
    const s = await rawStream(relay, await peer())
    /** Which guesses the relay's scrubber removed from the node's echo of them. */
    const scrubbed = async (guesses: string[], id: number) => {
      const data = textHex(guesses.map((g) => `|${g}…`).join(''))
      await s.send(
        call(
          'eth_call',
          [{ to: '0x0000000000000000000000000000000000000001', data }, 'latest'],
          id,
        ),
      )
      const text = await s.readText()
      const echo = (JSON.parse(text) as { error: { message: string } }).error.message
      const parts = echo.slice(echo.indexOf('|') + 1).split('|')
      return guesses.filter((_, i) => parts[i] !== `${guesses[i]}…`)
    }
    // Six characters at once: 16^6 guesses for a hex key, about 100,000 of them fit in one 1 MiB
    // call, so ~170 calls (two seconds of one peer's rate). Shown here with the right one among
    // wrong ones.
    const first = await scrubbed(['000000', 'ffffff', SECRET.slice(0, 6), 'abcdef'], 1)
    // Then one character at a time: 16 guesses per call.
    let known = first[0] ?? ''
    const alphabet = '0123456789abcdef'
    for (let id = 2; known && known.length < SECRET.length && id < 64; id++) {
      const hit = await scrubbed(
        [...alphabet].map((c) => known + c),
        id,
      )
      if (hit.length !== 1) break
      known = hit[0]!
    }
    assert.ok(
      known.length < 8,
      `a peer recovered ${known.length} characters of the node URL's key from which of its own ` +
        `echoed guesses the relay scrubbed: "${known}" (the key is "${SECRET}")`,
    )
  })

  it("a peer's flood of made-up heads does not make a relay drop honest peers' transactions", async () => {
    const relay = await relayWith()
    // A remote node: each check of a gossiped head takes a while (a head it does not have is
    // no strike: its sender may be honest and ahead).
    node.delay.eth_getBlockByHash = 3_000
    const hostile = await peer()
    hostile.services.pubsub.subscribe(headsTopic(CHAIN_ID))
    await hostile.dial(multiaddr(relay.addresses[0]!))
    const honest = await peer()
    honest.services.pubsub.subscribe(txsTopic(CHAIN_ID))
    await honest.dial(multiaddr(relay.addresses[0]!))
    await until(
      'both on the topics',
      () =>
        hostile.services.pubsub.getSubscribers(headsTopic(CHAIN_ID)).length > 0 &&
        honest.services.pubsub.getSubscribers(txsTopic(CHAIN_ID)).length > 0,
    )
    // Headers made up on the spot: each hashes to its hash, each is a new message.
    let n = 0
    const flood = setInterval(() => {
      for (let i = 0; i < 10; i++)
        void hostile.services.pubsub
          .publish(headsTopic(CHAIN_ID), encodeHead(madeUpHeader(n++)))
          .catch(() => {})
    }, 100)
    try {
      // Its checks under way (two at most once one peer's checks are bounded; without a bound,
      // the same burst takes all eight), and the flood still going.
      await until('the flood to fill the checks', () => (node.calls.eth_getBlockByHash ?? 0) >= 2)
      await new Promise((r) => setTimeout(r, 300))
      // An honest, signed transaction, gossiped by another peer.
      const account = privateKeyToAccount(`0x${'44'.repeat(32)}`)
      const tx = await account.signTransaction({
        chainId: CHAIN_ID,
        type: 'eip1559',
        to: '0x0000000000000000000000000000000000000001',
        value: 1n,
        nonce: 0,
        gas: 21_000n,
        maxFeePerGas: 1n,
        maxPriorityFeePerGas: 1n,
      })
      await honest.services.pubsub.publish(txsTopic(CHAIN_ID), toBytes(tx))
      const reached = await until(
        'the transaction at the node',
        () => node.sent.includes(tx),
        8_000,
      )
        .then(() => true)
        .catch(() => false)
      const { gossip, banned } = relay.status()
      assert.ok(
        reached,
        `one peer's made-up heads (${n} sent, none struck: banned ${banned}) held every gossip ` +
          `check, and an honest peer's transaction was dropped, never submitted: ${JSON.stringify(gossip)}`,
      )
    } finally {
      clearInterval(flood)
    }
  })

  it("a client of the relay's header gateway does not hold up peers' calls", async () => {
    const relay = await relayWith({ gossip: false })
    // The gateway on the status port, as `outlast relay --status-port` serves it.
    const gateway = createServer((req, res) => {
      if (!relay.serveHeaderBlocks(req, res)) res.writeHead(404).end()
    })
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`
    node.delay.eth_getBlockByHash = 4_000 // a remote node
    const honest = await rawStream(relay, await peer())
    await honest.send(call('eth_chainId'))
    assert.match(await honest.readText(), /0x7a69/)
    const wants = new AbortController()
    try {
      // One HTTP client asks for 64 headers no one has, at once (the gateway's own bound).
      for (let i = 0; i < 64; i++) {
        const cid = blockCid(`0x${(i + 1).toString(16).padStart(64, '0')}`)
        void fetch(`${base}/ipfs/${cid}?format=raw`, { signal: wants.signal }).catch(() => {})
      }
      // The reads under way (a few at once when the gateway has its own node connections; all
      // 64 when it shares the ones peers' calls use), and the rest sent to the gateway.
      await until('the reads at the node', () => (node.calls.eth_getBlockByHash ?? 0) >= 4)
      await new Promise((r) => setTimeout(r, 500))
      const started = Date.now()
      await honest.send(call('eth_chainId', [], 2))
      const answer = await honest.readText(20_000)
      const took = Date.now() - started
      assert.match(answer, /0x7a69/)
      const first = node.order.indexOf('eth_getBlockByHash')
      const mine = node.order.lastIndexOf('eth_chainId')
      assert.ok(
        first === -1 || mine < first,
        `a peer's eth_chainId waited ${took} ms, answered only after the gateway's reads of ` +
          `made-up headers (${node.calls.eth_getBlockByHash} of them) freed the node connections peers' calls share`,
      )
    } finally {
      wants.abort()
      gateway.closeAllConnections()
      await new Promise<void>((r) => gateway.close(() => r()))
    }
  })
})
