/**
 * Runs the keeper (bot.ts) against the local outage lab: one anvil node mining a block a
 * second, reached through a WebSocket source (aws-ws) and two HTTP sources (gcp, home), each
 * behind a fault proxy. A payer spends the watched account's tokens straight on the node while
 * the lab breaks the sources: the WebSocket dropped without a close frame, then every source
 * lost for about ten blocks, then everything restored. At the end the blocks and Transfers
 * the keeper saw are checked against the node: none missing, none twice.
 *
 *   ./node_modules/.bin/node examples/node-bot/run-lab.ts
 */
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type Address,
  createPublicClient,
  createWalletClient,
  defineChain,
  formatUnits,
  parseUnits,
  http as viemHttp,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import WebSocket from 'ws'
import { createOutlast, http, webSocket } from '../../src/index.ts'
import { devAccounts, startLab, startWsProxy } from '../../test/lab/index.ts'
import { startKeeper } from './bot.ts'
import { TRANSFER_TOPIC, tokenAbi, tokenBytecode } from './token.ts'

const BLOCK_TIME = 1
const chain = defineChain({
  id: 31337,
  name: 'lab',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: ['http://127.0.0.1'] } },
})
const tkn = (whole: number | string) => parseUnits(String(whole), 18)
const time = () => new Date().toISOString().slice(11, 23)
const say = (line: string) => console.log(`${time()}  ${line}`)
const banner = (line: string) => say(`lab     ━━ ${line}`)

const [treasury, hot, keeperKey] = [devAccounts[0], devAccounts[1], devAccounts[2]]
const shops: Address[] = [
  '0x5a0b000000000000000000000000000000000001',
  '0x5a0b000000000000000000000000000000000002',
  '0x5a0b000000000000000000000000000000000003',
]

/** A small seeded generator, so that every run pays the same amounts. */
let seed = 7
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
  return seed / 2 ** 31
}

banner(`starting anvil (a block every ${BLOCK_TIME} s) and the fault proxies`)
const lab = await startLab({
  blockTime: BLOCK_TIME,
  sources: [
    { name: 'gcp', domain: 'gcp-europe-west1', latency: 30 },
    { name: 'home', domain: 'home', kind: 'self-hosted', latency: 10 },
  ],
})
const awsWs = await startWsProxy(`ws://127.0.0.1:${lab.anvil.port}`, {
  name: 'aws-ws',
  latency: 20,
})
const gcp = lab.proxy('gcp')
const home = lab.proxy('home')

// Set-up straight on the node: the token, the watched wallet's and the keeper's funds.
const direct = createPublicClient({
  chain,
  transport: viemHttp(lab.anvil.url),
  pollingInterval: 200,
})
const deployer = createWalletClient({
  account: privateKeyToAccount(treasury.privateKey),
  chain,
  transport: viemHttp(lab.anvil.url),
  pollingInterval: 200,
})
const deployed = await direct.waitForTransactionReceipt({
  hash: await deployer.deployContract({ abi: tokenAbi, bytecode: tokenBytecode(tkn(1_000_000)) }),
})
const token = deployed.contractAddress!
for (const [to, value] of [
  [hot.address, tkn(1_000)],
  [keeperKey.address, tkn(100_000)],
] as const)
  await direct.waitForTransactionReceipt({
    hash: await deployer.writeContract({
      address: token,
      abi: tokenAbi,
      functionName: 'transfer',
      args: [to, value],
    }),
  })
banner(`token ${token} deployed; hot wallet holds 1000 TKN, keeper 100000 TKN`)

const rpc = createOutlast({
  chainId: chain.id,
  pollingInterval: 1_000,
  sources: [
    webSocket(awsWs.url, {
      name: 'aws-ws',
      domain: 'aws-us-east-1',
      timeout: 2_000,
      heartbeat: { interval: 1_000, timeout: 500 },
      reconnect: { delay: 250, maxDelay: 2_000 },
      webSocketImpl: WebSocket,
    }),
    http(gcp.url, { name: 'gcp', domain: 'gcp-europe-west1', timeout: 2_000 }),
    http(home.url, { name: 'home', domain: 'home', kind: 'self-hosted', timeout: 2_000 }),
  ],
})

const keeper = await startKeeper({
  rpc,
  chain,
  token,
  watched: hot.address,
  threshold: tkn(500),
  target: tkn(1_000),
  keeper: privateKeyToAccount(keeperKey.privateKey),
  labels: {
    [hot.address]: 'hot-wallet',
    [keeperKey.address]: 'keeper',
    [treasury.address]: 'treasury',
    ...Object.fromEntries(shops.map((a, i) => [a, `shop-${i + 1}`])),
  },
})

