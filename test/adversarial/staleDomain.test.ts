/**
 * Trust, the head by its timestamp: a domain whose head is minutes old must not drag the agreed
 * head back (payments already mined not shown, nothing said). Its head is stale while another
 * domain's is fresh and extends the agreed chain: it is flagged `lagging` with its age, an event
 * says so, and reads follow the fresh domain, labelled `degraded` when no second domain backs
 * it. A chain where every head is old flags no one. A head from the future, or a fresh-looking
 * head that does not extend the agreed chain by parent hash, never becomes the head.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, it } from 'vitest'
import {
  createOutlast,
  http,
  type Outlast,
  type OutlastEvents,
  type Source,
} from '../../src/index.ts'
import { CHAIN_ID, sleep } from '../helpers.ts'
import { type Anvil, devAccounts, startAnvil } from '../lab/index.ts'
import { forgeHeader, hostile } from './hostile.ts'

type Header = Record<string, unknown> & {
  number: string
  hash: string
  parentHash: string
  timestamp: string
}

const hex = (n: number) => `0x${n.toString(16)}`
const seconds = () => Math.floor(Date.now() / 1_000)

/** Ages (s) of the blocks mined before the chain runs in real time: a history to freeze at. */
const HISTORY = [3_600, 600, 120, 10]

let anvil: Anvil
beforeAll(async () => {
  // Genesis an hour and more ago, a few blocks at the ages above, then a block a second.
  anvil = await startAnvil({ noMining: true, args: ['--timestamp', String(seconds() - 4_000)] })
  for (const age of HISTORY) {
    await anvil.rpc('evm_setNextBlockTimestamp', [hex(seconds() - age)])
    await anvil.rpc('evm_mine')
  }
  await anvil.rpc('evm_setNextBlockTimestamp', [hex(seconds())])
  await anvil.rpc('evm_mine')
  await anvil.rpc('evm_setIntervalMining', [1])
})
afterAll(() => anvil?.stop())

const blockAt = (n: number | 'latest') =>
  anvil.rpc<Header>('eth_getBlockByNumber', [typeof n === 'number' ? hex(n) : n, false])
const chainHeight = async () => Number(await anvil.rpc<string>('eth_blockNumber'))

/**
 * The newest block at least `age` seconds old by its timestamp, once the chain is a few blocks
 * past it (more than `maxLag`: a node two blocks behind is not stale, however old its head).
 */
async function blockAged(age: number): Promise<Header> {
  let block = await blockAt(0)
  for (let n = await chainHeight(); n > 0; n--) {
    const b = await blockAt(n)
    if (Number(b.timestamp) > seconds() - age) continue
    block = b
    break
  }
  while ((await chainHeight()) < Number(block.number) + 4) await sleep(200)
  return block
}

const honest = (name: string, domain = name) => http(anvil.url, { name, domain, timeout: 1_000 })

/**
 * A node stuck at `block`: its `eth_blockNumber` and every `latest` read (its head, state) stay
 * there; everything else passes through.
 */
function frozen(name: string, block: Header, domain = name): Source {
  const inner = http(anvil.url, { name, domain, timeout: 1_000 })
  return hostile(inner, async (method, params, answer) => {
    if (method === 'eth_blockNumber') return block.number
    if (!params.includes('latest')) return answer()
    return inner.request({ method, params: params.map((p) => (p === 'latest' ? block.number : p)) })
  })
}

/** A source that fails every call while `down()`: a domain that is out. */
const outWhile = (inner: Source, down: () => boolean): Source =>
  hostile(inner, async (_method, _params, answer) => {
    if (down()) throw new Error('connection refused')
    return answer()
  })

/**
 * A source in its own domain whose `latest` is `forge(real head)`, a correctly hashed header it
 * also serves by hash and number; every header it forged is listed in `forged`.
 */
