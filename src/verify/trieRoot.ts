/**
 * The root of a Merkle-Patricia trie built from all its entries at once: pure, synchronous and
 * small (keccak and RLP from `ox`, no trie database), so that the core can check a block body
 * against its header without the `@ethereumjs/mpt` weight that proofs carry.
 */
import * as Hash from 'ox/Hash'
import * as Rlp from 'ox/Rlp'
import type { Hex } from '../shared/types.ts'

type Node = Uint8Array | Node[]
type Entry = { path: number[]; value: Uint8Array }

const EMPTY: Uint8Array = new Uint8Array()

/** keccak256 of the root node of the trie holding `entries` (distinct keys; the last value of a repeated key wins). */
export function trieRoot(entries: readonly (readonly [key: Uint8Array, value: Uint8Array])[]): Hex {
  const byKey = new Map<string, Entry>()
  for (const [key, value] of entries) {
    const path = nibbles(key)
    byKey.set(path.join(','), { path, value })
  }
  const all = [...byKey.values()].filter((e) => e.value.length > 0) // an empty value is no entry
  return Hash.keccak256(Rlp.fromBytes(all.length === 0 ? EMPTY : node(all, 0)), { as: 'Hex' })
}

/** The node holding `entries`, whose paths agree up to `depth`. */
function node(entries: readonly Entry[], depth: number): Node {
  const first = entries[0]!
  if (entries.length === 1) return [hexPrefix(first.path.slice(depth), true), first.value]
  let shared = 0
  while (
    entries.every(
      (e) =>
        e.path.length > depth + shared && e.path[depth + shared] === first.path[depth + shared],
    )
  )
    shared++
  if (shared > 0)
    return [
      hexPrefix(first.path.slice(depth, depth + shared), false),
      ref(branch(entries, depth + shared)),
    ]
  return branch(entries, depth)
}

/** A branch at `depth`: one slot per next nibble, then the value whose path ends here. */
function branch(entries: readonly Entry[], depth: number): Node[] {
  const slots: Entry[][] = Array.from({ length: 16 }, () => [])
  let value = EMPTY
  for (const e of entries) {
    if (e.path.length === depth) value = e.value
    else slots[e.path[depth]!]!.push(e)
  }
  return [...slots.map((s) => (s.length === 0 ? EMPTY : ref(node(s, depth + 1)))), value]
}

/** A child as its parent holds it: inline when its RLP is under 32 bytes, else its hash. */
function ref(child: Node): Node {
  const encoded = Rlp.fromBytes(child)
  return encoded.length < 32 ? child : Hash.keccak256(encoded)
}

/** Hex-prefix encoding of a path (Yellow Paper, appendix C): a flag nibble for leaf and odd length. */
function hexPrefix(path: readonly number[], leaf: boolean): Uint8Array {
  const odd = path.length % 2
  const flag = (leaf ? 2 : 0) + odd
  const all = odd ? [flag, ...path] : [flag, 0, ...path]
  const out = new Uint8Array(all.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = (all[2 * i]! << 4) | all[2 * i + 1]!
  return out
}

function nibbles(key: Uint8Array): number[] {
  const out: number[] = []
  for (const byte of key) out.push(byte >> 4, byte & 15)
  return out
}
