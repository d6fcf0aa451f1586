/**
 * Proven eth_call and eth_estimateGas (outlast/execute): the call runs locally over state proven
 * against a trusted header, and answers exactly as anvil does; a source lying about a storage
 * slot is caught by the proof, and the honest source's answer stands.
 */
import assert from 'node:assert/strict'
import { performance } from 'node:perf_hooks'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { execute } from '../src/execute/index.ts'
import {
  createOutlast,
  http,
  type Outlast,
  type OutlastEvents,
  type OutlastOptions,
  VerificationError,
} from '../src/index.ts'
import { proofs } from '../src/proofs/index.ts'
import { RpcResponseError } from '../src/shared/errors.ts'
import { CHAIN_ID, clientFor, threeDomains } from './helpers.ts'
import { devAccounts, type Lab, startLab } from './lab/index.ts'
import { type Lie, proverContext } from './proverContext.ts'

type Hex = `0x${string}`
const word = (n: bigint | number | string) => BigInt(n).toString(16).padStart(64, '0')

// Tiny contracts as raw EVM bytecode (no compiler needed).
/** Returns sload(calldata[0..32]). */
const READER = '0x6000355460005260206000f3'
/** STATICCALLs the contract at calldata[0..32] with calldata[32..64], returns its 32-byte answer. */
const RELAY = '0x602060206000376020600060206000600035' + '5afa5060206000f3'
/** Returns the block context: GAS, GASPRICE, BASEFEE, NUMBER, TIMESTAMP, COINBASE, PREVRANDAO,
 * GASLIMIT, CHAINID, BLOBBASEFEE, BLOCKHASH(NUMBER-1), BLOCKHASH(NUMBER-3), BLOCKHASH(NUMBER). */
const CONTEXT = `0x${[
  '5a600052', // GAS
  '3a602052', // GASPRICE
  '48604052', // BASEFEE
  '43606052', // NUMBER
  '42608052', // TIMESTAMP
  '4160a052', // COINBASE
  '4460c052', // PREVRANDAO
  '4560e052', // GASLIMIT
  '4661010052', // CHAINID
  '4a61012052', // BLOBBASEFEE
  '600143034061014052', // BLOCKHASH(NUMBER - 1)
  '600343034061016052', // BLOCKHASH(NUMBER - 3)
  '434061018052', // BLOCKHASH(NUMBER): 0
  '6101a06000f3',
].join('')}`
/** Returns CALLVALUE, SELFBALANCE and the caller's balance. */
const PAYABLE = '0x346000524760205233316040526060' + '6000f3'
/** sstore(calldata[32..64], calldata[0..32]). */
const WRITER = '0x600035602035550000'
/** CALLs calldata[0..32] with all its gas and calldata[32..96]; reverts if that call failed. */
const FORWARDER = '0x604060206000376000600060406000600060003' + '55af115601b57005b600080fd'
/** Reverts with Error("Nope"). */
const REVERTER = `0x6064600c60003960646000fd08c379a0${word(32)}${word(4)}${'4e6f7065'.padEnd(64, '0')}`

/** Init code that sets `storage` and deploys `runtime`. */
function initCode(runtime: string, storage: [number, bigint][] = []): Hex {
  const sets = storage.map(([slot, value]) => `7f${word(value)}7f${word(slot)}55`).join('')
  const code = runtime.slice(2)
  const len = code.length / 2
  const offset = sets.length / 2 + 13
  const hex2 = (n: number) => n.toString(16).padStart(4, '0')
  return `0x${sets}61${hex2(len)}8061${hex2(offset)}6000396000f3${code}`
}

let lab: Lab
const at: Record<string, Hex> = {}

async function deploy(init: Hex): Promise<Hex> {
  const hash = await lab.anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[0].address, data: init },
  ])
  for (;;) {
    const receipt = await lab.anvil.rpc<{ contractAddress: Hex } | null>(
      'eth_getTransactionReceipt',
      [hash],
    )
    if (receipt) return receipt.contractAddress.toLowerCase() as Hex
    await new Promise((r) => setTimeout(r, 100))
  }
}

beforeAll(async () => {
  lab = await startLab({ sources: threeDomains })
  at.reader = await deploy(
    initCode(READER, [
      [0, 7n],
      [5, 9n],
      [0x1234, 2n ** 200n],
    ]),
  )
  at.relay = await deploy(initCode(RELAY))
  at.context = await deploy(initCode(CONTEXT))
  at.payable = await deploy(initCode(PAYABLE))
  at.writer = await deploy(initCode(WRITER, [[1, 5n]]))
  at.forwarder = await deploy(initCode(FORWARDER))
  at.reverter = await deploy(initCode(REVERTER))
  for (let i = 0; i < 4; i++) await lab.anvil.rpc('evm_mine')
})
afterAll(() => lab.stop())

