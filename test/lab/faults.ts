/**
 * The catalogue of faults a lab proxy can inject, and the pure functions that build their
 * answers. The proxy (`proxy.ts`) decides when; this file decides what the client sees.
 */
import { randomBytes } from 'node:crypto'

export type GarbageVariant = 'truncated' | 'html200' | 'binary' | 'wrongId' | 'empty' | 'notJson'

/** Methods whose results a lying proxy knows how to alter. */
export type LieMethod =
  | 'eth_getBalance'
  | 'eth_call'
  | 'eth_getTransactionCount'
  /** A block whose `stateRoot` was changed but whose claimed `hash` was kept. */
  | 'eth_getBlockByHash'
  | 'eth_getBlockByNumber'
  /** A transaction whose `value` was raised by 1 ether, its `hash` kept. */
  | 'eth_getTransactionByHash'
  /** Claims "not found" (`null`) for a transaction that exists. */
  | 'hideTransaction'
  /** An account proof whose claimed `balance` was raised by 1 ether, the proof nodes kept. */
  | 'eth_getProof'
  /** Block receipts with the last log of the first receipt that has logs dropped. */
  | 'eth_getBlockReceipts'
  /** A receipt with its `status` flipped. */
  | 'eth_getTransactionReceipt'
  /** `eth_getLogs` with one log (the middle one) dropped. */
  | 'eth_getLogs'
  /** `eth_getLogs` with a made-up log appended: a copy of the last one, another `logIndex` and `data`. */
  | 'addLog'
  /**
   * Full blocks (`eth_getBlockBy*(…, true)`) with their first two transactions swapped and their
   * `transactionIndex` rewritten: each still hashes right and names its place; only the
   * block's `transactionsRoot` tells. A block with one transaction loses it.
   */
  | 'swapTransactions'
  /** `eth_getTransactionByHash` with `transactionIndex` raised by 1 (the signed envelope and hash kept). */
  | 'misplaceTransaction'
  /** `eth_getTransactionByHash` with `blockNumber` lowered by 1 (the signed envelope and hash kept). */
  | 'renumberTransaction'

export type FaultMode =
  /** Forward after the proxy's latency. */
  | { kind: 'ok' }
  /** Accept the connection and the request; never answer. */
  | { kind: 'blackhole' }
  /** Close the listener: connects fail with ECONNREFUSED. */
  | { kind: 'refused' }
  /** `proxy.fetch` resolves `<name>.invalid`, which fails with ENOTFOUND. The server stays up. */
  | { kind: 'dns' }
  | {
      kind: 'http5xx'
      /** @default 503 */
      status?: number
      /** Alternate between failing and forwarding every `flapMs` (failing first). @default never */
      flapMs?: number
    }
  | {
      kind: 'rateLimit'
      /** Seconds sent in `Retry-After`. @default no header */
      retryAfter?: number
    }
  /** HTTP 402 "quota exhausted". */
  | { kind: 'quota' }
  | {
      kind: 'rpcError'
      /** @default -32603 */
      code?: number
      /** @default 'internal error' */
      message?: string
    }
  | { kind: 'garbage'; variant: GarbageVariant }
  | {
      kind: 'slow'
      /** Multiplies the latency (a latency of 0 counts as 100 ms here). @default 10 */
      factor?: number
    }
  /**
   * Headers at once (after the latency), then the body `bytes` bytes at a time, one slice every
   * `interval` ms: a source whose answers creep in. The body is the real answer, with its
   * `content-length`; a client that hangs up ends the trickle.
   */
  | {
      kind: 'trickle'
      /** Bytes per slice. @default 4 */
      bytes?: number
      /** Milliseconds between slices. @default 250 */
      interval?: number
    }
  | {
      kind: 'methods'
      /** Methods that fail; every other method is forwarded. */
      failing: string[]
      /** How they fail. A batch holding one of them fails whole with `http5xx`. @default 'rpcError' */
      with?: 'rpcError' | 'http5xx'
    }
  | {
      kind: 'lie'
      /** Methods whose results are altered. @default all three LieMethods */
      methods?: LieMethod[]
    }
  /**
   * A provider's `eth_getLogs` limits, refused in that provider's words (`logLimitError`): a
   * range wider than `maxRange` blocks, or an answer of more than `maxResults` logs. Every
   * other call is forwarded.
   */
  | {
      kind: 'logLimit'
      maxRange?: number
      maxResults?: number
      /** Whose wording. @default 'alchemy' */
      style?: LogLimitStyle
    }

export type FaultKind = FaultMode['kind']

/** What the proxy writes back: a status, a content type and a body. */
export type Reply = {
  status: number
  type: string
  body: Buffer | string
  headers?: Record<string, string>
}

