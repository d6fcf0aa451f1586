#!/usr/bin/env node
/**
 * The `outlast` command. `outlast proxy` serves an outlast client as a local JSON-RPC endpoint
 * (see `startProxy`); `outlast relay` shares an Ethereum node with outlast peers over libp2p (see
 * `createRelay`). Secrets (keys in URLs, environment values) are never printed.
 */
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'
import { messageOf } from '../shared/errors.ts'

const USAGE = `Usage: outlast proxy --config <outlast.config.json> [--port 8545] [--host 127.0.0.1]
       outlast relay --rpc <node URL> [options]

outlast proxy: a JSON-RPC endpoint on your machine (HTTP and WebSocket, eth_subscribe) for
MetaMask's custom network, cast, Hardhat and bots, answering with outlast's consistency across
the sources in the config file. Each $\{NAME} in the file is read from the environment.
GET /status (JSON), GET /metrics (Prometheus), GET / (a live status page).

outlast relay:
Shares your Ethereum node with outlast dApps, wallets and bots over libp2p
(TCP, WebSockets and WebRTC-Direct, which browsers dial without a domain or certificate).

  --rpc <url>            your node's HTTP JSON-RPC URL (required)
  --ws <url>             your node's WebSocket URL: new heads are gossiped as the node
                         sends them (eth_subscribe newHeads), polled only while it is down
  --beacon <url>         your beacon node's REST URL: serve light-client data to
                         browsers and bots (/outlast/lc/1.0.0: bootstrap, updates,
                         finality, optimistic, in SSZ) and gossip its new updates,
                         each verified by the relays that pass it on
  --listen <multiaddr>   an address to listen on (repeatable)
                         default: /ip4/0.0.0.0/tcp/4001, /ip4/0.0.0.0/tcp/4002/ws,
                         /ip4/0.0.0.0/udp/4003/webrtc-direct
  --key <path>           where the relay's key is kept (created on first start), so its
                         peer id stays the same across restarts (default: ./outlast-relay.key);
                         the WebRTC-Direct certificate is kept beside it (<path>.webrtc.pem),
                         so that address's certhash stays too, until renewed at a start
                         within a day of its expiry (14 days): then publish the new address
  --peer <multiaddr>     another relay to gossip with (repeatable)
  --rate <n>             calls per second each peer may make (default 100)
  --status-port <port>   serve GET /status (JSON) on 127.0.0.1:<port>, and the node's
                         headers as raw blocks: GET /ipfs/<eth-block CID>?format=raw
  --ipfs                 serve IPFS blocks over bitswap (loads Helia): the node's headers
                         by eth-block CID, and pinned content
  --pin <file.car>       serve the blocks of a CAR file over bitswap (repeatable; implies
                         --ipfs): NFT metadata, token lists, your dApp's source list; every
                         block is checked against its CID at start, a bad one stops it
  --json                 print the ready line and a status line every 10 s as JSON
  --no-gossip            do not gossip heads and transactions
`

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  if (command === 'proxy') return proxy(rest)
  if (command !== 'relay') {
    process.stderr.write(
      command && command !== '--help' ? `Unknown command ${command}.\n\n${USAGE}` : USAGE,
    )
    process.exitCode = command && command !== '--help' ? 2 : 0
    return
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      rpc: { type: 'string' },
      listen: { type: 'string', multiple: true },
      key: { type: 'string', default: 'outlast-relay.key' },
      peer: { type: 'string', multiple: true },
      rate: { type: 'string' },
      'status-port': { type: 'string' },
      json: { type: 'boolean', default: false },
      'no-gossip': { type: 'boolean', default: false },
      ws: { type: 'string' },
      beacon: { type: 'string' },
      ipfs: { type: 'boolean', default: false },
      pin: { type: 'string', multiple: true },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  })
  if (values.help) return void process.stdout.write(USAGE)
  if (!values.rpc)
    throw new UsageError('--rpc is required: the URL of your node, e.g. http://127.0.0.1:8545')
  const rate = values.rate === undefined ? undefined : Number(values.rate)
  const statusPort = values['status-port'] === undefined ? undefined : Number(values['status-port'])
  if (
    statusPort !== undefined &&
    !(Number.isInteger(statusPort) && statusPort >= 0 && statusPort < 65_536)
  )
    throw new UsageError(`--status-port must be a port number, got ${values['status-port']}`)

  // Loaded here: `outlast --help` needs no libp2p.
  const { createRelay } = await import('../p2p/relay/index.ts')
  const relay = await createRelay({
    rpc: values.rpc,
    keyFile: values.key,
    ...(values.listen ? { listen: values.listen } : {}),
    ...(values.peer ? { peers: values.peer } : {}),
    ...(rate !== undefined ? { rate } : {}),
    gossip: !values['no-gossip'],
    ...(values.ws ? { ws: values.ws } : {}),
    ...(values.beacon ? { beacon: values.beacon } : {}),
    ...(values.ipfs || values.pin ? { ipfs: true, pin: values.pin ?? [] } : {}),
  })
  const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`)
  let statusServer: ReturnType<typeof createServer> | undefined
  if (statusPort !== undefined) {
    statusServer = createServer((req, res) => {
      if (relay.serveHeaderBlocks(req, res)) return
      const ok = req.method === 'GET' && req.url === '/status'
      res.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' })
      res.end(ok ? JSON.stringify(relay.status()) : '{"error":"GET /status"}')
    })
    await new Promise<void>((resolve) => statusServer!.listen(statusPort, '127.0.0.1', resolve))
  }
  const port = (statusServer?.address() as { port?: number } | null)?.port
  if (values.json) print({ event: 'ready', ...relay.status(), statusPort: port })
  else {
    process.stdout.write(`outlast relay ${relay.peerId} on chain ${relay.chainId}\n`)
    for (const a of relay.addresses) process.stdout.write(`  ${a}\n`)
    const cert = relay.status().certificate
    if (cert?.made === 'renewed')
      process.stdout.write(
        `  the WebRTC-Direct certificate was renewed (until ${cert.expires}): its certhash changed, publish the new address\n`,
      )
    const ipfs = relay.status().ipfs
    if (ipfs)
      process.stdout.write(
        `  bitswap: the node's headers, and ${ipfs.blocks} pinned blocks${ipfs.roots.length ? ` (roots ${ipfs.roots.join(', ')})` : ''}\n`,
      )
    const light = relay.status().light
    if (light)
      process.stdout.write(
        `  light-client data from ${light.beacon} (gossip topics /outlast/lc/1/${light.chain}/…)\n`,
      )
    if (port !== undefined) process.stdout.write(`  status: http://127.0.0.1:${port}/status\n`)
  }
  const ticker = values.json
    ? setInterval(() => print({ event: 'status', ...relay.status() }), 10_000)
    : undefined
  const stop = async () => {
    clearInterval(ticker)
    statusServer?.close()
    await relay.stop()
    process.exit(0)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

async function proxy(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', default: 'outlast.config.json' },
      port: { type: 'string' },
      host: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  })
  if (values.help) return void process.stdout.write(USAGE)
  const port = values.port === undefined ? undefined : Number(values.port)
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65_536))
    throw new UsageError(`--port must be a port number, got ${values.port}`)
  if (values.host !== undefined && values.host.trim() === '')
    throw new UsageError(
      '--host is empty: name a host or address (an empty one would listen on every interface)',
    )
  let text: string
  try {
    text = await readFile(values.config, 'utf8')
  } catch {
    throw new UsageError(`cannot read the config file ${values.config}`)
  }
  const { startProxy } = await import('../proxy/index.ts')
  const p = await startProxy({ config: text, server: { port, host: values.host } })
  process.stdout.write(
    `outlast proxy on chain ${p.rpc.chainId}: ${p.url} (WebSocket ${p.url.replace('http', 'ws')})\n`,
  )
  process.stdout.write(`  status: ${p.url}/  ·  ${p.url}/status  ·  ${p.url}/metrics\n`)
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    process.stdout.write('outlast proxy: finishing requests in flight…\n')
    await p.close()
    process.exit(0)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((error) => {
  const message = messageOf(error)
  process.stderr.write(`outlast: ${message}\n${error instanceof UsageError ? `\n${USAGE}` : ''}`)
  process.exitCode = 1
})