/** What a lying source does to an answer (the lab proxies lie about balances, not slots). */
/** An outlast client over the lab's sources; `liars` rewrite the answers of the sources named. */
function client(options: Partial<OutlastOptions> = {}, liars: Record<string, Lie> = {}): Outlast {
  return clientFor(lab, { prover: [proofs(), execute()], ...options }, (s) => {
    const lie = liars[s.name]
    return lie ? lyingFetch(s.proxy.fetch, lie) : s.proxy.fetch
  })
}

function lyingFetch(base: typeof fetch, lie: Lie): typeof fetch {
  return async (input, init) => {
    const response = await base(input, init)
    const asked = JSON.parse(String(init?.body)) as { id: unknown; method: string }
    const body = (await response.json()) as { id: unknown; result?: unknown }
    if ('result' in body) body.result = lie(asked.method, body.result)
    return new Response(JSON.stringify(body), {
      status: response.status,
      headers: { 'content-type': 'application/json' },
    })
  }
}

/** Every nonzero slot value in an eth_getProof answer raised by one; the proof nodes kept. */
const slotLie: Lie = (method, result) => {
  if (method !== 'eth_getProof') return result
  const proof = result as { storageProof: { value: string }[] }
  return {
    ...proof,
    storageProof: proof.storageProof.map((p) =>
      BigInt(p.value) === 0n ? p : { ...p, value: `0x${(BigInt(p.value) + 1n).toString(16)}` },
    ),
  }
}

/** The node's own answer at the block outlast pinned, or its JSON-RPC error. */
async function truth(method: string, params: unknown[], blockHash: string) {
  const res = await fetch(lab.anvil.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: [...params, { blockHash }] }),
  })
  return (await res.json()) as { result?: unknown; error?: { code: number; data?: unknown } }
}

/** A prover context over the lab's third source (proverContext.ts). */
const direct = (lie?: Lie) =>
  proverContext(http(lab.sources[2]!.proxy.url, { name: 'home', domain: 'home' }), lie)

/** A proven answer, checked against anvil at the same block. */
async function provenMatches(rpc: Outlast, method: string, call: Record<string, unknown>) {
  const { result, meta } = await rpc.requestWithMeta({ method, params: [call, 'latest'] })
  assert.equal(meta.consistency, 'proven', `${method} ${JSON.stringify(call)}`)
  const expected = await truth(method, [call], meta.block!.hash)
  assert.equal(result, expected.result, `${method} ${JSON.stringify(call)}`)
  return result as Hex
}

