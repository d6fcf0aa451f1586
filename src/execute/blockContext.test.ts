import assert from 'node:assert/strict'
import { it } from 'vitest'
import { hardforkOf } from './blockContext.ts'
import { UnprovableError } from './unprovable.ts'

const at = (timestamp: number, extra: Record<string, unknown> = {}) => ({
  number: '0x1600000',
  timestamp: `0x${timestamp.toString(16)}`,
  baseFeePerGas: '0x1',
  difficulty: '0x0',
  ...extra,
})

it('mainnet and its testnets go by timestamp', () => {
  assert.equal(hardforkOf(at(1710338135), 1), 'cancun')
  assert.equal(hardforkOf(at(1746612311), 1), 'prague')
  assert.equal(hardforkOf(at(1764798551), 1), 'osaka')
  assert.equal(hardforkOf(at(1765290071), 1), 'bpo1')
})

it('other chains: the newest fork the header fields allow', () => {
  const full = { withdrawalsRoot: '0x', parentBeaconBlockRoot: '0x', requestsHash: '0x' }
  assert.equal(hardforkOf(at(1, full), 31337), 'osaka')
  assert.equal(hardforkOf(at(1, { ...full, requestsHash: undefined }), 31337), 'cancun')
  assert.equal(hardforkOf(at(1, { withdrawalsRoot: '0x' }), 10), 'shanghai')
  assert.equal(hardforkOf(at(1), 10), 'paris')
  assert.equal(hardforkOf(at(1, { difficulty: '0x2' }), 10), 'london')
  assert.throws(() => hardforkOf(at(1, { baseFeePerGas: undefined }), 10), UnprovableError)
})
