/**
 * `fetchTokenList()`: a token list (tokenlists.org schema) stored under its CID in the lab,
 * fetched verified through loopback gateways (one tampering), checked field by field; bad
 * lists refused with every problem named by its path.
 */
import assert from 'node:assert/strict'
import { importer } from 'ipfs-unixfs-importer'
import type { CID } from 'multiformats/cid'
import { afterAll, beforeAll, describe, it } from 'vitest'
import {
  checkTokenList,
  createIpfs,
  fetchTokenList,
  type Ipfs,
  TokenListError,
} from '../../src/ipfs/index.ts'
import { blockMap, type LabGateway, startGateway } from '../lab/ipfsLab.ts'

const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48'
const list = {
  name: 'Outlast Test List',
  timestamp: '2026-12-01T00:00:00.000Z',
  version: { major: 1, minor: 2, patch: 3 },
  keywords: ['outlast', 'test'],
  logoURI: 'ipfs://bafkreigjz4cvtsoj6zgnaizk2ajdhx4gw2h2uqtbfmpw4yb3kxqdnfydzq',
  tokens: [
    {
      chainId: 1,
      address: USDC,
      name: 'USD Coin',
      symbol: 'USDC',
      decimals: 6,
      logoURI: 'https://example.com/usdc.png',
      tags: ['stablecoin'],
      extensions: { bridgeInfo: { huge: 'x'.repeat(100) } },
    },
    {
      chainId: 10,
      address: '0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85',
      name: 'USD Coin',
      symbol: 'USDC',
      decimals: 6,
    },
  ],
}
const bad = {
  name: 'Broken',
  timestamp: 'yesterday',
  version: { major: 1, minor: '0', patch: 0 },
  tokens: [
    { chainId: 1, address: USDC, name: 'ok', symbol: 'OK', decimals: 18 },
    { chainId: 1, address: '0x1234', name: 'short address', symbol: 'X', decimals: '18' },
    { chainId: 0, address: USDC, symbol: 'NONAME', decimals: 300 },
    'not an object',
  ],
}

const blocks = blockMap()
const cids: Record<'list' | 'bad' | 'notJson', CID> = {} as never
let gateways: LabGateway[] = []
let ipfs: Ipfs

async function put(bytes: Uint8Array): Promise<CID> {
  let cid: CID | undefined
  for await (const entry of importer([{ content: bytes }], blocks, { cidVersion: 1 }))
    cid = entry.cid
  return cid!
}

beforeAll(async () => {
  const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x))
  cids.list = await put(enc(list))
  cids.bad = await put(enc(bad))
  cids.notJson = await put(new TextEncoder().encode('<html>a web page</html>'))
  gateways = [
    await startGateway({ blocks, behaviour: 'tampering' }),
    await startGateway({ blocks }),
  ]
  ipfs = createIpfs({ gateways: gateways.map((g) => g.url), hedgeDelay: 1_000 })
})

afterAll(async () => {
  await ipfs?.close()
  await Promise.all(gateways.map((g) => g.close()))
})

describe('fetchTokenList', () => {
  it('from a CID: verified (the tampering gateway flagged), checked fields only', async () => {
    const got = await fetchTokenList(cids.list.toString(), { ipfs })
    assert.equal(got.verified, true)
    assert.equal(got.origin, 'ipfs')
    assert.equal(got.name, list.name)
    assert.deepEqual(got.version, list.version)
    assert.deepEqual(got.keywords, list.keywords)
    assert.equal(got.tokens.length, 2)
    const { extensions: _, ...usdc } = list.tokens[0]!
    assert.deepEqual(got.tokens[0], usdc, 'extensions are not kept: nothing unchecked is')
    assert.equal(ipfs.status().routes[0]!.condition, 'lying')
    // ipfs:// and gateway URL forms, and a chain filter.
    const mainnet = await fetchTokenList(`ipfs://${cids.list}`, { ipfs, chainId: 1 })
    assert.deepEqual(
      mainnet.tokens.map((t) => t.address),
      [USDC],
    )
    const viaUrl = await fetchTokenList(`https://ipfs.io/ipfs/${cids.list}`, { ipfs, chainId: 10 })
    assert.deepEqual(
      viaUrl.tokens.map((t) => t.chainId),
      [10],
    )
  })

  it('a bad list is refused, every problem named by its path', async () => {
    await assert.rejects(fetchTokenList(`ipfs://${cids.bad}`, { ipfs }), (e: Error) => {
      assert.ok(e instanceof TokenListError)
      assert.match(e.message, new RegExp(`Token list ipfs://${cids.bad}: not a valid token list`))
      for (const p of [
        /timestamp must be an ISO 8601 date-time, got "yesterday"/,
        /version\.minor must be an integer from 0 to \d+, got "0"/,
        /tokens\[1\]\.address must be a 0x-prefixed 20-byte address, got "0x1234"/,
        /tokens\[1\]\.decimals must be an integer from 0 to 255, got "18"/,
        /tokens\[2\]\.chainId must be an integer from 1/,
        /tokens\[2\]\.name must be a string of 1 to 60 characters, got undefined/,
        /tokens\[2\]\.decimals must be an integer from 0 to 255, got 300/,
        /tokens\[3\] must be an object, got "not an object"/,
      ])
        assert.ok(
          e.problems.some((x) => p.test(x)),
          `${p} in:\n${e.problems.join('\n')}`,
        )
      assert.match(e.message, /- tokens\[1\]\.address/)
      return true
    })
    await assert.rejects(
      fetchTokenList(`ipfs://${cids.notJson}`, { ipfs }),
      new RegExp(
        `Token list ipfs://${cids.notJson}: could not be read: ${cids.notJson} is not JSON`,
      ),
    )
    assert.deepEqual(checkTokenList([]).problems, ['the list must be a JSON object, got an array'])
    assert.match(
      checkTokenList({ ...list, tokens: list.tokens.concat(list.tokens) }, 3).problems[0]!,
      /tokens holds 4 entries, more than maxTokens \(3\)/,
    )
  })

  it('a plain https URL is refused unless allowHttp; a non-IPFS address is named', async () => {
    await assert.rejects(
      fetchTokenList('https://tokens.example.com/list.json?key=SECRET', { ipfs }),
      (e: Error) => {
        assert.match(e.message, /plain HTTP URL, not an IPFS address/)
        assert.doesNotMatch(e.message, /SECRET|list\.json/)
        return true
      },
    )
    await assert.rejects(
      fetchTokenList('tokens.eth', { ipfs }),
      /Token list tokens\.eth: .*neither a URL nor an IPFS path/,
    )
    await assert.rejects(fetchTokenList(cids.list.toString(), { ipfs, chainId: 0 }), /chainId/)
  })
})