describe('eth_call by local execution', () => {
  it('a view reading storage, and a call reading another contract', async () => {
    const rpc = client()
    try {
      for (const slot of [0, 5, 0x1234, 3])
        await provenMatches(rpc, 'eth_call', { to: at.reader, data: `0x${word(slot)}` })
      const seven = await provenMatches(rpc, 'eth_call', {
        to: at.relay,
        data: `0x${word(at.reader!)}${word(0)}`,
      })
      assert.equal(BigInt(seven), 7n)
    } finally {
      await rpc.close()
    }
  })

  it('proves what the hint missed: a source without eth_createAccessList, or lying about it', async () => {
    const emptyHint: Lie = (method, result) =>
      method === 'eth_createAccessList' ? { ...(result as object), accessList: [] } : result
    const { ctx, calls, header } = await direct(emptyHint)
    const data = `0x${word(at.reader!)}${word(0x1234)}`
    const answer = await execute().answer('eth_call', [{ to: at.relay, data }], ctx)
    assert.equal(answer, (await truth('eth_call', [{ to: at.relay, data }], header.hash)).result)
    const proofsOfReader = calls.filter(
      (c) => c.method === 'eth_getProof' && c.params[0] === at.reader,
    )
    assert.deepEqual(
      proofsOfReader.map((c) => c.params[1]),
      [[], [`0x${word(0x1234)}`]],
      'the account, then its slot, proven when the EVM touched them',
    )
    const rpc = client({}, { aws: emptyHint, gcp: emptyHint, home: emptyHint })
    try {
      const big = await provenMatches(rpc, 'eth_call', {
        to: at.relay,
        data: `0x${word(at.reader!)}${word(0x1234)}`,
      })
      assert.equal(BigInt(big), 2n ** 200n)
    } finally {
      await rpc.close()
    }
  })

  it('a call with a value transfer', async () => {
    const rpc = client()
    try {
      const from = devAccounts[1].address
      await provenMatches(rpc, 'eth_call', { from, to: at.payable, value: '0xde0b6b3a7640000' })
      await provenMatches(rpc, 'eth_call', {
        from,
        to: at.payable,
        value: '0x1',
        gasPrice: '0x77359400',
        gas: '0x30000',
      })
    } finally {
      await rpc.close()
    }
  })

  it('block context: NUMBER, TIMESTAMP, BLOCKHASH of ancestors, GAS, BASEFEE, CHAINID...', async () => {
    // BLOBBASEFEE needs the fork's blob schedule: anvil's chain has none that outlast knows, so
    // its fork (anvil's latest, Osaka) is named; without it, the call is the quorum's.
    const unnamed = client()
    try {
      const { meta } = await unnamed.requestWithMeta({
        method: 'eth_call',
        params: [{ to: at.context }, 'latest'],
      })
      assert.equal(meta.consistency, 'agreed', 'BLOBBASEFEE with no blob schedule: quorum')
    } finally {
      await unnamed.close()
    }
    const rpc = client({ prover: [proofs(), execute({ hardfork: 'osaka' })] })
    try {
      const answer = await provenMatches(rpc, 'eth_call', {
        from: devAccounts[1].address,
        to: at.context,
        maxFeePerGas: '0x174876e800',
        maxPriorityFeePerGas: '0x3b9aca00',
      })
      // Without a gas price, BASEFEE is 0 to geth and reth and the header's to anvil: the nodes'.
      const { meta } = await rpc.requestWithMeta({
        method: 'eth_call',
        params: [{ to: at.context }, 'latest'],
      })
      assert.equal(meta.consistency, 'agreed', 'a fee-less call reading BASEFEE: quorum')
      assert.notEqual(BigInt(`0x${answer.slice(2 + 64 * 11, 2 + 64 * 12)}`), 0n, 'BLOCKHASH(n-3)')
    } finally {
      await rpc.close()
    }
  })

  it('a revert is thrown as a node reports it: code 3, the reason, the revert data', async () => {
    const { ctx, header } = await direct()
    const node = (await truth('eth_call', [{ to: at.reverter }], header.hash)).error!
    for (const method of ['eth_call', 'eth_estimateGas']) {
      const error = await execute()
        .answer(method, [{ to: at.reverter }, 'latest'], ctx)
        .then(
          () => assert.fail('should revert'),
          (e: unknown) => e,
        )
      assert.ok(error instanceof RpcResponseError, method)
      assert.equal(error.code, node.code, method)
      assert.equal(error.data, node.data, method)
      assert.equal(error.deterministic, true, method)
      assert.match(error.message, /execution reverted: Nope/, method)
    }
  })

  it('a proven revert reaches the caller as the unverified one does', async () => {
    const rpc = client()
    const plain = createOutlast({
      chainId: CHAIN_ID,
      sources: lab.sources.map((s) =>
        http(s.proxy.url, { name: s.name, domain: s.domain, fetchFn: s.proxy.fetch }),
      ),
    })
    try {
      for (const method of ['eth_call', 'eth_estimateGas']) {
        const request = { method, params: [{ to: at.reverter }, 'latest'] }
        const rejection = (p: Promise<unknown>) =>
          p.then(
            () => assert.fail(`${method} should revert`),
            (e: { code: number; data: unknown; message: string }) => e,
          )
        const unverified = await rejection(plain.request(request))
        const proven = await rejection(rpc.request(request))
        assert.equal(proven.code, 3)
        assert.equal(proven.code, unverified.code)
        assert.equal(proven.data, unverified.data)
        assert.match(proven.message, /execution reverted: Nope/)
      }
    } finally {
      await rpc.close()
      await plain.close()
    }
  })
})

describe('eth_estimateGas by local execution, binary search as geth', () => {
  it('matches anvil: transfers, storage writes, refunds, calls through a forwarder', async () => {
    const rpc = client()
    const from = devAccounts[2].address
    try {
      const cases: Record<string, unknown>[] = [
        { from, to: devAccounts[3].address, value: '0x1' },
        { from, to: '0x000000000000000000000000000000000000dEaD', value: '0x1' },
        { from, to: at.payable, value: '0x1' },
        { from, to: at.writer, data: `0x${word(9)}${word(2)}` }, // a new slot
        { from, to: at.writer, data: `0x${word(9)}${word(1)}` }, // a changed slot
        { from, to: at.writer, data: `0x${word(0)}${word(1)}` }, // a cleared slot: a refund
        { from, to: at.forwarder, data: `0x${word(at.writer!)}${word(7)}${word(3)}` }, // 63/64
        { from, to: at.reader, data: `0x${word(5)}` },
        { from, data: initCode(READER, [[0, 1n]]) }, // a deployment
        { from, to: at.writer, data: `0x${word(3)}${word(4)}`, gasPrice: '0x77359400' },
        { from, to: devAccounts[3].address, value: '0x1', maxFeePerGas: '0x174876e800' },
      ]
      for (const call of cases) await provenMatches(rpc, 'eth_estimateGas', call)
    } finally {
      await rpc.close()
    }
  })
})

