/**
 * Attacker's review of the request path's cache, in-flight sharing, parameter spellings and block
 * tags (requestWithMeta.ts, params.ts, rules.ts `pinBlock`, handlers/agreedChain.ts `resolveTag`,
 * handlers/read.ts `agreeOn`, head.ts `hashAt`/`shown`). One hostile source in its own domain,
 * every answer well-formed and correctly hashed; real anvil. The quiet chain is quietFork's: a
 * chain idle for minutes, two honest domains up and agreeing, the liar forging fresh empty blocks
 * on the real head (forger.ts), so the honest domains are stale and its chain stands in as a lone
 * head (reads of it `degraded`, as the trust rules allow).
 *
 * Found (each first an `it.fails('correct behaviour: …')`; all three fixed the same stop, their
 * tests renamed "Fixed: …"): 1. `resolveTag` carries the tag read's `degraded` label
 * (`Pinned.degraded`) and agreeOn labels the read by it; 2. a read pinned to a hash of the head
 * tracker's that was not confirmed as it was pinned (`Pinned.tracked`, its height) is `degraded`
 * unless it is on the confirmed chain (`head.holds`) by the time it settles (a hash confirmed at
 * pin time keeps its label: a head jump that forgets the heights below it is no downgrade); 3. in-flight sharing is keyed by the shown floor too
 * (`head.shownFloor()`).
 * 1. High. `safe`/`finalized` state read `agreed` on one domain's word. On the quiet chain the
 *    liar names the payment's block (#1, real, correctly hashed) `finalized` (the chain's is #0:
 *    anvil, 64 blocks back). eth_getBalance(payee, 'finalized') came back 1 ETH `agreed` at
 *    meta.block #1; the finalized balance is 0. Expected: the balance at #0, or `degraded`. An
 *    exchange crediting deposits at `finalized` credits a payment that can still be reorged out.
 *    How: `resolveTag` asks eth_getBlockByNumber('finalized'), head-dependent, so the stale honest
 *    domains are left out and the liar's block comes back `degraded`; resolveTag refuses only
 *    `single`, so it is taken. The read is then pinned `{ blockHash }`, which pinBlock marks not
 *    head-dependent: the stale honest domains are asked there, agree on the (true) state of #1,
 *    and the read is `agreed`; the tag's label is dropped. The same with `safe`, eth_call,
 *    eth_getCode, eth_getStorageAt, eth_getProof, eth_getBlockReceipts (by number); and without
 *    the quiet chain whenever the honest domains fail the tag read (an outage) and are back for
 *    the read after (a liar holding its tag answer until then). Code: handlers/agreedChain.ts
 *    `resolveTag` (accepts `degraded`), rules.ts `pinBlock` (`headDependent: !byBlockHash(out[i])`
 *    for a resolved tag), read.ts `agreeOn` (labels by the read alone). Fix: resolveTag takes only
 *    `verified`/`agreed` (else -32000 "no agreed finalized block", or under `degrade` carry the
 *    flag: `Pinned.degraded`, and agreeOn labels the read `degraded`); a resolved tag's read stays
 *    head-dependent (those that could not say which block the tag means do not vouch for it).
 * 2. Medium. The lone head's block labelled `verified` once the head moved on. On the quiet chain,
 *    eth_getBlockByNumber(n) of the lone head #n: pinBlock's expected hash is head.hashAt(n),
 *    which includes the unconfirmed head's; the liar's forged empty block matches it and stands
 *    alone. read.ts flags it only if `expectedHash === head.peek().hash` when the read settles:
 *    the liar answers the read 1.5 s late while its next forged head is taken (another caller's
 *    eth_blockNumber polls), so the check misses. Observed, three tries out of three: the forged
 *    #5, #8, #11 `verified` (head then #8, #11, #14). Expected: `degraded` (a block no second
 *    domain backs). `eth_getBlockByNumber('latest')` takes the same path (pinned by number to the
 *    lone head; reasoned, not tested), and onAgreedChain (receiptStands, prove.ts's placement
 *    under an unconfirmed head) counts a `verified` block by number as the agreed chain's
 *    (reasoned: a forged block holding a real transaction would place a made-up receipt; not
 *    tried). Code: read.ts `agreeOn` (`unconfirmed` judged against the head at the end), head.ts
 *    `hashAt`. Fix: decide at pin time: `Pinned.unconfirmed` when the expected hash is the
 *    unconfirmed head's (hashAt returning whether the hash is confirmed), and label by that.
 * 3. Medium-low. In-flight sharing skips the `shown` rule. Two domains (aws, and the liar, honest
 *    but answering balances 3 s late, within its timeout). A wallet's eth_getBalance(payee,
 *    'latest') is in flight, pinned to #0; the payment is mined in #1; the caller reads its receipt
 *    (agreed, #1: head.shown(1)), then eth_getBalance(payee, 'latest'): it shares the read started
 *    before (same key, same `head.peek()`, which no poll has moved) and gets 0x0 `agreed` at #0,
 *    below the block it was shown (architecture.md: "a block a caller was shown makes the next
 *    `latest` poll"; the comment on `shared`: "a balance read just after the caller's own receipt
 *    would show the old balance"). The control, the same read spelled `[payee]` (another key),
 *    polls first and gets 0x1234 at the receipt’s block. The liar's part is only to be slow. Code:
 *    requestWithMeta.ts `createRequestWithMeta` (`sharedKey` is `key@head.peek().hash`). Fix: key
 *    the sharing by the shown floor too (`@${peek.hash}:${shown}` with head.ts exposing it), or
 *    have a caller whose shown floor is above the shared answer's `meta.block` run its own read.
 *
 * Held (tested below):
 * - The liar's `finalized` block asked for itself (eth_getBlockByNumber('finalized')) on the
 *   quiet chain: `degraded`, never `agreed`; state at its forged head by `{ blockHash }` and
 *   `{ blockHash, requireCanonical: true }`: errors (the honest domains' "unknown block").
 * - eth_call with a state override beside the plain call, and eth_getBlockByHash with and
 *   without transactions, in flight at once: each caller its own answer; the full block is not
 *   cached, the hashes one is (`cached`).
 * Held (read, not tested): the cache holds only eth_getBlockByHash without transactions and
 * eth_getTransactionByBlockHashAndIndex, both fixed by a block hash (a reorg cannot change them),
 * and only `verified`/`agreed`/`proven`: a lie needs two domains or a hash collision. canonical.ts
 * lower-cases only `0x` strings, and params.ts maps to one key only spellings nodes read alike
 * (`null`, `LATEST`, `{ blockNumber }`, leading zeros); `requireCanonical` absent, false and true
 * stay three keys; `pending`, `earliest` and eth_getBlockByNumber of `safe`/`finalized` need
 * agreement; a lone block beside "not yet" nulls (no beatsNotYet) is asked again, then a
 * QuorumError. Slot spellings of eth_getStorageAt are distinct keys (never shared); proofs
 * compare slots as numbers (verify/proof.ts `isSlot`).
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type Outlast, type Source } from '../../src/index.ts'
import { CHAIN_ID, sleep } from '../helpers.ts'
import { type Anvil, devAccounts, startAnvil } from '../lab/index.ts'
import { forger, type Header } from './forger.ts'
import { hostile } from './hostile.ts'

const hex = (n: number | bigint) => `0x${n.toString(16)}`
const seconds = () => Math.floor(Date.now() / 1_000)
const PAYEE = `0x${'5e'.repeat(20)}`

let anvil: Anvil
/** Block 1: the payment to PAYEE (5 min ago); block 2 empty; the chain is quiet since. */
let paid: Header
beforeAll(async () => {
  anvil = await startAnvil({ noMining: true, args: ['--timestamp', String(seconds() - 4_000)] })
  await anvil.rpc('evm_setNextBlockTimestamp', [hex(seconds() - 300)])
  await anvil.rpc('eth_sendTransaction', [
    { from: devAccounts[1]!.address, to: PAYEE, value: hex(10n ** 18n) },
  ])
  await anvil.rpc('evm_mine')
  paid = await anvil.rpc<Header>('eth_getBlockByNumber', ['latest', false])
  // Block 2, empty (the liar's forged blocks copy it: empty, they stand alone when expected).
  await anvil.rpc('evm_setNextBlockTimestamp', [hex(seconds() - 200)])
  await anvil.rpc('evm_mine')
})
afterAll(() => anvil?.stop())

