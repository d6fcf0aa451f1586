import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { inNodesWords, RpcResponseError } from './errors.ts'

describe('inNodesWords', () => {
  it("gives the caller the node's own words, code and data; the source stays its field (reviewOfSession40d 1)", () => {
    const e = new RpcResponseError('aws', {
      code: 3,
      message: 'execution reverted: nope',
      data: '0x08c379a0',
    })
    assert.equal(e.shortMessage, 'aws: JSON-RPC error 3: execution reverted: nope')
    assert.equal(inNodesWords(e), e)
    assert.equal(e.message, 'execution reverted: nope')
    assert.equal(e.shortMessage, 'execution reverted: nope')
    assert.deepEqual([e.code, e.data, e.source], [3, '0x08c379a0', 'aws'])
    assert.equal(e.reason, 'JSON-RPC error 3: execution reverted: nope')
    // Twice is once (callers sharing one request get the same error).
    assert.equal(inNodesWords(e).message, 'execution reverted: nope')
  })
})
