/**
 * Gossip between real `outlast relay` processes and dApps' nodes: relays' heads feed
 * subscriptions (as hints the other relays confirm), a transaction sent while the relays' own
 * nodes refuse it reaches a node through gossip via a third relay, and a hostile peer's junk and
 * forged (correctly hashed) headers and transactions die at the first relay.
 */
import assert from 'node:assert/strict'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast } from '../../src/index.ts'
import { headsTopic, p2p, startPeerNode, txsTopic } from '../../src/p2p/index.ts'
import { forgeHeader } from '../adversarial/hostile.ts'
import { CHAIN_ID, signedTransfer } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { type RelayProcess, startRelayProcess } from '../lab/relays.ts'

let lab: Lab
let g1: RelayProcess
let g2: RelayProcess
let g3: RelayProcess
beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [
      { name: 'g1', domain: 'a' },
      { name: 'g2', domain: 'b' },
      { name: 'g3', domain: 'c' },
    ],
  })
  await lab.anvil.rpc('evm_mine')
  g3 = await startRelayProcess({ rpc: lab.proxy('g3').url, rate: 10_000 })
  ;[g1, g2] = (await Promise.all(
    ['g1', 'g2'].map((n) =>
      startRelayProcess({ rpc: lab.proxy(n).url, peers: [g3.tcp], rate: 10_000 }),
    ),
  )) as [RelayProcess, RelayProcess]
})
afterAll(async () => {
  await Promise.all([g1, g2, g3].map((r) => r?.stop()))
  await lab?.stop()
})

const sources = () =>
  p2p({
    peers: [
      { address: g1.tcp, name: 'g1', domain: 'a' },
      { address: g2.tcp, name: 'g2', domain: 'b' },
    ],
    transports: [tcp()],
  })

const until = async (what: string, ok: () => Promise<boolean> | boolean, ms = 10_000) => {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('gossip', () => {
  it("relays' gossiped heads reach subscriptions, without waiting for a poll", async () => {
    // A poll every 30 s: a head that arrives within seconds came by gossip.
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [sources()], pollingInterval: 30_000 })
    const heads: string[] = []
    rpc.on('message', (m) => {
      const result = m.data.result as { hash?: string }
      if (result?.hash) heads.push(result.hash)
    })
    try {
      await rpc.request({ method: 'eth_subscribe', params: ['newHeads'] })
      await new Promise((r) => setTimeout(r, 1_500)) // the mesh forms, the first poll settles
      for (let i = 0; i < 3; i++) {
        await lab.anvil.rpc('evm_mine')
        const block = await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', [
          'latest',
          false,
        ])
        await until(`head ${block.hash}`, () => heads.includes(block.hash), 8_000)
      }
    } finally {
      await rpc.close()
    }
  })

  it('a transaction its relays cannot send reaches a node by gossip through another relay', async () => {
    for (const n of ['g1', 'g2'])
      await lab
        .proxy(n)
        .setMode({ kind: 'methods', failing: ['eth_sendRawTransaction'], with: 'http5xx' })
    const raw = await signedTransfer(lab.anvil)
    const before = (await g3.status()).gossip.txsSubmitted ?? 0
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [sources()] })
    try {
      const hash = await rpc.request({ method: 'eth_sendRawTransaction', params: [raw] })
      await until(
        'the receipt',
        async () => !!(await lab.anvil.rpc('eth_getTransactionReceipt', [hash])),
      )
      assert.equal((await g3.status()).gossip.txsSubmitted, before + 1, 'g3 submitted it')
      for (const n of ['g1', 'g2'] as const) {
        const asked = lab.proxy(n).stats.byMethod.eth_sendRawTransaction ?? 0
        assert.ok(asked > 0, `${n}'s node was asked and failed`)
      }
    } finally {
      await rpc.close()
      for (const n of ['g1', 'g2']) await lab.proxy(n).setMode({ kind: 'ok' })
    }
  })

  it("a hostile peer's junk and forged headers and transactions die at the first relay", async () => {
    // Two hostile peers (three rejected messages ban a peer: each stays within what it needs).
    const hostile = await startPeerNode({ transports: [tcp()] })
    const txHostile = await startPeerNode({ transports: [tcp()] })
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [sources()], pollingInterval: 30_000 })
    const delivered: string[] = []
    rpc.on('message', (m) => {
      const result = m.data.result as { hash?: string }
      if (result?.hash) delivered.push(result.hash)
    })
    try {
      await rpc.request({ method: 'eth_subscribe', params: ['newHeads'] })
      const pubsub = hostile.services.pubsub
      pubsub.subscribe(headsTopic(CHAIN_ID))
      pubsub.subscribe(txsTopic(CHAIN_ID))
      const txPubsub = txHostile.services.pubsub
      txPubsub.subscribe(txsTopic(CHAIN_ID))
      await hostile.dial(multiaddr(g1.tcp))
      await txHostile.dial(multiaddr(g1.tcp))
      await until('the mesh', () => pubsub.getSubscribers(headsTopic(CHAIN_ID)).length > 0)
      await until('the mesh', () => txPubsub.getSubscribers(txsTopic(CHAIN_ID)).length > 0)
      const bans = (await g1.status()).refused.banned ?? 0
      const before = (await g1.status()).gossip
      const real = await lab.anvil.rpc<Record<string, unknown>>('eth_getBlockByNumber', [
        'latest',
        false,
      ])
      // Correctly hashed, one block ahead: only a node that has it could tell.
      const forged = forgeHeader(real, Number(real.number) + 1)
      const junk = [
        new TextEncoder().encode(JSON.stringify(forged)),
        new TextEncoder().encode(JSON.stringify({ ...real, stateRoot: `0x${'11'.repeat(32)}` })),
        new TextEncoder().encode('{"number":'),
        new Uint8Array(10_000),
      ]
      for (const data of junk) await pubsub.publish(headsTopic(CHAIN_ID), data).catch(() => {})
      // A transaction for another chain, and bytes that are no transaction.
      const account = privateKeyToAccount(devAccounts[3]!.privateKey)
      const otherChain = await account.signTransaction({
        chainId: 1,
        type: 'eip1559',
        to: devAccounts[2]!.address,
        value: 1n,
        nonce: 0,
        gas: 21_000n,
        maxFeePerGas: 1n,
        maxPriorityFeePerGas: 1n,
      })
      for (const data of [Buffer.from(otherChain.slice(2), 'hex'), new Uint8Array([2, 1, 2, 3])])
        await txPubsub.publish(txsTopic(CHAIN_ID), data).catch(() => {})
      await until('the relay to judge them', async () => {
        const g = (await g1.status()).gossip
        const judged = (k: string) => (g[k] ?? 0) - (before[k] ?? 0)
        return (
          judged('headsIgnored') >= 1 && judged('headsRejected') >= 3 && judged('txsRejected') >= 2
        )
      })
      await new Promise((r) => setTimeout(r, 500))
      assert.ok(!delivered.includes(forged.hash as string), 'the forged head reached no subscriber')
      assert.equal((await g3.status()).gossip.headsIgnored ?? 0, 0, 'nothing was passed on to g3')
      assert.equal(
        (await g1.status()).refused.banned,
        bans + 1,
        'three junk heads banned their sender',
      )
    } finally {
      await rpc.close()
      await hostile.stop()
      await txHostile.stop()
    }
  })
})
