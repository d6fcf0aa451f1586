/**
 * The stand-in for `node:assert/strict` (nodeAssert.ts) passes and fails where Node's does: this
 * file runs in both projects, against Node's own assert in `node` and the stand-in in `browser`.
 */
import assert from 'node:assert/strict'
import { describe, expect, it } from 'vitest'

class CodedError extends Error {
  code = 3
}
const raise = (error: Error) => () => {
  throw error
}

describe('node:assert/strict, in Node and in the browser', () => {
  it('ok, equal and notEqual: truthiness and Object.is', () => {
    assert.ok(1)
    expect(() => assert.ok(0)).toThrow()
    expect(() => assert.ok('', 'with a message')).toThrow('with a message')
    assert.equal(Number.NaN, Number.NaN)
    expect(() => assert.equal<unknown>(1, '1')).toThrow()
    expect(() => assert.equal({}, {})).toThrow()
    assert.notEqual(1, 2)
    expect(() => assert.notEqual(1, 1)).toThrow()
  })

  it('deepEqual: strict, types and undefined properties count', () => {
    assert.deepEqual({ a: [1, { b: 2n }] }, { a: [1, { b: 2n }] })
    assert.deepEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))
    assert.deepEqual(new Map([[1, 2]]), new Map([[1, 2]]))
    expect(() => assert.deepEqual<unknown>({ a: 1 }, { a: '1' })).toThrow()
    expect(() => assert.deepEqual({ a: 1, b: undefined }, { a: 1 })).toThrow()
    expect(() => assert.deepEqual<unknown>(new CodedError('x'), { message: 'x' })).toThrow()
    expect(() => assert.deepEqual(new Uint8Array([1]), new Uint8Array([2]))).toThrow()
    expect(() => assert.deepEqual(new Map([[1, 2]]), new Map([[1, 3]]))).toThrow()
    expect(() => assert.notDeepEqual({ a: 1 }, { a: 1 })).toThrow()
  })

  it('match and doesNotMatch take strings only; fail fails', () => {
    assert.match('abc', /b/)
    expect(() => assert.match('abc', /d/)).toThrow()
    expect(() => assert.match(1 as unknown as string, /1/)).toThrow()
    assert.doesNotMatch('abc', /d/)
    expect(() => assert.doesNotMatch('abc', /b/)).toThrow()
    expect(() => assert.fail('boom')).toThrow('boom')
  })

  it('throws: a class, a RegExp on String(error), a validation function, an object', () => {
    const lie = raise(new CodedError('lie'))
    assert.throws(lie, CodedError)
    assert.throws(lie, /Error: lie/)
    assert.throws(lie, (e) => e instanceof CodedError && e.code === 3)
    assert.throws(lie, { message: 'lie', code: 3 })
    assert.throws(lie, { message: /li/ })
    expect(() => assert.throws(() => {})).toThrow()
    expect(() => assert.throws(raise(new Error('x')), CodedError)).toThrow()
    expect(() => assert.throws(raise(new Error('x')), /y/)).toThrow()
    expect(() => assert.throws(lie, (e) => (e as CodedError).code === 4)).toThrow()
    expect(() => assert.throws(lie, { code: 4 })).toThrow()
  })

  it('rejects: a promise or a function, checked as throws checks', async () => {
    await assert.rejects(Promise.reject(new CodedError('lie')), /lie/)
    await assert.rejects(async () => raise(new CodedError('lie'))(), CodedError)
    await expect(assert.rejects(Promise.resolve(1))).rejects.toThrow()
    await expect(assert.rejects(Promise.reject(new Error('a')), /b/)).rejects.toThrow()
    await expect(assert.rejects(Promise.reject(new Error('a')), (e) => e === 1)).rejects.toThrow()
  })
})
