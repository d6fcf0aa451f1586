/**
 * A wallet-like workload: a few concurrent users read balances, the block number, contract
 * state and blocks, and some of them send transfers signed locally and wait for the receipt.
 * Every answer is checked against the node (see `truth.ts`) and counted in a tally.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { keccak256, parseEther } from 'viem'
import type { LocalAccount } from 'viem/accounts'
import type { Answer, DemoClient, DemoWallet, Hex } from './demoClients.ts'
import type { DemoContracts } from './demoLab.ts'
import type { ClientTally } from './tally.ts'
import type { Truth, Window } from './truth.ts'

export type WorkloadUser = {
  /** Seeds the user's choices, so two clients given the same users do the same things. */
  seed: number
  /** The account this user signs transfers with; readers have none. */
  signer?: LocalAccount
}

export type WorkloadOptions = {
  client: DemoClient
  tally: ClientTally
  truth: Truth
  contracts: DemoContracts
  /** Accounts whose balances users read and to which they send transfers. */
  accounts: readonly Hex[]
  users: readonly WorkloadUser[]
  /** When it aborts, users finish what they are doing and stop. */
  signal: AbortSignal
}

/** How long a user waits for a transfer's receipt before calling it a failure. */
const RECEIPT_TIMEOUT = 30_000
const RECEIPT_POLL = 300

/** Runs every user until `signal` aborts; resolves when all of them have stopped. */
export async function runWorkload(options: WorkloadOptions): Promise<void> {
  await Promise.all(options.users.map((user) => runUser(options, user)))
}

type Action = 'balance' | 'blockNumber' | 'call' | 'block' | 'transfer'

const READS: [Action, number][] = [
  ['balance', 35],
  ['blockNumber', 20],
  ['call', 25],
  ['block', 20],
]
const WITH_TRANSFERS: [Action, number][] = [...READS, ['transfer', 12]]

