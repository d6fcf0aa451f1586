/**
 * Hostile sources against `outlast/proofs` and `outlast/execute`, beyond hostileProofs.test.ts:
 * well-formed, correctly hashed answers that are wrong, and what they make outlast do to honest
 * sources. Each test states the correct behaviour; each failed on the code before its fix (the
 * comment above it says what happened then).
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { execute } from '../../src/execute/index.ts'
import { createOutlast, http, type OutlastEvents, type Source } from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { BLOB_FRACTION, blobBaseFee, blobFee } from '../../src/verify/blobFee.ts'
import { computeBlockHash, type RpcBlockHeader } from '../../src/verify/block.ts'
import { CHAIN_ID, sleep, threeDomains } from '../helpers.ts'
import {
  type Anvil,
  devAccounts,
  type FaultProxy,
  type Lab,
  startAnvil,
  startLab,
  startProxy,
} from '../lab/index.ts'
import { BLOB_BASE_FEE, EMPTY_CANCUN, emptyStateContext, hostile, labSources } from './hostile.ts'

type Hex = `0x${string}`
const HONEST = threeDomains.map((s) => s.name)

describe('a state anvil cannot prove (its genesis), and one more domain that lies', () => {
  let lab: Lab
  beforeAll(async () => {
    lab = await startLab({ blockTime: 0, sources: threeDomains })
  })
  afterAll(() => lab?.stop())

  // Attack: at a block whose state no honest node can prove (anvil's genesis: every honest
  // domain's proof misses the root the same way, which proofs() treats as `unproven` and answers
  // by quorum, calling no one a liar), a fourth domain sends a proof that contradicts its own
  // claim (another account's `address`). What happened: prove.ts `blame` finds the failures no
  // longer all alike, so it marks every honest source lying and the read fails. What should
  // happen: the contradicting source alone is a liar; the alike failures of the honest domains
  // stay `unproven` and the read is answered by quorum, as without the liar.
  it('one domain’s self-contradicting proof does not make the honest domains liars', async () => {
    assert.equal(await lab.anvil.rpc('eth_blockNumber'), '0x0')
    const other = devAccounts[2]!.address
    const liar = hostile(
      labSources(lab, ['aws'])[0]!,
      async (method, _params, answer) => {
        const a = (await answer()) as Record<string, unknown>
        return method === 'eth_getProof' ? { ...a, address: other } : a
      },
      { name: 'liar', domain: 'liar-host' },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      prover: proofs(),
      sources: [liar, ...labSources(lab, HONEST)],
    })
    const lies: OutlastEvents['lie'][] = []
    rpc.on('lie', (e) => lies.push(e))
    try {
      const params = [devAccounts[1]!.address, 'latest']
      const outcome = await rpc.requestWithMeta({ method: 'eth_getBalance', params }).catch(asError)
      assert.deepEqual(
        lies.map((l) => l.source).filter((s) => s !== 'liar'),
        [],
        'no honest source is called a liar',
      )
      assert.ok(!(outcome instanceof Error), `answered: ${String(outcome)}`)
      assert.equal(outcome.result, await lab.anvil.rpc('eth_getBalance', params))
    } finally {
      await rpc.close()
    }
  })
})

/** A refusal, kept as the outcome: an error is never a wrong answer. */
const asError = (error: unknown): Error =>
  error instanceof Error ? error : new Error(String(error))

