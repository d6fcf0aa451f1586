/**
 * Hostile class: a source that answers `eth_sendRawTransaction` for a blob transaction (type 3)
 * with a hash other than the transaction's own (keccak of the network form, of the EIP-7594 form,
 * or any hash). The hash is computed locally from the body alone; a source that answers anything
 * else is a failed broadcast for that source, and the honest answer stands. Against real anvil.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import * as Rlp from 'ox/Rlp'
import { describe, it } from 'vitest'
import type { Hex, OutlastEvents } from '../../src/index.ts'
import { clientFor, sleep, threeDomains } from '../helpers.ts'
import { type FaultProxy, type Lab, type LabSource, startLab } from '../lab/index.ts'

/** One signed blob transaction (dev account 0, nonce 0, chain 31337); see fixtures/README.md. */
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/blobTransaction.json', import.meta.url), 'utf8'),
) as { hash: Hex; network: Hex; osaka: Hex; networkFormKeccak: Hex; osakaFormKeccak: Hex }

type Receipt = { transactionHash: Hex; status: Hex; type: Hex; blobGasUsed?: Hex }

/**
 * A hostile source: it answers `eth_sendRawTransaction` at once with `lie()` (before any honest
 * node could answer, and without passing the transaction on); everything else is its node's.
 */
function lyingFetch(base: typeof fetch, lie: () => Hex): typeof fetch {
  return async (input, init) => {
    const asked = String(init?.body ?? '')
    if (!asked.includes('"eth_sendRawTransaction"')) return base(input, init)
    const { id } = JSON.parse(asked) as { id: unknown }
    return new Response(JSON.stringify({ jsonrpc: '2.0', id, result: lie() }), {
      headers: { 'content-type': 'application/json' },
    })
  }
}

/**
 * An outlast client over the lab's sources, `fetchFor` wrapping a source's fetch. Like `clientFor`,
 * with room for a node's first blob: anvil loads its KZG setup then (about 3 s on 2 cores).
 */
function client(
  lab: Lab,
  fetchFor: (s: LabSource & { proxy: FaultProxy }) => typeof fetch = (s) => s.proxy.fetch,
) {
  return clientFor(lab, { timeout: 30_000 }, fetchFor, 20_000)
}

async function withLab(run: (lab: Lab) => Promise<void>) {
  const lab = await startLab({ blockTime: 1, sources: threeDomains })
  try {
    await run(lab)
  } finally {
    await lab.stop()
  }
}

const lies = [
  { form: 'network', says: 'the keccak of the network form', lie: () => fixture.networkFormKeccak },
  { form: 'osaka', says: 'the keccak of the EIP-7594 form', lie: () => fixture.osakaFormKeccak },
  {
    form: 'osaka',
    says: 'a random hash',
    lie: () => `0x${randomBytes(32).toString('hex')}` as Hex,
  },
  {
    form: 'network',
    says: 'a random hash',
    lie: () => `0x${randomBytes(32).toString('hex')}` as Hex,
  },
] as const

describe('blob transactions (type 3) through eth_sendRawTransaction', () => {
  for (const { form, says, lie } of lies)
    it(`${form} form: the fastest source answering ${says} is a failed broadcast, the body hash stands`, () =>
      withLab(async (lab) => {
        // aws answers first (20 ms): a hostile answer that came first must not become the result.
        const rpc = client(lab, (s) =>
          s.name === 'aws' ? lyingFetch(s.proxy.fetch, lie) : s.proxy.fetch,
        )
        const outcomes: OutlastEvents['broadcast'][] = []
        rpc.on('broadcast', (o) => outcomes.push(o))
        try {
          const hash = await rpc.request({
            method: 'eth_sendRawTransaction',
            params: [fixture[form]],
          })
          assert.equal(hash, fixture.hash, 'the hash of the body, without blobs and proofs')
          const seen = await lab.anvil.rpc<{ hash: Hex; type: Hex } | null>(
            'eth_getTransactionByHash',
            [hash],
          )
          assert.equal(seen?.hash, fixture.hash, 'anvil knows the transaction by that hash')
          assert.equal(seen?.type, '0x3')

          const receipt = await receiptOf(rpc.request.bind(rpc), fixture.hash)
          assert.equal(receipt.transactionHash, fixture.hash)
          assert.equal(receipt.status, '0x1')
          assert.equal(receipt.type, '0x3')
          assert.ok(
            receipt.blobGasUsed && BigInt(receipt.blobGasUsed) > 0n,
            'the blob was paid for',
          )

          await until(() => outcomes.length === 3)
          const by = Object.fromEntries(outcomes.map((o) => [o.source, o]))
          assert.equal(by.aws?.outcome, 'failed', 'the hostile source is reported')
          assert.match(by.aws?.reason ?? '', new RegExp(`computed ${fixture.hash}`))
          // Honest nodes answer the body hash (or, sharing one node, "already imported"): that is
          // not a failure.
          const honest = [by.gcp?.outcome, by.home?.outcome]
          assert.ok(honest.includes('accepted'), 'an honest node answered the body hash')
          for (const o of honest) assert.match(o ?? '', /^(accepted|known)$/)
          for (const o of outcomes) assert.equal(o.hash, fixture.hash)
        } finally {
          await rpc.close()
        }
      }))

  it('a hostile source alone cannot make a broadcast succeed with its hash', () =>
    withLab(async (lab) => {
      const rpc = client(lab, (s) => lyingFetch(s.proxy.fetch, () => fixture.networkFormKeccak))
      const outcomes: OutlastEvents['broadcast'][] = []
      rpc.on('broadcast', (o) => outcomes.push(o))
      try {
        await assert.rejects(
          rpc.request({ method: 'eth_sendRawTransaction', params: [fixture.network] }),
          (e: Error) => e.message.includes(fixture.networkFormKeccak),
        )
        assert.deepEqual(
          outcomes.map((o) => o.outcome),
          ['failed', 'failed', 'failed'],
        )
      } finally {
        await rpc.close()
      }
    }))

  it('a malformed blob wrapper is the caller’s error (-32602), sent to no source', () =>
    withLab(async (lab) => {
      const rpc = client(lab)
      const [, ...sidecar] = Rlp.toHex(`0x${fixture.network.slice(4)}`) as Hex[]
      const notAList = `0x03${Rlp.fromHex(['0x01', ...sidecar]).slice(2)}`
      try {
        for (const raw of [notAList, '0x03', `${fixture.network}00`, '0x03c0'])
          await assert.rejects(
            rpc.request({ method: 'eth_sendRawTransaction', params: [raw] }),
            (e: Error & { code?: number }) =>
              e.code === -32602 && /malformed blob transaction/.test(e.message),
          )
        for (const p of lab.proxies) assert.equal(p.stats.byMethod.eth_sendRawTransaction ?? 0, 0)
      } finally {
        await rpc.close()
      }
    }))
})

async function receiptOf(
  request: (a: { method: string; params: unknown[] }) => Promise<unknown>,
  hash: Hex,
): Promise<Receipt> {
  const end = Date.now() + 20_000
  while (Date.now() < end) {
    const receipt = (await request({
      method: 'eth_getTransactionReceipt',
      params: [hash],
    })) as Receipt | null
    if (receipt) return receipt
    await sleep(200)
  }
  throw new Error(`no receipt for ${hash}`)
}

async function until(done: () => boolean, ms = 5_000) {
  const end = Date.now() + ms
  while (!done() && Date.now() < end) await sleep(20)
}