async function runUser(o: WorkloadOptions, user: WorkloadUser): Promise<void> {
  const random = seededRandom(user.seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const wallet = user.signer ? o.client.wallet(user.signer) : undefined
  let highestBlock = -1

  /** Sends one read, times it, checks the answer against the node and counts it. */
  const read = async (
    action: string,
    method: string,
    params: unknown[],
    check: (answer: Answer, window: Window) => Promise<string | undefined> | string | undefined,
  ): Promise<Answer | undefined> => {
    const from = await o.truth.head()
    const op = o.tally.begin(action)
    let answer: Answer
    try {
      answer = await o.client.read(method, params)
    } catch (error) {
      op.settle('failed', `${method}: ${describeError(error)}`)
      return undefined
    }
    op.answered()
    const why = await check(answer, { from, to: await o.truth.head() })
    op.settle(why ? 'wrong' : 'ok', why && `${method}: ${why}`)
    return answer
  }

  const state = (method: string, params: unknown[]) =>
    read(method === 'eth_call' ? 'call' : 'balance', method, params, (answer, window) =>
      o.truth.checkState(method, params, 1, answer, window),
    )

  const actions: Record<Action, () => Promise<unknown>> = {
    balance: () => state('eth_getBalance', [pick(o.accounts), 'latest']),
    call: () => {
      const { answer, balanceReader } = o.contracts
      const data = `0x00000000${pick(o.accounts).slice(2).toLowerCase().padStart(64, '0')}`
      return random() < 0.5
        ? state('eth_call', [{ to: answer, data: '0x' }, 'latest'])
        : state('eth_call', [{ to: balanceReader, data }, 'latest'])
    },
    blockNumber: () =>
      read('blockNumber', 'eth_blockNumber', [], ({ result }, window) => {
        const n = Number(result)
        const why = o.truth.checkBlockNumber(n, window)
        if (why) return why
        if (n < highestBlock) return `went back from #${highestBlock} to #${n}`
        highestBlock = n
        return undefined
      }),
    block: async () => {
      if (random() < 0.5)
        return read('block', 'eth_getBlockByNumber', ['latest', false], ({ result }, window) =>
          o.truth.checkBlock(result, window),
        )
      const hash = await o.truth.recentBlockHash(Math.floor(random() * 5))
      return read('block', 'eth_getBlockByHash', [hash, false], ({ result }, window) =>
        o.truth.checkBlock(result, window, hash),
      )
    },
    transfer: async () => {
      if (!wallet) return
      const to = pick(
        o.accounts.filter((a) => a.toLowerCase() !== wallet.account.address.toLowerCase()),
      )
      const value = parseEther(String(0.001 + Math.floor(random() * 10) / 1000))
      const hash = await send(o, wallet, to, value)
      if (hash) await confirm(o, hash, read)
    },
  }

  while (!o.signal.aborted) {
    const [action] = weighted(wallet ? WITH_TRANSFERS : READS, random())
    await actions[action]()
    await pause(120 + random() * 250, o.signal)
  }
}

/** Prepares (nonce, gas, fees through the client), signs locally, and sends a transfer. */
async function send(
  o: WorkloadOptions,
  wallet: DemoWallet,
  to: Hex,
  value: bigint,
): Promise<Hex | undefined> {
  const op = o.tally.begin('transfer')
  let serialized: Hex
  let hash: Hex
  try {
    const request = await wallet.prepareTransactionRequest({ to, value })
    serialized = await wallet.signTransaction(request as never)
    hash = await wallet.sendRawTransaction({ serializedTransaction: serialized })
  } catch (error) {
    op.settle('failed', `transfer: ${describeError(error)}`)
    return undefined
  }
  const expected = keccak256(serialized)
  if (hash.toLowerCase() !== expected) {
    op.settle(
      'wrong',
      `eth_sendRawTransaction: answered hash ${hash}, the transaction is ${expected}`,
    )
    return undefined
  }
  op.settle('ok')
  return hash
}

/** Polls the client for the receipt, as a wallet does, until it comes or time runs out. */
async function confirm(
  o: WorkloadOptions,
  hash: Hex,
  read: (
    action: string,
    method: string,
    params: unknown[],
    check: (answer: Answer) => Promise<string | undefined> | undefined,
  ) => Promise<Answer | undefined>,
): Promise<void> {
  const op = o.tally.begin('confirmation', { waiting: false })
  const deadline = Date.now() + RECEIPT_TIMEOUT
  while (!o.signal.aborted && Date.now() < deadline) {
    const answer = await read('receipt', 'eth_getTransactionReceipt', [hash], ({ result }) =>
      result === null ? undefined : o.truth.checkReceipt(result, hash),
    )
    if (answer && answer.result !== null) return
    await pause(RECEIPT_POLL, o.signal)
  }
  if (!o.signal.aborted)
    op.settle(
      'failed',
      `transfer ${hash.slice(0, 10)}… not confirmed within ${RECEIPT_TIMEOUT / 1000} s`,
    )
}

function weighted<T>(items: readonly [T, number][], r: number): [T, number] {
  const total = items.reduce((n, [, w]) => n + w, 0)
  let x = r * total
  for (const item of items) {
    x -= item[1]
    if (x < 0) return item
  }
  return items[items.length - 1]!
}

/** mulberry32: small, fast, good enough to vary a workload reproducibly. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => {})
}

/** The first line of an error's short message, as viem and outlast both provide. */
export function describeError(error: unknown): string {
  const e = error as { shortMessage?: unknown; message?: unknown; details?: unknown }
  let text = typeof e?.shortMessage === 'string' ? e.shortMessage : String(e?.message ?? error)
  text = text.split('\n')[0]!.trim()
  if (typeof e?.details === 'string' && e.details && !text.includes(e.details))
    text = `${text.replace(/\.$/, '')}: ${e.details.split('\n')[0]!.trim()}`
  return text.length > 200 ? `${text.slice(0, 197)}…` : text
}
