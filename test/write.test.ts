/** Writes: broadcast to every healthy source, hash computed locally, agreed rejections returned. */
import assert from 'node:assert/strict'
import { createWalletClient, parseEther, publicActions } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { outlast } from '../src/adapters/viem.ts'
import type { OutlastEvents } from '../src/index.ts'
import { clientFor, threeDomains } from './helpers.ts'
import { devAccounts, type Lab, startLab } from './lab/index.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLab({ sources: threeDomains })
})
afterAll(() => lab.stop())

const chain = {
  id: 31337,
  name: 'lab',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: [] } },
} as const

describe('eth_sendRawTransaction', () => {
  for (const mode of [{ kind: 'refused' }, { kind: 'blackhole' }, { kind: 'dns' }] as const) {
    it(`a transaction sent while the first source is ${mode.kind} is mined`, async () => {
      await lab.proxy('aws').setMode(mode)
      const rpc = clientFor(lab)
      const outcomes: OutlastEvents['broadcast'][] = []
      rpc.on('broadcast', (o) => outcomes.push(o))
      const wallet = createWalletClient({
        account: privateKeyToAccount(devAccounts[3].privateKey),
        chain,
        transport: outlast(rpc),
      }).extend(publicActions)
      try {
        const hash = await wallet.sendTransaction({
          to: devAccounts[2].address,
          value: parseEther('0.01'),
        })
        const receipt = await wallet.waitForTransactionReceipt({
          hash,
          pollingInterval: 200,
          timeout: 20_000,
        })
        assert.equal(receipt.status, 'success')
        assert.equal(receipt.transactionHash, hash)
        const named = new Set(outcomes.filter((o) => o.hash === hash).map((o) => o.source))
        assert.ok(named.has('gcp') || named.has('home'), 'outcomes reported per source')
        assert.ok(outcomes.some((o) => o.outcome === 'accepted'))
      } finally {
        await rpc.close()
        await lab.proxy('aws').setMode({ kind: 'ok' })
      }
    })
  }

  it('a rejection every source agrees on is returned as that error', async () => {
    const rpc = clientFor(lab)
    const wallet = createWalletClient({
      account: privateKeyToAccount(devAccounts[3].privateKey),
      chain,
      transport: outlast(rpc),
    })
    try {
      await assert.rejects(
        wallet.sendTransaction({ to: devAccounts[2].address, value: 1n, nonce: 0 }),
        (e: Error) => /nonce too low|nonce/i.test(e.message),
      )
      await assert.rejects(
        wallet.sendTransaction({ to: devAccounts[2].address, value: parseEther('1000000') }),
        (e: Error) => /insufficient funds|funds/i.test(e.message),
      )
    } finally {
      await rpc.close()
    }
  })

  it('malformed raw transactions are refused before any source sees them', async () => {
    const rpc = clientFor(lab)
    lab.proxy('gcp').resetStats()
    try {
      await assert.rejects(
        rpc.request({ method: 'eth_sendRawTransaction', params: ['not hex'] }),
        (e: Error & { code?: number }) => e.code === -32602,
      )
      assert.equal(lab.proxy('gcp').stats.byMethod.eth_sendRawTransaction ?? 0, 0)
    } finally {
      await rpc.close()
    }
  })
})