function forger(forge: (real: Header) => Header): { source: Source; forged: Map<string, Header> } {
  const inner = http(anvil.url, { name: 'liar', domain: 'liar-host', timeout: 1_000 })
  const forged = new Map<string, Header>()
  const source = hostile(inner, async (method, params, answer) => {
    const byHash = method === 'eth_getBlockByHash' && forged.get(String(params[0]).toLowerCase())
    if (byHash) return byHash
    if (method === 'eth_getBlockByNumber' && params[0] !== 'latest')
      for (const h of forged.values()) if (h.number === params[0]) return h
    const real = await answer()
    if (method !== 'eth_getBlockByNumber' || params[0] !== 'latest' || !real) return real
    const fake = forge(real as Header)
    forged.set(fake.hash.toLowerCase(), fake)
    return fake
  })
  return { source, forged }
}

/** A payment to a fresh account, mined: what a stale domain would hide. */
async function pay(): Promise<{ who: string; value: string; block: number }> {
  const who = `0x${randomBytes(20).toString('hex')}`
  const value = hex(1 + randomBytes(4).readUInt32BE())
  const tx = await anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[0].address, to: who, value },
  ])
  for (;;) {
    const receipt = await anvil.rpc<{ blockNumber: string } | null>('eth_getTransactionReceipt', [
      tx,
    ])
    if (receipt) return { who, value, block: Number(receipt.blockNumber) }
    await sleep(100)
  }
}

function client(sources: Source[], options: { maxHeadAge?: number; quorum?: number } = {}) {
  const rpc = createOutlast({
    chainId: CHAIN_ID,
    pollingInterval: 300,
    sources,
    ...(options.maxHeadAge ? { maxHeadAge: options.maxHeadAge } : {}),
    ...(options.quorum ? { quorum: { domains: options.quorum } } : {}),
  })
  const events: OutlastEvents['source'][] = []
  rpc.on('source', (e) => events.push(e))
  return { rpc, events }
}

/**
 * Reads for `ms`: the paid balance every time, labelled `consistency`; `eth_blockNumber` at or
 * past the payment's block, never past the chain, never going back.
 */
async function readsShowPayment(
  rpc: Outlast,
  paid: { who: string; value: string; block: number },
  consistency: 'agreed' | 'degraded',
  ms = 1_200,
) {
  const numbers: number[] = []
  const end = Date.now() + ms
  while (Date.now() < end) {
    const read = await rpc.requestWithMeta({
      method: 'eth_getBalance',
      params: [paid.who, 'latest'],
    })
    assert.equal(BigInt(read.result as string), BigInt(paid.value), 'the payment is shown')
    assert.equal(read.meta.consistency, consistency)
    const { result, meta } = await rpc.requestWithMeta({ method: 'eth_blockNumber' })
    const n = Number(result)
    numbers.push(n)
    assert.ok(n >= paid.block, `eth_blockNumber ${n} is before the payment's block ${paid.block}`)
    assert.ok(n <= (await chainHeight()) + 1, `eth_blockNumber ${n} is past the chain`)
    assert.equal(meta.consistency, consistency === 'agreed' ? 'head' : 'degraded')
    await sleep(100)
  }
  for (let i = 1; i < numbers.length; i++)
    assert.ok(numbers[i]! >= numbers[i - 1]!, `eth_blockNumber went back: ${numbers.join(',')}`)
}

/**
 * `rounds` times: a pause of 2.5 s (the chain moves a few blocks on, so the fresh head jumps),
 * then reads for 0.6 s that must show the payment, `degraded`.
 */
async function showsPaymentAsHeadsJump(
  rpc: Outlast,
  paid: { who: string; value: string; block: number },
  rounds: number,
) {
  for (let i = 0; i < rounds; i++) {
    await sleep(2_500)
    await readsShowPayment(rpc, paid, 'degraded', 600)
  }
}