describe('a chain still on Prague (anvil --hardfork prague), default execute()', () => {
  let anvil: Anvil
  let proxies: FaultProxy[]
  beforeAll(async () => {
    anvil = await startAnvil({ blockTime: 0, args: ['--hardfork', 'prague'] })
    await anvil.rpc('anvil_mine', ['0x3'])
    proxies = await Promise.all(threeDomains.map((s) => startProxy(anvil.url, { name: s.name })))
  })
  afterAll(async () => {
    await Promise.all((proxies ?? []).map((p) => p.stop()))
    await anvil?.stop()
  })

  /** Init code: CLZ(1) (EIP-7939, Osaka), returned as one word. */
  const CLZ = '0x60011e60005260206000f3'

  // Attack (no liar needed): the header's fields cannot tell Prague from Osaka (both carry
  // requestsHash), so blockContext.ts `hardforkOf` guesses Osaka on any chain
  // @ethereumjs/common does not know. What happened: a call using CLZ, an invalid opcode on this
  // Prague chain (every node refuses it), came back as a value labelled `proven`. What should
  // happen: what the header cannot fix is not proven: run the call under every fork the header
  // allows and answer only if they agree, else leave it to quorum (the nodes' error).
  it('a call whose outcome depends on a fork the header cannot tell is not proven', async () => {
    const node = await anvil
      .rpc('eth_call', [{ data: CLZ }, 'latest'])
      .then((r) => ({ result: r as unknown }), asError)
    assert.ok(node instanceof Error, 'the Prague node refuses CLZ')
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      prover: [proofs(), execute()],
      sources: threeDomains.map((s, i) =>
        http(proxies[i]!.url, { name: s.name, domain: s.domain, fetchFn: proxies[i]!.fetch }),
      ),
    })
    try {
      const outcome = await rpc
        .requestWithMeta({ method: 'eth_call', params: [{ data: CLZ }, 'latest'] })
        .catch(asError)
      assert.ok(
        outcome instanceof Error,
        `as the chain: an error, not ${JSON.stringify(!(outcome instanceof Error) && outcome)}`,
      )
    } finally {
      await rpc.close()
    }
  })
})

describe('execute: block context the header does not fix', () => {
  const header = {
    ...EMPTY_CANCUN,
    hash: computeBlockHash(EMPTY_CANCUN as unknown as RpcBlockHeader),
  }

  // Attack (no liar needed): BLOBBASEFEE on a chain outlast has no blob schedule for (Gnosis,
  // chain 100: its own update fraction and a 1 gwei minimum). verify/blobFee.ts says the blob
  // base fee cannot be derived there (`blobBaseFee` is undefined, so proven receipts drop
  // `blobGasPrice`), yet blockContext.ts `evmBlock` derives it from the fork it guesses
  // (`BLOB_FRACTION[hardfork]`, minimum 1 wei). What happened: a value was returned as proven
  // (0x20030c8a here, Cancun's fraction). What should happen: a call that reads BLOBBASEFEE where the fee cannot be
  // derived is not proven (UnprovableError: left to quorum), as the receipts already do.
  it('BLOBBASEFEE is not proven on a chain whose blob schedule outlast does not know', async () => {
    assert.equal(blobBaseFee(header, 100), undefined, 'outlast itself cannot derive it here')
    const answer = await execute().answer(
      'eth_call',
      [{ data: BLOB_BASE_FEE }, { blockHash: header.hash }],
      emptyStateContext(header, 100),
    )
    assert.equal(answer, undefined, `left to quorum, not proven as ${String(answer)}`)
    // Named, the fork's schedule gives it.
    const named = await execute({ hardfork: 'cancun' }).answer(
      'eth_call',
      [{ data: BLOB_BASE_FEE }, { blockHash: header.hash }],
      emptyStateContext(header, 100),
    )
    const cancun = blobFee(BigInt(EMPTY_CANCUN.excessBlobGas), BLOB_FRACTION.cancun!)
    assert.equal(BigInt(String(named)), cancun)
  })
})

