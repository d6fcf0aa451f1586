/** Type-level tests, checked by `tsc --noEmit`. */
import { createPublicClient, createWalletClient, type Transport } from 'viem'
import { mainnet } from 'viem/chains'
import { createOutlast, http } from '../index.ts'
import { outlast } from './viem.ts'

const rpc = createOutlast({ chainId: 1, sources: [http('https://example.com')] })

const transport: Transport = outlast(rpc)
createPublicClient({ chain: mainnet, transport })
createWalletClient({ chain: mainnet, transport: outlast(rpc, { name: 'mine' }) })

// The transport exposes the client it wraps.
const client = createPublicClient({ chain: mainnet, transport: outlast(rpc) })
client.transport.outlast.status() satisfies { chainId: number }

// @ts-expect-error a URL is not an outlast client
outlast('https://example.com')
// @ts-expect-error unknown option
outlast(rpc, { retryCount: 3 })
