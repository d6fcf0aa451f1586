/** outlast/viem: a Transport for viem clients and wagmi's `transports`. */
import assert from 'node:assert/strict'
import { createConfig, getBalance, getBlockNumber } from '@wagmi/core'
import { createPublicClient, defineChain } from 'viem'
import { afterAll, beforeAll, it } from 'vitest'
import { outlast } from '../src/adapters/viem.ts'
import { clientFor, threeDomains } from './helpers.ts'
import { devAccounts, type Lab, startLab } from './lab/index.ts'

const lab31337 = defineChain({
  id: 31337,
  name: 'lab',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: ['http://127.0.0.1'] } },
})

let lab: Lab
beforeAll(async () => {
  lab = await startLab({ sources: threeDomains })
  for (let i = 0; i < 3; i++) await lab.anvil.rpc('evm_mine')
})
afterAll(() => lab.stop())

it('viem public client: reads, errors carry EIP-1193 codes, the client is reachable', async () => {
  const rpc = clientFor(lab)
  const client = createPublicClient({ chain: lab31337, transport: outlast(rpc) })
  try {
    assert.equal(client.transport.type, 'outlast')
    assert.equal(client.transport.outlast, rpc)
    assert.equal(await client.getChainId(), 31337)
    const who = devAccounts[0].address
    assert.equal(
      await client.getBalance({ address: who }),
      BigInt(await lab.anvil.rpc<string>('eth_getBalance', [who, 'latest'])),
    )
    const block = await client.getBlock()
    assert.equal((await client.getBlock({ blockHash: block.hash })).number, block.number)
    // A wallet-only method is refused with 4200 so that a wallet can handle it.
    await assert.rejects(
      client.request({ method: 'eth_accounts' } as never),
      (e: Error & { code?: number }) => {
        assert.equal(e.code, 4200)
        return true
      },
    )
  } finally {
    await rpc.close()
  }
})

it("wagmi's transports accept outlast", async () => {
  const rpc = clientFor(lab)
  const config = createConfig({ chains: [lab31337], transports: { [lab31337.id]: outlast(rpc) } })
  try {
    const who = devAccounts[1].address
    const { value } = await getBalance(config, { address: who })
    assert.equal(value, BigInt(await lab.anvil.rpc<string>('eth_getBalance', [who, 'latest'])))
    assert.ok((await getBlockNumber(config)) > 0n)
  } finally {
    await rpc.close()
  }
})
