import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { RpcResponseError, SourceError } from '../shared/errors.ts'
import { cannotServeNow, capped, isNodeAnswer, KINDS, kindOf, nodeErrorKey } from './nodeErrors.ts'
import { isCallersError } from './policy.ts'

const error = (code: number, message: string, data?: unknown) =>
  new RpcResponseError('node', { code, message, ...(data === undefined ? {} : { data }) })

describe("a node's error to a read", () => {
  it('is its answer: a revert, invalid params, a refusal every node at that state gives', () => {
    for (const [code, message] of [
      [3, 'execution reverted: paused'],
      [-32602, 'invalid argument 0: hex string without 0x prefix'],
      [-32003, 'Insufficient funds for gas * price + value'],
      [-32000, 'insufficient funds for gas * price + value: address 0x77 have 0 want 1'],
      [-32000, 'intrinsic gas too high'],
      [-32000, 'gas required exceeds allowance (30000000)'],
      [-32015, 'VM execution error.'],
      // A revert whose reason reads like a limit is still the contract's revert.
      [3, 'execution reverted: rate limit exceeded'],
    ] as const)
      assert.equal(isNodeAnswer(error(code, message), 'eth_call'), true, `${code} ${message}`)
  })

  it('is a failure when it says the node cannot serve now, or has its own rule', () => {
    for (const [code, message] of [
      [-32005, 'rate limit exceeded'],
      [-32603, 'internal error'],
      [-32002, 'request timed out'],
      [-32601, 'the method eth_foo does not exist/is not available'],
      [-32600, 'batch too large'],
      [-32700, 'parse error'],
      [429, 'Your app has exceeded its compute units per second capacity'],
      [4900, 'disconnected'],
      [-32000, 'execution aborted (timeout = 5s)'],
      [-32000, 'Too Many Requests'],
      [-32000, 'upstream connect error'],
      [-32000, 'transaction indexing is in progress'],
      // pruned.ts and "unknown block" rules
      [-32000, 'missing trie node abc'],
      [-32000, 'header not found'],
      [-32001, 'Resource not found'],
      [-32000, 'unknown block'],
      [4444, 'pruned history unavailable'],
    ] as const)
      assert.equal(isNodeAnswer(error(code, message), 'eth_call'), false, `${code} ${message}`)
    assert.equal(cannotServeNow(error(-32005, 'x')), true)
    assert.equal(cannotServeNow(error(-32003, 'insufficient funds')), false)
    assert.equal(isNodeAnswer(new SourceError('node', 'http', 'HTTP 503'), 'eth_call'), false)
  })

  it("is a failure for the chain's own data, even a revert or invalid params (reviewOfSession38i: one source's error split every block fetch)", () => {
    assert.equal(
      isNodeAnswer(error(-32000, 'query returned more than 10000'), 'eth_getLogs'),
      false,
    )
    for (const method of [
      'eth_getLogs',
      'eth_getBlockByNumber',
      'eth_getBlockByHash',
      'eth_getBlockReceipts',
      'eth_getTransactionByHash',
      'eth_getTransactionReceipt',
      'eth_feeHistory',
    ])
      for (const e of [
        error(-32000, 'boom'),
        error(3, 'execution reverted', '0x'),
        error(-32602, 'x'),
      ])
        assert.equal(isNodeAnswer(e, method), false, `${method} ${e.reason}`)
    // -32602 to eth_getLogs is the caller's failure, agreed by the domains (policy.ts
    // `isCallersError`), never one source's answer (reviewOfSession39a).
    assert.equal(isCallersError('eth_getLogs', error(-32602, 'invalid topics')), true)
    assert.equal(isCallersError('eth_getLogs', error(-32000, 'boom')), false)
    // A state read: a revert or invalid params still is; other words are no answer there.
    assert.equal(isNodeAnswer(error(-32602, 'invalid slot'), 'eth_getStorageAt'), true)
    assert.equal(isNodeAnswer(error(-32000, 'boom'), 'eth_getBalance'), false)
  })

  it('is keyed by code and data, else code and words (case and spacing aside)', () => {
    assert.equal(
      nodeErrorKey(error(3, 'execution reverted: a', '0x01')),
      nodeErrorKey(error(3, 'execution reverted: b', '0x01')),
    )
    assert.notEqual(
      nodeErrorKey(error(3, 'execution reverted', '0x01')),
      nodeErrorKey(error(3, 'execution reverted', '0x02')),
    )
    assert.equal(
      nodeErrorKey(error(-32003, 'Insufficient funds  for gas')),
      nodeErrorKey(error(-32003, 'insufficient funds for gas')),
    )
    assert.notEqual(
      nodeErrorKey(error(-32003, 'account locked')),
      nodeErrorKey(error(-32000, 'account locked')),
    )
  })

  it('is keyed by its kind where clients word and number one refusal differently (reviewOfSession38e)', () => {
    const same = (...errors: RpcResponseError[]) =>
      assert.equal(
        new Set(errors.map(nodeErrorKey)).size,
        1,
        errors.map((e) => e.reason).join(' / '),
      )
    // anvil, geth, reth
    same(
      error(-32003, 'Insufficient funds for gas * price + value'),
      error(-32000, 'insufficient funds for gas * price + value: address 0x77 have 0 want 1'),
      error(-32003, 'insufficient funds for gas * price + value: have 0 want 1'),
    )
    // A revert with no reason: anvil's code 3 (data 0x), geth's -32000.
    same(error(3, 'execution reverted', '0x'), error(-32000, 'execution reverted'))
    same(error(-32000, 'nonce too low: next nonce 5, tx nonce 1'), error(-32003, 'Nonce too low'))
    assert.deepEqual(
      ['funds', 'revert', 'nonce-low'].map((k) => KINDS[k]),
      ['insufficient funds for gas * price + value', 'execution reverted', 'nonce too low'],
    )
    // A revert with a reason is keyed by its data; other words have no kind.
    assert.equal(kindOf(error(3, 'execution reverted: paused', '0x08c379a0')), undefined)
    assert.equal(kindOf(error(-32000, 'out of gas')), undefined)
  })

  it('at a block old for the node, only a revert or invalid params is an answer (history gone, in words not known)', () => {
    const tooOld = error(-32000, 'requested data is no longer served here')
    assert.equal(isNodeAnswer(tooOld, 'eth_call'), true)
    assert.equal(isNodeAnswer(tooOld, 'eth_call', true), false)
    assert.equal(isNodeAnswer(error(3, 'execution reverted', '0x'), 'eth_call', true), true)
    // A kind is about the account, not the node's history (reviewOfSession38f).
    assert.equal(
      isNodeAnswer(error(-32003, 'insufficient funds for gas * price + value'), 'eth_call', true),
      true,
    )
  })

  it('is how the run ended, whatever its code, at an old block too (reviewOfSession40a: a view out of gas was 4900, every breaker open)', () => {
    for (const [code, message] of [
      [-32603, 'EVM error OutOfGas'],
      [-32603, 'EVM error InvalidFEOpcode'],
      [-32603, 'EVM error InvalidJump'],
      [-32000, 'out of gas'],
      [-32000, 'invalid opcode: INVALID'],
      [-32000, 'invalid jump destination'],
      [-32000, 'stack underflow (0 <=> 1)'],
      [-32000, 'intrinsic gas too high -- CallGasCostMoreThanGasLimit'],
      [-32003, 'Out of gas: gas required exceeds allowance: 21000'],
    ] as const)
      for (const old of [false, true])
        assert.equal(isNodeAnswer(error(code, message), 'eth_call', old), true, `${message} ${old}`)
    // Only to an execution; a state the node could not fetch, or "not now" words, are no answer.
    assert.equal(isNodeAnswer(error(-32603, 'EVM error OutOfGas'), 'eth_getBalance'), false)
    assert.equal(isNodeAnswer(error(-32603, 'EVM error Database(fetch failed)'), 'eth_call'), false)
    assert.equal(isNodeAnswer(error(-32603, 'EVM error: request timed out'), 'eth_call'), false)
    assert.equal(isNodeAnswer(error(-32603, 'EVM error OutOfGas, try again'), 'eth_call'), false)
  })

  it("is one halt whichever client words it (reviewOfSession40c 2, 3: geth's 'stack limit reached' was 4900)", () => {
    const halts = [
      error(-32603, 'EVM error OutOfGas'),
      error(-32000, 'out of gas'),
      error(-32000, 'stack limit reached 1024 (1023)'),
      error(-32000, 'contract creation code storage out of gas'),
      error(-32000, 'invalid code: must not begin with 0xef'),
      error(-32000, 'max call depth exceeded'),
      error(-32003, 'Out of gas: gas required exceeds allowance: 100000'),
    ]
    for (const e of halts) {
      assert.match(nodeErrorKey(e), /^error:(halt|gas)$/, e.reason)
      assert.equal(isNodeAnswer(e, 'eth_call', true), true, e.reason)
    }
    // A revert with data is the contract's, not a halt.
    assert.doesNotMatch(nodeErrorKey(error(-32000, 'out of gas', '0x08c379a0')), /halt|gas/)
    // anvil's "intrinsic gas too high" is geth's "intrinsic gas too low" (a gas limit below the cost).
    const intrinsic = error(-32000, 'intrinsic gas too high -- CallGasCostMoreThanGasLimit')
    assert.equal(kindOf(intrinsic), 'intrinsic')
  })

  it("takes a halt for want of gas as the node's cap, whatever gas the call names (reviewOfSession40f)", () => {
    const oog = error(-32603, 'EVM error OutOfGas')
    assert.equal(capped(oog), true)
    assert.equal(capped(error(-32000, 'gas required exceeds allowance (50000000)')), true)
    assert.equal(capped(error(-32000, 'invalid opcode: INVALID')), false)
    assert.equal(capped(error(-32000, 'out of gas', '0x08c379a0')), false)
    assert.equal(capped(undefined), false)
    // Keyed apart: another halt's words cannot join it (and undo `capped` as "execution halted").
    assert.equal(nodeErrorKey(oog), nodeErrorKey(error(-32000, 'out of gas')))
    assert.notEqual(nodeErrorKey(oog), nodeErrorKey(error(-32603, 'EVM error InvalidFEOpcode')))
  })

  it('is a bare revert only in the bare words: a reason in the words is its own', () => {
    assert.equal(
      kindOf(error(3, 'execution reverted: Ownable: caller is not the owner')),
      undefined,
    )
    assert.equal(kindOf(error(3, 'execution reverted:')), 'revert')
  })

  it("geth's batch limit is no answer", () => {
    assert.equal(cannotServeNow(error(-32003, 'response too large')), true)
  })
})
