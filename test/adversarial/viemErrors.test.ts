/**
 * What viem makes of outlast's own failures, and of node errors the domains agree on. viem reads
 * code -32603 (and 3) as a contract revert, and matches an error's message against node phrases
 * ("execution reverted", "nonce too low"): a quorum failure, whose message lists each source's
 * answer, came out as a revert, with the reason a liar wrote. Through `outlast/viem` it is `OutlastRequestError`, code -32002. An agreed
 * revert is agreed on its code and data: the words of the source that answered first are not
 * returned (tally.ts `wordless`).
 */
import assert from 'node:assert/strict'
import { createPublicClient, parseAbi } from 'viem'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { OutlastRequestError, outlast } from '../../src/adapters/viem.ts'
import { createOutlast, http, type Source } from '../../src/index.ts'
import { QuorumError, RpcResponseError } from '../../src/shared/errors.ts'
import { CHAIN_ID, sleep } from '../helpers.ts'
import { type Anvil, startAnvil } from '../lab/index.ts'
import { hostile } from './hostile.ts'

let anvil: Anvil
beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 1 })
})
afterAll(() => anvil?.stop())

/** Runtime code that returns 42 as one word, whatever it is called with. */
const FORTY_TWO = '0x602a60005260206000f3'
const CONTRACT = '0x00000000000000000000000000000000000c0de1'
const abi = parseAbi(['function value() view returns (uint256)'])

/** viem's error holds outlast's: resource unavailable, the QuorumError whole behind it. */
function assertOutlasts(error: Error) {
  const ours = (error as unknown as { walk(f: (e: unknown) => boolean): unknown }).walk(
    (e) => e instanceof OutlastRequestError,
  ) as OutlastRequestError | undefined
  assert.ok(ours, `${error.name}: ${error.message}`)
  assert.equal(ours.code, -32002)
  assert.ok(ours.outlast instanceof QuorumError)
  assert.match(error.message, /Requested resource not available/)
}

describe("viem: outlast's own failure is not a contract revert", () => {
  it('a split between two domains (one lying) is not reported as ContractFunctionRevertedError', async () => {
    await anvil.rpc('anvil_setCode', [CONTRACT, FORTY_TWO])
    const liar = hostile(
      http(anvil.url, { name: 'liar', domain: 'liar-host', timeout: 1_000 }),
      async (method, _params, answer) =>
        method === 'eth_call' ? `0x${'00'.repeat(31)}63` : answer(),
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 300,
      sources: [http(anvil.url, { name: 'aws', domain: 'aws', timeout: 1_000 }), liar],
    })
    const client = createPublicClient({ chain: foundry, transport: outlast(rpc) })
    try {
      await rpc.connect()
      const error = await client
        .readContract({ address: CONTRACT, abi, functionName: 'value' })
        .then(
          (v) => ({ value: v }),
          (e: Error) => e,
        )
      assert.ok(error instanceof Error, 'no answer two domains agree on')
      const walked = (error as { walk?: (f: (e: unknown) => boolean) => unknown }).walk?.(
        (e) => (e as Error).name === 'ContractFunctionRevertedError',
      )
      assert.ok(!walked, 'a quorum failure is not a revert')
      assertOutlasts(error)
    } finally {
      await rpc.close()
    }
  })
})

describe("viem: a liar's words are not read as the node's verdict", () => {
  it("a split (one side a made-up revert) is not an ExecutionRevertedError with the liar's reason", async () => {
    await anvil.rpc('anvil_setCode', [CONTRACT, FORTY_TWO])
    const liar = hostile(
      {
        config: { name: 'liar', domain: 'liar-host', kind: 'cloud', weight: 1 },
        request: async () => {
          throw new RpcResponseError('liar', {
            code: 3,
            message: 'execution reverted: account frozen, migrate at evil.example',
          })
        },
      } as never,
      async (method, _params, answer) => {
        if (method === 'eth_call' || method === 'eth_estimateGas') return answer()
        return anvil.rpc(method, [..._params])
      },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 300,
      sources: [http(anvil.url, { name: 'aws', domain: 'aws', timeout: 1_000 }), liar],
    })
    const client = createPublicClient({ chain: foundry, transport: outlast(rpc) })
    try {
      await rpc.connect()
      const error = await client.call({ to: CONTRACT, data: '0x3fa4f245' }).then(
        (v) => ({ value: v }),
        (e: Error) => e,
      )
      assert.ok(error instanceof Error, 'no answer two domains agree on')
      const walked = (error as unknown as { walk: (f: (e: unknown) => boolean) => unknown }).walk(
        (e) => (e as Error).name === 'ExecutionRevertedError',
      )
      assert.ok(!walked, "one domain's revert, outvoted by none, is not a revert")
      assertOutlasts(error)
      assert.ok(!error.message.includes('evil.example'), error.message)
    } finally {
      await rpc.close()
    }
  })
})

describe('an agreed revert: the nodes agree on its code and data, not its words', () => {
  /** Runtime code that reverts with the 4 bytes 0xdeadbeef, whatever it is called with. */
  const REVERTS = '0x63deadbeef6000526004601cfd'
  const CONTRACT = '0x00000000000000000000000000000000000c0de2'
  const LIE = 'execution reverted: account frozen, migrate at evil.example'

  /** The fastest source: the honest revert's code and data, its own words. */
  const liar = () =>
    hostile(
      http(anvil.url, { name: 'liar', domain: 'liar-host', timeout: 2_000 }),
      async (method, _params, answer) => {
        if (method !== 'eth_call') return answer()
        try {
          return await answer()
        } catch (e) {
          if (!(e instanceof RpcResponseError)) throw e
          throw new RpcResponseError('liar', { code: e.code, message: LIE, data: e.data })
        }
      },
    )
  const slow = (name: string): Source =>
    hostile(http(anvil.url, { name, domain: name, timeout: 2_000 }), async (_m, _p, answer) => {
      await sleep(150)
      return answer()
    })

  it("an agreed revert reaches viem in fixed words, not the fastest liar's", async () => {
    await anvil.rpc('anvil_setCode', [CONTRACT, REVERTS])
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 300,
      sources: [liar(), slow('aws'), slow('gcp')],
    })
    const client = createPublicClient({ chain: foundry, transport: outlast(rpc) })
    try {
      await rpc.connect()
      const error = await client.call({ to: CONTRACT, data: '0x3fa4f245' }).then(
        (v) => ({ value: v }),
        (e: Error) => e,
      )
      assert.ok(error instanceof Error, 'every node reverts')
      assert.ok(!error.message.includes('evil.example'), error.message)
      assert.match(error.message, /execution reverted/)
    } finally {
      await rpc.close()
    }
  })
})
