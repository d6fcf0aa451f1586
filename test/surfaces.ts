/** The surfaces a workload can go through: raw EIP-1193, viem and ethers. */
import { createPublicClient } from 'viem'
import { OutlastProvider } from '../src/adapters/ethers.ts'
import { outlast } from '../src/adapters/viem.ts'
import type { Outlast } from '../src/index.ts'
import type { Surface } from './workload.ts'

export function rawSurface(rpc: Outlast): Surface {
  return {
    name: 'eip1193',
    balance: async (address) =>
      BigInt(
        (await rpc.request({ method: 'eth_getBalance', params: [address, 'latest'] })) as string,
      ),
    blockNumber: async () => BigInt((await rpc.request({ method: 'eth_blockNumber' })) as string),
    call: async (to, data) =>
      (await rpc.request({ method: 'eth_call', params: [{ to, data }, 'latest'] })) as string,
    blockHash: async (hash) =>
      (
        (await rpc.request({ method: 'eth_getBlockByHash', params: [hash, false] })) as {
          hash: string
        }
      ).hash,
    close: () => rpc.close(),
  }
}

export function viemSurface(rpc: Outlast): Surface {
  const client = createPublicClient({ transport: outlast(rpc), cacheTime: 0 })
  return {
    name: 'viem',
    balance: (address) => client.getBalance({ address }),
    blockNumber: () => client.getBlockNumber({ cacheTime: 0 }),
    call: async (to, data) => (await client.call({ to, data })).data ?? '0x',
    blockHash: async (hash) => (await client.getBlock({ blockHash: hash })).hash,
    close: () => rpc.close(),
  }
}

export function ethersSurface(rpc: Outlast): Surface {
  const provider = new OutlastProvider(rpc, { cacheTimeout: -1 })
  return {
    name: 'ethers',
    balance: (address) => provider.getBalance(address),
    blockNumber: async () => BigInt(await provider.getBlockNumber()),
    call: (to, data) => provider.call({ to, data }),
    blockHash: async (hash) => (await provider.getBlock(hash))?.hash ?? 'null',
    close: async () => {
      provider.destroy()
      await rpc.close()
    },
  }
}