/** The stale source is `lagging`, says how old its head is, and an event said so. */
function assertFlaggedStale(
  rpc: Outlast,
  events: OutlastEvents['source'][],
  name: string,
  block: Header,
) {
  const age = seconds() - Number(block.timestamp)
  const said = new RegExp(`^head #${Number(block.number)} is (\\d+) s old while`)
  const status = rpc.status().sources.find((s) => s.name === name)!
  assert.equal(status.condition, 'lagging', `${name} is ${status.condition}`)
  const noted = said.exec(status.headNote ?? '')
  assert.ok(noted, `${name}'s head note: ${status.headNote}`)
  assert.ok(Math.abs(Number(noted[1]) - age) <= 5, `${noted[0]} (it is ${age} s old)`)
  const event = events.find(
    (e) => e.source === name && e.to === 'lagging' && said.test(e.reason ?? ''),
  )
  assert.ok(event, `no event says ${name} is stale: ${JSON.stringify(events)}`)
}

/** [age of the frozen head in s, maxHeadAge (undefined: the default, a minute)] */
const AGES: [number, number | undefined][] = [
  [8, 3_000],
  [120, undefined],
  [3_600, undefined],
]

for (const [age, maxHeadAge] of AGES) {
  const limit = maxHeadAge ? `maxHeadAge ${maxHeadAge} ms` : 'the default maxHeadAge'
  describe(`a domain whose head is ${age} s old (${limit})`, () => {
    it('of two domains: the fresh one answers, degraded; the stale one is flagged', async () => {
      const paid = await pay()
      const old = await blockAged(age)
      const { rpc, events } = client([honest('aws'), frozen('home', old)], { maxHeadAge })
      try {
        await rpc.connect()
        await readsShowPayment(rpc, paid, 'degraded')
        assert.equal(rpc.status().headConfirmed, false, 'one domain backs the head')
        assertFlaggedStale(rpc, events, 'home', old)
        assert.equal(rpc.status().sources.find((s) => s.name === 'aws')?.condition, 'healthy')
      } finally {
        await rpc.close()
      }
    })

    it('of three domains, one stale: agreed by the two fresh ones; the stale one flagged', async () => {
      const paid = await pay()
      const old = await blockAged(age)
      const { rpc, events } = client([honest('aws'), honest('gcp'), frozen('home', old)], {
        maxHeadAge,
      })
      try {
        await rpc.connect()
        await readsShowPayment(rpc, paid, 'agreed')
        assert.equal(rpc.status().headConfirmed, true)
        assertFlaggedStale(rpc, events, 'home', old)
      } finally {
        await rpc.close()
      }
    })

    it('of three domains, two stale at one block: the fresh one answers, degraded', async () => {
      const paid = await pay()
      const old = await blockAged(age)
      const { rpc, events } = client([honest('aws'), frozen('gcp', old), frozen('home', old)], {
        maxHeadAge,
      })
      try {
        await rpc.connect()
        await readsShowPayment(rpc, paid, 'degraded')
        assert.equal(rpc.status().headConfirmed, false)
        for (const name of ['gcp', 'home']) assertFlaggedStale(rpc, events, name, old)
      } finally {
        await rpc.close()
      }
    })
  })
}

/**
 * Fresh sources whose heads come last or are hard to link to the agreed chain once `cut()` is
 * called: its polls answered after the stale ones' (the old head they agree on must wait for
 * it, even at the first refresh), the blocks in between slow, or none at all ("not found": no
 * failure, its breaker stays closed). While a new head is being linked, or cannot be, the head
 * it had that did extend the agreed chain still shows that the other domains are stale.
 */
const hardToLink: { what: string; rounds: number; make(): { source: Source; cut(): void } }[] = [
  {
    what: 'whose head comes after theirs',
    rounds: 1,
    make: () => ({
      source: hostile(honest('aws'), async (method, params, answer) => {
        if (method === 'eth_getBlockByNumber' && params[0] === 'latest') await sleep(150)
        return answer()
      }),
      cut: () => {},
    }),
  },
  {
    what: 'whose blocks in between come slowly',
    rounds: 3,
    make: () => ({
      source: hostile(honest('aws'), async (method, params, answer) => {
        if (method === 'eth_getBlockByNumber' && params[0] !== 'latest') await sleep(400)
        return answer()
      }),
      cut: () => {},
    }),
  },
  {
    what: 'that stops serving the blocks in between',
    rounds: 2,
    make: () => {
      let refuse = false
      const source = hostile(honest('aws'), async (method, params, answer) => {
        const between =
          method === 'eth_getBlockByHash' ||
          (method === 'eth_getBlockByNumber' && params[0] !== 'latest')
        return refuse && between ? null : answer()
      })
      return {
        source,
        cut: () => {
          refuse = true
        },
      }
    },
  },
]

