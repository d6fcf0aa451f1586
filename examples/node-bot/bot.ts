/**
 * A small keeper on outlast: it follows a token's `Transfer` events and the block stream, and
 * when a watched account's balance falls below a threshold it tops the account up with a
 * transfer signed locally by viem and broadcast through outlast. outlast's subscriptions are
 * gap-free: after an outage the missed blocks and events arrive late, in order, once each.
 *
 *   import { startKeeper } from './bot.ts'   // run-lab.ts runs it against the local lab
 *
 * Run alone against real nodes (SOURCES: comma-separated `name=url` or bare urls; ws:// and
 * wss:// are WebSocket sources; each named source is its own failure domain):
 *
 *   SOURCES=infura=wss://mainnet.infura.io/ws/v3/KEY,home=http://192.168.1.20:8545 \
 *   CHAIN_ID=1 TOKEN=0x… WATCHED=0x… THRESHOLD=500 TARGET=1000 KEEPER_KEY=0x… \
 *   node examples/node-bot/bot.ts
 */
import {
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  decodeEventLog,
  defineChain,
  formatUnits,
  type Hash,
  type LocalAccount,
  parseUnits,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { outlast } from '../../src/adapters/viem.ts'
import {
  BaseError,
  createOutlast,
  http,
  type Outlast,
  type OutlastEvents,
  type Source,
  webSocket,
} from '../../src/index.ts'
import { TRANSFER_TOPIC, tokenAbi } from './token.ts'

export type KeeperOptions = {
  /** The outlast client every read, subscription and broadcast goes through. */
  rpc: Outlast
  chain: Chain
  token: Address
  /** The account kept topped up. */
  watched: Address
  /** Top up when the watched balance is below this (in the token's smallest unit). */
  threshold: bigint
  /** Top up to this balance. */
  target: bigint
  /** Signs the top-ups and pays them from its own token balance. */
  keeper: LocalAccount
  /** Names shown instead of addresses. @default {} */
  labels?: Record<string, string>
  /** A top-up not seen on chain after this many blocks is forgotten and the balance checked again. @default 20 */
  staleAfter?: number
  /** Where progress lines go. @default console.log */
  log?: (line: string) => void
}

type Header = { number: string; hash: string; parentHash: string; timestamp: string }
type RpcLog = {
  address: Address
  topics: [Hash, ...Hash[]]
  data: Hash
  blockNumber: string
  blockHash: Hash
  transactionHash: Hash
  logIndex: string
  removed?: boolean
}

export type SeenBlock = { number: number; hash: string; parentHash: string }
export type SeenTransfer = {
  block: number
  blockHash: string
  logIndex: number
  tx: Hash
  from: Address
  to: Address
  value: bigint
  removed: boolean
}
export type TopUp = { hash: Hash; value: bigint; sentAt: number; confirmedIn?: number }

export type Keeper = {
  /** Every block and every Transfer, as delivered (for checking that nothing was missed). */
  readonly seen: { blocks: SeenBlock[]; transfers: SeenTransfer[] }
  readonly topUps: TopUp[]
  /** The lowest balance of the watched account the keeper read. */
  readonly lowest: bigint | undefined
  stop(): Promise<void>
}

const time = () => new Date().toISOString().slice(11, 23)

/** Starts the keeper: subscribes, checks the balance once, then reacts to what arrives. */
export async function startKeeper(o: KeeperOptions): Promise<Keeper> {
  const print = o.log ?? console.log
  const log = (line: string) => print(`${time()}  ${line}`)
  const { rpc, chain, token, watched, threshold, target, keeper } = o
  const staleAfter = o.staleAfter ?? 20
  const transport = outlast(rpc)
  const reader = createPublicClient({ chain, transport })
  const signer = createWalletClient({ account: keeper, chain, transport })
  const decimals = await reader.readContract({
    address: token,
    abi: tokenAbi,
    functionName: 'decimals',
  })
  const amount = (v: bigint) => `${formatUnits(v, decimals)} TKN`
  const labels = new Map(Object.entries(o.labels ?? {}).map(([a, n]) => [a.toLowerCase(), n]))
  const name = (a: string) => labels.get(a.toLowerCase()) ?? `${a.slice(0, 6)}…${a.slice(-4)}`

  const seen: Keeper['seen'] = { blocks: [], transfers: [] }
  const topUps: TopUp[] = []
  let pending: TopUp | undefined
  let lowest: bigint | undefined
  let tip = 0
  let lastBalance: bigint | undefined
  let retry = false

  // Source state changes, and the stream's own trouble: shown once per outage, not per poll.
  // A source's `reason` is its last error, so it is shown only when the source got worse.
  const onSource = (e: OutlastEvents['source']) =>
    log(
      `source  ${e.source} (${e.domain}): ${e.from} → ${e.to}${e.reason && e.to !== 'healthy' ? ` · ${e.reason}` : ''}`,
    )
  let lastBlockAt = Date.now()
  let streamLost = false
  const onStreamError = (e: OutlastEvents['streamError']) => {
    if (streamLost) return
    streamLost = true
    log(`stream  no source answers (${e.message}); missed blocks will be backfilled`)
  }
  rpc.on('source', onSource)
  rpc.on('streamError', onStreamError)

  /** One balance check at a time; a request during a check runs one more after it. */
  let checking: Promise<void> | undefined
  let again = false
  const check = () => {
    if (checking) {
      again = true
      return
    }
    checking = (async () => {
      do {
        again = false
        await checkOnce()
      } while (again)
    })().finally(() => {
      checking = undefined
    })
  }

  const checkOnce = async () => {
    let balance: bigint
    // Read at the newest block the keeper has seen, so the balance includes every Transfer it
    // reacted to: outlast's `latest` is the agreed head, which can trail the pushed stream.
    const at = tip
    try {
      balance = await reader.readContract({
        address: token,
        abi: tokenAbi,
        functionName: 'balanceOf',
        args: [watched],
        ...(at > 0 ? { blockNumber: BigInt(at) } : {}),
      })
    } catch (error) {
      retry = true
      log(`check   balance read failed (${short(error)}); retrying on the next block`)
      return
    }
    retry = false
    if (lowest === undefined || balance < lowest) lowest = balance
    if (balance !== lastBalance)
      log(
        `check   ${name(watched)} holds ${amount(balance)} at ${at > 0 ? `#${at}` : 'the head'} (threshold ${amount(threshold)})`,
      )
    lastBalance = balance
    if (balance >= threshold || pending) return
    const value = target - balance
    try {
      const hash = await signer.writeContract({
        address: token,
        abi: tokenAbi,
        functionName: 'transfer',
        args: [watched, value],
      })
      pending = { hash, value, sentAt: tip }
      topUps.push(pending)
      log(`action  top-up ${amount(value)} → ${name(watched)} sent: ${hash}`)
    } catch (error) {
      retry = true
      log(`action  top-up failed (${short(error)}); retrying on the next block`)
    }
  }

  const onHead = (result: unknown) => {
    const h = result as Header
    const block = { number: Number(h.number), hash: h.hash, parentHash: h.parentHash }
    seen.blocks.push(block)
    tip = block.number
    if (streamLost) {
      const silent = ((Date.now() - lastBlockAt) / 1000).toFixed(1)
      log(`stream  fed again after ${silent} s without a block; backfilling from #${block.number}`)
      streamLost = false
    }
    lastBlockAt = Date.now()
    const age = Math.round(Date.now() / 1000 - Number(h.timestamp))
    log(
      `block   #${block.number} ${h.hash.slice(0, 10)}…${age > 2 ? `  (backfilled, ${age} s old)` : ''}`,
    )
    if (pending && tip - pending.sentAt > staleAfter) {
      log(`action  top-up ${pending.hash} not mined after ${staleAfter} blocks; checking again`)
      pending = undefined
      retry = true
    }
    if (retry) check()
  }

  const onLog = (result: unknown) => {
    const l = result as RpcLog
    const { args } = decodeEventLog({ abi: tokenAbi, data: l.data, topics: l.topics })
    if (!('from' in args)) return
    const t: SeenTransfer = {
      block: Number(l.blockNumber),
      blockHash: l.blockHash,
      logIndex: Number(l.logIndex),
      tx: l.transactionHash,
      from: args.from,
      to: args.to,
      value: args.value,
      removed: l.removed === true,
    }
    seen.transfers.push(t)
    const what = `${name(t.from)} → ${name(t.to)} ${amount(t.value)}`
    if (t.removed) {
      log(`event   #${t.block} Transfer ${what} REMOVED by a reorg`)
      // A top-up undone by a reorg is pending again (or gone); the balance check decides.
      const undone = topUps.find((x) => x.hash === t.tx)
      if (undone) undone.confirmedIn = undefined
    } else {
      log(`event   #${t.block} Transfer ${what}`)
      if (pending && t.tx === pending.hash) {
        pending.confirmedIn = t.block
        log(`action  top-up confirmed in #${t.block}`)
        pending = undefined
      }
    }
    if (
      t.from.toLowerCase() === watched.toLowerCase() ||
      t.to.toLowerCase() === watched.toLowerCase()
    )
      check()
  }

  const heads = await rpc.subscribe(['newHeads'], onHead)
  const logs = await rpc.subscribe(['logs', { address: token, topics: [TRANSFER_TOPIC] }], onLog)
  log(
    `keeper  watching ${name(watched)} on token ${token}: top up to ${amount(target)} below ${amount(threshold)}`,
  )
  check()

  return {
    seen,
    topUps,
    get lowest() {
      return lowest
    },
    async stop() {
      await heads.unsubscribe()
      await logs.unsubscribe()
      await checking
      rpc.removeListener('source', onSource)
      rpc.removeListener('streamError', onStreamError)
    },
  }
}

const short = (error: unknown) =>
  error instanceof BaseError
    ? error.shortMessage
    : ((error as { shortMessage?: string }).shortMessage ?? String(error)).split('\n')[0]!

/** `node examples/node-bot/bot.ts` with the variables listed at the top of this file. */
async function main() {
  const env = (key: string) => {
    const value = process.env[key]
    if (!value) throw new Error(`set ${key} (see examples/node-bot/bot.ts)`)
    return value
  }
  const chainId = Number(env('CHAIN_ID'))
  // `name=url` or a bare url (named by its host); ws:// and wss:// are WebSocket sources.
  const sources: Source[] = env('SOURCES')
    .split(',')
    .map((entry) => {
      const [, name, url = entry] = /^([\w.-]+)=(\w+:\/\/.*)$/.exec(entry) ?? []
      const options = name ? { name, domain: name } : {}
      return (/^wss?:/.test(url) ? webSocket(url, options) : http(url, options)) as Source
    })
  const rpc = createOutlast({ chainId, sources })
  const chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [] } },
  })
  const keeper = await startKeeper({
    rpc,
    chain,
    token: env('TOKEN') as Address,
    watched: env('WATCHED') as Address,
    threshold: parseUnits(env('THRESHOLD'), 18),
    target: parseUnits(env('TARGET'), 18),
    keeper: privateKeyToAccount(env('KEEPER_KEY') as Hash),
  })
  const stop = async () => {
    await keeper.stop()
    await rpc.close()
    process.exit(0)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

if (import.meta.main) await main()
