import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { readSocketMessage } from './nodeHeads.ts'

const note = (subscription: unknown, result: unknown) =>
  JSON.stringify({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription, result } })

describe("readSocketMessage: what the relay's node says on its WebSocket", () => {
  it('reads the answer to eth_subscribe: an id, or a refusal', () => {
    assert.deepEqual(readSocketMessage('{"jsonrpc":"2.0","id":1,"result":"0xab"}', undefined), {
      kind: 'subscribed',
      id: '0xab',
    })
    for (const answer of [
      '{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}',
      '{"jsonrpc":"2.0","id":1,"result":7}',
      '{"jsonrpc":"2.0","id":1,"result":null}',
    ])
      assert.deepEqual(readSocketMessage(answer, undefined), { kind: 'refused' })
  })

  it('takes a head of its own subscription only, and only an object', () => {
    assert.deepEqual(readSocketMessage(note('0xab', { number: '0x1' }), '0xab'), {
      kind: 'head',
      header: { number: '0x1' },
    })
    assert.equal(readSocketMessage(note('0xcd', { number: '0x1' }), '0xab'), undefined)
    assert.equal(readSocketMessage(note('0xab', { number: '0x1' }), undefined), undefined)
    for (const result of [null, 'head', 7, [{ number: '0x1' }]])
      assert.equal(readSocketMessage(note('0xab', result), '0xab'), undefined)
  })

  it('ignores what is not JSON, or not JSON-RPC', () => {
    for (const text of ['', 'not json', '{', 'null', '7', '"x"', '[]', '{"id":2,"result":"0xab"}'])
      assert.equal(readSocketMessage(text, '0xab'), undefined)
  })
})
