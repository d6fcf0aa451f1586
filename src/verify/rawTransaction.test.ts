import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import * as Hash from 'ox/Hash'
import * as Rlp from 'ox/Rlp'
import { parseGwei } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, it } from 'vitest'
import type { Hex } from '../shared/types.ts'
import { InvalidRawTransactionError, rawTransactionHash } from './rawTransaction.ts'

/** A signed blob transaction in every form; see test/adversarial/fixtures/README.md. */
const blob = JSON.parse(
  readFileSync(
    new URL('../../test/adversarial/fixtures/blobTransaction.json', import.meta.url),
    'utf8',
  ),
) as { hash: Hex; canonical: Hex; network: Hex; osaka: Hex }

type Item = Hex | Item[]
const decode = (raw: Hex) => Rlp.toHex(`0x${raw.slice(4)}`) as Item[]
const encode = (items: Item[]) => `0x03${Rlp.fromHex(items as Hex[]).slice(2)}` as Hex
const network = decode(blob.network)
const osaka = decode(blob.osaka)
const body = network[0] as Item[]

const account = privateKeyToAccount(
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
)
const fees = { maxFeePerGas: parseGwei('10'), maxPriorityFeePerGas: parseGwei('1') }

function refused(raw: Hex, reason: RegExp) {
  assert.throws(
    () => rawTransactionHash(raw),
    (e: unknown) =>
      e instanceof InvalidRawTransactionError && e.code === -32602 && reason.test(e.message),
  )
}

describe('rawTransactionHash', () => {
  it('a blob transaction in network form hashes as its body, not as the bytes sent', () => {
    assert.equal(rawTransactionHash(blob.network), blob.hash)
    assert.equal(blob.hash, Hash.keccak256(blob.canonical))
    assert.notEqual(blob.hash, Hash.keccak256(blob.network))
  })

  it('the EIP-7594 form (wrapper version 1, cell proofs) hashes as its body', () => {
    assert.equal(osaka.length, 5)
    assert.equal(rawTransactionHash(blob.osaka), blob.hash)
    assert.equal(rawTransactionHash(blob.osaka.toUpperCase().replace('0X', '0x') as Hex), blob.hash)
  })

  it('a canonical blob body (as in blocks) hashes as is', () => {
    assert.equal(rawTransactionHash(blob.canonical), blob.hash)
  })

  it('legacy, 0x01, 0x02 and 0x04 transactions are keccak of their bytes', async () => {
    const to = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
    const signed = [
      await account.signTransaction({ type: 'legacy', chainId: 1, to, gas: 21_000n, gasPrice: 1n }),
      await account.signTransaction({
        type: 'eip2930',
        chainId: 1,
        to,
        gas: 21_000n,
        gasPrice: 1n,
      }),
      await account.signTransaction({ type: 'eip1559', chainId: 1, to, gas: 21_000n, ...fees }),
      await account.signTransaction({
        type: 'eip7702',
        chainId: 1,
        to,
        gas: 50_000n,
        ...fees,
        authorizationList: [
          await account.signAuthorization({ chainId: 1, contractAddress: to, nonce: 1 }),
        ],
      }),
    ]
    assert.deepEqual(
      signed.map((raw) => raw.slice(0, 4)),
      ['0xf8', '0x01', '0x02', '0x04'],
    )
    for (const raw of signed) {
      assert.equal(rawTransactionHash(raw), Hash.keccak256(raw))
      // One byte more: a node may take it and mine it under the canonical bytes' hash.
      refused(`${raw}00`, /trailing bytes/)
    }
    refused('0x02ff', /transaction \(type 0x02\): its RLP does not decode/)
    refused('0x0280', /type 0x02\): after the type byte it must be an RLP list/)
    refused('0x02', /nothing follows the type byte/)
    refused('0x80', /must begin with a type byte/)
    refused('0xc2808000', /legacy transaction: .*trailing bytes/)
  })

  it('bad RLP is refused with a reason', () => {
    refused('0x03', /nothing follows the type byte/)
    refused('0x0301', /must be an RLP list/)
    refused('0x03f9ffff00', /does not decode/)
    refused(blob.network.slice(0, -2) as Hex, /does not decode/)
    refused(`${blob.network}00`, /trailing bytes/)
    // A list whose header claims fewer bytes than its items take.
    refused('0x03c281818080', /not canonical|overruns|trailing/)
    // A short list written with a long-form length.
    refused('0x03f80180', /does not decode/)
  })

  it('a wrapper whose first element is not a list is refused', () => {
    refused(encode(['0x01', ...network.slice(1)]), /first element .* must be the transaction body/)
    refused(encode(['0x01', ...osaka.slice(1)]), /first element .* must be the transaction body/)
  })

  it('wrong item counts are refused', () => {
    refused(encode(network.slice(0, 3)), /expected 14 fields .* got 3/)
    refused(encode([...network, []]), /expected 14 fields .* got 5|wrapper version/)
    refused(encode([...osaka, []]), /got 6/)
    refused(encode([body.slice(0, 13), ...network.slice(1)]), /body must have 14 fields/)
    refused(encode(body.slice(0, 13)), /expected 14 fields .* got 13/)
    const hashesAsString = body.map((f, i) => (i === 10 ? '0x01' : f))
    refused(encode([hashesAsString, ...network.slice(1)]), /body field 10 must be a list/)
    refused(encode(hashesAsString), /body field 10 must be a list/)
    const [, blobs, commitments, proofs] = network as [Item, Item[], Item[], Item[]]
    refused(encode([body, [...blobs, ...blobs], commitments, proofs]), /2 blobs .* expected 1/)
    refused(encode([body, blobs, [], proofs]), /0 commitments .* expected 1/)
    refused(encode([body, blobs, commitments, '0x']), /proofs must be a list/)
    refused(encode([body, blobs, commitments, ['0x01']]), /proofs must be 48 bytes/)
    const noHashes = body.map((f, i) => (i === 10 ? [] : f))
    refused(encode([noHashes, [], [], []]), /no blob versioned hashes/)
  })

  it('the EIP-7594 form needs wrapper version 1 and 128 cell proofs per blob', () => {
    const [, , blobs, commitments, cellProofs] = osaka as [Item, Item, Item[], Item[], Item[]]
    refused(encode([body, '0x02', blobs, commitments, cellProofs]), /unknown wrapper version/)
    refused(encode([body, [], blobs, commitments, cellProofs]), /unknown wrapper version/)
    const [, , , proofs] = network as [Item, Item, Item, Item[]]
    refused(encode([body, '0x01', blobs, commitments, proofs]), /1 cell proofs .* expected 128/)
  })

  it('deeply nested RLP is refused, not a crash', () => {
    refused(nested(200_000), /does not decode|must be/)
  })
})

/** `0x03` then `depth` lists each holding the next: the bytes written out without recursion. */
function nested(depth: number): Hex {
  const headers: string[] = []
  let length = 1 // the innermost empty list, 0xc0
  for (let i = 0; i < depth; i++) {
    const hex = length.toString(16)
    const size = hex.length % 2 ? `0${hex}` : hex
    const header =
      length <= 55
        ? (0xc0 + length).toString(16)
        : `${(0xf7 + size.length / 2).toString(16)}${size}`
    headers.push(header)
    length += header.length / 2
  }
  return `0x03${headers.reverse().join('')}c0` as Hex
}
