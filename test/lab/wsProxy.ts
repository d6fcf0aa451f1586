/**
 * An in-process WebSocket proxy on 127.0.0.1 in front of a node's WebSocket endpoint (anvil
 * serves it on its HTTP port, path `/`). Faults are switched while a test runs: a socket
 * dropped without a close frame, a half-open path, a refused listener, a clean close. The
 * HTTP fault proxy (`proxy.ts`) is its model. Every client connection gets its own upstream
 * connection, so a node-side subscription lives exactly as long as the client's socket.
 */
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import WebSocket, { type RawData, WebSocketServer } from 'ws'

export type WsFaultMode =
  /** Forward frames both ways after the proxy's latency. */
  | { kind: 'ok' }
  /**
   * Destroy every TCP socket without a close frame: clients see code 1006. New connections
   * are dropped the same way right after their upgrade.
   */
  | { kind: 'drop' }
  /**
   * A half-open path: sockets stay open, nothing is read or forwarded either way, ping and
   * close frames included; new upgrades get no answer. Back to `ok`, what was held flows
   * again, as TCP would deliver it after a retransmission.
   */
  | { kind: 'blackhole' }
  /** Close the listener (connects fail with ECONNREFUSED), destroying open sockets. */
  | { kind: 'refused' }
  | {
      /** Send a close frame on every connection; new ones are closed right after the upgrade. */
      kind: 'close'
      /** @default 1001 (going away) */
      code?: number
      /** @default '' */
      reason?: string
    }

export type WsFaultKind = WsFaultMode['kind']

export type WsProxyOptions = {
  /** Names the proxy in tests and benchmarks. @default 'ws-proxy-<n>' */
  name?: string
  /** Milliseconds added to every frame, each way, and to the upgrade. @default 0 */
  latency?: number
}

export type WsProxyStats = {
  /** Client upgrades completed, whatever the mode. */
  connections: number
  /** Client connections open now. */
  open: number
  /** Data frames forwarded from clients to the node. */
  framesUp: number
  /** Data frames forwarded from the node to clients. */
  framesDown: number
  /** JSON-RPC calls forwarded to the node, by method. */
  byMethod: Record<string, number>
  /** `eth_subscription` notifications forwarded to clients. */
  notifications: number
}

export type WsProxy = {
  /** `ws://127.0.0.1:PORT`; stays the same across `refused` and back. Any path is accepted. */
  readonly url: string
  readonly name: string
  readonly mode: WsFaultMode
  /** Switches the fault; resolves once it is in effect (sockets dropped, listener closed or reopened). */
  setMode(mode: WsFaultMode): Promise<void>
  setLatency(ms: number): void
  /** Connects new clients to another node's WebSocket URL from now on. */
  setUpstream(url: string): void
  /** Live counters, mutated in place. */
  readonly stats: WsProxyStats
  resetStats(): void
  stop(): Promise<void>
}

type Frame = { type: 'message' | 'ping' | 'pong'; data: RawData; binary: boolean; due: number }

/** One direction of one connection: frames wait here for their latency and for `ok`. */
type Lane = {
  to: WebSocket
  up: boolean
  queue: Frame[]
  lastDue: number
  timer: NodeJS.Timeout | undefined
}

type Link = { client: WebSocket; node: WebSocket; lanes: [Lane, Lane] }

type Upgrade = { req: IncomingMessage; socket: Duplex; head: Buffer }

let proxies = 0

