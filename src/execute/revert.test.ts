import assert from 'node:assert/strict'
import { hexToBytes } from '@ethereumjs/util'
import { it } from 'vitest'
import { revertError } from './revert.ts'

const word = (n: number) => n.toString(16).padStart(64, '0')

it('Error(string) gives the reason, as nodes word it; other data only the data', () => {
  const nope = `0x08c379a0${word(32)}${word(4)}${'4e6f7065'.padEnd(64, '0')}` as const
  const e = revertError(hexToBytes(nope))
  assert.equal(e.code, 3)
  assert.equal(e.data, nope)
  assert.equal(e.deterministic, true)
  assert.match(e.shortMessage, /JSON-RPC error 3: execution reverted: Nope$/)
  const custom = `0xdeadbeef${word(1)}` as const
  assert.match(revertError(hexToBytes(custom)).shortMessage, /execution reverted$/)
  assert.equal(revertError(new Uint8Array(0)).data, '0x')
  // Truncated Error(string) data: no reason, no crash.
  assert.match(revertError(hexToBytes(`0x08c379a0${word(32)}`)).shortMessage, /reverted$/)
})