describe('execute: call objects every node refuses', () => {
  let lab: Lab
  beforeAll(async () => {
    lab = await startLab({ blockTime: 0, sources: threeDomains })
    await lab.anvil.rpc('anvil_mine', ['0x3'])
  })
  afterAll(() => lab?.stop())

  const to = devAccounts[2]!.address
  const from = devAccounts[0]!.address
  const refused = [
    // geth: "chainId does not match node's"; anvil: -32003 "invalid chain id for signer".
    ['a chainId of another chain', { to, chainId: '0x1' }],
    // geth: "maxFeePerGas (…) < maxPriorityFeePerGas (…)"; anvil: -32602.
    ['a tip above the fee cap', { from, to, maxFeePerGas: '0x10', maxPriorityFeePerGas: '0x20' }],
    // geth: "both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified".
    ['a gas price and a tip', { from, to, gasPrice: '0x3b9aca00', maxPriorityFeePerGas: '0x1' }],
  ] as const

  // Attack (the caller's own odd request, or a wallet's stale one): callRequest.ts
  // `readCallRequest` ignores `chainId` and never compares the tip with the fee cap, so the
  // call runs. What happened: an answer labelled `proven` (`0x`) for a call every node refuses.
  // What should happen: the nodes' refusal (the call left to them, or refused as theirs:
  // UnprovableError, as for the other fields it does not execute).
  for (const [what, call] of refused)
    it(`${what}: refused, as by every node, never proven`, async () => {
      const node = await lab.anvil.rpc('eth_call', [call, 'latest']).then(String, asError)
      assert.ok(node instanceof Error, 'the node refuses it')
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        prover: [proofs(), execute()],
        sources: labSources(lab),
      })
      try {
        const outcome = await rpc
          .requestWithMeta({ method: 'eth_call', params: [call, 'latest'] })
          .catch(asError)
        assert.ok(
          outcome instanceof Error,
          `refused, not ${JSON.stringify(!(outcome instanceof Error) && outcome)}`,
        )
      } finally {
        await rpc.close()
      }
    })

  // geth refuses a fee cap below the base fee ("max fee per gas less than block base fee");
  // anvil runs the call. Which is right is the nodes' to say: the call is left to them.
  for (const [what, call] of [
    ['a fee cap below the base fee', { from, to, maxFeePerGas: '0x1' }],
    ['a gas price below the base fee', { from, to, gasPrice: '0x1' }],
  ] as const)
    it(`${what}: the nodes' answer (agreed), never proven`, async () => {
      const node = await lab.anvil.rpc('eth_call', [call, 'latest'])
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        prover: [proofs(), execute()],
        sources: labSources(lab),
      })
      try {
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_call',
          params: [call, 'latest'],
        })
        assert.equal(meta.consistency, 'agreed')
        assert.equal(result, node)
      } finally {
        await rpc.close()
      }
    })
})

