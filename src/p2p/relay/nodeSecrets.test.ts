import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { nodeSecrets } from './nodeSecrets.ts'

const KEY = 'Qm9+xZ3kLp7Rt2Vw8Yn4Bc6D'
const scrub = nodeSecrets([`https://rpc.example/v1/${KEY}`])

describe('nodeSecrets', () => {
  it('scrubs a key the node spelled with escapes (\\u002B, \\/), as the peer would read it', () => {
    for (const spelled of [KEY.replace('+', '\\u002B'), KEY.replace('+', '\\u002b')]) {
      const text = `{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"no route \\/v1\\/${spelled}"}}`
      const read = JSON.parse(scrub(text)) as { error: { message: string } }
      assert.equal(read.error.message, 'no route /v1/…')
    }
  })

  it('changes nothing else: numbers, quotes, backslashes, control characters, lone surrogates', () => {
    const text =
      '{"jsonrpc":"2.0","id":1152921504606846977,"error":{"a":"\\"q\\" \\\\u002B \\n \\u0001 \\ud83d \\ude00","n":1e400}}'
    assert.equal(scrub(text), text)
    const exact = '{"jsonrpc":"2.0","id":7,"result":"0xab"}'
    assert.equal(scrub(exact), exact)
  })

  it('spells out what it may where it scrubs; sends a text with nothing to scrub as it came', () => {
    const text = '{"id":1,"error":{"message":"\\u0041\\/b\\u00e9\\uD83D\\uDD11"}}'
    assert.equal(scrub(text), text)
    const keyed = `{"id":1,"error":{"message":"\\u0041 ${KEY.replace('+', '\\u002b')} \\uD83D\\uDD11"}}`
    assert.equal(scrub(keyed), '{"id":1,"error":{"message":"A … 🔑"}}')
  })

  it('leaves results as the node wrote them, even holding a secret-like run', () => {
    const keyed = nodeSecrets(['https://rpc.example/v1/abcdef12'])
    const result = '{"jsonrpc":"2.0","id":1,"result":"0x00abcdef1200"}'
    assert.equal(keyed(result), result)
    const error = '{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"bad /v1/abcdef12"}}'
    assert.equal(
      keyed(error),
      '{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"bad /v1/…"}}',
    )
  })
})