for (const c of hardToLink)
  describe(`two stale domains and a fresh one ${c.what}`, () => {
    it('the stale head does not come back while the fresh head jumps', async () => {
      const paid = await pay()
      const old = await blockAged(120)
      const { source, cut } = c.make()
      const { rpc } = client([source, frozen('gcp', old), frozen('home', old)])
      try {
        await rpc.connect()
        await readsShowPayment(rpc, paid, 'degraded', 600)
        cut()
        await showsPaymentAsHeadsJump(rpc, paid, c.rounds)
      } finally {
        await rpc.close()
      }
    })
  })

describe('two stale domains and a fresh one that goes out', () => {
  // The chain is known to have moved past the stale domains: for as long as the fresh domain's
  // last head is fresh (a minute by default), their old head is not an answer (an error says
  // so, or the fresh domain's last head, degraded).
  it('no read shows the stale state while the last fresh head is fresh', async () => {
    const paid = await pay()
    const old = await blockAged(120)
    let down = false
    const { rpc } = client([
      outWhile(honest('aws'), () => down),
      frozen('gcp', old),
      frozen('home', old),
    ])
    try {
      await rpc.connect()
      await readsShowPayment(rpc, paid, 'degraded', 600)
      down = true
      const end = Date.now() + 2_000
      while (Date.now() < end) {
        const read = await rpc
          .request({ method: 'eth_getBalance', params: [paid.who, 'latest'] })
          .catch(() => undefined)
        if (read !== undefined) assert.equal(BigInt(read as string), BigInt(paid.value))
        await sleep(100)
      }
    } finally {
      await rpc.close()
    }
  })
})

describe('two domains stuck an hour ago, 300 blocks down (deeper than the kept headers)', () => {
  // On its own chain: an hour of 12-second blocks, then a block a second.
  let main: Anvil
  let deep: Anvil
  beforeAll(async () => {
    main = anvil
    deep = await startAnvil({ noMining: true, args: ['--timestamp', String(seconds() - 4_000)] })
    await deep.rpc('evm_setNextBlockTimestamp', [hex(seconds() - 3_610)])
    await deep.rpc('evm_mine')
    await deep.rpc('anvil_mine', [hex(300), hex(11)])
    await deep.rpc('evm_setNextBlockTimestamp', [hex(seconds())])
    await deep.rpc('evm_mine')
    await deep.rpc('evm_setIntervalMining', [1])
    anvil = deep
  })
  afterAll(async () => {
    anvil = main
    await deep?.stop()
  })

  it('the fresh domain is linked to their head all the same: it answers, degraded', async () => {
    const paid = await pay()
    const old = await blockAt(1)
    assert.ok(paid.block - 1 > 300, `the payment is ${paid.block - 1} blocks above`)
    const { rpc, events } = client([honest('aws'), frozen('gcp', old), frozen('home', old)])
    try {
      await rpc.connect()
      await readsShowPayment(rpc, paid, 'degraded')
      for (const name of ['gcp', 'home']) assertFlaggedStale(rpc, events, name, old)
      // Polled less often than the chain moves, its head jumps a few blocks: it links down to
      // its own previous head (walked once), not through another deep walk.
      await showsPaymentAsHeadsJump(rpc, paid, 2)
    } finally {
      await rpc.close()
    }
  })
})