describe('execute under a light client, every source untrusted', () => {
  let lab: Lab
  beforeAll(async () => {
    lab = await startLab({ blockTime: 0, sources: threeDomains })
    await lab.anvil.rpc('anvil_mine', ['0x3'])
  })
  afterAll(() => lab?.stop())

  /** Init code that reverts with Error("Nope"). */
  const word = (n: number) => n.toString(16).padStart(64, '0')
  /** Init code that returns one word, 1. */
  const RETURNS = '0x600160005260206000f3'
  const REVERTS = `0x6064600c60003960646000fd08c379a0${word(32)}${word(4)}${'4e6f7065'.padEnd(64, '0')}`

  // Attack: none needed; the trust rules themselves. tally.ts `judge` turns an untrusted
  // source's `nodeError` into a failure that counts for nothing, but in prove.ts the revert is
  // not the source's word: outlast executed it over state proven against the light client's
  // header. What happened: with every source untrusted (`lightOnly`), a call that reverts gets
  // a quorum error, not its revert (code 3, the reason, the data); dApps see an outage, not
  // "execution reverted: Nope". What should happen: a revert the prover executed itself
  // counts as checked, whoever served the state (judge it before the untrusted rule).
  it('a proven revert reaches the caller though every source is untrusted', async () => {
    const node = await lab.anvil
      .rpc('eth_call', [{ data: REVERTS }, 'latest'])
      .then(String, asError)
    assert.ok(node instanceof Error && /Nope/.test(node.message), 'the node reverts')
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      prover: [proofs(), execute()],
      trustedHeader: async (block) => {
        if ('latest' in block)
          return lab.anvil
            .rpc<Hex>('eth_blockNumber')
            .then((n) =>
              lab.anvil.rpc<{ hash: Hex }>('eth_getBlockByNumber', [n, false]).then((b) => b.hash),
            )
        return 'hash' in block ? true : undefined
      },
      sources: lab.sources.map((s) =>
        http(s.proxy.url, {
          name: s.name,
          domain: s.domain,
          fetchFn: s.proxy.fetch,
          untrusted: true,
        }),
      ),
    })
    try {
      const ok = await rpc.requestWithMeta({
        method: 'eth_call',
        params: [{ data: RETURNS }, 'latest'],
      })
      assert.equal(ok.meta.consistency, 'proven', 'a call that does not revert is proven here')
      const outcome = await rpc
        .requestWithMeta({ method: 'eth_call', params: [{ data: REVERTS }, 'latest'] })
        .catch(asError)
      assert.ok(outcome instanceof Error)
      assert.equal((outcome as { code?: unknown }).code, 3, `the revert, not: ${outcome.message}`)
      assert.match(outcome.message, /Nope/)
    } finally {
      await rpc.close()
    }
  })
})

describe('execute: one domain proving another block’s state (held)', () => {
  let lab: Lab
  beforeAll(async () => {
    lab = await startLab({ blockTime: 0, sources: threeDomains })
    await lab.anvil.rpc('anvil_mine', ['0x2'])
    await lab.anvil.rpc('eth_sendTransaction', [
      { from: devAccounts[0]!.address, to: devAccounts[3]!.address, value: '0x1234' },
    ])
    await lab.anvil.rpc('anvil_mine', ['0x2'])
  })
  afterAll(() => lab?.stop())

  it('its proofs (block 1’s, well-formed) and its hint are caught; the answer is the chain’s, and only it is a liar', async () => {
    const who = devAccounts[3]!.address.slice(2).toLowerCase()
    /** Init code: BALANCE(devAccounts[3]) as one word. */
    const BALANCE = `0x73${who}3160005260206000f3`
    const liar = hostile(
      labSources(lab, ['aws'])[0]!,
      async (method, params, answer) => {
        if (method === 'eth_createAccessList')
          return {
            accessList: [{ address: `0x${'ab'.repeat(20)}`, storageKeys: [] }],
            gasUsed: '0x0',
          }
        if (method !== 'eth_getProof') return answer()
        const [address, slots] = params
        return lab.anvil.rpc('eth_getProof', [address, slots, '0x1'])
      },
      { name: 'liar', domain: 'liar-host' },
    )
    // The honest domains 80 ms behind it, so that the liar is the one asked first.
    const behind = (s: Source) =>
      hostile(s, async (_m, _p, answer) => {
        await sleep(80)
        return answer()
      })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      prover: [proofs(), execute()],
      sources: [liar, ...labSources(lab, HONEST).map(behind)],
    })
    const lies: OutlastEvents['lie'][] = []
    rpc.on('lie', (e) => lies.push(e))
    try {
      for (let i = 0; i < 3; i++) await rpc.request({ method: 'eth_blockNumber' })
      const params = [{ data: BALANCE }, 'latest']
      const { result, meta } = await rpc.requestWithMeta({ method: 'eth_call', params })
      assert.equal(result, await lab.anvil.rpc('eth_call', params))
      assert.equal(BigInt(result as Hex) > 0n, true, 'the balance block 1 did not have')
      assert.equal(meta.consistency, 'proven')
      assert.deepEqual([...new Set(lies.map((l) => l.source))], ['liar'])
    } finally {
      await rpc.close()
    }
  })
})
