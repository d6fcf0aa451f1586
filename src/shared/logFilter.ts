/**
 * Which log filters nodes read (geth's `eth_getLogs`, `eth_newFilter`, `eth_subscribe('logs')`):
 * an address or a list of 20-byte addresses, and at most 4 topic positions, each `null`, one
 * 32-byte topic or a list of them (which may hold `null`). Another is the caller's error.
 */
const ADDRESS = /^0x[0-9a-fA-F]{40}$/
const TOPIC = /^0x[0-9a-fA-F]{64}$/

export function readableFilter({ address, topics }: { address?: unknown; topics?: unknown }) {
  const addresses = address == null ? [] : [address].flat()
  const positions = topics == null ? [] : topics
  return (
    addresses.every((a) => typeof a === 'string' && ADDRESS.test(a)) &&
    Array.isArray(positions) &&
    positions.length <= 4 &&
    positions.flat().every((t) => t == null || (typeof t === 'string' && TOPIC.test(t)))
  )
}

/**
 * Whether a filter's bounds run backwards: `fromBlock` past `toBlock`, both `0x` numbers. Tags are
 * not compared: `earliest` read as hex was block 234, `finalized` 15 (reviewOfSession39g).
 */
export function runsBackwards({ fromBlock, toBlock }: { fromBlock?: unknown; toBlock?: unknown }) {
  const n = (b: unknown) => (typeof b === 'string' && b.startsWith('0x') ? BigInt(b) : undefined)
  const [from, to] = [n(fromBlock), n(toBlock)]
  return from !== undefined && to !== undefined && from > to
}
