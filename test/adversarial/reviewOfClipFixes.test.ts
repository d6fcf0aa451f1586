/**
 * Attacker review of bb92580 / 8625613 (clip's words end at white space only, answers previewed as
 * spaced JSON, a credential list's parts are secrets, gateways scrub, the relay spells a node's
 * escapes out before it scrubs): nine holes, each a test that failed on that code for the hole's
 * own reason (the comment above it names the attack, the effect and the place). All fixed: a
 * quorum answer is scrubbed whole before it is cut (fanOut.ts `show`); a secret's words, and a
 * credential list's values, are secrets from 8 characters on when not a plain word or a number;
 * numbers in a URL are no secrets; a query key is also known as a form reads it (`+` a space);
 * a relay scrubs only a node's errors, results as the node wrote them, and spells out escaped
 * surrogate pairs.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type OutlastEvents } from '../../src/index.ts'
import { nodeSecrets } from '../../src/p2p/relay/nodeSecrets.ts'
import { CHAIN_ID, resetLab, threeDomains, transfers } from '../helpers.ts'
import { type Lab, startLab } from '../lab/index.ts'
import { closeServers, erroringNode, failedCall, failureOf, partsOf, serve } from './echoes.ts'
import { hostile, labSources } from './hostile.ts'

afterAll(closeServers)

describe('with the lab', () => {
  let lab: Lab
  beforeAll(async () => {
    lab = await startLab({
      blockTime: 0,
      sources: [...threeDomains, { name: 'liar', domain: 'liar-host', latency: 0 }],
    })
  })
  afterAll(() => lab.stop())
  const { sign, nonceNext } = transfers(() => lab.anvil)

  // Was a HOLE (medium). bb92580 made clip's words end at white space only (src/shared/clip.ts:13
  // DELIMITER = /\s/), on the ground that "a key never holds a space". But a password (a
  // passphrase) may, and the scrubber registers its DECODED form: `user:Zx9k… Lr8t…@host` is
  // written `%20` in the URL, and formsOf (src/sources/secrets.ts:95) adds the decoded text with
  // its space as a secret. A cut that falls in the word after the space keeps the whole word
  // before it and 4 more characters: 16 + 1 + 4 characters of the password, which the scrubber,
  // run after the cut, no longer knows (it matches whole secrets only). Attack (the same as
  // reviewOfClip's `,` password): the source echoes its decoded password in a field that is
  // cut before the scrub (src/verify/fields.ts:15 malformed → clip(value, 81)); it reaches the
  // `lie` event and status().sources[].lastError. The same for a header value with a space
  // (`x-api-key: correct horse battery staple`), a URL part with `%20`/`%09`, and every clip
  // site (fanOut.show's cut at 1,024, canonical.ts:39). Fix (the one reviewOfClip named as the
  // real one): scrub BEFORE cutting, everywhere a text from a node is cut (malformed, show,
  // verify/errors.ts show, ipfs clip sites, gateway.ts:87); then clip's word rule is moot.
  it('a password holding a space: no part of it survives clip in the lie event or status()', async () => {
    await resetLab(lab)
    const A = 'q7rt2mx9pl4vb8nk'
    const B = 'z3cv6bn1mq8we5rt'
    const PASSWORD = `${A} ${B}`
    const url = new URL(lab.proxy('liar').url)
    url.username = 'rpcuser'
    url.password = PASSWORD
    assert.equal(url.password, `${A}%20${B}`, 'the space is written %20 in userinfo')
    const keyed = http(url.href, { name: 'keyed', domain: 'liar-host' })
    const echoing = hostile(keyed, async (method, _params, answer) => {
      const tx = (await answer()) as Record<string, unknown> | null
      if (method !== 'eth_getTransactionByHash' || !tx) return tx
      // 0x + 50 filler + A + ` ` + B: the cut at 80 falls 12 characters into B.
      return { ...tx, accessList: [{ address: `0x${'x'.repeat(50)}${PASSWORD}`, storageKeys: [] }] }
    })
    const raw = await sign(await nonceNext())
    const hash = await lab.anvil.rpc<string>('eth_sendRawTransaction', [raw])
    await lab.anvil.rpc('evm_mine')
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [echoing, ...labSources(lab, ['aws'])],
    })
    const lies: OutlastEvents['lie'][] = []
    rpc.on('lie', (e) => lies.push(e))
    try {
      await rpc.request({ method: 'eth_blockNumber' })
      const error = await rpc.request({ method: 'eth_getTransactionByHash', params: [hash] }).then(
        () => undefined,
        (e: unknown) => e as Error,
      )
      assert.ok(lies.length > 0, 'the liar was not asked: nothing tested')
      const shown = `${JSON.stringify(lies)}\n${JSON.stringify(rpc.status().sources)}\n${String(rpc.status())}\n${error?.message ?? ''}`
      assert.ok(!shown.includes(PASSWORD), 'the whole password (control)')
      assert.deepEqual(partsOf(shown, PASSWORD, 8), [], `part of the password is shown: ${shown}`)
    } finally {
      await rpc.close()
    }
  })

  // BROKEN FOR HONEST USERS (low). Since 368fce2 fanOut.show (src/core/fanOut.ts:457) cuts an
  // answer with clip, which keeps 4 characters of the word a cut falls in; a string answer
  // (eth_call's return data, eth_getCode, a raw transaction) is one word from end to end, so
  // every answer longer than 80 characters is shown as `0x00…`. When sources disagree on
  // eth_call, QuorumError.answers and the `disagreement` event show the same `0x00…` for every
  // side: the user learns nothing of what differed (before 368fce2: 79 characters each).
  // bb92580 made words longer (only white space ends one), so any compact JSON text or URL in
  // a message is cut to 4 characters too. Fix: the one of the space-password hole, scrub the
  // whole text first and then cut anywhere (the word rule is only needed because the scrub
  // comes after the cut); then an answer keeps its 79 characters.
  it('sources that disagree on a long eth_call answer: QuorumError shows two different answers', async () => {
    await resetLab(lab)
    const data = `0x${'ab'.repeat(24)}${'00'.repeat(40)}`
    const liar = hostile(labSources(lab, ['liar'])[0]!, async (method, _params, answer) => {
      if (method !== 'eth_call') return answer()
      return `0x${'cd'.repeat(24)}${'00'.repeat(40)}`
    })
    const { error } = await failedCall([liar, ...labSources(lab, ['aws'])], {
      to: '0x0000000000000000000000000000000000000004',
      data,
    })
    const shown = new Set(error.answers.map((a) => a.answer))
    assert.equal(shown.size, error.answers.length, `the answers look alike: ${[...shown]}`)
  })

  // Was a HOLE (low/medium, made likelier by bb92580). The pool scrubs with each source's scrubber in
  // turn (src/core/sourcePool.ts:95 `states.reduce(… redact …)`), and each one only knows
  // whole secrets. A source listed earlier that holds a short secret (since bb92580 any 4-char
  // `;`/`,` part of a header, or value after `=`: `page_size=1000`) replaces it INSIDE a later
  // source's key first; the later scrubber then no longer finds its key whole, and the rest of
  // it is shown. Case is ignored, so a 4-digit part is in ~1 of 2,300 random 32-hex keys.
  // Attack (reviewOfFixes' threat: a source echoes its own key in an answer): the answer
  // reaches QuorumError.answers via fanOut.show (src/core/fanOut.ts:457) with 28 of the 32 key
  // digits. Fix: one scrub pass over all sources' forms (one longest-first regex for the pool),
  // or scrub with each source's scrubber on the original text and merge the replaced ranges.
  it("another source's short secret inside a key does not let the rest of the key through", async () => {
    await resetLab(lab)
    const KEY = '7d3e9a41c0b25f86e1a41000c37b20f5'
    const aws = lab.sources.find((s) => s.name === 'aws')!
    const cookied = http(aws.proxy.url, {
      name: 'aws',
      domain: aws.domain,
      fetchFn: aws.proxy.fetch,
      headers: { cookie: 'session=m4k8w2p6x0d5h9a3q7rt2mx9; page_size=1000' },
    })
    const keyed = http(`${lab.proxy('liar').url}/v3/${KEY}`, { name: 'keyed', domain: 'liar-host' })
    const echoing = hostile(keyed, async (method, _params, answer) => {
      if (method !== 'eth_call') return answer()
      return `0x${KEY}`
    })
    const { shown } = await failedCall([cookied, echoing])
    assert.ok(!shown.toLowerCase().includes(KEY), 'the whole key (control)')
    assert.deepEqual(partsOf(shown, KEY, 8), [], `part of the key is shown: ${shown}`)
  })
})

describe('without the lab', () => {
  // Was a HOLE (medium). A query value is registered as written and as decodeURIComponent reads it
  // (src/sources/secrets.ts:44 urlPart, :95 formsOf), but a server reads a query the form way:
  // `+` is a SPACE to URLSearchParams, Express/qs, PHP, Go's url.ParseQuery, Python's
  // parse_qs. A base64-style key pasted raw into `?apikey=` (`+` is legal there, and WHATWG URL
  // keeps it) is read by the node with spaces, and an honest node that says which key it
  // refused ("invalid api key <what it read>") echoes that form: no registered form matches, so
  // the whole key, one space per `+`, reaches the RpcResponseError (and a proxy's client, a
  // relay's peer). clip then also splits it at those spaces (previous hole). Fix: in formsOf,
  // for query values add the form-decoded text (`new URLSearchParams('a=' + v).get('a')`) and
  // its forms too.
  it('a query key with `+`, echoed as the server read it (a space), is scrubbed', async () => {
    const KEY = 'Qm9+xZ3kLp7Rt2+Vw8Yn4Bc6D'
    const node = await erroringNode(
      (_params, req) =>
        `invalid api key ${new URL(req.url ?? '/', 'http://x').searchParams.get('apikey')}`,
    )
    const source = http(`${node}/?apikey=${KEY}`, { name: 'keyed' })
    const error = await failureOf(source, 'eth_blockNumber')
    assert.match(error.message, /invalid api key/, 'the node message is relayed (control)')
    const shown = `${error.message} ${error.details ?? ''}`
    assert.deepEqual(partsOf(shown, KEY.replaceAll('+', ' '), 8), [], shown)
  })

  // Was a HOLE (medium, an oracle on PART of a secret, made by bb92580). A header value is now split
  // at every `;` and `,` and after every `=` (src/sources/secrets.ts:68-70), each part from 4
  // characters on a secret of its own. That is right for a cookie list, but a single credential
  // may hold those characters (a generated password or API secret with punctuation: `;` `,` `=`
  // are in every password generator's symbol set). Its parts become secrets the scrubber
  // answers for alone: whoever makes the node echo text (a proxy client's revert reason, a
  // relay peer) sends guesses of ONE part, and the guess that comes back as `…` is that part.
  // A 14-character secret split by a `;` into two 6+7 is found as two guesses of 36^6 and 36^7
  // (hours each, by reviewOfClip's own count) instead of one of 36^14. Output differs by
  // whether the attacker's text matched PART of the secret: the oracle the whole-secret rule
  // (368fce2) was made to remove. Fix: split only headers that are lists by definition (`cookie`,
  // or values made of `name=value` pairs on every side of every `;`/`,`), or only register a
  // part that is itself long enough to be a key (say 16+ characters, as URL parts do at 6 with
  // a plain-word test); never a piece of an opaque token.
  it('a header secret holding `;`: a guess of one half is not told apart', async () => {
    const SECRET = 'q7rt2m;x9pl4vb'
    const node = await erroringNode((params) => `execution reverted: ${String(params[0])}`)
    const source = http(node, { name: 'keyed', headers: { 'x-api-secret': SECRET } })
    assert.equal(
      (await failureOf(source, 'eth_call', [SECRET])).message.includes(SECRET),
      false,
      'the whole secret is scrubbed (control)',
    )
    const guesses = ['q7rt2a', 'q7rt2b', 'q7rt2m', 'q7rt2n', 'x9pl4vb', 'x9pl4vc']
    const error = await failureOf(source, 'eth_call', [guesses.join(' ')])
    const back = error.message.slice(error.message.indexOf('reverted: ') + 'reverted: '.length)
    const vanished = guesses.filter((g) => !back.split(' ').includes(g))
    assert.deepEqual(vanished, [], `guesses ${vanished} are parts of the secret: ${error.message}`)
  })

  // BROKEN FOR HONEST USERS (medium: a wrong answer). bb92580 makes every `;`/`,` part of every
  // header but content-type/accept, and every part's value after `=`, a secret from 4
  // characters on (src/sources/secrets.ts:68-70). A cookie list holds plain settings next to
  // the session (`page_size=1000`, `tz=3600`), `cache-control: max-age=1000`, `keep-alive:
  // timeout=5, max=1000` too: `1000` becomes a secret. The scrubber matches anywhere and
  // ignoring case, and it runs on a node error's `data` (src/sources/jsonRpc.ts:84
  // scrub.data), which for a revert (code 3) IS the answer: the revert data that viem decodes
  // into a custom error, and that outlast compares across sources as a deterministic error.
  // Revert data holding `1000` (any uint 0x1000…, any address or hash with those 4 digits) is
  // changed to `0x……`: the caller cannot decode it, and a source with the header disagrees
  // with one without it. Fix: never scrub hex data (`/^0x[0-9a-f]*$/i` strings) of parts
  // shorter than a key; register a part only when the header is a credential list (cookie,
  // auth-params) and the part is long and not a plain number/word (as urlPart does).
  it("a cookie's plain part (`page_size=1000`) leaves a revert's data as the node sent it", async () => {
    const SESSION = 'q7rt2mx9pl4vb8nkz3cv6bn1'
    const word = (hex: string) => hex.padStart(64, '0')
    // ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)
    const data = `0xe450d38c${word('f39fd6e51aad88f6f4ce6ab8827279cfffb92266')}${word('1000')}${word('2000')}`
    const node = await serve((_req, body, res) => {
      const call = JSON.parse(body) as { id: number }
      res.setHeader('content-type', 'application/json')
      res.end(
        JSON.stringify({
          jsonrpc: '2.0',
          id: call.id,
          error: { code: 3, message: 'execution reverted', data },
        }),
      )
    })
    const source = http(node, {
      name: 'cookied',
      headers: { cookie: `session=${SESSION}; page_size=1000` },
    })
    const error = (await failureOf(source, 'eth_call', [{ to: '0x01' }, 'latest'])) as Error & {
      data?: unknown
    }
    assert.equal(error.data, data, 'the revert data is changed')
  })

  // Was a HOLE (low). A list part's value is registered as written after `=`, quotes and all
  // (src/sources/secrets.ts:70). A cookie value may be a quoted string (RFC 6265 cookie-value
  // = DQUOTE *cookie-octet DQUOTE), as are every auth-param of `Digest`/`Signature` schemes
  // (`signature="…"`). A server echoes the value it read, unquoted ("session X expired"), and
  // neither `"X"` nor `\"X\"` matches `X`: the whole session value reaches the error. Fix: also
  // register a part's value with one pair of surrounding quotes removed.
  it('a quoted cookie value, echoed unquoted, is scrubbed', async () => {
    const SESSION = 'q7rt2mx9pl4vb8nkz3cv6bn1'
    const node = await erroringNode(() => `session ${SESSION} expired`)
    const source = http(node, {
      name: 'cookied',
      headers: { cookie: `session="${SESSION}"; csrf=m4k8w2p6x0d5h9a3` },
    })
    const error = await failureOf(source, 'eth_blockNumber')
    assert.match(error.message, /expired/, 'the node message is relayed (control)')
    assert.deepEqual(
      partsOf(`${error.message} ${error.details ?? ''}`, SESSION, 8),
      [],
      error.message,
    )
  })

  // BROKEN FOR HONEST USERS (medium, relay: wrong answers to peers). The relay scrubs the node's
  // WHOLE answer text, results included (src/p2p/relay/rpcServer.ts:164 `call.text(c).then(scrub)`
  // and :176), with every URL part of 6+ characters that is not a plain word as a secret
  // (src/sources/secrets.ts:44-48), matched anywhere, case ignored. Providers put the chain id
  // in the path (Pimlico `…/v2/421614/rpc?apikey=…`; Scroll 534352, Zora 7777777, Sepolia
  // 11155111, OP Sepolia 11155420): an all-digit part is a "secret", and 6 hex digits occur by
  // chance about once per 16 M hex characters, i.e. in one large block answer in ~16 on an L2.
  // Any hash, logsBloom or input holding them is changed to `…` in what the peer gets: a wrong
  // answer (which the peer's outlast sees as a lie and strikes the relay for). Fix: scrub only
  // a node answer's `error` member (a node does not echo its URL in a result), or never scrub
  // inside `"0x…hex"` strings; and do not count an all-digit URL part as a secret.
  it('a relay whose node URL holds a chain id passes a result holding those digits unchanged', () => {
    const scrub = nodeSecrets([
      'https://api.pimlico.io/v2/421614/rpc?apikey=pim_q7rt2mx9pl4vb8nkz3cv',
    ])
    const hash = `0x5c0b${'9e'.repeat(10)}421614${'3d'.repeat(20)}a7`
    const raw = `{"jsonrpc":"2.0","id":1,"result":{"hash":"${hash}","number":"0x1"}}`
    assert.equal(scrub(raw), raw, 'the answer the peer gets is changed')
  })

  // Was a HOLE (low, relay). spelledOut (src/p2p/relay/nodeSecrets.ts:35-44) leaves every surrogate
  // escaped, one code unit at a time, so a well-formed pair (`\uD83D\uDD11`, which .NET's
  // default encoder writes for every character past the BMP, and any "ASCII-only" encoder
  // does) stays escaped; JSON.stringify writes that character raw, the only form the scrubber
  // knows (src/sources/secrets.ts:95). A key with such a character in the relay's `rpc` URL
  // (written %F0%9F%94%91 in the path, registered decoded too) echoed by such a node reaches
  // the peer escaped, and the peer's JSON.parse reads the whole key back. Fix: in spelledOut,
  // spell out a high surrogate escape followed by a low one as the pair (only lone ones stay).
  it("the relay's pass-through: a key with a non-BMP character escaped as a pair does not reach the peer", () => {
    const KEY = 'Qm9xZ3kL\u{1F511}p7Rt2Vw8Yn4'
    const url = `https://rpc.example/v1/${encodeURIComponent(KEY)}`
    const scrub = nodeSecrets([url])
    assert.equal(
      scrub(`{"error":{"message":"bad key ${KEY}"}}`),
      '{"error":{"message":"bad key …"}}',
      'the key as written is scrubbed (control)',
    )
    const escaped = KEY.replace('\u{1F511}', '\\ud83d\\udd11')
    const raw = `{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"no route for /v1/${escaped}"}}`
    const peerSees = (JSON.parse(scrub(raw)) as { error: { message: string } }).error.message
    assert.ok(!peerSees.includes(KEY), `the peer reads the key: ${peerSees}`)
  })
})
