/**
 * The same client in a wagmi config: outlast is the transport of each chain. Any wagmi hook
 * (`useBalance`, `useBlockNumber`, `useWriteContract`) then reads through outlast.
 */
import { createConfig } from '@wagmi/core'
import { mainnet } from 'viem/chains'
import { outlast } from '../../src/adapters/viem.ts'
import { createOutlast, http } from '../../src/index.ts'

const rpc = createOutlast({
  chainId: mainnet.id,
  sources: [
    http('https://mainnet.infura.io/v3/KEY', { domain: 'aws-us-east-1' }),
    http('https://eth-mainnet.g.alchemy.com/v2/KEY', { domain: 'gcp' }),
  ],
})

export const config = createConfig({
  chains: [mainnet],
  transports: { [mainnet.id]: outlast(rpc) },
})
