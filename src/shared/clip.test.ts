import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { clip } from './clip.ts'

describe('clip', () => {
  it('leaves text within the limit as it is', () => {
    assert.equal(clip('header not found', 16), 'header not found')
  })

  it('keeps at most 4 characters of the word the cut falls in', () => {
    const key = '7d3e9a41c0b25f86e1a4d9c37b20f5e8'
    assert.equal(clip(`answered 0x${key}${key}`, 40), 'answered 0x7d…')
    assert.equal(clip(`url "https://rpc.example/v3/${key}"`, 40), 'url "htt…')
    assert.equal(clip(`value = 0X5469${'ab'.repeat(40)}`, 30), 'value = 0X54…')
    // A password may hold a comma or a quote: only white space ends a word.
    assert.equal(clip(`= ${'x'.repeat(50)}q7rt2mx9pl4vb8nk,z3cv6bn1mq8we5rt`, 75), '= xxxx…')
  })

  it('a cut between two words leaves the last whole word', () => {
    assert.equal(clip('execution reverted: insufficient balance', 32), 'execution reverted: insu…')
    assert.equal(clip('execution reverted: insufficient balance', 20), 'execution reverted:…')
  })

  it('is never longer than the limit, and never depends on what the text spells', () => {
    for (const max of [2, 5, 17, 80])
      for (const text of ['x'.repeat(200), `a ${'b'.repeat(100)}`, ' '.repeat(90)])
        assert.ok(clip(text, max).length <= max, `${max}: ${clip(text, max)}`)
    // Two texts differing only inside the cut word are cut alike.
    assert.equal(clip('guess abcdefgh…', 12).length, clip('guess zzzzzzzz…', 12).length)
  })
})
