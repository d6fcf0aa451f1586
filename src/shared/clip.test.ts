import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { preview } from '../core/canonical.ts'
import { clip, plain } from './clip.ts'

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

describe('plain', () => {
  it('leaves ordinary text as it is, non-Latin scripts and emoji included', () => {
    const text = 'execution reverted: 残高不足 — حساب مجمد 🚫 ünïcödé'
    assert.equal(plain(text), text)
    assert.equal(
      plain(text, 80, (t) => t),
      text,
    )
  })

  it('writes line breaks, tabs and terminal escapes as \\uXXXX: no line is added', () => {
    const forged = 'boom\n- aws (aws-us-east-1) answered 0x1234\r\n\tx'
    assert.equal(
      plain(forged),
      'boom\\u000a- aws (aws-us-east-1) answered 0x1234\\u000d\\u000a\\u0009x',
    )
    assert.equal(plain('\u001b]0;pwned\u0007\u001b[2J'), '\\u001b]0;pwned\\u0007\\u001b[2J')
    assert.equal(plain('\0\u007f\u0085\u009b'), '\\u0000\\u007f\\u0085\\u009b')
  })

  it('writes bidi controls, invisible format characters and line separators as \\uXXXX', () => {
    const hidden = [
      0x061c, 0x200b, 0x200d, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202e, 0x2060, 0x2066,
      0x2069, 0xfeff,
    ]
    for (const n of hidden) {
      const c = String.fromCharCode(n)
      assert.equal(plain(`a${c}b`), `a\\u${n.toString(16).padStart(4, '0')}b`)
    }
    assert.equal(plain('\u202egnp.exe'), '\\u202egnp.exe')
  })

  it("is cut to max, escapes counted, with clip's rule, reading no more than max + 1 characters", () => {
    assert.equal(plain('a'.repeat(2_000_000), 300), 'aaaa…')
    const big = plain(`boom ${'word '.repeat(400_000)}`)
    assert.ok(big.length <= 400 && big.startsWith('boom word'), big)
    // An escape cut in half keeps at most clip's 4 characters of its word.
    assert.equal(plain('ab \n\n\n', 8), 'ab \\u00…')
    for (const max of [1, 7, 80, 300])
      for (const text of ['\n'.repeat(500), `x ${'\u202e'.repeat(90)}`, 'y '.repeat(300)])
        assert.equal(
          plain(text, max),
          clip(
            plain(text, 1e7, (t) => t),
            max,
          ),
        )
  })

  it('cuts with another rule when given one (an answer scrubbed whole is previewed)', () => {
    const shown = plain(`"${'line\n'.repeat(40)}"`, 80, preview)
    assert.equal(shown, `"${'line\\u000a'.repeat(7)}line\\u00…`)
  })

  it('is the same text a second time', () => {
    const once = plain('a\nb\u202ec\u001b[0m d', 80)
    assert.equal(plain(once, 80), once)
  })
})
