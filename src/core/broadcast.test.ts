/**
 * The broadcast's decisions when answers arrive in an order a loaded machine gives: the nodes
 * behind the sources are one chain, so the first to take a transaction mines it and the others
 * then say "nonce too low" (test/adversarial/reviewOfQuorum3FeesSends.test.ts saw this on CI).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { RpcResponseError } from '../shared/errors.ts'
import { keccak256 } from '../shared/keccak.ts'
import type { Source } from '../shared/types.ts'
import { broadcast } from './broadcast.ts'
import { createSourceState, type SourceState } from './sourceState.ts'

// A real signed transaction (EIP-2930, Ropsten, from ethers v5's tests): sends decode it first.
const RAW =
  '0x01f87c030d8465cf89a0825b689432162f3581e88a5f62e8a61892b42c46e2c18f7b8080d7d6940000000000000000000000000000000000000000c080a09659cba42376dbea1433cd6afc9c8ffa38dbeff5408ffdca0ebde6207281a3eca027efbab3e6ed30b088ce0a50533364778e101c9e52acf318daec131da64e7758'
const HASH = keccak256(RAW)

const state = (name: string): SourceState =>
  createSourceState({ config: { name, domain: name, kind: 'http' } } as unknown as Source)

const later = <T>(ms: number, value: () => T) =>
  new Promise<T>((resolve, reject) =>
    setTimeout(() => {
      try {
        resolve(value())
      } catch (error) {
        reject(error)
      }
    }, ms),
  )

const refuse = (source: string, message: string) => () => {
  throw new RpcResponseError(source, { code: -32000, message })
}

describe('broadcast', () => {
  it('an acceptance that arrives while the refusals are being checked is judged: sent', async () => {
    const [liar, aws, gcp] = ['liar', 'aws', 'gcp'].map(state) as [
      SourceState,
      SourceState,
      SourceState,
    ]
    // The liar refuses at once; aws (the transaction mined by gcp's copy) says "nonce too low";
    // gcp's acceptance arrives while the two refusals' domains are asked whether they hold it.
    const answers = new Map<SourceState, () => Promise<unknown>>([
      [liar, () => later(0, refuse('liar', 'insufficient funds for gas * price + value'))],
      [aws, () => later(5, refuse('aws', 'nonce too low'))],
      [gcp, () => later(20, () => HASH)],
    ])
    const sent = await broadcast(
      RAW,
      [liar, aws, gcp],
      (s) => answers.get(s)!(),
      Date.now() + 3_000,
      () => {},
      (s) => later(40, () => (s === liar ? null : { hash: HASH })),
    )
    assert.deepEqual(sent.accepted.sort(), ['aws', 'gcp'])
  })
})

describe('broadcast refused by two domains', () => {
  it('gives a silent third domain a few round trips, not the deadline (reviewOfSession40d 2)', async () => {
    const [aws, gcp, home] = ['aws', 'gcp', 'home'].map(state) as [
      SourceState,
      SourceState,
      SourceState,
    ]
    const answers = new Map<SourceState, () => Promise<unknown>>([
      [aws, () => later(0, refuse('aws', 'nonce too low'))],
      [gcp, () => later(5, refuse('gcp', 'nonce too low'))],
      [home, () => new Promise(() => {})], // blackholed
    ])
    const started = Date.now()
    const error = await broadcast(
      RAW,
      [aws, gcp, home],
      (s) => answers.get(s)!(),
      started + 10_000,
      () => {},
      () => later(5, () => null),
    ).then(
      () => undefined,
      (e: unknown) => e,
    )
    assert.ok(error instanceof RpcResponseError, String(error))
    assert.match(error.shortMessage, /nonce too low/)
    const ms = Date.now() - started
    assert.ok(ms >= 1_000 && ms < 3_000, `settled after ${ms} ms`)
  })
})
