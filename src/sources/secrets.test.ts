import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { base64, scrubberFor } from './secrets.ts'

const url =
  'https://us%40er12:p%2Fss@rpc.example.io/v3/abcDEF123456/rpc/mainnet?apikey=Q%2BKEY9x&chain=base#h4sh12'
const headers = {
  'x-api-key': 'hdr9',
  authorization: `Basic ${base64('bob:hunter2!')}`,
  'x-token': 'Bearer tok_ABCDEFG',
  'content-type': 'application/json',
}

describe('scrubberFor', () => {
  const { text, data } = scrubberFor(url, headers)

  it('hides every configured secret, in every form a node may echo', () => {
    const echoes = [
      url,
      'abcDEF123456',
      'ABCDEF123456', // another case
      'Q+KEY9x',
      'Q%2BKEY9x',
      'Q%2bkey9x',
      'us@er12',
      'us%40er12',
      'p/ss',
      'p%2Fss',
      base64('us@er12:p/ss').replace(/=+$/, ''),
      'h4sh12',
      'hdr9',
      'tok_ABCDEFG',
      'hunter2!',
      base64('bob:hunter2!'),
      JSON.stringify('hunter2!"').slice(1, -1),
    ]
    for (const echo of echoes) {
      const out = text(`node says: ${echo}.`)
      assert.ok(!out.toLowerCase().includes(echo.toLowerCase()), out)
    }
    assert.equal(text(url), 'https://rpc.example.io/…')
  })

  it("takes out whole secrets only: guesses at a key's start come back as they were sent", () => {
    // Whoever makes a node echo their text (a proxy's client, a relay's peer) must not learn
    // which guesses start the key: before, `abcDEF…` and `abcDEF12` at the end were taken out.
    for (const guess of ['abcDEF…', 'abcDEF1234…', 'ends with abcdef1', 'abcDEF12345…', 'zzzzzz…'])
      assert.equal(text(guess), guess)
  })

  it('scrubs a key inside hex data, but leaves a short secret there alone', () => {
    // A key that starts with hex digits, echoed right after `0x…`, is still found whole.
    const key = 'abcDEF1234567890zzQQ'
    const keyed = scrubberFor(`https://rpc.example/v2/${key}`, { 'x-chain-id': 'k7q9' })
    assert.equal(keyed.text(`0x00${key}00`), '0x00…00')
    // `k7q9` is no hex; `be3f` as a short header value would sit in revert data by chance.
    const short = scrubberFor('https://rpc.example/', { 'x-tag': 'be3f' })
    assert.equal(short.text('0x00be3f00 and be3f'), '0x00be3f00 and …')
    assert.equal(keyed.text('k7q9 said'), '… said')
  })

  it('leaves plain words and short parts alone', () => {
    const message = 'header not found on mainnet (base, v3 rpc): application/json'
    assert.equal(text(message), message)
  })

  it('copies data with every string and key scrubbed, at any depth, without recursion', () => {
    const tree = JSON.parse('{"__proto__":"abcDEF123456","abcDEF123456":[1,null,"k hdr9"]}')
    const out = data(tree) as Record<string, unknown>
    assert.deepEqual(Object.entries(out), [
      ['__proto__', '…'],
      ['…', [1, null, 'k …']],
    ])
    assert.equal(Object.getPrototypeOf(out), Object.prototype)
    assert.equal(tree.abcDEF123456[2], 'k hdr9', 'the original is untouched')
    let deep: unknown = 'abcDEF123456'
    for (let i = 0; i < 200_000; i++) deep = [deep]
    let copy = data(deep)
    for (let i = 0; i < 200_000; i++) copy = (copy as unknown[])[0]
    assert.equal(copy, '…')
  })

  it('costs nothing for a URL without secrets', () => {
    const plain = scrubberFor('http://127.0.0.1:8545', {})
    const tree = { a: ['b'] }
    assert.equal(plain.data(tree), tree)
    assert.equal(plain.text('x'), 'x')
  })
})