export async function startWsProxy(target: string, options: WsProxyOptions = {}): Promise<WsProxy> {
  const name = options.name ?? `ws-proxy-${++proxies}`
  let latency = options.latency ?? 0
  let upstream = target
  let mode: WsFaultMode = { kind: 'ok' }
  let stopped = false
  let transition = Promise.resolve()
  const stats: WsProxyStats = {
    connections: 0,
    open: 0,
    framesUp: 0,
    framesDown: 0,
    byMethod: {},
    notifications: 0,
  }
  const sockets = new Set<Socket>()
  const links = new Set<Link>()
  /** Upgrades held in `blackhole`, answered when the path comes back. */
  const held = new Set<Upgrade>()
  /** Upstream connections being opened for a client that is not upgraded yet. */
  const dialing = new Map<Duplex, WebSocket>()
  const lifetime = new AbortController()

  const wss = new WebSocketServer({ noServer: true, autoPong: false, perMessageDeflate: false })
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket only\n')
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  server.on('clientError', (_error, socket) => socket.destroy())
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    accept({ req, socket, head })
  })

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
  const closeListener = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve()
      server.close(() => resolve())
    })

  await listen(0)
  const port = (server.address() as AddressInfo).port
  const url = `ws://127.0.0.1:${port}`

  function accept(upgrade: Upgrade) {
    const current = mode
    switch (current.kind) {
      case 'blackhole':
        held.add(upgrade)
        upgrade.socket.once('close', () => held.delete(upgrade))
        return
      case 'refused':
        upgrade.socket.destroy()
        return
      case 'drop':
        return complete(upgrade, (client) => client.terminate())
      case 'close':
        return complete(upgrade, (client) => closeClient(client, current))
      case 'ok':
        dial(upgrade).catch(() => upgrade.socket.destroy())
    }
  }

  function complete(upgrade: Upgrade, then: (client: WebSocket) => void) {
    wss.handleUpgrade(upgrade.req, upgrade.socket, upgrade.head, (client) => {
      stats.connections++
      stats.open++
      client.on('error', () => {})
      client.once('close', () => stats.open--)
      then(client)
    })
  }

  /** Opens the upstream connection first, so a dead node answers the upgrade with HTTP 502. */
  async function dial(upgrade: Upgrade) {
    if (latency > 0) await sleep(latency, undefined, { signal: lifetime.signal })
    if (upgrade.socket.destroyed || stopped) return
    const node = new WebSocket(upstream, { autoPong: false, perMessageDeflate: false })
    node.on('error', () => {})
    dialing.set(upgrade.socket, node)
    const opened = await new Promise<boolean>((resolve) => {
      node.once('open', () => resolve(true))
      node.once('close', () => resolve(false))
    })
    dialing.delete(upgrade.socket)
    if (!opened || upgrade.socket.destroyed || stopped) {
      node.terminate()
      if (!upgrade.socket.destroyed)
        upgrade.socket.end(
          'HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n',
        )
      return
    }
    complete(upgrade, (client) => pair(client, node))
  }

  function pair(client: WebSocket, node: WebSocket) {
    const lane = (to: WebSocket, up: boolean): Lane => ({
      to,
      up,
      queue: [],
      lastDue: 0,
      timer: undefined,
    })
    const link: Link = { client, node, lanes: [lane(node, true), lane(client, false)] }
    links.add(link)
    const [up, down] = link.lanes
    relay(client, up)
    relay(node, down)
    client.once('close', () => {
      if (unlink(link)) node.terminate()
    })
    node.once('close', (code: number, reason: Buffer) => {
      if (!unlink(link)) return
      if (code === 1005 || code === 1006 || code === 1015) client.terminate()
      else client.close(code, reason)
    })
    if (mode.kind !== 'ok') applyTo(link, mode)
  }

  function relay(from: WebSocket, lane: Lane) {
    from.on('message', (data, binary) => push(lane, 'message', data, binary))
    from.on('ping', (data) => push(lane, 'ping', data, true))
    from.on('pong', (data) => push(lane, 'pong', data, true))
  }

  function push(lane: Lane, type: Frame['type'], data: RawData, binary: boolean) {
    const due = Math.max(performance.now() + latency, lane.lastDue)
    lane.lastDue = due
    lane.queue.push({ type, data, binary, due })
    pump(lane)
  }

  function pump(lane: Lane) {
    if (lane.timer || mode.kind !== 'ok') return
    while (lane.queue.length > 0) {
      const frame = lane.queue[0]!
      const wait = frame.due - performance.now()
      if (wait > 0) {
        lane.timer = setTimeout(() => {
          lane.timer = undefined
          pump(lane)
        }, wait)
        return
      }
      lane.queue.shift()
      if (lane.to.readyState !== WebSocket.OPEN) continue
      if (frame.type === 'ping') lane.to.ping(frame.data as Buffer)
      else if (frame.type === 'pong') lane.to.pong(frame.data as Buffer)
      else {
        count(lane.up, frame.data)
        lane.to.send(frame.data, { binary: frame.binary })
      }
    }
  }

  function count(up: boolean, data: RawData) {
    if (up) stats.framesUp++
    else stats.framesDown++
    let parsed: unknown
    try {
      parsed = JSON.parse(String(data))
    } catch {
      return
    }
    for (const item of Array.isArray(parsed) ? parsed : [parsed]) {
      const method = (item as { method?: unknown } | null)?.method
      if (typeof method !== 'string') continue
      if (up) stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1
      else if (method === 'eth_subscription') stats.notifications++
    }
  }

  /** Forgets a link; false when it was already gone (one side's close is handled once). */
  function unlink(link: Link): boolean {
    if (!links.delete(link)) return false
    stopLanes(link)
    return true
  }

  function stopLanes(link: Link) {
    for (const lane of link.lanes) {
      clearTimeout(lane.timer)
      lane.timer = undefined
      lane.queue.length = 0
    }
  }

  function closeClient(client: WebSocket, current: { code?: number; reason?: string }) {
    client.close(current.code ?? 1001, current.reason ?? '')
  }

  function applyTo(link: Link, current: WsFaultMode) {
    switch (current.kind) {
      case 'ok':
        link.client.resume()
        link.node.resume()
        for (const lane of link.lanes) pump(lane)
        return
      case 'blackhole':
        link.client.pause()
        link.node.pause()
        for (const lane of link.lanes) {
          clearTimeout(lane.timer)
          lane.timer = undefined
        }
        return
      case 'close':
        unlink(link)
        link.node.terminate()
        closeClient(link.client, current)
        return
      default:
        unlink(link)
        link.client.terminate()
        link.node.terminate()
    }
  }

  async function apply(current: WsFaultMode) {
    if (stopped) return
    for (const link of [...links]) applyTo(link, current)
    if (current.kind === 'drop' || current.kind === 'refused') {
      for (const [socket, node] of dialing) {
        socket.destroy()
        node.terminate()
      }
      for (const upgrade of held) upgrade.socket.destroy()
      held.clear()
    } else if (current.kind !== 'blackhole') {
      const waiting = [...held]
      held.clear()
      for (const upgrade of waiting) accept(upgrade)
    }
    if (current.kind === 'refused') {
      for (const socket of sockets) socket.destroy()
      await closeListener()
      // One turn of the event loop, so in-process clients see their sockets close first.
      await new Promise((resolve) => setImmediate(resolve))
    } else if (!server.listening) await listen(port)
  }

  return {
    url,
    name,
    get mode() {
      return mode
    },
    setMode(next) {
      mode = next
      transition = transition.catch(() => {}).then(() => apply(next))
      return transition
    },
    setLatency(ms) {
      latency = ms
    },
    setUpstream(next) {
      upstream = next
    },
    stats,
    resetStats() {
      stats.connections = 0
      stats.framesUp = 0
      stats.framesDown = 0
      stats.notifications = 0
      for (const method of Object.keys(stats.byMethod)) delete stats.byMethod[method]
    },
    async stop() {
      if (stopped) return
      stopped = true
      lifetime.abort()
      await transition.catch(() => {})
      for (const link of [...links]) {
        unlink(link)
        link.client.terminate()
        link.node.terminate()
      }
      for (const node of dialing.values()) node.terminate()
      for (const upgrade of held) upgrade.socket.destroy()
      for (const socket of sockets) socket.destroy()
      await closeListener()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
}
