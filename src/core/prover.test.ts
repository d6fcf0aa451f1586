import assert from 'node:assert/strict'
import { it } from 'vitest'
import { combineProvers, type Prover, type ProverContext } from './prover.ts'

const prover = (name: string, methods: string[], state: string[], rounds?: number): Prover => ({
  methods: new Set(methods),
  stateMethods: new Set(state),
  ...(rounds === undefined ? {} : { roundTrips: () => rounds }),
  answer: async (method) => `${name}:${method}`,
})
const ctx = {} as ProverContext

it('combined provers: each method goes to the first prover that lists it', async () => {
  const a = prover('a', ['eth_getBalance', 'eth_call'], ['eth_getBalance'])
  const b = prover('b', ['eth_call', 'eth_estimateGas'], ['eth_call', 'eth_estimateGas'], 2)
  const both = combineProvers([a, b])
  assert.deepEqual([...both.methods].sort(), ['eth_call', 'eth_estimateGas', 'eth_getBalance'])
  // eth_call belongs to `a`, which does not call it a state method.
  assert.deepEqual([...both.stateMethods].sort(), ['eth_estimateGas', 'eth_getBalance'])
  assert.equal(await both.answer('eth_call', [], ctx), 'a:eth_call')
  assert.equal(await both.answer('eth_estimateGas', [], ctx), 'b:eth_estimateGas')
  assert.equal(await both.answer('eth_getLogs', [], ctx), undefined)
  assert.equal(both.roundTrips?.('eth_estimateGas'), 2)
  assert.equal(both.roundTrips?.('eth_getBalance'), 1)
})
