/**
 * Attacker review of e01b165..47582a8 (checkedHeader's `0x`-only lowering, whole-secret scrubbing,
 * `clip` at every cut before the scrub): five holes, each a test that failed on that code for the
 * hole's own reason; the comment above it names the attack, what leaked, and where. Four are
 * fixed (clip's words end at white space only, with answers previewed as spaced JSON; a
 * credential list's parts are secrets; gateways scrub; the relay writes escaped node JSON again
 * before it scrubs). One is a limit kept as an `it.fails`: a scrubber is an oracle for a secret
 * short enough to guess whole.
 */
import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type OutlastEvents } from '../../src/index.ts'
import { gateway } from '../../src/ipfs/gateway.ts'
import { nodeSecrets } from '../../src/p2p/relay/nodeSecrets.ts'
import { CHAIN_ID, resetLab, threeDomains, transfers } from '../helpers.ts'
import { type Lab, startLab } from '../lab/index.ts'
import { closeServers, erroringNode, partsOf, serve } from './echoes.ts'
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

  // Was a HOLE (medium). clip (src/shared/clip.ts:12, DELIMITER) keeps at most 4 characters of the
  // WORD the cut falls in, and a word ends at whitespace, quotes, brackets, `,` and `;`. A
  // secret is not a word: a basic-auth password, a cookie or any header value may hold those
  // characters (WHATWG URL leaves `,` `(` `)` `'` `!` `*` unencoded in userinfo, so the
  // scrubber sees them raw). Attack: the source (the same threat as reviewOfFixes: a key echoed
  // by its own source) puts `0x` + filler + the password in `accessList[0].address`; the filler
  // puts the cut at 80 (src/verify/fields.ts:15 `malformed` → clip(value, 81)) 5 characters past
  // the password's `,`. clip keeps everything up to the `,` and 4 more: the password's first 16
  // of 33 characters, whole, reach the `lie` event and status().sources[].lastError, since the
  // scrubber (src/sources/secrets.ts:83) only knows the whole password. The same for
  // fanOut.show's cut at 1,024 (src/core/fanOut.ts:451 → canonical.ts:35) and every other clip
  // site. Fix: scrub before cutting, i.e. cut only text that was scrubbed whole (the scrubber
  // is linear and the texts are bounded by maxResponseBytes): then clip's word rule is moot. At
  // least, let clip's words end at whitespace only (a key never holds a space; a password may
  // hold anything, so the scrub-first order is the real fix).
  it('a password holding a `,`: no part of it survives clip in the lie event or status()', async () => {
    await resetLab(lab)
    const A = 'q7rt2mx9pl4vb8nk'
    const B = 'z3cv6bn1mq8we5rt'
    const PASSWORD = `${A},${B}`
    const url = new URL(lab.proxy('liar').url)
    url.username = 'rpcuser'
    url.password = PASSWORD
    assert.equal(url.password, PASSWORD, 'the `,` is kept raw in userinfo')
    const keyed = http(url.href, { name: 'keyed', domain: 'liar-host' })
    const echoing = hostile(keyed, async (method, _params, answer) => {
      const tx = (await answer()) as Record<string, unknown> | null
      if (method !== 'eth_getTransactionByHash' || !tx) return tx
      // 0x + 50 filler + A + `,` + B: the cut at 80 falls 5 characters into B.
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
})

describe('without the lab', () => {
  // Was a HOLE (low/medium). A header value is a secret as a whole, plus the token after its first
  // whitespace (src/sources/secrets.ts:65-74); only `Basic` is split further. A header that
  // carries several credentials (`cookie: session=…; csrf=…`, `x-api-keys: k1,k2`) has parts
  // that are secrets on their own, and a node that echoes one of them ("session … expired",
  // which is what servers say) gets it past the scrubber whole, uncut, in the RpcResponseError
  // the caller (and a proxy's client) sees. Fix: also add each part of a header value split at
  // `;` `,` and whitespace, and each `name=value`'s value (from MIN_CREDENTIAL on), as secrets.
  it('a cookie header: the session value a node echoes is scrubbed', async () => {
    const SESSION = 'q7rt2mx9pl4vb8nkz3cv6bn1'
    const node = await erroringNode(() => `session ${SESSION} expired`, 3)
    const source = http(node, {
      name: 'cookied',
      headers: { cookie: `session=${SESSION}; csrf=m4k8w2p6x0d5h9a3` },
    })
    const error = await source.request({ method: 'eth_blockNumber', params: [] }).then(
      () => undefined,
      (e: unknown) => e as Error & { details?: string },
    )
    assert.ok(error, 'the call did not fail: nothing tested')
    assert.match(error.message, /expired/, 'the node message is relayed (control)')
    assert.deepEqual(
      partsOf(`${error.message} ${error.details ?? ''}`, SESSION, 8),
      [],
      error.message,
    )
  })

  // A limit, kept (low): the scrubber is an oracle for whole secrets, and a credential is one from 4
  // characters on (src/sources/secrets.ts:25 MIN_CREDENTIAL, :42; URL parts from 6). Whoever
  // makes the node echo text (a proxy client's revert reason, as in proxyKeyOracle.test.ts; a
  // relay peer) sends ONE text with many guesses: the one that is the credential comes back as
  // `…`. Matching is case-insensitive, so a 4-character header key is 36^4 = 1.7 M guesses, ~9
  // MB of text: a handful of calls. A 6-character URL part is 2.2 G (hours, not years). Fix:
  // refuse (ConfigError) or at least warn on credentials and URL secrets too short to survive
  // a dictionary (say < 12 characters), instead of scrubbing them and offering the oracle.
  // Kept as a limit: any scrubber tells whether a text held the whole secret; a credential
  // short enough to guess is found so. The README says to use long keys.
  it.fails('a short header credential is found by sending guesses in one echoed text', async () => {
    const CREDENTIAL = 'k7qz'
    const node = await erroringNode((params) => `execution reverted: ${String(params[0])}`, 3)
    const source = http(node, { name: 'short', headers: { 'x-api-key': CREDENTIAL } })
    const guesses = ['k7qa', 'k7qb', 'k7qy', 'K7QZ', 'k7r0']
    const error = (await source.request({ method: 'eth_call', params: [guesses.join(' ')] }).then(
      () => undefined,
      (e: unknown) => e,
    )) as Error | undefined
    assert.ok(error, 'the call did not fail: nothing tested')
    const back = error.message.slice(error.message.indexOf('reverted: ') + 'reverted: '.length)
    // The attacker reads off the credential: the guess that vanished.
    const vanished = guesses.filter((g) => !back.split(' ').includes(g))
    assert.deepEqual(vanished, [], `guesses ${vanished} are the credential: ${error.message}`)
  })

  // Was a HOLE (low). 47582a8 clips a gateway's Content-Type "cut before the scrub", but nothing
  // scrubs an IPFS gateway's text: gateway() keeps a key in its path or query (src/ipfs/gateway.ts
  // :27 "some gateways take a key there") and redacts only its own name; the `answered "<type>"`
  // failure (src/ipfs/gateway.ts:84) quotes the gateway's header. A type of at most 60
  // characters is not cut at all, so a gateway that echoes the request (its URL, key and all)
  // into Content-Type puts the whole key in the SourceError, and so in createIpfs' errors and
  // status. Fix: give gateways a scrubber (scrubberFor(url)) and pass every gateway-made text
  // through it (fail), as http() does; or show only whether the type was absent or which
  // fixed type family it was.
  it("an IPFS gateway's Content-Type echoing its key is quoted scrubbed", async () => {
    const KEY = '7d3e9a41c0b25f86e1a4d9c37b20f5e8'
    const base = await serve((req, _body, res) => {
      res.setHeader('content-type', `text/plain; path=${req.url?.split('/')[1]}`)
      res.end('no')
    })
    const route = gateway(`${base}/${KEY}`)
    const cid = CID.createV1(0x55, await sha256.digest(new Uint8Array([1, 2, 3])))
    const error = await route
      .get(cid, { signal: new AbortController().signal, maxBlockBytes: 1 << 20 })
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      )
    assert.ok(error, 'the gateway was not refused: nothing tested')
    assert.match(error.message, /answered/, 'the content type was quoted (control)')
    assert.deepEqual(partsOf(error.message, KEY, 8), [], error.message)
  })

  // Was a HOLE (medium, relay). A relay answers a peer's lone call with the node's own JSON text,
  // unparsed, scrubbed as text (src/p2p/relay/rpcServer.ts:164 `call.text(c).then(scrub)`,
  // nodeSecrets.ts:25). The scrubber knows a secret's JSON-escaped form only as JSON.stringify
  // writes it (src/sources/secrets.ts:92), but JSON lets a node escape any character as \uXXXX,
  // and real encoders do: .NET's System.Text.Json default escapes `+` `'` `&` `<` `>` and all
  // non-ASCII, PHP's json_encode escapes `/` as `\/`. A base64-style key with a `+` (in the
  // relay's `rpc` URL path) echoed by such a node (an error quoting the request path, or a
  // peer's call it echoes) reaches the peer as `Qm9\u002Bx…`, which the peer's JSON.parse turns
  // back into the key. outlast's own sources parse before they scrub (safe); the relay does not.
  // Fix: in rpcServer, parse the node's text and scrub the tree (scrub.data), then
  // JSON.stringify it, as the batch path (rpcServer.ts:176) already does.
  it("the relay's raw pass-through: a key the node wrote with a \\u escape does not reach the peer", () => {
    const KEY = 'Qm9+xZ3kLp7Rt2Vw8Yn4Bc6D'
    const scrub = nodeSecrets([`https://rpc.example/v1/${KEY}`])
    assert.equal(
      scrub(`{"error":{"message":"bad key ${KEY}"}}`),
      '{"error":{"message":"bad key …"}}',
      'the key as written is scrubbed (control)',
    )
    const escaped = KEY.replace('+', '\\u002B')
    const raw = `{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"no route for /v1/${escaped}"}}`
    const peerSees = (JSON.parse(scrub(raw)) as { error: { message: string } }).error.message
    assert.ok(!peerSees.includes(KEY), `the peer reads the key: ${peerSees}`)
  })
})
