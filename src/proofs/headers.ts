/**
 * Headers fetched by number from the source and chained by parent hash: a trusted header
 * vouches for every header below it that links to it, so a block range needs one anchor.
 */
import type { ProverCall } from '../core/prover.ts'
import { mapLimit } from '../shared/mapLimit.ts'
import { computeBlockHash, type RpcBlockHeader } from '../verify/block.ts'
import { mismatch } from '../verify/errors.ts'
import { sameHex } from '../verify/fields.ts'
import { toQuantity } from './blockTag.ts'

/** A header whose `hash` was checked against its fields. */
export type Header = RpcBlockHeader & { hash: `0x${string}` }

/**
 * Block `n`'s header from the source, checked to hash to its `hash` and to be block `n`
 * (otherwise a `VerificationError`); undefined when the source does not have it (`null`).
 */
export async function fetchHeader(call: ProverCall, n: number): Promise<Header | undefined> {
  const block = (await call('eth_getBlockByNumber', [toQuantity(n), false])) as Header | null
  if (block === null) return undefined
  const hash = computeBlockHash(block)
  if (!sameHex(block.hash, hash))
    mismatch(`block ${n}.hash`, 'is not the hash of the header', block.hash, hash)
  if (Number.parseInt(block.number, 16) !== n)
    mismatch(`block ${n}.number`, 'is not the block asked for', block.number, n)
  return block
}

/**
 * The headers of blocks `from` … `top.number - 1` (ascending), fetched with at most
 * `concurrency` requests in flight, each checked by `fetchHeader` and linked to the next by
 * `parentHash`, the last to `top`. Undefined when the source lacks one or they do not link:
 * it is on another chain (lagging, forked, mid-reorg), which proves nothing either way.
 */
export async function headersBelow(
  call: ProverCall,
  from: number,
  top: Header,
  concurrency: number,
): Promise<Header[] | undefined> {
  const topNumber = Number.parseInt(top.number, 16)
  const numbers = Array.from({ length: Math.max(0, topNumber - from) }, (_, i) => from + i)
  const headers = await mapLimit(numbers, concurrency, (n) => fetchHeader(call, n))
  const chain = [...headers, top]
  for (let i = 0; i < headers.length; i++) {
    const header = chain[i]
    if (!header || !sameHex(chain[i + 1]!.parentHash, header.hash)) return undefined
  }
  return headers as Header[]
}
