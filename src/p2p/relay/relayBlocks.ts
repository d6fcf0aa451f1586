/**
 * The relay as an IPFS peer (`outlast relay --ipfs`, `--pin <file.car>`): bitswap on the relay's
 * own libp2p node, from a blockstore that holds
 * - its node's Ethereum headers: an eth-block CID (0x90, keccak-256) is a block hash, read with
 *   `eth_getBlockByHash`, re-encoded and checked against the hash (headerBlocks.ts) before it is
 *   served; a few checked headers are kept, since bitswap asks `has` before `get`;
 * - the blocks of the CAR files its operator pins, each hashed against its CID when loaded: a
 *   file with one bad block stops the relay from starting.
 * Nothing else: the store refuses puts, so the relay never keeps what peers send. createRelay
 * imports this file only when IPFS is on: a relay without it never loads Helia.
 */
import { readFile } from 'node:fs/promises'
import type { Libp2p } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { ETH_BLOCK_CODEC, hashOfCid, KECCAK_256 } from '../../ipfs/ethBlock.ts'
import { type HeliaBlockstore, startHelia } from '../../ipfs/heliaNode.ts'
import { assertVerifiable, matches } from '../../ipfs/verify.ts'
import { ConfigError } from '../../shared/errors.ts'
import { type BlockByHash, headerBytes } from './headerBlocks.ts'

/** The largest pinned block: what IPFS peers accept (Helia and the gateway client cap at 2 MiB). */
export const MAX_PIN_BLOCK_BYTES = 2 * 1024 * 1024

/** Blocks of the pinned CARs, by multihash (as IPFS blockstores key them). */
export type Pins = {
  roots: CID[]
  blocks: Map<string, { cid: CID; bytes: Uint8Array }>
  bytes: number
}

/** Served over bitswap since start. */
export type RelayIpfsStatus = {
  /** Roots of the pinned CARs. */
  roots: string[]
  /** Pinned blocks held, and their bytes. */
  blocks: number
  bytes: number
  /** Blocks sent to peers over bitswap: pinned ones, and headers from the node. */
  served: { pinned: number; headers: number }
  /** Wants for blocks the relay does not have (it says so when the peer asked to be told). */
  missing: number
}

export type RelayIpfs = {
  status(): RelayIpfsStatus
  stop(): Promise<void>
}

const keyOf = (cid: CID): string => Buffer.from(cid.multihash.bytes).toString('base64')

/**
 * Reads CAR files (v1; @ipld/car reads v2 too) and hashes every block against its CID. Throws a
 * `ConfigError` naming the file (and the CID) for an unreadable file, a block that does not
 * match its CID, a hash function that cannot be checked, or a block over 2 MiB.
 */
