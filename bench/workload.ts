/**
 * The bench workload: what a wallet reads (balances, nonces, a contract call, blocks by hash and
 * by number, the block number), the truth for each read taken straight from the lab's anvil, and
 * the rule that says whether an answer was right.
 *
 * The chain moves: anvil mines a block a second and `startChurn` sends a transaction every
 * second from dev account 3 to dev account 2, so balances and nonces change from block to block
 * and a source that lags shows it in its answers, not only in its block number.
 */
import { devAccounts, type Lab } from '../test/lab/index.ts'
import { ANSWER_WORD } from '../test/workload.ts'

export type Hex = `0x${string}`

export type Op =
  | { kind: 'balance'; address: Hex }
  | { kind: 'nonce'; address: Hex }
  | { kind: 'call'; to: Hex }
  | { kind: 'blockByHash'; hash: Hex; truth: string }
  | { kind: 'blockByNumber'; number: number; truth: string }
  | { kind: 'blockNumber' }

export type OpKind = Op['kind']

/** Blocks an answer about `latest` may trail the node's head and still count as right. */
export const HEAD_SLACK = 2

const hex = (n: number) => `0x${n.toString(16)}`

export const blockNumberOf = async (lab: Lab) =>
  Number(await lab.anvil.rpc<string>('eth_blockNumber'))

type RpcBlock = { hash: string; stateRoot: string } | null

/** A block as every client reports it: hash and state root (a lying source alters the root). */
export const blockAnswer = (block: { hash?: string | null; stateRoot?: string | null } | null) =>
  block ? `${String(block.hash).toLowerCase()}/${String(block.stateRoot).toLowerCase()}` : 'null'

/** The i-th request of the workload, built from the node's state at block `head`. */
export async function nextOp(lab: Lab, contract: Hex, i: number, head: number): Promise<Op> {
  const who = devAccounts[(i >> 1) % devAccounts.length]!.address as Hex
  const recent = Math.max(0, head - ((i >> 2) % 3))
  switch (i % 6) {
    case 0:
      return { kind: 'balance', address: who }
    case 1:
      return { kind: 'nonce', address: who }
    case 2:
      return { kind: 'call', to: contract }
    case 3: {
      const block = await lab.anvil.rpc<RpcBlock>('eth_getBlockByNumber', [hex(recent), false])
      return { kind: 'blockByHash', hash: block!.hash as Hex, truth: blockAnswer(block) }
    }
    case 4: {
      const block = await lab.anvil.rpc<RpcBlock>('eth_getBlockByNumber', [hex(recent), false])
      return { kind: 'blockByNumber', number: recent, truth: blockAnswer(block) }
    }
    default:
      return { kind: 'blockNumber' }
  }
}

/** The JSON-RPC request behind an op, for clients that speak raw JSON-RPC. */
export function rpcOf(op: Op): { method: string; params: unknown[] } {
  switch (op.kind) {
    case 'balance':
      return { method: 'eth_getBalance', params: [op.address, 'latest'] }
    case 'nonce':
      return { method: 'eth_getTransactionCount', params: [op.address, 'latest'] }
    case 'call':
      return { method: 'eth_call', params: [{ to: op.to, data: '0x' }, 'latest'] }
    case 'blockByHash':
      return { method: 'eth_getBlockByHash', params: [op.hash, false] }
    case 'blockByNumber':
      return { method: 'eth_getBlockByNumber', params: [hex(op.number), false] }
    case 'blockNumber':
      return { method: 'eth_blockNumber', params: [] }
  }
}

/** A raw JSON-RPC result in the form `isRight` compares: decimal numbers, lower-case hex. */
export function normalize(op: Op, raw: unknown): string {
  switch (op.kind) {
    case 'balance':
    case 'nonce':
    case 'blockNumber':
      return BigInt(raw as string).toString()
    case 'call':
      return String(raw).toLowerCase()
    case 'blockByHash':
    case 'blockByNumber':
      return blockAnswer(raw as RpcBlock)
  }
}

/**
 * Whether `answer` is right: a state read must equal the node's state at some block from
 * `HEAD_SLACK` blocks before `before` (the head when the request started) to `after` (the head
 * when it ended) or the block being mined then; a block must be the node's block, with its state
 * root; the block number must lie between `before - HEAD_SLACK` and `after`.
 */
export async function isRight(
  lab: Lab,
  op: Op,
  answer: string,
  before: number,
  after: number,
): Promise<boolean> {
  const from = Math.max(0, before - HEAD_SLACK)
  switch (op.kind) {
    case 'call':
      return answer === ANSWER_WORD
    case 'blockByHash':
    case 'blockByNumber':
      return answer === op.truth
    case 'blockNumber': {
      const n = Number(answer)
      return n >= from && n <= after
    }
    case 'balance':
    case 'nonce': {
      const method = op.kind === 'balance' ? 'eth_getBalance' : 'eth_getTransactionCount'
      // anvil may serve the state of the block it is mining a moment before its block number
      // moves: allow that block too, if it exists by now.
      for (let n = after + 1; n >= from; n--) {
        const truth = await lab.anvil.rpc<string>(method, [op.address, hex(n)]).catch(() => null)
        if (truth !== null && BigInt(truth).toString() === answer) return true
      }
      return false
    }
  }
}

/** Sends 1 wei from dev account 3 to dev account 2 every second, until stopped. */
export function startChurn(lab: Lab): () => void {
  const from = devAccounts[3].address
  const to = devAccounts[2].address
  const timer = setInterval(() => {
    lab.anvil.rpc('eth_sendTransaction', [{ from, to, value: '0x1' }]).catch(() => {})
  }, 1_000)
  return () => clearInterval(timer)
}
