/**
 * Transaction senders: several accounts, each sending one transaction at a time with viem's
 * wallet client through outlast and tracking its own nonce. A send that fails is sent again,
 * unchanged (same fields, same signature, same hash), until outlast accepts it or the node has
 * mined it, as a careful wallet does; the next nonce is used only after that. Receipts are read
 * straight from the node. At the end every transaction must be mined, nonces contiguous.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { createWalletClient, type Hex, keccak256 } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { outlast } from '../src/adapters/viem.ts'
import type { Outlast, OutlastEvents } from '../src/index.ts'
import type { Anvil } from '../test/lab/index.ts'
import { errorText, type Invariants, outlastView } from './invariants.ts'
import type { Rng } from './random.ts'

const MNEMONIC = 'test test test test test test test test test test test junk'
const CHAIN = {
  id: 31337,
  name: 'lab',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: [] } },
} as const

/** Plain accounts that receive transfers (no code, no precompiles). */
export const RECIPIENTS = [
  '0x5050505050505050505050505050505050505050',
  '0x6161616161616161616161616161616161616161',
  '0x000000000000000000000000000000000000dEaD',
] as const

/** A node's verdict on a transaction it has already mined or seen. */
const REPLAY = /nonce too low|lower than the current nonce|already known|already imported/i

export type TxRecord = {
  account: `0x${string}`
  nonce: number
  hash: Hex
  kind: 'transfer' | 'increment'
  /** ms since the workload started. */
  firstSent: number
  /** When outlast first returned the hash. */
  accepted?: number
  attempts: number
  failedAttempts: number
  minedBlock?: number
  minedSeen?: number
  status?: string
  /** Sources that reported the transaction accepted or known (broadcast events). */
  acceptedBy: Set<string>
}

export type Senders = {
  readonly addresses: readonly `0x${string}`[]
  readonly records: readonly TxRecord[]
  /** Recent transaction hashes (mined or not), for by-hash reads. */
  recentHashes(): Hex[]
  start(): Promise<void>
  /** Stop sending new transactions; resolves when each account's last one is accepted or mined. */
  stop(deadlineMs: number): Promise<void>
  /** Waits (bounded) until every transaction has a receipt on the node, then checks them all. */
  verify(waitMs: number): Promise<void>
  readonly counts: {
    sent: number
    accepted: number
    mined: number
    attempts: number
    failed: number
    /** Mined with status 0 (the harness's transactions should never revert). */
    reverted: number
  }
}

export type SendersOptions = {
  rpc: Outlast
  anvil: Anvil
  invariants: Invariants
  rng: Rng
  clock: () => number
  /** Address of the counter contract. */
  counter: `0x${string}`
  accounts: number
}

