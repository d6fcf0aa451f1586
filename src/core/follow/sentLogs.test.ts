import assert from 'node:assert/strict'
import { describe, test } from 'vitest'
import type { RpcLog } from './logs.ts'
import { SentLogs } from './sentLogs.ts'

const log = (data: string) => ({ data }) as RpcLog
const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}`

describe('SentLogs', () => {
  test('gives back what a block sent, once; none for a block it never kept', () => {
    const kept = new SentLogs(1_000)
    const logs = [log('0x01'), log('0x02')]
    kept.keep(hash(1), logs)
    assert.deepEqual(kept.take(hash(1)), logs)
    assert.deepEqual(kept.take(hash(1)), [])
    assert.deepEqual(kept.take(hash(2)), [])
  })

  test('over its budget, lets the oldest blocks’ logs go and says so for each', () => {
    const weight = JSON.stringify(log('0x00')).length
    const kept = new SentLogs(3 * weight)
    for (let n = 1; n <= 5; n++) kept.keep(hash(n), [log('0x00')])
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => kept.take(hash(n))?.length),
      [undefined, undefined, 1, 1, 1],
    )
  })

  test('a block whose logs alone are over the budget is let go at once', () => {
    const kept = new SentLogs(10)
    kept.keep(hash(1), [log(`0x${'00'.repeat(10)}`)])
    assert.equal(kept.take(hash(1)), undefined)
  })

  test('what a block gave back no longer counts', () => {
    const weight = JSON.stringify(log('0x00')).length
    const kept = new SentLogs(2 * weight)
    kept.keep(hash(1), [log('0x00')])
    kept.keep(hash(2), [log('0x00')])
    kept.take(hash(2))
    kept.keep(hash(3), [log('0x00')])
    assert.equal(kept.take(hash(1))?.length, 1)
  })

  test('keeps 128 blocks at most, whatever their weight: an older one is as one never kept', () => {
    const kept = new SentLogs()
    for (let n = 1; n <= 130; n++) kept.keep(hash(n), [log('0x01')])
    assert.deepEqual(kept.take(hash(2)), [])
    assert.equal(kept.take(hash(3))?.length, 1)
  })
})
