import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'vitest'
import { canonical } from './canonical.ts'
import { type Tx, unhashed } from './txRules.ts'

type Obj = Record<string, unknown>
const FIXTURES: Obj[] = JSON.parse(
  readFileSync(new URL('../verify/fixtures/transactions.json', import.meta.url), 'utf8'),
).transactions.map((t: { tx: Obj }) => t.tx)
const ofType = (type: string) => structuredClone(FIXTURES.find((tx) => tx.type === type)!)
const key = (tx: Obj) => canonical(unhashed(tx as Tx))

describe('unhashed: what of a transaction its agreement key holds', () => {
  it('an access-list item with a field its hash does not read: another key', () => {
    const tx = ofType('0x1')
    const list = tx.accessList as Obj[]
    assert.ok(list.length > 0)
    const extra = { ...tx, accessList: [{ ...list[0], l1Fee: '0x1' }, ...list.slice(1)] }
    assert.notEqual(key(extra), key(tx))
  })

  it('an authorization with a field its hash does not read: another key; with v beside yParity, the same', () => {
    const tx = ofType('0x4')
    const [auth, ...rest] = tx.authorizationList as Obj[]
    const extra = { ...tx, authorizationList: [{ ...auth, isSystemTx: true }, ...rest] }
    assert.notEqual(key(extra), key(tx))
    // Honest clients write the parity as `yParity`, `v` or both: the hash reads either.
    const both = { ...tx, authorizationList: [{ ...auth, v: auth!.yParity }, ...rest] }
    assert.equal(key(both), key(tx))
  })
})
