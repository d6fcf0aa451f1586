/**
 * Trust, hostile streams: one WebSocket source (its own failure domain) that answers every call
 * as its node does and abuses only what it pushes, or the socket itself (and, last, a source
 * that answers eth_getLogs with none). Each test is a hole an attacker review found; each failed
 * on the code before its fix for the hole's own reason.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { Socket } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { toHex } from 'viem'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { WebSocketServer, type WebSocket as Ws, WebSocket as WsClient } from 'ws'
import { createOutlast, http, webSocket } from '../../src/index.ts'
import { computeBlockHash, type RpcBlockHeader } from '../../src/verify/block.ts'
import { CHAIN_ID, sleep, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { deployAnswer, PING_INIT } from '../workload.ts'
import { hostile, labSources } from './hostile.ts'

type Header = Record<string, unknown> & { number: string; hash: string; parentHash: string }
type Call = { id: number; method: string; params?: unknown[] }

let lab: Lab
beforeAll(async () => {
  // Blocks are mined by the tests (`evm_mine`): nothing moves unless a test says so.
  lab = await startLab({ blockTime: 0, sources: threeDomains })
})
afterAll(() => lab.stop())

const hex = (n: number) => `0x${n.toString(16)}`

/**
 * A WebSocket JSON-RPC server in its own domain that answers every call as the lab's node does
 * (`eth_subscribe` with id `0xfeed`); `onSubscribe` gets the socket to push on. `calls` counts the
 * calls it was sent, by method.
 */