export function createSenders(o: SendersOptions): Senders {
  const accounts = Array.from({ length: o.accounts }, (_, i) =>
    mnemonicToAccount(MNEMONIC, { addressIndex: 4 + i }),
  )
  const records: TxRecord[] = []
  const byHash = new Map<string, TxRecord>()
  const unmined = new Set<TxRecord>()
  const startNonce = new Map<string, number>()
  const counts = { sent: 0, accepted: 0, mined: 0, attempts: 0, failed: 0, reverted: 0 }
  let stopping = false
  let hardStopped = false
  let loops: Promise<void>[] = []
  let polling = true
  let poller: Promise<void> = Promise.resolve()

  const onBroadcast = (b: OutlastEvents['broadcast']) => {
    if (b.outcome === 'accepted' || b.outcome === 'known')
      byHash.get(b.hash)?.acceptedBy.add(b.source)
  }

  /** Receipts straight from the node, for every transaction not yet mined. */
  const pollReceipts = async () => {
    for (const r of [...unmined]) {
      const receipt = await o.anvil.rpc<{ blockNumber: string; status: string } | null>(
        'eth_getTransactionReceipt',
        [r.hash],
      )
      if (!receipt || !unmined.has(r)) continue
      r.minedBlock = Number(receipt.blockNumber)
      r.minedSeen = o.clock()
      r.status = receipt.status
      unmined.delete(r)
      counts.mined++
      if (receipt.status !== '0x1') counts.reverted++
    }
  }

  const pendingOf = (account: string) => {
    let n = 0
    for (const r of unmined) if (r.account === account) n++
    return n
  }

  const send = async (
    wallet: ReturnType<typeof makeWallet>,
    record: TxRecord,
    tx: Parameters<ReturnType<typeof makeWallet>['sendTransaction']>[0],
    hardStop: () => boolean,
  ) => {
    for (let attempt = 0; !hardStop(); attempt++) {
      record.attempts++
      counts.attempts++
      const start = o.clock()
      const params = [{ from: record.account, nonce: record.nonce, hash: record.hash }]
      try {
        const hash = await wallet.sendTransaction(tx)
        const end = o.clock()
        o.invariants.onOutcome({
          op: 'send',
          method: 'eth_sendRawTransaction',
          params,
          start,
          end,
          ok: true,
          result: hash,
        })
        if (hash.toLowerCase() !== record.hash.toLowerCase())
          o.invariants.violation('tx-hash', {
            t: end / 1000,
            request: `send ${record.account} nonce ${record.nonce}`,
            expected: `${record.hash} (keccak256 of the signed transaction)`,
            actual: hash,
          })
        record.accepted ??= end
        counts.accepted++
        return
      } catch (error) {
        const end = o.clock()
        const view = outlastView(o.rpc)
        // An earlier attempt may have reached the node anyway (a slow or garbled answer).
        await pollReceipts().catch(() => {})
        const text = errorText(error)
        if (record.minedBlock !== undefined && REPLAY.test(text)) {
          // "nonce too low" for a transaction the node has mined: the right answer to a replay.
          o.invariants.onOutcome({
            op: 'send',
            method: 'eth_sendRawTransaction',
            params,
            start,
            end,
            ok: true,
            result: text,
          })
          return
        }
        record.failedAttempts++
        counts.failed++
        o.invariants.onOutcome({
          op: 'send',
          method: 'eth_sendRawTransaction',
          params,
          start,
          end,
          ok: false,
          error: text,
          view,
        })
        if (record.minedBlock !== undefined) return
        await sleep(Math.min(2_000, 200 * 2 ** Math.min(attempt, 4)) * (0.5 + o.rng.next()))
      }
    }
  }

  const makeWallet = (i: number) =>
    createWalletClient({ account: accounts[i]!, chain: CHAIN, transport: outlast(o.rpc) })

  const loop = async (i: number, hardStop: () => boolean) => {
    const account = accounts[i]!
    const wallet = makeWallet(i)
    let nonce = startNonce.get(account.address)!
    while (!stopping) {
      while (!stopping && pendingOf(account.address) >= 2) await sleep(100)
      if (stopping) break
      const increment = o.rng.chance(0.4)
      const tx = {
        to: increment ? o.counter : o.rng.pick(RECIPIENTS),
        value: increment ? 0n : BigInt(o.rng.int(1, 1_000_000_000)),
        data: increment ? ('0x01' as const) : undefined,
        nonce,
        gas: increment ? 60_000n : 21_000n,
        maxFeePerGas: 20_000_000_000n,
        maxPriorityFeePerGas: 1_000_000_000n,
        type: 'eip1559' as const,
      }
      const raw = await account.signTransaction({ ...tx, chainId: CHAIN.id })
      const record: TxRecord = {
        account: account.address,
        nonce,
        hash: keccak256(raw),
        kind: increment ? 'increment' : 'transfer',
        firstSent: o.clock(),
        attempts: 0,
        failedAttempts: 0,
        acceptedBy: new Set(),
      }
      records.push(record)
      byHash.set(record.hash, record)
      unmined.add(record)
      counts.sent++
      await send(wallet, record, tx, hardStop)
      nonce++
      await sleep(o.rng.int(100, 700))
    }
  }

  return {
    addresses: accounts.map((a) => a.address),
    records,
    counts,
    recentHashes: () => records.slice(-40).map((r) => r.hash),
    async start() {
      o.rpc.on('broadcast', onBroadcast)
      for (const a of accounts)
        startNonce.set(
          a.address,
          Number(await o.anvil.rpc<string>('eth_getTransactionCount', [a.address, 'pending'])),
        )
      poller = (async () => {
        while (polling) {
          await pollReceipts().catch(() => {})
          await sleep(300)
        }
      })()
      loops = accounts.map((_, i) => loop(i, () => hardStopped))
    },
    async stop(deadlineMs) {
      stopping = true
      const done = Promise.all(loops)
      await Promise.race([done, sleep(deadlineMs)])
      // Give up on a send that still fails at the deadline; verify() reports the transaction.
      hardStopped = true
      await done
    },
    async verify(waitMs) {
      const until = Date.now() + waitMs
      while (unmined.size > 0 && Date.now() < until) await sleep(250)
      polling = false
      await poller
      await pollReceipts().catch(() => {})
      const now = o.clock()
      for (const r of unmined)
        o.invariants.violation(
          'tx-lost',
          {
            t: now / 1000,
            request: `${r.kind} from ${r.account} nonce ${r.nonce} ${r.hash}, first sent at ${(r.firstSent / 1000).toFixed(1)} s, ${r.accepted === undefined ? 'never accepted by outlast' : `accepted at ${(r.accepted / 1000).toFixed(1)} s`} (${r.attempts} attempts), accepted or known by: ${[...r.acceptedBy].join(', ') || 'no source'}`,
            expected: `mined within ${waitMs / 1000} s after every source was restored`,
            actual: 'no receipt on the node',
          },
          [r.firstSent - 5_000, (r.accepted ?? r.firstSent) + 1_000],
        )
      for (const address of accounts.map((a) => a.address)) {
        const mine = records.filter((r) => r.account === address)
        const first = startNonce.get(address)!
        const final = Number(
          await o.anvil.rpc<string>('eth_getTransactionCount', [address, 'latest']),
        )
        const nonces = mine.map((r) => r.nonce)
        const contiguous = nonces.every((n, i) => n === first + i)
        if (!contiguous || final !== first + mine.length)
          o.invariants.violation('tx-nonce', {
            t: now / 1000,
            request: `account ${address}: ${mine.length} transactions from nonce ${first}`,
            expected: `nonces ${first}…${first + mine.length - 1} each used once; the node's nonce ${first + mine.length}`,
            actual: `nonces ${nonces.join(',')}; the node's nonce ${final}`,
          })
        for (const r of mine) {
          if (r.minedBlock === undefined) continue
          const tx = await o.anvil.rpc<{ nonce: string; from: string } | null>(
            'eth_getTransactionByHash',
            [r.hash],
          )
          if (
            !tx ||
            Number(tx.nonce) !== r.nonce ||
            tx.from.toLowerCase() !== address.toLowerCase()
          )
            o.invariants.violation('tx-nonce', {
              t: now / 1000,
              request: `${r.hash} from ${address}`,
              expected: `nonce ${r.nonce}`,
              actual: tx ? `nonce ${Number(tx.nonce)} from ${tx.from}` : 'unknown to the node',
            })
        }
      }
      o.rpc.removeListener('broadcast', onBroadcast)
    },
  }
}
