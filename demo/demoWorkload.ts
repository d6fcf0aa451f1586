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
import { describeError } from './describeError.ts'
import { seededRandom, weighted } from './random.ts'
import type { ClientTally, Operation } from './tally.ts'
import type { Truth, Verdict, Window } from './truth.ts'

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

type Action = 'balance' | 'blockNumber' | 'call' | 'block' | 'transfer'

const READS: [Action, number][] = [
  ['balance', 35],
  ['blockNumber', 20],
  ['call', 25],
  ['block', 20],
]
const WITH_TRANSFERS: [Action, number][] = [...READS, ['transfer', 12]]

/**
 * Runs every user until `signal` aborts, then waits for the last answers to be checked (the
 * checks wait for the node to settle, so they finish a couple of blocks after the answers).
 */
export async function runWorkload(o: WorkloadOptions): Promise<void> {
  const checks = new Set<Promise<void>>()
  /** Checks an answer in the background and counts the verdict when it comes. */
  const judge = (op: Operation, what: string, verdict: Promise<Verdict>, how?: string) => {
    const done = verdict.then(
      ({ outcome, detail }) =>
        op.settle(outcome, detail && `${what}: ${detail}${how ? ` [${how}]` : ''}`),
      (error: unknown) => {
        // On Ctrl-C the node may be gone before the check ends: not a demo failure.
        if (!o.signal.aborted) throw error
      },
    )
    checks.add(done)
    done.then(
      () => checks.delete(done),
      () => {},
    )
  }
  await Promise.all(o.users.map((user) => runUser(o, user, judge)))
  await Promise.all(checks)
}

type Judge = (op: Operation, what: string, verdict: Promise<Verdict>, how?: string) => void

async function runUser(o: WorkloadOptions, user: WorkloadUser, judge: Judge): Promise<void> {
  const random = seededRandom(user.seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const wallet = user.signer ? o.client.wallet(user.signer) : undefined
  let highestBlock = -1

  /**
   * Sends one read and times it; hands the answer and the node's head before and after it to
   * `check`, whose verdict is counted when it comes. Resolves with the answer.
   */
  const read = async (
    action: string,
    method: string,
    params: unknown[],
    check: (answer: Answer, window: Window) => Promise<Verdict>,
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
    judge(op, method, check(answer, { from, to: await o.truth.head() }), answer.how)
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
      read('blockNumber', 'eth_blockNumber', [], async ({ result }, window) => {
        const n = Number(result)
        // Checked before any await, so in the order the answers came.
        if (n < highestBlock)
          return { outcome: 'wrong', detail: `went back from #${highestBlock} to #${n}` }
        highestBlock = n
        return o.truth.checkBlockNumber(n, window)
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
      const me = wallet.account.address.toLowerCase()
      const to = pick(o.accounts.filter((a) => a.toLowerCase() !== me))
      const value = parseEther(String(0.001 + Math.floor(random() * 10) / 1000))
      const hash = await send(o, wallet, to, value)
      if (hash) await confirm(o, hash, read)
    },
  }

  while (!o.signal.aborted) {
    try {
      await actions[weighted(wallet ? WITH_TRANSFERS : READS, random())]()
    } catch (error) {
      // On Ctrl-C the node may be gone before the user notices the stop: not a demo failure.
      if (o.signal.aborted) return
      throw error
    }
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
    const detail = `answered hash ${hash}, the signed transaction's is ${expected}`
    op.settle('wrong', `eth_sendRawTransaction: ${detail}`)
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
    check: (answer: Answer) => Promise<Verdict>,
  ) => Promise<Answer | undefined>,
): Promise<void> {
  const op = o.tally.begin('confirmation', { waiting: false })
  const deadline = Date.now() + RECEIPT_TIMEOUT
  while (!o.signal.aborted && Date.now() < deadline) {
    const answer = await read('receipt', 'eth_getTransactionReceipt', [hash], async ({ result }) =>
      result === null ? { outcome: 'ok' } : o.truth.checkReceipt(result, hash),
    )
    if (answer && answer.result !== null) return
    await pause(RECEIPT_POLL, o.signal)
  }
  const detail = `transfer ${hash.slice(0, 10)}… not confirmed within ${RECEIPT_TIMEOUT / 1000} s`
  if (!o.signal.aborted) op.settle('failed', detail)
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => {})
}