/** The world outside the keeper: the hot wallet pays shops, straight on the node. */
let paying = true
let quiet = false
const payer = (async () => {
  let n = 0
  while (paying) {
    await sleep(1_100 + random() * 600)
    if (!paying) break
    const shop = shops[n++ % shops.length]!
    const value = tkn((40 + Math.floor(random() * 80)).toString())
    const balance = await direct.readContract({
      address: token,
      abi: tokenAbi,
      functionName: 'balanceOf',
      args: [hot.address],
    })
    if (balance < value) {
      say(`world   hot-wallet is short (${formatUnits(balance, 18)} TKN): payment skipped`)
      continue
    }
    await lab.anvil.rpc('eth_sendTransaction', [
      {
        from: hot.address,
        to: token,
        data: encodeTransfer(shop, value),
      },
    ])
    if (quiet)
      say(
        `world   hot-wallet pays shop-${shops.indexOf(shop) + 1} ${formatUnits(value, 18)} TKN (the keeper cannot hear it now)`,
      )
  }
})()

function encodeTransfer(to: Address, value: bigint): string {
  return `0xa9059cbb${to.slice(2).toLowerCase().padStart(64, '0')}${value.toString(16).padStart(64, '0')}`
}

const blockNumber = async () => Number(await lab.anvil.rpc<string>('eth_blockNumber'))
const waitBlocks = async (n: number) => {
  const until = (await blockNumber()) + n
  while ((await blockNumber()) < until) await sleep(100)
}

try {
  await waitBlocks(7)
  banner('aws-ws: socket dropped without a close frame (code 1006), and it stays down')
  await awsWs.setMode({ kind: 'drop' })
  await waitBlocks(6)
  banner('every source lost: aws-ws refused, gcp refused, home blackholed (a cut path)')
  quiet = true
  await awsWs.setMode({ kind: 'refused' })
  await gcp.setMode({ kind: 'refused' })
  await home.setMode({ kind: 'blackhole' })
  const lostAt = await blockNumber()
  await waitBlocks(10)
  quiet = false
  banner(`every source back after ${(await blockNumber()) - lostAt} blocks`)
  await awsWs.setMode({ kind: 'ok' })
  await gcp.setMode({ kind: 'ok' })
  await home.setMode({ kind: 'ok' })
  await waitBlocks(8)
} finally {
  paying = false
  await payer
}

// Let the keeper catch up with the node, then stop it and check what it saw.
const last = await blockNumber()
const end = Date.now() + 15_000
while (Date.now() < end && (keeper.seen.blocks.at(-1)?.number ?? 0) < last) await sleep(100)
await sleep(1_500) // anything late, or twice, would arrive now
await keeper.stop()
const ok = await verify()
await rpc.close()
await awsWs.stop()
await lab.stop()
process.exit(ok ? 0 : 1)

async function verify(): Promise<boolean> {
  const { blocks, transfers } = keeper.seen
  const first = blocks[0]!.number
  const upTo = blocks.at(-1)!.number
  let linked = true
  for (let i = 1; i < blocks.length; i++)
    if (blocks[i]!.parentHash !== blocks[i - 1]!.hash) linked = false
  const numbers = new Set(blocks.map((b) => b.number))
  const missingBlocks = upTo - first + 1 - numbers.size
  const duplicateBlocks = blocks.length - numbers.size
  const onNode = await lab.anvil.rpc<{ blockHash: string; logIndex: string }[]>('eth_getLogs', [
    {
      address: token,
      topics: [TRANSFER_TOPIC],
      fromBlock: `0x${first.toString(16)}`,
      toBlock: `0x${upTo.toString(16)}`,
    },
  ])
  const key = (hash: string, index: number) => `${hash.toLowerCase()}:${index}`
  const delivered = new Map<string, number>()
  for (const t of transfers.filter((x) => !x.removed)) {
    const k = key(t.blockHash, t.logIndex)
    delivered.set(k, (delivered.get(k) ?? 0) + 1)
  }
  const truth = new Set(onNode.map((l) => key(l.blockHash, Number(l.logIndex))))
  const missing = [...truth].filter((k) => !delivered.has(k)).length
  const twice = [...delivered.values()].filter((n) => n > 1).length
  const extra = [...delivered.keys()].filter((k) => !truth.has(k)).length
  const confirmed = keeper.topUps.filter((t) => t.confirmedIn !== undefined).length
  const summary = (line: string) => say(`summary ${line}`)
  summary(
    `blocks #${first}–#${upTo}: ${blocks.length} delivered, ${missingBlocks} missing, ${duplicateBlocks} twice, ${linked ? 'each linked to its parent' : 'NOT LINKED'}`,
  )
  summary(
    `Transfers: ${truth.size} on the node, ${delivered.size} delivered, ${missing} missing, ${twice} twice, ${extra} unknown`,
  )
  summary(
    `top-ups: ${keeper.topUps.length} sent, ${confirmed} confirmed; lowest balance read ${formatUnits(keeper.lowest ?? 0n, 18)} TKN`,
  )
  const ok = linked && missingBlocks === 0 && duplicateBlocks === 0 && missing + twice + extra === 0
  summary(ok ? 'OK: the keeper missed nothing and saw nothing twice' : 'FAILED')
  return ok
}
