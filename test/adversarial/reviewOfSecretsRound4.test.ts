/**
 * Attacker review, round 4, of cb2ce66 and bc2bee8 (inside hex data only keys of 16 characters
 * or more are scrubbed; keys first everywhere, then shorter secrets outside hex runs; numbers of
 * up to 12 digits are no secrets; fanOut #show scrubs a window grown until it is SECRET_SPAN
 * past the 80 characters shown): 8 tests for 5 holes, each failing on bc2bee8 for the hole's own
 * reason (the comment above it names the attack, the effect and the place). Fixed: a short
 * secret is left alone in hex data only when it lies wholly inside a hex run (one starting `0x`
 * or echoed after `0x…` leaked); a query parameter or header named as a credential (`key`,
 * `token`, `auth`, …) is a secret whatever its value looks like; otherwise plain words, numbers
 * of up to 12 digits and `0x` hex values (an address in the URL) are not. Kept as a limit, an
 * `it.fails`: a secret form longer than SECRET_SPAN (8 KB).
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { http } from '../../src/index.ts'
import { nodeSecrets } from '../../src/p2p/relay/nodeSecrets.ts'
import { scrubberFor } from '../../src/sources/secrets.ts'
import { resetLab, threeDomains } from '../helpers.ts'
import { type Lab, startLab } from '../lab/index.ts'
import { closeServers, erroringNode, failedCall, failureOf, partsOf } from './echoes.ts'
import { hostile, labSources } from './hostile.ts'

afterAll(closeServers)

describe('without the lab', () => {
  // Was a HOLE (medium: a whole credential, a regression of bc2bee8). cb2ce66 tried secrets BEFORE the
  // hex run "so that a password like `0xdead!Pass` is still matched whole"; bc2bee8 split the
  // scrub in two passes and the short pass (secrets < 16 characters) now tries the hex run
  // FIRST (src/sources/secrets.ts:125-131, `'(0x[0-9a-f]+)|'` before the alternation, and
  // `run ?? sub(m)` keeps the run). A short credential (a password, a header token, a URL part
  // of 6-15 characters) that STARTS with `0x` and hex digits (`0xC0ffee!42`, a path token
  // `0xbeef9Zk2`), or any short secret starting with hex digits echoed right after `0x…`, loses
  // its start to the run; what follows the run is no whole secret, so nothing is scrubbed: the
  // node's "wrong password 0xC0ffee!42" reaches the RpcResponseError, `lie`/status texts, a
  // relay's peer, whole. Fix: in the short pass try the secrets first and the run second
  // (cb2ce66's order), and skip a secret match only when it lies wholly inside a hex run
  // (e.g. match `(0x[0-9a-f]+)|secrets` but, for a secret match, check that it is not all hex
  // preceded by a run: `/^[0-9a-fx]+$/i.test(m)` and the run it continues), or pre-scan the
  // hex runs' spans and drop short matches contained in one.
  it('a short password starting with `0x` and hex digits, echoed alone, is scrubbed', async () => {
    const PASSWORD = '0xC0ffee!42'
    const node = await erroringNode(() => `authentication failed: wrong password ${PASSWORD}`)
    const url = new URL(node)
    url.username = 'rpcuser'
    url.password = PASSWORD
    const source = http(url.href, { name: 'keyed' })
    const error = await failureOf(source, 'eth_blockNumber')
    assert.match(error.message, /authentication failed/, 'the node message is relayed (control)')
    const shown = `${error.message} ${error.details ?? ''}`
    assert.ok(!shown.includes(PASSWORD), `the whole password is shown: ${shown}`)
  })

  // The same hole through the relay (a peer is the one who reads): a URL part of 6-15
  // characters starting `0x` + hex, named by the node in an error.
  it('the relay: a short path token starting `0x…`, named by the node, is scrubbed', () => {
    const TOKEN = '0xbeef9Zk2Qw'
    const scrub = nodeSecrets([`https://rpc.example/v1/${TOKEN}`])
    const text = `{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"token ${TOKEN} expired"}}`
    assert.equal(scrub(`https://rpc.example/v1/${TOKEN}`), 'https://rpc.example/…', 'control')
    assert.ok(!scrub(text).includes(TOKEN), scrub(text))
  })

  // Was a HOLE (low/medium: a whole short credential). A short secret (4-15 characters, so not a
  // "key") whose first characters are hex digits, echoed right after a hex value with no
  // separator (`0x` + key: a node that prints what it read as a hex id, `…0x1f` + key), is
  // swallowed by the short pass's hex run (src/sources/secrets.ts:125-131) up to its first
  // non-hex character, and the rest is no whole secret: e.g. a header `x-api-key: deadK3y!9`
  // echoed as `key 0xdeadK3y!9`. bc2bee8 fixed this only for keys (16+, scrubbed everywhere
  // first). Fix: as above: a hex run may only shield a short secret that lies wholly inside
  // it (the run ends at or after the secret's end).
  it('a short header key starting with hex digits, echoed after `0x`, is scrubbed', async () => {
    const KEY = 'deadK3y!9'
    const node = await erroringNode(() => `invalid api key 0x${KEY}`)
    const source = http(node, { name: 'keyed', headers: { 'x-api-key': KEY } })
    const error = await failureOf(source, 'eth_blockNumber')
    assert.match(error.message, /invalid api key/, 'the node message is relayed (control)')
    const shown = `${error.message} ${error.details ?? ''}`
    assert.deepEqual(partsOf(shown, KEY, 8), [], `part of the key is shown: ${shown}`)
  })

  // Was a HOLE (medium: a whole numeric key). cb2ce66 makes every number of up to 12 digits no secret
  // (src/sources/secrets.ts:37 chainNumber), in a URL part (:71-74) and as a whole header value
  // (:93), to spare chain ids. But the NAME says which is which: `?apikey=`, `?key=`,
  // `x-api-key:`, `x-access-token:` never hold a chain id, and numeric keys / account PINs of
  // 9-12 digits exist (numeric app ids, numeric tokens). A node that names the key it refused
  // ("invalid api key 482913570164") sends it whole to the error, status and `lie` texts, and a
  // relay's peer. Fix: exempt a number only where the name is not a credential's
  // (query names and header names matching /key|token|secret|auth|pass|session|sig/i are
  // always secrets from 4 characters), or keep the exemption for path segments only.
  it('a 12-digit key in `?apikey=`, echoed by the node, is scrubbed', async () => {
    const KEY = '482913570164'
    const node = await erroringNode(
      (_params, req) =>
        `invalid api key ${new URL(req.url ?? '/', 'http://x').searchParams.get('apikey')}`,
    )
    const source = http(`${node}/rpc?apikey=${KEY}`, { name: 'keyed' })
    const error = await failureOf(source, 'eth_blockNumber')
    assert.match(error.message, /invalid api key/, 'the node message is relayed (control)')
    const shown = `${error.message} ${error.details ?? ''}`
    assert.ok(!shown.includes(KEY), shown)
  })

  it('a 12-digit `x-api-key` header, echoed by the node, is scrubbed', async () => {
    const KEY = '482913570164'
    const node = await erroringNode((_params, req) => `invalid api key ${req.headers['x-api-key']}`)
    const source = http(node, { name: 'keyed', headers: { 'x-api-key': KEY } })
    const error = await failureOf(source, 'eth_blockNumber')
    assert.match(error.message, /invalid api key/, 'the node message is relayed (control)')
    assert.ok(!`${error.message} ${error.details ?? ''}`.includes(KEY), error.message)
  })

  // BROKEN FOR HONEST USERS (low/medium, relay: a wrong result). Every URL part of 16+
  // characters is a "key", scrubbed everywhere, inside hex data too (src/sources/secrets.ts
  // keysPattern, :124), and a URL part that is not a plain word or a short number is a secret
  // whatever it looks like (:71-74). RPC URLs do carry public 0x values: an account the
  // endpoint pays refunds or rebates to (`?refund=0x…`, `?referrer=0x…`, `/account/0x…`), a
  // contract (`/v1/0x…/rpc`). The relay scrubs every RESULT (nodeSecrets.ts:27-31): every
  // `from`/`to`/`address`/log `address` equal to that account (case ignored) reaches the peer
  // as `…`; the peer's outlast counts the relay as a liar. Fix: a URL part that is a 0x address
  // (`/^0x[0-9a-f]{40}$/i`) or any `0x`-hex value is no secret (a key is not written as one);
  // or never scrub results at all, only `error` members (parsed).
  it('the relay: a result naming the account in the URL (`?refund=0x…`) reaches the peer unchanged', () => {
    const ACCOUNT = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266'
    const scrub = nodeSecrets([`https://rpc.example/fast?refund=${ACCOUNT}`])
    const result = `{"jsonrpc":"2.0","id":1,"result":{"from":"${ACCOUNT}","to":"0x70997970c51812dc3a010c7d01b50e44d1b3fd1f","value":"0x1"}}`
    assert.equal(scrub(result), result)
  })

  // BROKEN FOR HONEST USERS (low/medium: a wrong error). A whole header value is a secret from
  // 4 characters on unless it is a number (src/sources/secrets.ts:93); unlike a URL part
  // (:71-74) a PLAIN WORD is not spared. Users send settings as headers (`x-network: base`,
  // `x-chain: base`, `x-environment: mainnet`, `x-client: viem`), and the scrubber then replaces
  // that word everywhere outside hex in what the node says: geth's "max fee per gas less than
  // block base fee" becomes "… block … fee", which no longer matches viem's FeeCapTooLowError
  // (/max fee per gas less than block base fee/): the caller gets an unknown node error instead
  // of the fee error it retries on. Fix: spare plain words (≤ 15 letters) in header values
  // too, except in headers whose name says credential (authorization, cookie, *key*, *token*,
  // *secret*, *auth*, *pass*), which stay secrets from 4 characters.
  it("a plain-word header (`x-network: base`) leaves a node's fee error readable", async () => {
    const MESSAGE =
      'max fee per gas less than block base fee: address 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266, maxFeePerGas: 1000 baseFee: 2000'
    const node = await erroringNode(() => MESSAGE)
    const source = http(node, { name: 'tagged', headers: { 'x-network': 'base' } })
    const error = await failureOf(source, 'eth_sendRawTransaction', ['0x02'])
    assert.match(error.message, /max fee per gas/, 'the node message is relayed (control)')
    assert.match(error.message, /max fee per gas less than block base fee/, error.message)
  })

  // Sound (control): a URL part that is a short hex value (`0x2105`, a chain id in hex) leaves a
  // hex result alone: the short pass keeps hex runs.
  it('the relay: a chain id in hex in the URL leaves eth_chainId as sent', () => {
    const scrub = nodeSecrets(['https://rpc.example/v1/abcdefgh12345?chain=0x2105'])
    const result = '{"jsonrpc":"2.0","id":1,"result":"0x2105"}'
    assert.equal(scrub(result), result)
  })

  // Sound (control): a key echoed right after `0x…` (bc2bee8's own case) and inside hex.
  it('a key (16+) echoed right after a hex run or inside one is scrubbed', () => {
    const KEY = 'aB3dEf9GhIjKlMnOpQrStUvW'
    const s = scrubberFor(`https://rpc.example/v2/${KEY}`)
    assert.ok(!s.text(`0x${KEY}`).includes('GhIjKlMn'))
    assert.ok(!s.text(`0xdeadbeef${KEY}00`).includes('GhIjKlMn'))
  })
})

describe('with the lab', () => {
  let lab: Lab
  beforeAll(async () => {
    lab = await startLab({
      blockTime: 0,
      sources: [...threeDomains, { name: 'liar', domain: 'liar-host', latency: 0 }],
    })
  })
  afterAll(() => lab.stop())

  // Was a HOLE (low: needs a secret form longer than 8 KB). fanOut #show (src/core/fanOut.ts:464-478)
  // stops growing its window once the scrubbed window is 80 + SECRET_SPAN (8,192) long, which
  // is exact only if no form of any secret is longer than SECRET_SPAN (fanOut.ts:145 says so,
  // nothing checks it: secrets.ts adds whole header values, tokens, URLs and their percent-
  // and base64 forms of any length). A longer one (a large bearer JWT or session token: 6.2 KB
  // gives a 8.3 KB base64 form; a long hex token in a path; a URL holding either) that an
  // answer echoes near its start is cut by the window's end: no form matches, and the first
  // ~80 characters of it are shown in QuorumError.answers/message, `disagreement`. Fix:
  // SECRET_SPAN per scrubber (its longest form, exposed next to `redact`), or grow the window
  // until the scrubbed text is 80 + the longest form past, or refuse secrets longer than the span.
  // Kept as a limit (README): a secret form longer than SECRET_SPAN (8 KB) is not covered.
  it.fails("a key longer than SECRET_SPAN, echoed at an answer's start, shows no part", async () => {
    await resetLab(lab)
    // A hex token of 10,000 characters in the path (stand-in for any > 8 KB secret form).
    const KEY = '7d3e9a41c0b25f86e1a4d9c37b20f5e8'.repeat(313).slice(0, 10_000)
    const s = lab.sources.find((x) => x.name === 'liar')!
    const keyed = http(`${s.proxy.url}/v3/${KEY}`, { name: 'keyed', domain: 'liar-host' })
    const echoing = hostile(keyed, async (method, _params, answer) =>
      method === 'eth_call' ? `0x00${KEY}00` : answer(),
    )
    const { shown } = await failedCall([echoing, ...labSources(lab, ['aws'])])
    assert.deepEqual(
      partsOf(shown, KEY.slice(0, 200), 16),
      [],
      `part of the key is shown: ${shown}`,
    )
  })
})
