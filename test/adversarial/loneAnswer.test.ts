/**
 * Three domains up and fresh, one of them hostile. Asked about a block only the liar "has" (a
 * correctly hashed header it made up), the two honest domains answer with a JSON-RPC error
 * ("unknown block"). That error used to count as their *failure* (only reverts and invalid
 * params were node answers), so the liar's lone answer was "one answer and every other domain
 * failed" (fanOutDecisions.ts `whenExhausted` → `degrade`) and came back, although no domain
 * was out and two contradicted it. Now a live node's "unknown block", in any client's words,
 * is its dissent (tally.ts `judgeTrusted`): two domains agree there is no such block.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type Source } from '../../src/index.ts'
import { CHAIN_ID } from '../helpers.ts'
import { type Anvil, startAnvil } from '../lab/index.ts'
import { forgeHeader, hostile } from './hostile.ts'

let anvil: Anvil
beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 1 })
})
afterAll(() => anvil?.stop())

const TOKEN = '0x00000000000000000000000000000000000070c3'
const TRANSFER = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef'
const WALLET = `0x${'00'.repeat(12)}${'77'.repeat(20)}`

describe('a block only the liar knows, two honest domains up that say "unknown block"', () => {
  it("eth_getLogs by its hash is not answered with the liar's logs", async () => {
    const real = await anvil.rpc<Record<string, unknown>>('eth_getBlockByNumber', ['latest', false])
    const forged = forgeHeader(real, Number(real.number)) as { hash: string; number: string }
    const inner = http(anvil.url, { name: 'liar', domain: 'liar-host', timeout: 1_000 })
    const liar: Source = hostile(inner, async (method, params, answer) => {
      const f = params[0] as { blockHash?: string } | undefined
      if (method === 'eth_getLogs' && f?.blockHash === forged.hash)
        return [
          {
            address: TOKEN,
            topics: [TRANSFER, `0x${'00'.repeat(32)}`, WALLET],
            data: `0x${(10n ** 24n).toString(16).padStart(64, '0')}`,
            blockNumber: forged.number,
            blockHash: forged.hash,
            transactionHash: `0x${'ab'.repeat(32)}`,
            transactionIndex: '0x0',
            logIndex: '0x0',
            removed: false,
          },
        ]
      return answer()
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 300,
      sources: [
        http(anvil.url, { name: 'aws', domain: 'aws', timeout: 1_000 }),
        http(anvil.url, { name: 'gcp', domain: 'gcp', timeout: 1_000 }),
        liar,
      ],
    })
    try {
      await rpc.connect()
      const honest = await fetch(anvil.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'eth_getLogs',
          params: [{ blockHash: forged.hash }],
        }),
      }).then((r) => r.json() as Promise<{ error?: { message: string } }>)
      assert.ok(honest.error, 'an honest node does not know the block')
      const read = await rpc
        .requestWithMeta({ method: 'eth_getLogs', params: [{ blockHash: forged.hash }] })
        .catch((error: Error) => ({ error }))
      if ('result' in read)
        console.log(
          `# liar's logs returned: ${JSON.stringify(read.result).length} bytes, consistency=${read.meta.consistency}, domains=${read.meta.domains}; status: ${rpc
            .status()
            .sources.map((s) => `${s.name}:${s.condition}`)
            .join(' ')}`,
        )
      assert.ok(
        'error' in read,
        'two domains up said "unknown block", yet the liar\'s made-up logs came back',
      )
    } finally {
      await rpc.close()
    }
  })
})
