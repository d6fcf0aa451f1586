/**
 * Hostile source: huge answers. The fastest source answers with structures nested deep (up to
 * 200,000 levels) or wide (up to 300,000 keys, ~11 MB), as a result or as a JSON-RPC error's
 * `data`, for several methods. Whatever it sends: the process does not crash (no unhandled
 * rejection), the caller gets what the chain says from the other domains, the source's failure
 * names the reason, and the event loop is never blocked longer than `maxStall` allows per answer
 * (a bound relative to a plain parse of the same body, measured in the same run).
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { SHAPE_LIMITS } from '../../src/core/bounds.ts'
import { asReturned, clientFor } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'

const HOSTILE = 'aws'
/**
 * Longest the event loop may stall while one hostile answer is handled, given `parse`, the time a
 * plain `JSON.parse` of the same body takes here, measured in the same run (around the attack).
 * Most of a stall is the source's own parse of the body (~11 MB at most here: 300-500 ms on a
 * quiet 2-core machine, up to ~900 ms when its cores are shared; with its decoding, stalls of
 * up to ~2 parses were seen); outlast's own work on an answer (bounds, then its agreement key)
 * runs in turns of the event loop after it. Unbounded (no key limit), the 300,000-key error data
 * stalled it ~5 parses' worth (1.3 s for a 270 ms parse), 1.5-2.5 s on a slower machine.
 * Relative to the parse, measured in the same run, so that a machine slowed down slows the bound
 * with it; never under 1 s (a stall of a small answer is noise: a garbage collection, a busy
 * core).
 */
const maxStall = (parse: number) => Math.max(1_000, 2 * parse + 500)
const { maxDepth, maxKeys, maxNodes } = SHAPE_LIMITS

type Shape = 'result' | 'error data'

type Payload = {
  name: string
  /** JSON text of the hostile structure (built once, as text: no recursion on our side). */
  text: string
  /** Out of bounds: every method must reject it, naming this reason. */
  reason?: RegExp
  bytes?: Uint8Array<ArrayBuffer>
}

const deepObjects = (n: number): Payload => ({
  name: `result-like object nested ${n} deep`,
  text: `${'{"a":'.repeat(n)}"0xAB"${'}'.repeat(n)}`,
  ...(n > maxDepth && { reason: new RegExp(`nested deeper than ${maxDepth} levels`) }),
})
const deepArrays = (n: number): Payload => ({
  name: `array nested ${n} deep`,
  text: `${'['.repeat(n)}1${']'.repeat(n)}`,
  ...(n > maxDepth && { reason: new RegExp(`nested deeper than ${maxDepth} levels`) }),
})
/** One object of `n` keys of ~36 bytes each (300k keys: ~11 MB). */
const wide = (n: number): Payload => {
  const parts: string[] = []
  for (let i = 0; i < n; i++)
    parts.push(`"key-${String((i * 7_919) % n).padStart(15, '0')}":"0x${i.toString(16)}"`)
  return {
    name: `object of ${n} keys`,
    text: `{${parts.join(',')}}`,
    ...(n > maxKeys && { reason: new RegExp(`${n} keys \\(at most ${maxKeys}\\)`) }),
  }
}
/** Within every bound but near all of them: 49 objects of `maxKeys` shuffled keys. */
const manyWide = (): Payload => {
  const keys: string[] = []
  for (let i = 0; i < maxKeys; i++)
    keys.push(`"k${String((i * 7_919) % maxKeys).padStart(5, '0')}":1`)
  const one = `{${keys.join(',')}}`
  return { name: `49 objects of ${maxKeys} keys`, text: `[${Array(49).fill(one).join(',')}]` }
}
const longArray = (n: number): Payload => ({
  name: `array of ${n} values`,
  text: `[${Array(n).fill('0').join(',')}]`,
  ...(n + 1 > maxNodes && { reason: new RegExp(`more than ${maxNodes} values`) }),
})

const DEPTHS = [10, 1_000, maxDepth, maxDepth + 1, 50_000, 200_000]
/** Every method meets these: any depth, as a result and as error data, and wide objects. */
const everywhere: [Shape, Payload][] = [
  ...[...DEPTHS.map(deepObjects), wide(1_000), wide(10_000)].map((p): [Shape, Payload] => [
    'result',
    p,
  ]),
  ...[...DEPTHS.map(deepArrays), wide(10_000)].map((p): [Shape, Payload] => ['error data', p]),
]
/** The heavy ones (~8-11 MB each), once as a result and once as error data, for one method. */
const heavy = [wide(300_000), manyWide(), longArray(maxNodes - 2), longArray(maxNodes)]
const heavyCases: [Shape, Payload][] = [
  ...heavy.map((p): [Shape, Payload] => ['result', p]),
  ...heavy.map((p): [Shape, Payload] => ['error data', p]),
]

const [alice, bob] = devAccounts
let lab: Lab
const calls: { method: string; params: unknown[]; known: boolean }[] = [
  { method: 'eth_getBalance', params: [alice!.address, 'latest'], known: true },
  { method: 'eth_call', params: [{ to: bob!.address, data: '0x' }, 'latest'], known: true },
  { method: 'eth_getBlockByNumber', params: ['0x1', false], known: true },
  // Not in outlast's table (anvil knows it).
  { method: 'eth_getAccount', params: [alice!.address, 'latest'], known: false },
]

const rejections: unknown[] = []
const onRejection = (reason: unknown) => rejections.push(reason)
/** The longest stall seen over the whole file, and where, for the report. */
let worstStall = 0
let worstCase = ''

