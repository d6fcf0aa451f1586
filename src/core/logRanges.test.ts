import { describe, expect, it } from 'vitest'
import { RpcResponseError } from '../shared/errors.ts'
import { partsOf, rangeOf, spanHint, withRange } from './logRanges.ts'

const refusal = (code: number, message: string, data?: unknown) =>
  new RpcResponseError('provider', { code, message, ...(data === undefined ? {} : { data }) })

describe('spanHint: providers refusing eth_getLogs, in their words', () => {
  // Wording as providers send it (as reported in users' issues); the span asked was 100_000.
  const cases: Array<[string, RpcResponseError, { span: number; learned: boolean }]> = [
    [
      'Alchemy free tier',
      refusal(
        -32600,
        'Under the Free tier plan, you can make eth_getLogs requests with up to a 10 block range. Based on your parameters, this block range should work: [0x1, 0xa]. Upgrade to PAYG for expanded block range.',
      ),
      { span: 10, learned: true },
    ],
    [
      'Alchemy response size',
      refusal(
        -32602,
        'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters, this block range should work: [0x10, 0x4e1f]',
      ),
      { span: 2_000, learned: true },
    ],
    [
      'QuickNode',
      refusal(-32614, 'eth_getLogs is limited to a 10,000 range'),
      { span: 10_000, learned: true },
    ],
    [
      'Cloudflare',
      refusal(-32047, 'Invalid eth_getLogs request. Max range: 800'),
      { span: 800, learned: true },
    ],
    [
      'publicnode',
      refusal(-32701, 'exceed maximum block range: 50000'),
      { span: 50_000, learned: true },
    ],
    [
      'BlockPI',
      refusal(-32000, 'eth_getLogs is limited to 1024 block range'),
      { span: 1_024, learned: true },
    ],
    [
      'Coinbase',
      refusal(-32000, 'please limit the query to at most 1000 blocks'),
      { span: 1_000, learned: true },
    ],
    [
      'Avalanche',
      refusal(-32000, 'requested too many blocks from 0 to 100000, maximum is set to 2048'),
      { span: 2_048, learned: true },
    ],
    [
      'Infura result cap (a suggestion for this query only)',
      refusal(
        -32005,
        'query returned more than 10000 results. Try with this block range [0x0, 0x3e7].',
      ),
      { span: 1_000, learned: false },
    ],
    [
      'geth result cap',
      refusal(-32005, 'query exceeds max results 10000'),
      { span: 50_000, learned: false },
    ],
    ['Base', refusal(-32000, 'block range too large'), { span: 50_000, learned: false }],
    [
      'Arbitrum',
      refusal(-32000, 'logs matched by query exceeds limit of 10000'),
      { span: 50_000, learned: false },
    ],
  ]
  for (const [who, error, hint] of cases)
    it(who, () => {
      expect(spanHint(error, 100_000)).toEqual(hint)
    })

  it('is no hint for other errors, other kinds of failure, or a span of one block', () => {
    expect(spanHint(refusal(-32000, 'execution reverted'), 100)).toBeUndefined()
    expect(
      spanHint(refusal(-32602, 'invalid argument 0: hex string without 0x prefix'), 100),
    ).toBeUndefined()
    expect(spanHint(new Error('block range too large'), 100)).toBeUndefined()
    expect(spanHint(refusal(-32005, 'query returned more than 10000 results'), 1)).toBeUndefined()
  })

  it('never asks for a span as wide as the one refused: a stated limit at or over it halves it', () => {
    expect(spanHint(refusal(-32614, 'eth_getLogs is limited to a 10,000 range'), 5_000)).toEqual({
      span: 2_500,
      learned: false,
    })
    expect(spanHint(refusal(-32005, 'Try with this block range [0x0, 0xffff]'), 100)).toEqual({
      span: 50,
      learned: false,
    })
  })
})

describe('ranges', () => {
  it('reads a numbered range; not a blockHash filter, a tag or a reversed range', () => {
    expect(rangeOf({ fromBlock: '0x10', toBlock: '0x1f' })).toEqual({ from: 16, to: 31 })
    expect(rangeOf({ blockHash: `0x${'1'.repeat(64)}` })).toBeUndefined()
    expect(rangeOf({ fromBlock: 'earliest', toBlock: '0x1' })).toBeUndefined()
    expect(rangeOf({ fromBlock: '0x2', toBlock: '0x1' })).toBeUndefined()
    expect(rangeOf(null)).toBeUndefined()
  })

  it('cuts a range into consecutive parts covering every block once, in order', () => {
    expect(partsOf({ from: 10, to: 34 }, 10)).toEqual([
      { from: 10, to: 19 },
      { from: 20, to: 29 },
      { from: 30, to: 34 },
    ])
    expect(partsOf({ from: 7, to: 7 }, 3)).toEqual([{ from: 7, to: 7 }])
    expect(withRange({ address: '0x1', toBlock: 'latest' }, { from: 1, to: 255 })).toEqual({
      address: '0x1',
      fromBlock: '0x1',
      toBlock: '0xff',
    })
  })
})