async function pusherServer(onSubscribe: (ws: Ws) => void) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await once(server, 'listening')
  const calls: Record<string, number> = {}
  server.on('connection', (ws) => {
    ws.on('message', async (data) => {
      const call = JSON.parse(String(data)) as Call
      calls[call.method] = (calls[call.method] ?? 0) + 1
      let reply: object
      if (call.method === 'eth_subscribe') {
        reply = { result: '0xfeed' }
        setImmediate(() => onSubscribe(ws))
      } else if (call.method === 'eth_unsubscribe') reply = { result: true }
      else
        reply = await lab.anvil.rpc(call.method, call.params ?? []).then(
          (result) => ({ result: result ?? null }),
          (error: Error) => ({ error: { code: -32000, message: error.message } }),
        )
      if (ws.readyState === ws.OPEN)
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: call.id, ...reply }))
    })
  })
  const { port } = server.address() as { port: number }
  return {
    url: `ws://127.0.0.1:${port}`,
    calls,
    close: () => {
      for (const c of server.clients) c.terminate()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** One frame holding a notification of subscription `0xfeed` for each of `results`. */
const notifications = (results: readonly unknown[]) =>
  JSON.stringify(
    results.map((result) => ({
      jsonrpc: '2.0',
      method: 'eth_subscription',
      params: { subscription: '0xfeed', result },
    })),
  )

/** A correctly hashed header at `number` made from `real`, with `parentHash` and a salt. */
function madeUp(real: Header, number: number, parentHash: string, salt: number): Header {
  const { transactions: _t, size: _s, totalDifficulty: _d, ...rest } = real
  const h = {
    ...rest,
    number: hex(number),
    parentHash,
    extraData: `0x${salt.toString(16).padStart(8, '0')}`,
  } as Header
  h.hash = computeBlockHash(h as unknown as RpcBlockHeader)
  return h
}

describe('a WebSocket source that answers with one frame far larger than maxResponseBytes', () => {
  // With ws's class as `webSocketImpl`, a frame is bounded as it arrives (its `maxPayload` is
  // `maxResponseBytes`): the socket closes once the declared length passes it. The platform's
  // WebSocket (Node's undici, browsers) reads a frame whole before anyone can look (undici stops
  // at 128 MiB); an oversized frame then drops the socket (wsCalls.test.ts), so that the source
  // cannot send another at once. Before, it was read whole and the socket stayed open.
  it('closes the socket once the frame passes maxResponseBytes, without reading the rest', async () => {
    const maxResponseBytes = 256 * 1024
    const DECLARED = 90 * 1024 * 1024 // below ws's own 100 MiB default maxPayload
    const SENT = 64 * 1024 * 1024
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await once(server, 'listening')
    let written = 0
    let gone = false
    let done!: () => void
    const finished = new Promise<void>((resolve) => {
      done = resolve
    })
    server.on('connection', (ws) => {
      const raw = (ws as unknown as { _socket: Socket })._socket
      const closed = new Promise<void>((resolve) =>
        raw.once('close', () => {
          gone = true
          resolve()
        }),
      )
      raw.on('error', () => {})
      ws.once('message', async () => {
        // A text frame (FIN, opcode 1) of DECLARED bytes, written as fast as the client reads.
        const header = Buffer.alloc(10)
        header[0] = 0x81
        header[1] = 127
        header.writeBigUInt64BE(BigInt(DECLARED), 2)
        raw.write(header)
        const chunk = Buffer.alloc(1024 * 1024, 0x20) // JSON whitespace
        while (written < SENT && !gone) {
          if (!raw.write(chunk))
            await Promise.race([new Promise((resolve) => raw.once('drain', resolve)), closed])
          if (!gone) written += chunk.length
        }
        done()
      })
    })
    const { port } = server.address() as { port: number }
    const source = webSocket(`ws://127.0.0.1:${port}`, {
      name: 'huge-frame',
      maxResponseBytes,
      webSocketImpl: WsClient as unknown as typeof WebSocket,
      heartbeat: false,
      timeout: 30_000,
    })
    try {
      source.request({ method: 'eth_blockNumber' }).catch(() => {})
      await Promise.race([finished, sleep(30_000)])
      // Kernel buffers on loopback hold a few MiB either way: 16 MiB is far below SENT.
      assert.ok(
        written < 16 * 1024 * 1024,
        `the client read ${written / 2 ** 20} MiB of one frame (maxResponseBytes ${maxResponseBytes / 1024} KiB) and ${gone ? 'then' : 'never'} closed the socket`,
      )
    } finally {
      source.close()
      for (const c of server.clients) c.terminate()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})

for (const above of [64, 3])
  describe(`a WebSocket pusher whose pushed head ${above} blocks up cannot be linked, pushed again and again`, () => {
    // A pushed head makes outlast walk its link at most once per source, head and polling
    // interval, one walk at a time, and never for a height the chain cannot have reached (64 up),
    // as the deep walk already was (head.ts `linkDeep`): what one source pushes costs O(1)
    // requests. Before, head.ts `confirm` → `adopt` → `link` fetched every missing height (up to
    // 63) from the pusher for each push, whenever another domain's head was older than
    // maxHeadAge (an idle chain, a lagging node): 6,400 requests for 100 pushes.
    it('does not ask the pusher for the same missing blocks once per push', async () => {
      let socket: Ws | undefined
      const server = await pusherServer((ws) => {
        socket = ws
      })
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        pollingInterval: 500,
        // A minute by default: here a second, so the test need not wait a minute of idle chain.
        maxHeadAge: 1_000,
        sources: [
          webSocket(server.url, { name: 'pusher', domain: 'pusher-host', heartbeat: false }),
          ...labSources(lab),
        ],
      })
      const sub = await rpc.subscribe(['newHeads'], () => {})
      try {
        await lab.anvil.rpc('evm_mine')
        await rpc.request({ method: 'eth_blockNumber' }) // a confirmed head
        await sleep(1_500) // every head is now older than maxHeadAge: the chain is idle
        await rpc.request({ method: 'eth_blockNumber' })
        assert.ok(socket, 'the pusher was subscribed to')
        const real = await lab.anvil.rpc<Header>('eth_getBlockByNumber', ['latest', false])
        // Blocks above the head, child of a block no one has: correctly hashed, unlinkable.
        const fake = madeUp(real, Number(real.number) + above, `0x${'ab'.repeat(32)}`, 1)
        const before = { ...server.calls }
        const PUSHES = 100
        socket.send(notifications(Array.from({ length: PUSHES }, () => fake)))
        await sleep(3_000)
        const asked = (m: string) => (server.calls[m] ?? 0) - (before[m] ?? 0)
        const blocks = asked('eth_getBlockByNumber') + asked('eth_getBlockByHash')
        assert.ok(
          blocks <= 50,
          `${PUSHES} pushes of one header made outlast ask the pusher for ${blocks} blocks in 3 s`,
        )
      } finally {
        await sub.unsubscribe()
        await rpc.close()
        await server.close()
      }
    })
  })

describe('a WebSocket pusher that pushes each new head with its hash in upper case', () => {
  // Correct: subscribers get every head in one spelling (lowercase hex, as every node and every
  // poll gives it), so that a head's `parentHash` equals its parent's `hash` as strings.
  // Before: head.ts `remember` kept the first spelling it saw of a header (the pusher is first),
  // `confirm` hands that copy to the stream, and subscriptions.ts `headerOf` passes it on.
  it('subscribers get lowercase hashes that link as strings', async () => {
    let timer: ReturnType<typeof setInterval> | undefined
    const seen = new Set<string>()
    const server = await pusherServer((ws) => {
      timer = setInterval(async () => {
        const latest = await lab.anvil.rpc<Header>('eth_getBlockByNumber', ['latest', false])
        if (seen.has(latest.hash) || ws.readyState !== ws.OPEN) return
        seen.add(latest.hash)
        // Same bytes, same hash: only the spelling of `hash` differs.
        ws.send(notifications([{ ...latest, hash: `0x${latest.hash.slice(2).toUpperCase()}` }]))
      }, 10)
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 2_000,
      sources: [
        webSocket(server.url, { name: 'pusher', domain: 'pusher-host', heartbeat: false }),
        ...labSources(lab),
      ],
    })
    const heads: Header[] = []
    const sub = await rpc.subscribe(['newHeads'], (h) => heads.push(h as Header))
    try {
      await sleep(500)
      for (let i = 0; i < 4; i++) {
        await lab.anvil.rpc('evm_mine')
        await sleep(400)
      }
      await sleep(1_000)
      assert.ok(heads.length >= 2, `heads delivered: ${heads.length}`)
      for (let i = 1; i < heads.length; i++)
        assert.equal(
          heads[i]!.parentHash,
          heads[i - 1]!.hash,
          `head ${Number(heads[i]!.number)}'s parentHash is head ${Number(heads[i - 1]!.number)}'s hash, as strings`,
        )
      for (const h of heads)
        assert.match(h.hash, /^0x[0-9a-f]{64}$/, `head ${Number(h.number)}'s hash`)
    } finally {
      clearInterval(timer)
      await sub.unsubscribe()
      await rpc.close()
      await server.close()
    }
  })
})

/** Bytes the process holds after a full collection. */
function heldBytes(): number {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.external
}

describe('a WebSocket pusher that pushes large, correctly hashed made-up headers', () => {
  // Correct: what the head tracker keeps of pushed (or polled) headers is bounded in bytes, as
  // DESIGN.md's "Bounded means bytes too" asks: a header field no real chain fills (an
  // `extraData` of hundreds of KiB) is refused, or the kept headers have a byte budget.
  // Before: head.ts `remember` kept up to 256 headers (2 × WINDOW) by count alone, each with all
  // its hash-covered fields (`checkedHeader`, extraData whole), and `confirm` reaches it for
  // every push: 256 pushes of ~16 MB (maxResponseBytes) would hold ~4 GB.
  it('does not keep megabytes of what one source pushed', async () => {
    let socket: Ws | undefined
    const server = await pusherServer((ws) => {
      socket = ws
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 500,
      sources: [
        webSocket(server.url, { name: 'pusher', domain: 'pusher-host', heartbeat: false }),
        ...labSources(lab),
      ],
    })
    const sub = await rpc.subscribe(['newHeads'], () => {})
    try {
      await lab.anvil.rpc('evm_mine')
      await rpc.request({ method: 'eth_blockNumber' }) // a confirmed head
      await sleep(300)
      assert.ok(socket, 'the pusher was subscribed to')
      const real = await lab.anvil.rpc<Header>('eth_getBlockByNumber', ['latest', false])
      const PUSHES = 150
      const filler = 'ab'.repeat(256 * 1024) // 256 KiB of extraData, 512 Ki characters
      const before = heldBytes()
      for (let i = 0; i < PUSHES; i++) {
        // Children of the real head (the next height: plausible), each its own hash.
        const { transactions: _t, size: _s, totalDifficulty: _d, ...rest } = real
        const h = {
          ...rest,
          number: hex(Number(real.number) + 1),
          parentHash: real.hash,
          extraData: `0x${i.toString(16).padStart(8, '0')}${filler}`,
        } as Header
        h.hash = computeBlockHash(h as unknown as RpcBlockHeader)
        socket.send(notifications([h]))
        if (i % 10 === 9) await sleep(20)
      }
      await sleep(1_500)
      const grown = heldBytes() - before
      assert.ok(
        grown < 24 * 2 ** 20,
        `after ${PUSHES} pushes of ~0.5 MB the client holds ${(grown / 2 ** 20).toFixed(0)} MiB more`,
      )
    } finally {
      await sub.unsubscribe()
      await rpc.close()
      await server.close()
    }
  })
})

describe('a source that answers eth_getLogs with none while another domain is out', () => {
  // Correct: a block whose logs could not be agreed is not passed over for good: the log stream
  // holds at it (as heldBack.ts holds heads) or asks again, so once the domain is back the
  // subscriber (and the filter) gets the log, once.
  // Before: subscriptions.ts `deliver` caught the failed eth_getLogs (`failed`), reports a
  // streamError and moves on: those blocks' logs never reach subscribers, even after recovery;
  // meanwhile eth_getFilterChanges answers `[]` labelled `agreed` (streams.ts `answer`).
  it('log subscribers still get every log once the domains agree again', async () => {
    const emitter = await deployAnswer(lab.anvil, PING_INIT)
    const [aws, gcp] = labSources(lab, ['aws', 'gcp'])
    const liar = hostile(
      http(lab.proxy('home').url, {
        name: 'liar',
        domain: 'liar-host',
        fetchFn: lab.proxy('home').fetch,
      }),
      async (method, _params, answer) => (method === 'eth_getLogs' ? [] : answer()),
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 300,
      sources: [liar, aws!, gcp!],
    })
    const logs: { data: string; removed: boolean }[] = []
    const errors: string[] = []
    rpc.on('streamError', (e) => errors.push(e.message))
    const sub = await rpc.subscribe(['logs', { address: emitter }], (l) => logs.push(l as never))
    const filter = (await rpc.request({
      method: 'eth_newFilter',
      params: [{ address: emitter }],
    })) as string
    try {
      await sleep(600)
      await lab.proxy('gcp').setMode({ kind: 'refused' })
      const data = toHex(7, { size: 32 })
      await lab.anvil.rpc('eth_sendTransaction', [
        { from: devAccounts[1].address, to: emitter, data },
      ])
      await sleep(3_000)
      const during = await rpc.requestWithMeta({ method: 'eth_getFilterChanges', params: [filter] })
      await lab.proxy('gcp').setMode({ kind: 'ok' })
      await lab.anvil.rpc('evm_mine')
      await sleep(3_000)
      const after = await rpc.requestWithMeta({ method: 'eth_getFilterChanges', params: [filter] })
      const got = [
        ...(during.result as { data: string }[]),
        ...(after.result as { data: string }[]),
      ]
      assert.deepEqual(
        logs.map((l) => l.data),
        [data],
        `the subscriber got the log once (stream errors: ${JSON.stringify(errors)})`,
      )
      assert.deepEqual(
        got.map((l) => l.data),
        [data],
        'the filter got the log once',
      )
      // While the log was owed, the filter's (empty) changes did not claim agreement.
      assert.equal(during.meta.consistency, 'degraded')
    } finally {
      await lab.proxy('gcp').setMode({ kind: 'ok' })
      await rpc.request({ method: 'eth_uninstallFilter', params: [filter] }).catch(() => {})
      await sub.unsubscribe()
      await rpc.close()
    }
  })
})
