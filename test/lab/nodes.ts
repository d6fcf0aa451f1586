/**
 * Real anvil nodes that disagree with the lab's main node about the head: one that stopped
 * following it, one on a fork of it. Point a proxy at them with `proxy.setUpstream(node.url)`.
 *
 * How anvil's fork mode behaves (anvil 1.7, checked by hand and in lab.test.ts):
 * - Chain id: a fork takes the remote's chain id, unless `--chain-id` is given, which wins.
 *   `startAnvil` always passes one, so these helpers pass main's own.
 * - Blocks up to and including the fork block are main's: same numbers, same hashes. The fork
 *   fetches them (and old state) from main on demand, so main must outlive it: stop these first.
 *   Blocks above the fork block that main mined later are `null` on the fork.
 * - Blocks the fork mines itself have a zero `stateRoot` and a random `difficulty` (the
 *   prevrandao) in their headers, so their hashes differ from main's even for empty blocks
 *   mined in the same second. We also give the fork its own coinbase, so divergence does not
 *   rest on that quirk. (Consequence: a forked node's headers cannot anchor Merkle proofs.)
 * - Fork mode caches fetched state in `~/.foundry/cache/rpc/<chain>/<block>/storage.json`
 *   (chain 31337 is filed as `anvil-hardhat`), shared by every run on the machine. We pass
 *   `--no-storage-caching` so labs never read or leave that cache.
 * - With `--no-mining` a fork never moves: its head stays the fork block, whatever main does.
 */
import { type Anvil, startAnvil } from './anvil.ts'

/** Coinbase for blocks a forked node mines (main mines with the zero address). */
const forkCoinbase = '0x00000000000000000000000000000000000f0f0f'

async function forkPoint(main: Anvil) {
  const [chainId, head] = await Promise.all([
    main.rpc<string>('eth_chainId'),
    main.rpc<string>('eth_blockNumber'),
  ])
  return { chainId: Number(chainId), head: Number(head) }
}

/** A node with main's history up to its current block that then stops following it. */
export async function startLaggingNode(main: Anvil): Promise<Anvil> {
  const { chainId, head } = await forkPoint(main)
  return startAnvil({
    forkUrl: main.url,
    forkBlockNumber: head,
    chainId,
    noMining: true,
    args: ['--no-storage-caching'],
  })
}

export type ForkedNodeOptions = {
  /** How many of main's latest blocks the fork does not share. @default 2 */
  depth?: number
  /** Seconds between the fork's own blocks; 0 stops it after catching up. @default 1 */
  blockTime?: number
  /** Mine `depth` blocks at once on start, so the fork stands at main's height. @default true */
  catchUp?: boolean
}

/**
 * A node forked from main at head − depth that mines its own blocks from there: same chain
 * id, same history up to head − depth, different blocks (and hashes) above it.
 */
export async function startForkedNode(
  main: Anvil,
  { depth = 2, blockTime = 1, catchUp = true }: ForkedNodeOptions = {},
): Promise<Anvil> {
  const { chainId, head } = await forkPoint(main)
  if (depth < 1 || head < depth)
    throw new Error(`startForkedNode: main is at block ${head}, cannot fork ${depth} below it`)
  const node = await startAnvil({
    forkUrl: main.url,
    forkBlockNumber: head - depth,
    chainId,
    noMining: true,
    args: ['--no-storage-caching'],
  })
  try {
    await node.rpc('anvil_setCoinbase', [forkCoinbase])
    if (catchUp) await node.rpc('anvil_mine', [`0x${depth.toString(16)}`])
    if (blockTime > 0) await node.rpc('evm_setIntervalMining', [blockTime])
  } catch (error) {
    await node.stop()
    throw error
  }
  return node
}
