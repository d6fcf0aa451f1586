/**
 * A proxy's client must not learn the start of the key in the proxy's upstream URLs. Before,
 * the scrubber also took out a key's first six or more characters just before a `…` or at the
 * end of a text (a cut-off pattern for outlast's own cuts). A client that made the node echo its
 * guesses, here as revert reasons of a contract that reverts with its calldata, saw its guess
 * vanish when it started the key: one oracle per character. Now the scrubber takes out whole
 * secrets only, and outlast's own cuts go through `clip` (shared/clip.ts).
 */
import assert from 'node:assert/strict'
import { encodeAbiParameters } from 'viem'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { type ProxyServer, startProxy } from '../../src/proxy/index.ts'
import { CHAIN_ID } from '../helpers.ts'
import { devAccounts, type Lab, mined, startLab } from '../lab/index.ts'

/** An Infura-style key: 32 hex digits, so 6 of them are 16.7 million guesses, not a secret. */
const KEY = '7d3e9a41c0b25f86e1a4d9c37b20f5e8'
/** Runtime `calldatacopy(0, 0, calldatasize()); revert(0, calldatasize())`, and its deployer. */
const ECHO_REVERT_INIT = '0x66365f5f37365ffd5f5260076019f3'

let lab: Lab
let proxy: ProxyServer
let echo: string

beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [
      { name: 'aws', domain: 'aws-us-east-1', latency: 2 },
      { name: 'gcp', domain: 'gcp-europe-west1', latency: 4 },
    ],
  })
  const hash = await lab.anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[0].address, data: ECHO_REVERT_INIT },
  ])
  await mined(lab.anvil, hash)
  echo = (await lab.anvil.rpc<{ contractAddress: string }>('eth_getTransactionReceipt', [hash]))
    .contractAddress
  proxy = await startProxy({
    config: JSON.stringify({
      chainId: CHAIN_ID,
      sources: lab.sources.map((s) => ({
        type: 'http',
        url: `${s.proxy.url}/v3/${KEY}`,
        name: s.name,
        domain: s.domain,
      })),
      proxy: { port: 0 },
    }),
    env: {},
  })
})
afterAll(async () => {
  await proxy?.close()
  await lab?.stop()
})

/** What the proxy tells its client when the node reverts with `reason`. */
async function revertMessage(reason: string): Promise<string> {
  const data = `0x08c379a0${encodeAbiParameters([{ type: 'string' }], [reason]).slice(2)}`
  const res = await fetch(proxy.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_call',
      params: [{ to: echo, data }, 'latest'],
    }),
  })
  const body = (await res.json()) as { error?: { message: string } }
  assert.ok(body.error, `the call did not revert: ${JSON.stringify(body)}`)
  return body.error.message
}

describe("a proxy's client guessing the upstream key", () => {
  it('gets its guesses back as they were sent, the right one too', async () => {
    const control = await revertMessage('zzzzzzzz…')
    assert.ok(control.includes('zzzzzzzz…'), `the node did not echo the reason: ${control}`)
    for (const guess of [`${KEY.slice(0, 6)}…`, `${KEY.slice(0, 9)}…`, KEY.slice(0, 7)]) {
      const message = await revertMessage(guess)
      assert.ok(message.includes(guess), `the guess ${guess} came back as ${message}`)
    }
  })

  it('still never sees the whole key', async () => {
    const message = await revertMessage(`key is ${KEY}`)
    assert.ok(!message.includes(KEY), message)
    assert.ok(message.includes('key is …'), message)
  })
})