describe('every head old (an idle chain)', () => {
  it('flags no one: the old head is agreed', async () => {
    const old = await blockAged(60)
    const who = devAccounts[0].address
    const { rpc } = client([frozen('aws', old), frozen('gcp', old), frozen('home', old)], {
      maxHeadAge: 3_000,
    })
    try {
      await rpc.connect()
      const read = await rpc.requestWithMeta({ method: 'eth_getBalance', params: [who, 'latest'] })
      assert.equal(read.meta.consistency, 'agreed')
      assert.equal(read.result, await anvil.rpc('eth_getBalance', [who, old.number]))
      assert.equal(rpc.status().head?.hash, old.hash)
      assert.equal(rpc.status().headConfirmed, true)
      // Flagged by no rule about heads (a slow attempt under load may leave one `degraded`: its
      // 1 s attempt timeout, not its head).
      for (const s of rpc.status().sources) {
        assert.ok(
          ['healthy', 'unknown', 'degraded'].includes(s.condition),
          `${s.name} is ${s.condition}`,
        )
        assert.equal(s.headNote, undefined)
      }
    } finally {
      await rpc.close()
    }
  })
})

/** Reads while `ms` pass: no answer is pinned to, and no head is, a block `forged` holds. */
async function neverForged(rpc: Outlast, forged: Map<string, Header>, ms = 1_500) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    const read = await rpc
      .requestWithMeta({ method: 'eth_getBalance', params: [devAccounts[1].address, 'latest'] })
      .catch(() => undefined)
    if (read?.meta.block)
      assert.ok(!forged.has(read.meta.block.hash), 'a read pinned to a forged block')
    const head = rpc.status().head
    assert.ok(head && !forged.has(head.hash), `the head is a forged block (#${head?.number})`)
    await rpc.request({ method: 'eth_blockNumber' }).catch(() => undefined)
    await sleep(100)
  }
  assert.ok(forged.size > 0, 'the liar forged heads')
}

describe('a head from the future (an hour ahead, on the agreed chain by parent hash)', () => {
  const ahead = (real: Header) =>
    forgeHeader(
      { ...real, parentHash: real.hash, timestamp: hex(Number(real.timestamp) + 3_600) },
      Number(real.number) + 1,
    ) as Header

  it('is refused and its source flagged, the other domain up', async () => {
    const { source, forged } = forger(ahead)
    const { rpc, events } = client([honest('aws'), source])
    try {
      await rpc.connect()
      await neverForged(rpc, forged)
      const liar = rpc.status().sources.find((s) => s.name === 'liar')!
      assert.equal(liar.condition, 'unconfirmed')
      assert.match(liar.headNote ?? '', /is 3[56]\d\d s ahead of the local clock/)
      assert.ok(
        events.some((e) => e.source === 'liar' && /ahead of the local clock/.test(e.reason ?? '')),
        JSON.stringify(events),
      )
    } finally {
      await rpc.close()
    }
  })

  it('never stands in while the other domain is out', async () => {
    let down = false
    const { source, forged } = forger(ahead)
    const { rpc } = client([outWhile(honest('aws'), () => down), source])
    try {
      await rpc.connect()
      await rpc.request({ method: 'eth_blockNumber' })
      down = true
      await neverForged(rpc, forged)
    } finally {
      await rpc.close()
    }
  })
})

describe('a fresh-looking head off the agreed chain (its parent hash leads elsewhere)', () => {
  // A real fresh header moved one height up: correctly hashed, fresh, its parent two blocks down.
  const offBranch = (real: Header) => forgeHeader(real, Number(real.number) + 1) as Header

  it('never stands in while the other domain is out', async () => {
    let down = false
    const { source, forged } = forger(offBranch)
    const { rpc } = client([outWhile(honest('aws'), () => down), source])
    try {
      await rpc.connect()
      await rpc.request({ method: 'eth_blockNumber' })
      down = true
      await neverForged(rpc, forged)
    } finally {
      await rpc.close()
    }
  })

  it('does not make an old honest head look stale', async () => {
    const old = await blockAged(30)
    const { source, forged } = forger(offBranch)
    const { rpc } = client([frozen('home', old), source], { maxHeadAge: 3_000 })
    try {
      await rpc.connect()
      await neverForged(rpc, forged)
      const home = rpc.status().sources.find((s) => s.name === 'home')!
      assert.equal(home.headNote, undefined)
      assert.notEqual(home.condition, 'lagging')
    } finally {
      await rpc.close()
    }
  })
})