export type RpcCall = { jsonrpc?: string; id?: unknown; method?: unknown; params?: unknown }
export type RpcReply = { jsonrpc: '2.0'; id: unknown; result?: unknown; error?: unknown }

const reasons: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
}

/** The HTML error page a cloud load balancer serves (nginx / ELB style). */
export function errorPage(status: number): Reply {
  const title = `${status} ${reasons[status] ?? 'Error'}`
  const body = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`
  return { status, type: 'text/html', body }
}

/** Parses a JSON-RPC body; `undefined` when it is not JSON. */
export function parseCalls(body: Buffer): RpcCall | RpcCall[] | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown
    return typeof parsed === 'object' && parsed !== null
      ? (parsed as RpcCall | RpcCall[])
      : undefined
  } catch {
    return undefined
  }
}

/** A JSON-RPC error object answering `call`. */
export function errorReply(call: RpcCall | undefined, code: number, message: string): RpcReply {
  return { jsonrpc: '2.0', id: call?.id ?? null, error: { code, message } }
}

/** An HTTP 200 JSON answer. */
export function json(value: unknown): Reply {
  return { status: 200, type: 'application/json', body: JSON.stringify(value) }
}

/** One JSON-RPC error object per call (a single object for a single call). */
export function rpcErrors(
  calls: RpcCall | RpcCall[] | undefined,
  code: number,
  message: (method: string) => string,
): Reply {
  const one = (call: RpcCall | undefined) => errorReply(call, code, message(String(call?.method)))
  return json(Array.isArray(calls) ? calls.map(one) : one(calls))
}

/** HTTP 429, with a JSON-RPC-ish body as Infura and Alchemy send. */
export function rateLimited(calls: RpcCall | RpcCall[] | undefined, retryAfter?: number): Reply {
  const id = Array.isArray(calls) ? null : (calls?.id ?? null)
  const body = { jsonrpc: '2.0', id, error: { code: -32005, message: 'rate limit exceeded' } }
  const headers: Record<string, string> =
    retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }
  return { status: 429, type: 'application/json', body: JSON.stringify(body), headers }
}

export function quotaExhausted(): Reply {
  return { status: 402, type: 'text/plain', body: 'quota exhausted: upgrade your plan\n' }
}

/** Providers whose `eth_getLogs` refusals the lab speaks. */
export type LogLimitStyle = 'alchemy' | 'quicknode' | 'publicnode' | 'plain'

/**
 * A refusal of `eth_getLogs` over `from`..`to`, as the provider words it (their messages as
 * users report them): a range over `maxRange`, or (`results`) more than that many logs.
 */
export function logLimitError(
  call: RpcCall,
  style: LogLimitStyle,
  from: number,
  limit: { maxRange: number } | { results: number },
): RpcReply {
  if ('results' in limit)
    return errorReply(
      call,
      -32005,
      `query returned more than ${limit.results} results. Try with this block range [${hex(from)}, ${hex(from + Math.max(1, Math.floor(limit.results / 100)) - 1)}].`,
    )
  const n = limit.maxRange
  switch (style) {
    case 'alchemy':
      return errorReply(
        call,
        -32600,
        `Under the Free tier plan, you can make eth_getLogs requests with up to a ${n} block range. Based on your parameters, this block range should work: [${hex(from)}, ${hex(from + n - 1)}]. Upgrade to PAYG for expanded block range.`,
      )
    case 'quicknode':
      return errorReply(
        call,
        -32614,
        `eth_getLogs is limited to a ${n.toLocaleString('en-US')} range`,
      )
    case 'publicnode':
      return errorReply(call, -32701, `exceed maximum block range: ${n}`)
    case 'plain':
      return errorReply(call, -32000, 'block range is too large')
  }
}

/** A broken HTTP 200. `upstream` is the real answer, used by the variants that mangle it. */
export function garbage(variant: GarbageVariant, upstream: Reply): Reply {
  switch (variant) {
    case 'truncated': {
      const full = Buffer.from(upstream.body)
      return { status: 200, type: 'application/json', body: full.subarray(0, full.length >> 1) }
    }
    case 'html200':
      return {
        status: 200,
        type: 'text/html',
        body: '<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>',
      }
    case 'binary':
      return { status: 200, type: 'application/json', body: randomBytes(64) }
    case 'wrongId':
      return {
        ...upstream,
        body: rewrite(upstream.body, (reply) => ({ ...reply, id: wrongId(reply.id) })),
      }
    case 'empty':
      return { status: 200, type: 'application/json', body: '' }
    case 'notJson':
      return {
        status: 200,
        type: 'text/plain',
        body: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
      }
  }
}

function wrongId(id: unknown): unknown {
  return typeof id === 'number' ? id + 1000 : `${String(id)}-wrong`
}

/** Maps every reply in a JSON-RPC answer (single or batch); leaves non-JSON bodies alone. */
export function rewrite(body: Buffer | string, fn: (reply: RpcReply) => RpcReply): string | Buffer {
  let parsed: RpcReply | RpcReply[]
  try {
    parsed = JSON.parse(body.toString()) as RpcReply | RpcReply[]
  } catch {
    return body
  }
  return JSON.stringify(Array.isArray(parsed) ? parsed.map(fn) : fn(parsed))
}

export const lieMethods: LieMethod[] = ['eth_getBalance', 'eth_call', 'eth_getTransactionCount']

/** The result a proxy telling `lies` sends for `method` instead of `result`. */
export function lieWith(lies: ReadonlySet<string>, method: string, result: unknown): unknown {
  if (method === 'eth_getTransactionByHash' && lies.has('hideTransaction')) return null
  let out = lies.has(method) ? lie(method, result) : result
  for (const [name, methods, twist] of twists)
    if (lies.has(name) && methods.includes(method) && out !== null && typeof out === 'object')
      out = twist(out)
  return out
}

type Obj = Record<string, unknown>
const hex = (n: number | bigint) => `0x${n.toString(16)}`

/** Lies named for what they do rather than for the method they alter. */
const twists: [LieMethod, string[], (result: object) => unknown][] = [
  [
    'addLog',
    ['eth_getLogs'],
    (result) => {
      const logs = result as Obj[]
      const last = logs.at(-1)
      if (!last) return result
      const logIndex = hex(BigInt(String(last.logIndex)) + 1n)
      return [...logs, { ...last, logIndex, data: `0x${'42'.repeat(32)}` }]
    },
  ],
  [
    'swapTransactions',
    ['eth_getBlockByHash', 'eth_getBlockByNumber'],
    (result) => {
      const txs = (result as { transactions?: unknown[] }).transactions
      if (!txs?.length || typeof txs[0] !== 'object') return result
      const [a, b, ...rest] = txs as Obj[]
      const swapped = b
        ? [
            { ...b, transactionIndex: '0x0' },
            { ...a, transactionIndex: '0x1' },
          ]
        : []
      return { ...result, transactions: [...swapped, ...rest] }
    },
  ],
  [
    'misplaceTransaction',
    ['eth_getTransactionByHash'],
    (result) => {
      const index = (result as Obj).transactionIndex
      if (typeof index !== 'string') return result
      return { ...result, transactionIndex: hex(BigInt(index) + 1n) }
    },
  ],
  [
    'renumberTransaction',
    ['eth_getTransactionByHash'],
    (result) => {
      const number = (result as Obj).blockNumber
      if (typeof number !== 'string' || BigInt(number) === 0n) return result
      return { ...result, blockNumber: hex(BigInt(number) - 1n) }
    },
  ],
]

const ether = 10n ** 18n

/** The altered (still well-formed) result of a method, or the result itself. */
export function lie(method: string, result: unknown): unknown {
  if (result && typeof result === 'object') return lieAboutObject(method, result)
  if (typeof result !== 'string' || !result.startsWith('0x')) return result
  switch (method) {
    case 'eth_getBalance':
      return `0x${(BigInt(result) + ether).toString(16)}`
    case 'eth_getTransactionCount':
      return `0x${(BigInt(result) + 5n).toString(16)}`
    case 'eth_call': {
      if (result.length < 4) return '0x01'
      const last = Number.parseInt(result.slice(-2), 16) ^ 0xff
      return result.slice(0, -2) + last.toString(16).padStart(2, '0')
    }
    default:
      return result
  }
}

function lieAboutObject(method: string, result: object): unknown {
  switch (method) {
    case 'eth_getProof': {
      const balance = BigInt((result as { balance?: string }).balance ?? '0x0') + ether
      return { ...result, balance: `0x${balance.toString(16)}` }
    }
    case 'eth_getBlockReceipts': {
      const receipts = result as { logs: unknown[] }[]
      const i = receipts.findIndex((r) => r.logs.length > 0)
      if (i < 0) return result
      return receipts.map((r, j) => (j === i ? { ...r, logs: r.logs.slice(0, -1) } : r))
    }
    case 'eth_getLogs': {
      const logs = result as unknown[]
      return logs.filter((_, i) => i !== logs.length >> 1)
    }
    case 'eth_getTransactionReceipt': {
      const status = (result as { status?: string }).status === '0x1' ? '0x0' : '0x1'
      return { ...result, status }
    }
    case 'eth_getBlockByHash':
    case 'eth_getBlockByNumber':
      return { ...result, stateRoot: `0x${'ab'.repeat(32)}` }
    case 'eth_getTransactionByHash': {
      const value = BigInt((result as { value?: string }).value ?? '0x0') + ether
      return { ...result, value: `0x${value.toString(16)}` }
    }
    default:
      return result
  }
}