export async function loadPins(files: readonly string[]): Promise<Pins> {
  const { CarBlockIterator } = await loadCar()
  const pins: Pins = { roots: [], blocks: new Map(), bytes: 0 }
  for (const file of files) {
    const bad = (what: string) => new ConfigError(`relay: --pin ${file}: ${what}`)
    let data: Uint8Array
    try {
      data = await readFile(file)
    } catch (error) {
      throw bad(`cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
    }
    let blocks: Awaited<ReturnType<typeof CarBlockIterator.fromBytes>>
    try {
      blocks = await CarBlockIterator.fromBytes(data)
      pins.roots.push(...(await blocks.getRoots()))
    } catch (error) {
      throw bad(`not a CAR file (${(error as Error).message})`)
    }
    let count = 0
    try {
      for await (const { cid, bytes } of blocks) {
        count++
        try {
          assertVerifiable(cid)
        } catch {
          throw bad(
            `block ${cid} uses hash function 0x${cid.multihash.code.toString(16)}, which cannot be checked here`,
          )
        }
        if (bytes.byteLength > MAX_PIN_BLOCK_BYTES)
          throw bad(`block ${cid} has ${bytes.byteLength} bytes, more than peers accept (2 MiB)`)
        if (!(await matches(cid, bytes)))
          throw bad(`block ${cid} does not match its CID (its bytes hash to something else)`)
        const key = keyOf(cid)
        if (!pins.blocks.has(key)) pins.bytes += bytes.byteLength
        pins.blocks.set(key, { cid, bytes })
      }
    } catch (error) {
      if (error instanceof ConfigError) throw error
      throw bad(`unreadable after ${count} blocks (${(error as Error).message})`)
    }
    if (count === 0) throw bad('it holds no blocks')
  }
  return pins
}

/** A NotFoundError as blockstores throw it (bitswap tells "not found" from other failures by name). */
const notFound = (cid: CID) =>
  Object.assign(new Error(`${cid} is not held here`), { name: 'NotFoundError' })
const refuse = () => {
  throw new Error("the relay's blockstore is read-only: it serves its node's headers and pins")
}

/** The eth-block CID's block hash, or undefined for any other CID. */
function headerHash(cid: CID): string | undefined {
  if (cid.code !== ETH_BLOCK_CODEC || cid.multihash.code !== KECCAK_256) return undefined
  try {
    return hashOfCid(cid)
  } catch {
    return undefined
  }
}

export type RelayBlockstoreOptions = {
  pins: Pins
  blockByHash: BlockByHash
  /** Checked headers kept (bitswap asks `has`, then `get`). @default 256 */
  cacheSize?: number
  /** Node reads at once; a want past it is answered "not here". @default 64 */
  maxInFlight?: number
}

/** The blockstore bitswap serves from (see the file's comment). */
export function relayBlockstore(o: RelayBlockstoreOptions) {
  const cacheSize = o.cacheSize ?? 256
  const maxInFlight = o.maxInFlight ?? 64
  const cache = new Map<string, Uint8Array>()
  const reading = new Map<string, Promise<Uint8Array | undefined>>()
  const counts = { pinned: 0, headers: 0, missing: 0 }

  /** The checked header of `hash`, from the cache or the node; undefined when the node has none. */
  const header = (hash: string): Promise<Uint8Array | undefined> => {
    const kept = cache.get(hash)
    if (kept) {
      cache.delete(hash)
      cache.set(hash, kept)
      return Promise.resolve(kept)
    }
    let read = reading.get(hash)
    if (read) return read
    if (reading.size >= maxInFlight) return Promise.resolve(undefined)
    read = headerBytes(hash, o.blockByHash)
      .then((answer) => {
        if (!('bytes' in answer)) return undefined
        cache.set(hash, answer.bytes)
        if (cache.size > cacheSize) cache.delete(cache.keys().next().value!)
        return answer.bytes
      })
      .finally(() => reading.delete(hash))
    reading.set(hash, read)
    return read
  }

  const find = async (cid: CID): Promise<Uint8Array | undefined> => {
    const pinned = o.pins.blocks.get(keyOf(cid))
    if (pinned) return pinned.bytes
    const hash = headerHash(cid)
    return hash ? header(hash) : undefined
  }

  const store: HeliaBlockstore = {
    async has(cid) {
      const found = (await find(cid)) !== undefined
      if (!found) counts.missing++
      return found
    },
    async *get(cid) {
      const bytes = await find(cid)
      if (!bytes) throw notFound(cid)
      if (o.pins.blocks.has(keyOf(cid))) counts.pinned++
      else counts.headers++
      yield bytes
    },
    put: async () => refuse(),
    // biome-ignore lint/correctness/useYield: refuses before yielding anything
    putMany: async function* () {
      refuse()
    },
    async *getMany(source) {
      for await (const cid of source as AsyncIterable<CID>) {
        const bytes = await find(cid)
        if (!bytes) throw notFound(cid)
        yield { cid, bytes }
      }
    },
    async *getAll() {
      for (const { cid, bytes } of o.pins.blocks.values()) yield { cid, bytes }
    },
    delete: async () => refuse(),
    // biome-ignore lint/correctness/useYield: refuses before yielding anything
    deleteMany: async function* () {
      refuse()
    },
  }
  return { store, counts }
}

/**
 * Bitswap on the relay's node (Helia, with nothing that reaches a public host: heliaNode.ts),
 * serving `relayBlockstore`. The node is the relay's: stopping this leaves it running.
 */
export async function startRelayIpfs(
  libp2p: Libp2p,
  pins: Pins,
  blockByHash: BlockByHash,
): Promise<RelayIpfs> {
  const { store, counts } = relayBlockstore({ pins, blockByHash })
  const helia = await startHelia({ libp2p, blockstore: store, name: 'relay' })
  const roots = pins.roots.map(String)
  return {
    status: () => ({
      roots,
      blocks: pins.blocks.size,
      bytes: pins.bytes,
      served: { pinned: counts.pinned, headers: counts.headers },
      missing: counts.missing,
    }),
    stop: helia.stop,
  }
}

async function loadCar() {
  try {
    return await import('@ipld/car/iterator')
  } catch {
    throw new ConfigError('relay: --pin reads CAR files with @ipld/car: npm install @ipld/car')
  }
}
