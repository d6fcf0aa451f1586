/**
 * `node:assert/strict` for vitest's browser project (vitest.config.ts aliases it here): the unit
 * tests use Node's assert, which a browser does not have, and Chromium must run them unchanged.
 * Each check keeps Node's strict meaning and fails through vitest's `expect`, so a failure shows
 * the same diff as any other test's: `equal` is `Object.is`, `deepEqual` is a deep strict
 * comparison (types and `undefined` properties count), and `throws`/`rejects` accept what Node's
 * accept (an error class, a RegExp tested against `String(error)`, a validation function that
 * must return `true`, or an object whose properties must match).
 */
import { expect } from 'vitest'

export class AssertionError extends Error {
  override name = 'AssertionError'
}

type Message = string | Error | undefined
type Expected = RegExp | Function | object

/** Node's `fail`: an `Error` given as the message is thrown as it is. */
function fail(message: Message = 'Failed'): never {
  throw message instanceof Error ? message : new AssertionError(message)
}

const text = (message: Message) => (message instanceof Error ? message.message : message)

function ok(value: unknown, message?: Message): asserts value {
  if (value) return
  if (message instanceof Error) throw message
  expect(value, message ?? 'The expression evaluated to a falsy value').toBeTruthy()
}

function equal<T>(actual: unknown, expected: T, message?: Message): asserts actual is T {
  if (message instanceof Error && !Object.is(actual, expected)) throw message
  expect(actual, text(message)).toBe(expected)
}

function notEqual(actual: unknown, expected: unknown, message?: Message): void {
  if (message instanceof Error && Object.is(actual, expected)) throw message
  expect(actual, text(message)).not.toBe(expected)
}

function deepEqual<T>(actual: unknown, expected: T, message?: Message): asserts actual is T {
  expect(actual, text(message)).toStrictEqual(expected)
}

function notDeepEqual(actual: unknown, expected: unknown, message?: Message): void {
  expect(actual, text(message)).not.toStrictEqual(expected)
}

function match(value: string, pattern: RegExp, message?: Message): void {
  if (typeof value !== 'string')
    fail(message ?? `The "string" argument must be a string, got ${typeof value}`)
  expect(value, text(message)).toMatch(pattern)
}

function doesNotMatch(value: string, pattern: RegExp, message?: Message): void {
  if (typeof value !== 'string')
    fail(message ?? `The "string" argument must be a string, got ${typeof value}`)
  expect(value, text(message)).not.toMatch(pattern)
}

/** Whether `error` is what `expected` describes, as Node's `throws` and `rejects` decide it. */
function check(error: unknown, expected: Expected | undefined, message: Message): void {
  if (expected === undefined) return
  if (expected instanceof RegExp) {
    if (!expected.test(String(error)))
      fail(message ?? `The error "${String(error)}" does not match ${expected}`)
    return
  }
  if (typeof expected === 'function') {
    if (expected.prototype !== undefined && error instanceof expected) return
    if (expected === Error || expected.prototype instanceof Error)
      fail(message ?? `The error is expected to be an instance of ${expected.name}: ${error}`)
    if ((expected as (e: unknown) => unknown).call({}, error) !== true)
      fail(message ?? `The validation function did not return true for ${error}`)
    return
  }
  const keys = Object.keys(expected)
  if (expected instanceof Error) keys.push('name', 'message')
  for (const key of keys) {
    const want: unknown = (expected as Record<string, unknown>)[key]
    const got: unknown = (error as Record<string, unknown> | null)?.[key]
    if (want instanceof RegExp && typeof got === 'string') match(got, want, message)
    else deepEqual(got, want, message ?? `property ${key} of the error`)
  }
}

/** `throws(fn, message)` names the message, not what is expected (as in Node). */
function split(expected: Expected | string | undefined, message: Message) {
  return typeof expected === 'string'
    ? { expected: undefined, message: expected }
    : { expected, message }
}

function throws(fn: () => unknown, expected?: Expected | string, message?: Message): void {
  const args = split(expected, message)
  try {
    fn()
  } catch (error) {
    check(error, args.expected, args.message)
    return
  }
  fail(args.message ?? 'Missing expected exception.')
}

function doesNotThrow(fn: () => unknown, message?: Message): void {
  try {
    fn()
  } catch (error) {
    fail(message ?? `Got unwanted exception: ${error}`)
  }
}

async function rejects(
  promise: Promise<unknown> | (() => Promise<unknown>),
  expected?: Expected | string,
  message?: Message,
): Promise<void> {
  const args = split(expected, message)
  try {
    await (typeof promise === 'function' ? promise() : promise)
  } catch (error) {
    check(error, args.expected, args.message)
    return
  }
  fail(args.message ?? 'Missing expected rejection.')
}

async function doesNotReject(
  promise: Promise<unknown> | (() => Promise<unknown>),
  message?: Message,
): Promise<void> {
  try {
    await (typeof promise === 'function' ? promise() : promise)
  } catch (error) {
    fail(message ?? `Got unwanted rejection: ${error}`)
  }
}

const assert = Object.assign((value: unknown, message?: Message) => ok(value, message), {
  AssertionError,
  ok,
  fail,
  equal,
  strictEqual: equal,
  notEqual,
  notStrictEqual: notEqual,
  deepEqual,
  deepStrictEqual: deepEqual,
  notDeepEqual,
  notDeepStrictEqual: notDeepEqual,
  match,
  doesNotMatch,
  throws,
  doesNotThrow,
  rejects,
  doesNotReject,
})

export default assert
export {
  deepEqual,
  deepEqual as deepStrictEqual,
  doesNotMatch,
  doesNotReject,
  doesNotThrow,
  equal,
  equal as strictEqual,
  fail,
  match,
  notDeepEqual,
  notDeepEqual as notDeepStrictEqual,
  notEqual,
  notEqual as notStrictEqual,
  ok,
  rejects,
  throws,
}