beforeAll(async () => {
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onRejection)
  lab = await startLab({
    blockTime: 0,
    sources: [
      { name: HOSTILE, domain: 'aws-us-east-1', latency: 0 },
      { name: 'gcp', domain: 'gcp-europe-west1', latency: 15 },
      { name: 'home', domain: 'home', kind: 'self-hosted', latency: 30 },
    ],
  })
  await lab.anvil.rpc('evm_mine')
})
afterAll(async () => {
  await lab.stop()
  process.off('unhandledRejection', onRejection)
  process.off('uncaughtException', onRejection)
  console.log(`# longest event-loop stall: ${worstStall.toFixed(0)} ms (${worstCase})`)
})

/** Milliseconds a plain `JSON.parse` of `text` takes (or takes to give up), here and now. */
function parseTime(text: string): number {
  const started = performance.now()
  try {
    JSON.parse(text)
  } catch {
    // nested too deep for the stack: the source's parse gives up the same way
  }
  return performance.now() - started
}

/** The longest gap between ticks of a 5 ms interval, beyond the interval itself. */
function stallMeter() {
  let last = performance.now()
  let max = 0
  const timer = setInterval(() => {
    const now = performance.now()
    max = Math.max(max, now - last - 5)
    last = now
  }, 5)
  return {
    stop() {
      clearInterval(timer)
      max = Math.max(max, performance.now() - last - 5)
      return max
    },
  }
}

/**
 * One request through a fresh client (so no breaker or cache hides the attack) whose fastest
 * source answers `call.method` with `payload` as a result or as a revert's `data`.
 */
async function attack(call: (typeof calls)[number], shape: Shape, payload: Payload) {
  let served = 0
  // No hedge before the hostile answer is judged: on a busy machine its parse can take longer
  // than the 400 ms first hedge, and the other domains' agreement would then cancel it unjudged.
  const client = clientFor(lab, { hedge: { initial: 5_000, max: 5_000 } }, (s) => {
    if (s.name !== HOSTILE) return s.proxy.fetch
    return async (input, init) => {
      const body = JSON.parse(String(init?.body)) as {
        id: number
        method: string
        params: unknown[]
      }
      // Head polls (`latest`) stay honest, so the source is still asked for the target call.
      if (body.method !== call.method || body.params[0] === 'latest')
        return s.proxy.fetch(input, init)
      served++
      const head =
        shape === 'result'
          ? `{"jsonrpc":"2.0","id":${body.id},"result":`
          : `{"jsonrpc":"2.0","id":${body.id},"error":{"code":3,"message":"execution reverted","data":`
      const blob = new Blob([head, payload.bytes ?? '', shape === 'result' ? '}' : '}}'])
      return new Response(blob, { headers: { 'content-type': 'application/json' } })
    }
  })
  try {
    const truth = asReturned(await lab.anvil.rpc(call.method, call.params))
    // Bytes encoded once per payload, before measuring: the stall measured is the client's.
    payload.bytes ??= new TextEncoder().encode(payload.text) as Uint8Array<ArrayBuffer>
    // The same body as the hostile source sends, parsed plainly, for the baseline.
    const body = `{"jsonrpc":"2.0","id":1,${shape === 'result' ? '"result":' : '"error":{"code":3,"message":"execution reverted","data":'}${payload.text}${shape === 'result' ? '}' : '}}'}`
    const parseBefore = parseTime(body)
    const meter = stallMeter()
    let answer: unknown
    let failure: unknown
    try {
      answer = await client.request({ method: call.method, params: call.params })
    } catch (error) {
      failure = error
    }
    const stall = meter.stop()
    const parse = Math.max(parseBefore, parseTime(body))
    if (stall > worstStall) {
      worstStall = stall
      worstCase = `${call.method}, ${shape}: ${payload.name}; its plain parse ${parse.toFixed(0)} ms`
    }
    const hostile = client.status().sources.find((x) => x.name === HOSTILE)
    return { truth, answer, failure, stall, parse, served, lastError: hostile?.lastError }
  } finally {
    await client.close()
  }
}

for (const call of calls)
  describe(`${call.method}: a hostile source's huge answers`, () => {
    const cases = call === calls[0] ? [...everywhere, ...heavyCases] : everywhere
    for (const [shape, payload] of cases)
      it(`${shape}: ${payload.name}`, async () => {
        rejections.length = 0
        const r = await attack(call, shape, payload)
        assert.ok(r.served >= 1, 'the hostile source was asked')
        assert.deepEqual(rejections, [], 'no unhandled rejection or exception')
        assert.ok(
          r.stall < maxStall(r.parse),
          `event loop stalled ${r.stall.toFixed(0)} ms (a plain parse of the body: ${r.parse.toFixed(0)} ms)`,
        )
        // Out of bounds: the source's malformed answer, whatever the method.
        if (payload.reason) assert.match(r.lastError ?? '', payload.reason)
        // The caller gets what the chain says, from the other domains: always when the answer
        // is out of bounds or fails the method's shape check (a result for a known method).
        // (An unknown method in bounds, or a revert in bounds, is an answer the policy weighs.)
        const rejected = payload.reason || (shape === 'result' && call.known)
        if (rejected) {
          assert.equal(r.failure, undefined, String(r.failure))
          assert.deepEqual(r.answer, r.truth)
          // Its failure is on record: the reason, or "slow" if the others settled first.
          assert.ok(r.lastError, 'a failure is recorded')
        } else if (call.known) {
          // A revert from one domain against a value from two: the value is agreed.
          assert.equal(r.failure, undefined, String(r.failure))
          assert.deepEqual(r.answer, r.truth)
        }
      })
  })
