/**
 * Attacker review, round 3, of 4223f11 (answers scrubbed whole then cut in fanOut.show; a
 * secret's words and a credential list's values are secrets from 8 characters on unless a plain
 * word or a number; numbers in a URL are no secrets; a query key also known as a form reads it;
 * the relay scrubs only a node answer that holds `"error"`): eight holes, each a test that
 * failed on 4223f11 for the hole's own reason (the comment above it names the attack, the
 * effect and the place). All fixed in the scrubber (secrets.ts): a secret's words are split from
 * every form; numbers up to 12 digits (a chain id), not longer, are no secrets, whole header
 * values included; a plain word is one of at most 15 characters; forms are matched as given
 * and in lower case; inside hex data only keys (16 characters or more) are scrubbed. The relay
 * scrubs every text again, results kept as the node wrote them by the hex rule. `#show` scrubs
 * a window that grows while scrubbing shrinks it, once per answer (fanOut.ts SECRET_SPAN).
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type OutlastEvents, type Source } from '../../src/index.ts'
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

  // Was a HOLE (medium; the round-2 space-password hole, back through the round-2 `+` fix). 4223f11
  // registers a query value's form-read text (`+` → space) as a secret
  // (src/sources/secrets.ts:117 formsOf, `decode(value.replace(/\+/g, ' '))`), but a secret's
  // WORDS are taken from `decode(value)` only (src/sources/secrets.ts:53), where a `+` is no
  // white space: `?key=A+B` has one word, `A+B`, and neither `A` nor `B` is a secret. A server
  // reads the key as `A B` and echoes that; a text cut by clip before the scrub (the clip sites
  // that remain: src/verify/fields.ts:15 malformed, verify/errors.ts:44, ipfs/*) keeps every
  // whole word before the cut, `A` and 4 characters of `B`, and the scrubber no longer finds
  // `A B` whole: 16 + 4 characters of the key reach the `lie` event and status().lastError.
  // Fix: take a secret's words from every form formsOf makes (at least the form-read one), or
  // split words before the forms: `for (const f of [plain, formRead]) f.split(/\s+/)…`.
  it("a query key holding `+`, echoed as read (a space), loses no word at clip's cut", async () => {
    await resetLab(lab)
    const A = 'q7rt2mx9pl4vb8nk'
    const B = 'z3cv6bn1mq8we5rt'
    const KEY = `${A}+${B}`
    const READ = `${A} ${B}`
    const keyed = http(`${lab.proxy('liar').url}/?apikey=${KEY}`, {
      name: 'keyed',
      domain: 'liar-host',
    })
    const echoing = hostile(keyed, async (method, _params, answer) => {
      const tx = (await answer()) as Record<string, unknown> | null
      if (method !== 'eth_getTransactionByHash' || !tx) return tx
      // 0x + 50 filler + A + ` ` + B: the cut at 80 falls 12 characters into B.
      return { ...tx, accessList: [{ address: `0x${'x'.repeat(50)}${READ}`, storageKeys: [] }] }
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
      const shown = `${JSON.stringify(lies)}\n${JSON.stringify(rpc.status().sources)}\n${error?.message ?? ''}`
      assert.ok(!shown.includes(READ), 'the whole key (control)')
      assert.deepEqual(partsOf(shown, READ, 8), [], `part of the key is shown: ${shown}`)
    } finally {
      await rpc.close()
    }
  })

  // Was a HOLE (low/medium: CPU, made by 4223f11). fanOut.show (src/core/fanOut.ts:455-459) now
  // scrubs an answer's WHOLE preview (strings uncut) with every source's scrubber
  // (src/core/sourcePool.ts:95) before it cuts it to 80 characters, and show is not cached:
  // #answers (fanOut.ts:461, tally.ts:263) shows each group's value once PER SOURCE in it, and
  // is called on every answer added while sources disagree (fanOut.ts:428, whether or not
  // anyone listens to `disagreement`), again for QuorumError/DeadlineError. A liar that sends a
  // large answer (up to maxResponseBytes, 16 MB by default) has it scrubbed whole over and over
  // to emit 80 characters of it: ~3-11 ms per MB per source's scrubber (more secrets, more
  // cost; 16 MB × 4 sources ≈ 0.2-0.7 s) plus the preview's JSON (~11 ms per MB), on the event
  // loop, on every quorum read the liar answers, once per show. Before 4223f11 the scrub
  // read at most 1,024 characters. Fix: show each group's value once per
  // run (memoize by group), and scrub only a bounded window (the preview's first
  // 80 + k·longest-secret characters, cut where no secret can straddle, then scrub and cut).
  it("a liar's large answer: showing 80 characters of it does not scrub all of it", async () => {
    await resetLab(lab)
    let scrubbed = 0
    const counted = (s: Source): Source => {
      const redact = s.config.redact
      return {
        ...s,
        config: {
          ...s.config,
          redact:
            redact &&
            ((t: string) => {
              scrubbed += t.length
              return redact(t)
            }),
        },
      }
    }
    const keyedLab = (name: string, key: string) => {
      const s = lab.sources.find((x) => x.name === name)!
      return http(`${s.proxy.url}/v3/${key}`, { name, domain: s.domain, fetchFn: s.proxy.fetch })
    }
    const honest = [
      keyedLab('aws', 'q7rt2mx9pl4vb8nkz3cv6bn1'),
      keyedLab('gcp', 'm4k8w2p6x0d5h9a3q7rt2mx9'),
      keyedLab('home', 'p6x0d5h9a3m4k8w2z3cv6bn1'),
    ]
    // 4 MB of return data (eth_call's answer must be hex: a text of near misses of an honest
    // URL, ~27 ms per MB per scrubber, would be refused as malformed before it is shown).
    const BIG = `0x${'ab'.repeat(2 * 1024 * 1024)}`
    const liar = hostile(
      keyedLab('liar', 'Zx9kQ2mL7pR4tW8vB3nY6cF1'),
      async (method, _p, answer) => (method === 'eth_call' ? BIG : answer()),
    )
    const sources = [liar, ...honest].map(counted)
    const rpc = createOutlast({ chainId: CHAIN_ID, sources })
    try {
      await rpc.request({ method: 'eth_blockNumber' })
      scrubbed = 0
      const started = performance.now()
      const outcome = await rpc
        .request({
          method: 'eth_call',
          params: [{ to: '0x0000000000000000000000000000000000000004', data: '0x01' }, 'latest'],
        })
        .then(
          (v) => v,
          (e: unknown) => e,
        )
      const ms = performance.now() - started
      assert.ok(scrubbed > 0, `nothing was scrubbed: nothing tested (${String(outcome)})`)
      // Before 4223f11: at most 1,024 characters per source and show.
      assert.ok(
        scrubbed <= 64 * 1024,
        `${(scrubbed / 1e6).toFixed(1)} M characters scrubbed (${(scrubbed / BIG.length).toFixed(1)} × the answer; the request took ${ms.toFixed(0)} ms) to show 80 of them`,
      )
    } finally {
      await rpc.close()
    }
  })

  // The window #show scrubs grows while scrubbing shrinks it (fanOut.ts SECRET_SPAN): an answer
  // of 2,000 echoes of a long key (128 characters: a token in the path) shrinks 128 to 1 far
  // past the first window, and no part of the key may reach the 80 characters shown.
  it('an answer that shrinks past the first window shows no part of the key', async () => {
    await resetLab(lab)
    const KEY = '7d3e9a41c0b25f86e1a4d9c37b20f5e8'.repeat(4)
    const s = lab.sources.find((x) => x.name === 'liar')!
    const keyed = http(`${s.proxy.url}/v3/${KEY}`, { name: 'keyed', domain: 'liar-host' })
    const echoing = hostile(keyed, async (method, _params, answer) =>
      method === 'eth_call' ? `0x${KEY.repeat(2_000)}00` : answer(),
    )
    const { shown } = await failedCall([echoing, ...labSources(lab, ['aws'])])
    assert.deepEqual(partsOf(shown, KEY, 6), [], `part of the key is shown: ${shown}`)
  })
})

describe('without the lab', () => {
  // Was a HOLE (medium). 4223f11 made every all-digit URL part no secret, at any length
  // (src/sources/secrets.ts:34 DIGITS, :61 urlPart), to spare chain ids (`/v2/421614/rpc`).
  // But a key may be a number: an account or app id a provider issues as digits, a numeric
  // token pasted into `?apikey=`, a 20+-digit id (`/rpc/83749201748392017483619204`); no chain
  // id is longer than 10 digits in practice (the largest in chainlist is well under 2^32). Such
  // a key is now in no form the scrubber knows (only the whole URL is): a node that names the
  // key it refused ("invalid api key 8374…") sends it whole to the RpcResponseError, the
  // `lie`/status texts, a proxy's client, a relay's peer (nodeSecrets builds on scrubberFor).
  // Fix: exempt digits only up to a chain id's length (say ≤ 10), not any run of digits; the
  // same for a secret's parts (secrets.ts:56-59, a numeric session id in a cookie).
  it('a numeric key in the URL, echoed by the node, is scrubbed', async () => {
    const KEY = '83749201748392017483619204'
    const node = await erroringNode(
      (_params, req) =>
        `invalid api key ${new URL(req.url ?? '/', 'http://x').searchParams.get('apikey')}`,
    )
    const source = http(`${node}/rpc?apikey=${KEY}`, { name: 'keyed' })
    const error = await failureOf(source, 'eth_blockNumber')
    assert.match(error.message, /invalid api key/, 'the node message is relayed (control)')
    const shown = `${error.message} ${error.details ?? ''}`
    assert.deepEqual(partsOf(shown, KEY, 8), [], shown)
  })

  // Was a HOLE (medium). A credential list's value is a secret of its own only when it is not a
  // "plain word" (src/sources/secrets.ts:56 part → :33 PLAIN_WORD), and, unlike a URL part
  // (:63, at most 15 characters), a part's plain-word test has NO length limit: letters joined
  // by `-`, `_`, `.` are never a secret, however long. A random session token of letters only
  // (≈1.5% of 24-character base62 tokens; every token of a letters-only alphabet, and
  // dot/dash-joined word tokens) is a plain word. The whole header is a secret, but a server
  // echoes the one value it read ("session X expired", round 2's own case): the value reaches
  // the error whole. The same for a numeric session id (DIGITS, :57). Fix: the plain-word
  // exemption for parts with the URL's length limit (≤ 15), and digits only up to ~10.
  it('a letters-only session value in a cookie, echoed alone, is scrubbed', async () => {
    const SESSION = 'QmXzKpLrTwVbNcHdJfGsYaEu'
    const node = await erroringNode(() => `session ${SESSION} expired`)
    const source = http(node, {
      name: 'cookied',
      headers: { cookie: `session=${SESSION}; csrf=m4k8w2p6x0d5h9a3` },
    })
    const error = await failureOf(source, 'eth_blockNumber')
    assert.match(error.message, /expired/, 'the node message is relayed (control)')
    assert.deepEqual(
      partsOf(`${error.message} ${error.details ?? ''}`, SESSION, 8),
      [],
      error.message,
    )
  })

  // Was a HOLE (low likelihood, whole secret). The scrubber's regex is built from the LOWER-CASED
  // forms (src/sources/secrets.ts:104-107: `byLower` keys, flags `gi` without `u`), trusting
  // `/i` to match them back to any case. It does not for characters whose lower case is not
  // their case-fold: `İ` (U+0130) lowers to `i̇` (two code units), `ẞ` (U+1E9E) to `ß`, the
  // Kelvin `K` (U+212A) to `k`, the Ohm `Ω` (U+2126) to `ω`; non-unicode `/i` never maps them
  // back. A password (a Turkish passphrase `İstanbul…`, a German `STRAẞE…`), a URL part
  // (registered decoded) or a relay node's key holding one is in NO form the scrubber finds:
  // echoed decoded, it reaches the error whole, and the relay's peer (nodeSecrets) too. Fix:
  // build the pattern from the forms as given (and their lower case), look a match up by
  // `replace.get(m) ?? byLower.get(m.toLowerCase())` (the `?? '…'` fallback already covers
  // the rest), or use the `u` flag (unicode case folding) on forms as given.
  it('a password holding `İ`, echoed decoded, is scrubbed', async () => {
    const PASSWORD = 'İstanbulq7rt2mx9pl4v'
    const node = await erroringNode(() => `authentication failed for ${PASSWORD}`)
    const url = new URL(node)
    url.username = 'rpcuser'
    url.password = PASSWORD
    const source = http(url.href, { name: 'keyed' })
    const error = await failureOf(source, 'eth_blockNumber')
    assert.match(error.message, /authentication failed/, 'the node message is relayed (control)')
    const shown = `${error.message} ${error.details ?? ''}`
    assert.deepEqual(partsOf(shown, PASSWORD, 8), [], shown)
  })

  // BROKEN FOR HONEST USERS (medium: a wrong answer; round 2's `page_size=1000`, left open for
  // a whole header value). Every header but content-type/accept is a credential, secret from 4
  // characters on whatever it looks like (src/sources/secrets.ts:84 `add(value.trim(),
  // MIN_CREDENTIAL)`, :36 PUBLIC_HEADERS); 4223f11 spared numbers only in URL parts and in a
  // secret's parts (:57, :63). Users send plain settings as headers too: `x-chain-id: 8453`,
  // `x-request-timeout: 15000`, a gateway's `x-api-version: 2024`. The scrubber matches
  // anywhere, case ignored, and runs on a revert's `data` (src/sources/jsonRpc.ts:84), which IS
  // the answer viem decodes: data holding those 4 digits (1 in ~1,100 random 32-byte words) comes
  // back as `0x…` pieces; a source with the header disagrees with one without it. Fix: apply the
  // number and plain-word exemptions to a whole header value too (a credential is neither), or
  // never scrub a `0x`-hex string's inside with a secret shorter than a key (16+).
  it("a numeric non-credential header (`x-chain-id: 8453`) leaves a revert's data as sent", async () => {
    const word = (hex: string) => hex.padStart(64, '0')
    // ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)
    const data = `0xe450d38c${word('f39fd6e51aad88f6f4ce6ab8827279cfffb92266')}${word('18453')}${word('20000')}`
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
    const source = http(node, { name: 'tagged', headers: { 'x-chain-id': '8453' } })
    const error = (await failureOf(source, 'eth_call', [{ to: '0x01' }, 'latest'])) as Error & {
      data?: unknown
    }
    assert.equal(error.data, data, 'the revert data is changed')
  })

  // Was a HOLE (low/medium, relay). 4223f11 scrubs a node's answer only when its text holds `"error"`
  // (src/p2p/relay/nodeSecrets.ts:27-30), and the relay passes a lone call's text as the node
  // wrote it, with no check that it is JSON-RPC at all (rpcServer.ts:164, nodeClient.ts:61-77:
  // any 2xx body). Gateways and proxies in front of a node say what went wrong in other shapes:
  // `{"message": …}` (API gateways), `{"errors": [{"message": …}]}`, `{"error_description":
  // …}` / `"errorMessage"` (neither holds `"error"` with both quotes), or plain text. Such a
  // text naming the URL or the key is now sent to the peer unscrubbed (before 4223f11 every
  // text was scrubbed). Fix: pass text byte-exact only when it is a JSON-RPC success
  // (`{"jsonrpc","id","result"}` and nothing else, checked by parsing); scrub everything else,
  // or answer the peer with a fixed error for a body that is not JSON-RPC.
  it('the relay: a node answer naming its key in a non-JSON-RPC shape is scrubbed', () => {
    const KEY = 'q7rt2mx9pl4vb8nkz3cv6bn1'
    const scrub = nodeSecrets([`https://rpc.example/v3/${KEY}`])
    const shapes = [
      `{"message":"project ${KEY} is over its daily limit"}`,
      `{"errors":[{"message":"no route for /v3/${KEY}"}]}`,
      `{"jsonrpc":"2.0","id":1,"result":null,"errorMessage":"upstream /v3/${KEY} refused"}`,
      `invalid project id ${KEY}`,
    ]
    const leaked = shapes.filter((text) => scrub(text).includes(KEY))
    assert.deepEqual(leaked, [], 'the peer gets the key')
  })

  // BROKEN FOR HONEST USERS (low, relay). The test for `"error"` looks anywhere in the text
  // (src/p2p/relay/nodeSecrets.ts:29), so a RESULT holding a member named `error` is scrubbed
  // whole. `eth_createAccessList` (served: guards.ts SERVED) answers a call that reverts with a
  // result `{accessList, gasUsed, error: "execution reverted"}` (geth, and clients following
  // it); a peer makes that happen at will. Every secret-like run in that result's hex (a
  // storage key, an address, case ignored) is then changed to `…` in what the peer gets: the
  // "results as the node wrote them" promise of 4223f11 holds only for results without such a
  // member (the same run passes unchanged in a plain result: nodeSecrets.test.ts), and the
  // peer's outlast counts the changed answer as the relay's lie. The text is also handed over
  // spelled out (`\u00e9` → `é`) even where nothing was scrubbed. Fix: find the top-level
  // member by parsing (or scanning top-level members only) and scrub only the `error` member's
  // span, never inside `result`.
  it('the relay: an eth_createAccessList result holding `error` reaches the peer unchanged', () => {
    const scrub = nodeSecrets(['https://rpc.example/v1/abcdef12'])
    const slot = `0x${'00'.repeat(27)}abcdef12ff`
    const result = `{"jsonrpc":"2.0","id":1,"result":{"accessList":[{"address":"0x00000000000000000000000000000000000000aa","storageKeys":["${slot}"]}],"gasUsed":"0x5208","error":"execution reverted"}}`
    assert.equal(scrub(result), result)
  })
})
