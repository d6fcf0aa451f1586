/**
 * The blackout: every HTTP source fails (one by DNS, one with 503), two `outlast relay`
 * processes in two home domains remain, and a third relay nobody pinned sits in their gossip
 * mesh. The pinned relays' own nodes refuse transactions, so a transfer reaches a node only by
 * gossip. Shared by test/p2p/blackout.test.ts and bench/p2pBlackout.ts.
 */
import { tcp } from '@libp2p/tcp'
import { createOutlast, http, type Outlast } from '../../src/index.ts'
import { p2p } from '../../src/p2p/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { CHAIN_ID } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { type RelayProcess, startRelayProcess } from '../lab/relays.ts'
import { ANSWER_WORD, deployAnswer } from '../workload.ts'

export type Blackout = {
  lab: Lab
  /** The pinned relays, and the one only gossip reaches. */
  relays: { home1: RelayProcess; home2: RelayProcess; third: RelayProcess }
  contract: `0x${string}`
  /** Blocks to read by hash and number. */
  blocks: { number: string; hash: string }[]
  /** A client over the two cloud sources and the two pinned relays, with proofs. */
  client(): Outlast
  /** The same client over HTTP to the same node (two healthy HTTP sources), for comparison. */
  httpClient(): Outlast
  /** Fails every HTTP source: DNS for one, 503 for the other. */
  blackout(): Promise<void>
  stop(): Promise<void>
}

export async function startBlackout(): Promise<Blackout> {
  const lab = await startLab({
    blockTime: 0,
    sources: [
      { name: 'cloud-a', domain: 'aws-us-east-1' },
      { name: 'cloud-b', domain: 'gcp-europe-west1' },
      { name: 'home1', domain: 'home-1', kind: 'self-hosted' },
      { name: 'home2', domain: 'home-2', kind: 'self-hosted' },
      { name: 'third', domain: 'home-3', kind: 'self-hosted' },
      { name: 'http-a', domain: 'http-a' },
      { name: 'http-b', domain: 'http-b' },
    ],
  })
  const contract = await deployAnswer(lab.anvil)
  for (let i = 0; i < 4; i++) await lab.anvil.rpc('evm_mine')
  const blocks: { number: string; hash: string }[] = []
  for (let n = 1; n <= 4; n++)
    blocks.push(await lab.anvil.rpc('eth_getBlockByNumber', [`0x${n.toString(16)}`, false]))
  // The pinned relays' nodes take no transactions: one that arrives came by gossip.
  for (const n of ['home1', 'home2'])
    await lab
      .proxy(n)
      .setMode({ kind: 'methods', failing: ['eth_sendRawTransaction'], with: 'http5xx' })
  const third = await startRelayProcess({ rpc: lab.proxy('third').url, rate: 10_000 })
  const [home1, home2] = await Promise.all(
    ['home1', 'home2'].map((n) =>
      startRelayProcess({ rpc: lab.proxy(n).url, peers: [third.tcp], rate: 10_000 }),
    ),
  )
  const relays = { home1: home1!, home2: home2!, third }
  const source = (name: string) =>
    http(lab.proxy(name).url, {
      name,
      domain: lab.sources.find((s) => s.name === name)!.domain,
      fetchFn: lab.proxy(name).fetch,
    })
  return {
    lab,
    relays,
    contract,
    blocks,
    client: () =>
      createOutlast({
        chainId: CHAIN_ID,
        prover: proofs(),
        sources: [
          source('cloud-a'),
          source('cloud-b'),
          p2p({
            peers: [
              { address: home1!.tcp, name: 'relay-home1', domain: 'home-1' },
              { address: home2!.tcp, name: 'relay-home2', domain: 'home-2' },
            ],
            transports: [tcp()],
          }),
        ],
      }),
    httpClient: () =>
      createOutlast({
        chainId: CHAIN_ID,
        prover: proofs(),
        sources: [source('http-a'), source('http-b')],
      }),
    async blackout() {
      await lab.proxy('cloud-a').setMode({ kind: 'dns' })
      await lab.proxy('cloud-b').setMode({ kind: 'http5xx', status: 503 })
    },
    async stop() {
      await Promise.all(Object.values(relays).map((r) => r.stop()))
      await lab.stop()
    },
  }
}

export type Call = {
  method: string
  params: unknown[]
  truth: (anvil: Lab['anvil']) => Promise<unknown>
}

/** Request `i` of the wallet workload: balances, nonces, a contract call, blocks by hash and number. */
export function walletCall(b: Blackout, i: number): Call {
  const who = devAccounts[i % 4]!.address
  const block = b.blocks[i % b.blocks.length]!
  const same = (method: string, params: unknown[]) => ({
    method,
    params,
    truth: (anvil: Lab['anvil']) => anvil.rpc(method, params),
  })
  const hashOf = (method: string, params: unknown[]) => ({
    method,
    params,
    truth: async () => block.hash,
  })
  switch (i % 6) {
    case 0:
      return same('eth_getBalance', [who, 'latest'])
    case 1:
      return same('eth_getTransactionCount', [who, 'latest'])
    case 2:
      return {
        method: 'eth_call',
        params: [{ to: b.contract, data: '0x' }, 'latest'],
        truth: async () => ANSWER_WORD,
      }
    case 3:
      return hashOf('eth_getBlockByHash', [block.hash, false])
    case 4:
      return hashOf('eth_getBlockByNumber', [block.number, false])
    default:
      return same('eth_getCode', [b.contract, 'latest'])
  }
}

/** What a block answer is compared by (its hash); any other answer as it is. */
export const comparable = (answer: unknown): unknown =>
  typeof answer === 'object' && answer !== null && 'hash' in answer
    ? (answer as { hash: unknown }).hash
    : answer