describe('sources lying about a storage slot in eth_getProof', () => {
  it('are caught; the honest source answers', async () => {
    const rpc = client({}, { aws: slotLie, gcp: slotLie })
    const lies: OutlastEvents['lie'][] = []
    rpc.on('lie', (e) => lies.push(e))
    try {
      const nine = await provenMatches(rpc, 'eth_call', { to: at.reader, data: `0x${word(5)}` })
      assert.equal(BigInt(nine), 9n)
      assert.deepEqual(new Set(lies.map((l) => l.source)), new Set(['aws', 'gcp']))
      const byName = Object.fromEntries(rpc.status().sources.map((s) => [s.name, s]))
      assert.match(byName.aws?.lastError ?? '', /lied: eth_call: .*value/)
    } finally {
      await rpc.close()
    }
  })

  it('when every source lies, the error names each liar', async () => {
    const rpc = client({}, { aws: slotLie, gcp: slotLie, home: slotLie })
    try {
      await assert.rejects(
        rpc.request({ method: 'eth_call', params: [{ to: at.reader, data: `0x${word(5)}` }] }),
        (e: Error) => {
          for (const name of ['aws', 'gcp', 'home'])
            assert.match(e.message, new RegExp(`${name}: failed the proof`))
          return true
        },
      )
    } finally {
      await rpc.close()
    }
  })
})

describe('calls it cannot prove are left to quorum', () => {
  it('overrides, EIP-7702 authorizations, a source without eth_getProof, a call too long to run', async () => {
    const { ctx } = await direct()
    const prover = execute()
    const view = { to: at.reader, data: `0x${word(5)}` }
    assert.equal(
      await prover.answer('eth_call', [view, 'latest', { [at.reader!]: {} }], ctx),
      undefined,
    )
    const authorizationList = [{ chainId: '0x1', address: at.reader, nonce: '0x0' }]
    assert.equal(
      await prover.answer('eth_call', [{ ...view, authorizationList }, 'latest'], ctx),
      undefined,
    )
    const noProofs = {
      ...ctx,
      call: (method: string, params: unknown[]) =>
        method === 'eth_getProof'
          ? Promise.reject(new RpcResponseError('home', { code: -32601, message: 'not found' }))
          : ctx.call(method, params),
    }
    assert.equal(await prover.answer('eth_call', [view, 'latest'], noProofs), undefined)
    // A loop until out of gas: given up after maxExecutionMs, with the event loop kept turning.
    const loop = await deploy(initCode('0x5b600056'))
    const { ctx: later } = await direct()
    let ticks = 0
    const timer = setInterval(() => ticks++, 5)
    const started = performance.now()
    const answer = await execute({ maxExecutionMs: 200 }).answer('eth_call', [{ to: loop }], later)
    clearInterval(timer)
    assert.equal(answer, undefined)
    assert.ok(performance.now() - started < 1_500, 'gave up in time')
    assert.ok(ticks >= 10, `the event loop turned (${ticks} ticks)`)
    // Cancelled (another source answered first): the execution stops at once.
    const { ctx: cancelled } = await direct()
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 50)
    const t = performance.now()
    const stopped = await execute({ maxExecutionMs: 5_000 }).answer('eth_call', [{ to: loop }], {
      ...cancelled,
      signal: controller.signal,
    })
    assert.equal(stopped, undefined)
    assert.ok(performance.now() - t < 1_000, `stopped ${(performance.now() - t).toFixed(0)} ms in`)
  })

  it('a source lying about code is caught by the proven codeHash', async () => {
    const codeLie: Lie = (method, result) => (method === 'eth_getCode' ? READER : result)
    const { ctx } = await direct(codeLie)
    await assert.rejects(
      execute().answer(
        'eth_call',
        [{ to: at.relay, data: `0x${word(at.reader!)}${word(0)}` }],
        ctx,
      ),
      (e: Error) => e instanceof VerificationError && /code/.test(e.message),
    )
  })
})