const honest = (): Source[] => [
  http(anvil.url, { name: 'aws', domain: 'aws', timeout: 1_000 }),
  http(anvil.url, { name: 'gcp', domain: 'gcp', timeout: 1_000 }),
]

/** Waits until the agreed head is one of the liar's forged blocks (the honest domains stale). */
async function loneHeadForged(rpc: Outlast, forged: Map<string, Header>): Promise<Header> {
  for (let i = 0; i < 100; i++) {
    await rpc.requestWithMeta({ method: 'eth_blockNumber' }).catch(() => {})
    const head = rpc.status().head
    if (head && forged.has(head.hash.toLowerCase())) return forged.get(head.hash.toLowerCase())!
    await sleep(100)
  }
  throw new Error('the liar’s forged head never stood in')
}

describe('a quiet chain, two honest domains up, one liar forging fresh heads (quietFork)', () => {
  it('Fixed: `finalized` one domain alone names is never read `agreed`', async () => {
    // The liar names the payment's block (real, correctly hashed, on the chain) `finalized`;
    // the chain's finalized block is genesis (anvil: 64 blocks back, a young chain).
    const lie: Source = hostile(
      http(anvil.url, { name: 'liar', domain: 'liar-host', timeout: 1_000 }),
      async (method, params, answer) =>
        method === 'eth_getBlockByNumber' && (params[0] === 'finalized' || params[0] === 'safe')
          ? paid
          : answer(),
    )
    const liar = forger(anvil, { inner: lie })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 300,
      sources: [...honest(), liar.source],
    })
    try {
      await rpc.connect()
      const truth = await anvil.rpc<Header>('eth_getBlockByNumber', ['finalized', false])
      assert.equal(Number(truth.number), 0)
      const before = await anvil.rpc<string>('eth_getBalance', [PAYEE, '0x0'])
      liar.start()
      await loneHeadForged(rpc, liar.forged)
      for (const tag of ['finalized', 'safe']) {
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_getBalance',
          params: [PAYEE, tag],
        })
        console.log(`# ${tag}: ${result} ${meta.consistency} at #${meta.block?.number}`)
        assert.ok(
          meta.consistency === 'degraded' || result === before,
          `${tag} balance ${result} (the payment's block, the liar's word) labelled ${meta.consistency}`,
        )
      }
    } finally {
      await rpc.close()
    }
  })

  it('Fixed: the lone head’s block read after the head moved on is `degraded`, never `verified`', async () => {
    let slowAt: string | undefined
    const liar = forger(anvil, { rate: 2 })
    // The liar answers the read of its head's block by number late: by then its next head stands.
    const source = hostile(liar.source, async (method, params, answer) => {
      if (method === 'eth_getBlockByNumber' && params[0] === slowAt) await sleep(1_500)
      return answer()
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 300,
      sources: [...honest(), source],
    })
    try {
      await rpc.connect()
      liar.start()
      // Up to three tries: the head may move between the wait and the read's pin.
      const seen: string[] = []
      for (let i = 0; i < 3; i++) {
        const head = await loneHeadForged(rpc, liar.forged)
        slowAt = head.number
        const read = rpc.requestWithMeta({
          method: 'eth_getBlockByNumber',
          params: [head.number, false],
        })
        // Another caller's reads meanwhile (a wallet polling eth_blockNumber) move the head on.
        let done = false
        read.finally(() => {
          done = true
        })
        while (!done) {
          await rpc.requestWithMeta({ method: 'eth_blockNumber' }).catch(() => {})
          await sleep(100)
        }
        const { result, meta } = await read
        const block = result as Header
        assert.ok(liar.forged.has(block.hash), 'the forged block came back')
        seen.push(
          `#${Number(block.number)} ${meta.consistency} (head then #${Number(rpc.status().head?.number)})`,
        )
      }
      console.log(`# ${seen.join(', ')}`)
      assert.deepEqual(
        seen.filter((s) => !s.includes('degraded')),
        [],
        'the liar’s forged block labelled otherwise than degraded',
      )
    } finally {
      await rpc.close()
    }
  })

  it('Held: the liar’s `finalized` block asked for itself, and state at its forged head by hash, never `agreed`', async () => {
    const lie: Source = hostile(
      http(anvil.url, { name: 'liar', domain: 'liar-host', timeout: 1_000 }),
      async (method, params, answer) =>
        method === 'eth_getBlockByNumber' && params[0] === 'finalized' ? paid : answer(),
    )
    const liar = forger(anvil, { inner: lie })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 300,
      sources: [...honest(), liar.source],
    })
    const outcome = (p: Promise<{ result: unknown; meta: { consistency: string } }>) =>
      p.then(
        (r) => ({ result: r.result, consistency: r.meta.consistency }),
        (e: Error) => ({ result: undefined, consistency: `error: ${e.message.slice(0, 60)}` }),
      )
    try {
      await rpc.connect()
      liar.start()
      const head = await loneHeadForged(rpc, liar.forged)
      const block = await outcome(
        rpc.requestWithMeta({ method: 'eth_getBlockByNumber', params: ['finalized', false] }),
      )
      console.log(`# eth_getBlockByNumber(finalized): ${block.consistency}`)
      assert.ok(
        (block.result as Header | undefined)?.hash !== paid.hash ||
          block.consistency === 'degraded',
        `the liar's finalized block labelled ${block.consistency}`,
      )
      for (const at of [
        { blockHash: head.hash },
        { blockHash: head.hash, requireCanonical: true },
      ]) {
        const read = await outcome(
          rpc.requestWithMeta({ method: 'eth_getBalance', params: [PAYEE, at] }),
        )
        console.log(`# balance at ${JSON.stringify(Object.keys(at))}: ${read.consistency}`)
        assert.ok(
          read.consistency === 'degraded' || read.consistency.startsWith('error'),
          `state at the forged head labelled ${read.consistency}`,
        )
      }
    } finally {
      await rpc.close()
    }
  })
})

