import type { Link } from './chainFollower.ts'

/** A log as JSON-RPC gives it. */
export type RpcLog = {
  address: string
  topics: string[]
  data: string
  blockNumber: string
  blockHash: string
  transactionHash: string
  transactionIndex: string
  logIndex: string
  removed?: boolean
}

/** The address and topics part of an `eth_subscribe('logs')` / `eth_newFilter` filter. */
export type LogFilter = {
  address?: string | string[]
  topics?: (string | string[] | null)[]
}

/** Blocks per `eth_getLogs` range when backfilling. */
const RANGE = 100

const hex = (n: number) => `0x${n.toString(16)}`

/**
 * The matching logs of `blocks` (consecutive, oldest first), fetched in bounded ranges and
 * grouped by block hash. A log from a block that is not in `blocks` means the chain moved
 * under the query: those blocks are fetched again by hash.
 */
export async function logsOf(
  blocks: readonly Link[],
  filter: LogFilter,
  getLogs: (filter: object) => Promise<RpcLog[]>,
): Promise<Map<string, RpcLog[]>> {
  const byBlock = new Map<string, RpcLog[]>(blocks.map((b) => [b.hash, []]))
  const base = {
    ...(filter.address ? { address: filter.address } : {}),
    ...(filter.topics ? { topics: filter.topics } : {}),
  }
  const stale = new Set<Link>()
  if (blocks.length === 1) {
    const only = blocks[0]!
    byBlock.set(only.hash, await getLogs({ ...base, blockHash: only.hash }))
    return byBlock
  }
  for (let i = 0; i < blocks.length; i += RANGE) {
    const slice = blocks.slice(i, i + RANGE)
    const logs = await getLogs({
      ...base,
      fromBlock: hex(slice[0]!.number),
      toBlock: hex(slice.at(-1)!.number),
    })
    for (const log of logs) {
      const list = byBlock.get(log.blockHash.toLowerCase())
      if (list) list.push(log)
      else for (const b of slice) if (hex(b.number) === log.blockNumber.toLowerCase()) stale.add(b)
    }
  }
  for (const b of stale) byBlock.set(b.hash, await getLogs({ ...base, blockHash: b.hash }))
  return byBlock
}

/** Orders logs as a node delivers them. */
export function byLogIndex(a: RpcLog, b: RpcLog): number {
  return Number.parseInt(a.logIndex, 16) - Number.parseInt(b.logIndex, 16)
}