describe('in-flight sharing across a block the caller was shown', () => {
  let node: Anvil
  beforeAll(async () => {
    node = await startAnvil({})
  })
  afterAll(() => node?.stop())

  /**
   * A wallet's read of `payee`'s balance starts (the liar answers balances 3 s late, within its
   * timeout); the payment is mined meanwhile; the caller reads its receipt (agreed: it is shown
   * that block), then asks the balance at `latest` spelled `params`. Returns what it got.
   */
  async function afterReceipt(payee: string, params: unknown[]) {
    const liar = hostile(
      http(node.url, { name: 'liar', domain: 'liar-host', timeout: 8_000 }),
      async (method, _params, answer) => {
        if (method === 'eth_getBalance') await sleep(3_000)
        return answer()
      },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 10_000,
      sources: [http(node.url, { name: 'aws', domain: 'aws', timeout: 8_000 }), liar],
    })
    try {
      await rpc.connect()
      let firstDone = false
      const first = rpc.requestWithMeta({ method: 'eth_getBalance', params: [payee, 'latest'] })
      first.finally(() => {
        firstDone = true
      })
      await sleep(100)
      const hash = await node.rpc<string>('eth_sendTransaction', [
        { from: devAccounts[3]!.address, to: payee, value: '0x1234' },
      ])
      const receipt = await (async () => {
        for (;;) {
          const r = (await rpc.request({
            method: 'eth_getTransactionReceipt',
            params: [hash],
          })) as { blockNumber: string } | null
          if (r) return r
          await sleep(50)
        }
      })()
      assert.ok(!firstDone, 'the earlier read still in flight')
      const { result, meta } = await rpc.requestWithMeta({ method: 'eth_getBalance', params })
      await first
      console.log(
        `# receipt at #${Number(receipt.blockNumber)}; balance ${result} ${meta.consistency} at #${meta.block?.number}`,
      )
      return { result, block: Number(meta.block?.number), shown: Number(receipt.blockNumber) }
    } finally {
      await rpc.close()
    }
  }

  it('Fixed: a balance read after the caller’s own receipt is never the one started before it', async () => {
    const payee = `0x${'6f'.repeat(20)}`
    const { result, block, shown } = await afterReceipt(payee, [payee, 'latest'])
    assert.equal(result, '0x1234')
    assert.ok(block >= shown, `read at #${block}, below the receipt's #${shown}`)
  })

  it('Held (control): the same read spelled without its block param (so not shared) is at the receipt’s block', async () => {
    const payee = `0x${'7e'.repeat(20)}`
    const { result, block, shown } = await afterReceipt(payee, [payee])
    assert.equal(result, '0x1234')
    assert.ok(block >= shown, `read at #${block}, below the receipt's #${shown}`)
  })

  it('Held: a call with a state override, a plain call, and a block with and without its transactions, in flight at once, are each their own', async () => {
    const target = `0x${'c0de'.repeat(10)}`
    // PUSH1 42 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN: returns 42.
    const code = '0x602a60005260206000f3'
    const liar = hostile(
      http(node.url, { name: 'liar', domain: 'liar-host', timeout: 8_000 }),
      async (method, _params, answer) => {
        if (method === 'eth_call' || method === 'eth_getBlockByHash') await sleep(500)
        return answer()
      },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [http(node.url, { name: 'aws', domain: 'aws', timeout: 8_000 }), liar],
    })
    try {
      await rpc.connect()
      const hash = await node.rpc<string>('eth_sendTransaction', [
        { from: devAccounts[2]!.address, to: target, value: '0x1' },
      ])
      let mined: { blockHash: string } | null = null
      while (!mined) {
        mined = await node.rpc<{ blockHash: string } | null>('eth_getTransactionReceipt', [hash])
        if (!mined) await sleep(20)
      }
      const call = { to: target, data: '0x' }
      const [plain, overridden, hashes, full] = await Promise.all([
        rpc.requestWithMeta({ method: 'eth_call', params: [call, 'latest'] }),
        rpc.requestWithMeta({
          method: 'eth_call',
          params: [call, 'latest', { [target]: { code } }],
        }),
        rpc.requestWithMeta({ method: 'eth_getBlockByHash', params: [mined.blockHash, false] }),
        rpc.requestWithMeta({ method: 'eth_getBlockByHash', params: [mined.blockHash, true] }),
      ])
      assert.equal(plain.result, '0x')
      assert.equal(BigInt(overridden.result as string), 42n)
      assert.equal(typeof (hashes.result as { transactions: unknown[] }).transactions[0], 'string')
      assert.equal(typeof (full.result as { transactions: unknown[] }).transactions[0], 'object')
      // The block with its transactions is not kept (megabytes on mainnet); the hashes one is.
      const again = await Promise.all(
        [false, true].map((flag) =>
          rpc.requestWithMeta({ method: 'eth_getBlockByHash', params: [mined.blockHash, flag] }),
        ),
      )
      assert.deepEqual(
        again.map((a) => a.meta.consistency),
        ['cached', 'agreed'],
      )
      assert.equal(
        typeof (again[1]!.result as { transactions: unknown[] }).transactions[0],
        'object',
      )
    } finally {
      await rpc.close()
    }
  })
})
