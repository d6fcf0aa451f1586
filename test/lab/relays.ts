/**
 * `outlast relay` as a real process (the shipped command), on loopback, in front of a node URL
 * (a lab proxy, so the node behind it can fail or lie). Faults of the relay itself: killed
 * (SIGKILL), blackholed (SIGSTOP: connections stay open, nothing answers), resumed.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { RelayStatus } from '../../src/p2p/relay/index.ts'

const CLI = new URL('../../src/cli/outlast.ts', import.meta.url).pathname

export type RelayProcess = {
  peerId: string
  /** Every address, each ending in /p2p/<peer id>. */
  addresses: string[]
  tcp: string
  ws: string
  webrtc: string
  status(): Promise<RelayStatus>
  /** Its status port's base URL, where it also serves headers as raw blocks (`/ipfs/<cid>`). */
  http: string
  /** SIGKILL: gone mid-stream. */
  kill(): void
  /** SIGSTOP: a blackhole (connections open, nothing answers) until `resume`. */
  pause(): void
  resume(): void
  stop(): Promise<void>
}

export type RelayProcessOptions = {
  /** Its node's URL. */
  rpc: string
  /** Relays to gossip with. */
  peers?: string[]
  rate?: number
  gossip?: boolean
  /** Reuse a key file (a stable peer id across restarts). @default a fresh one in a temp dir */
  keyFile?: string
  /** CAR files to serve over bitswap (`--pin`, which turns IPFS on). @default none */
  pin?: string[]
  /** Serve the node's headers over bitswap (`--ipfs`) without pins. @default false */
  ipfs?: boolean
  /** Extra arguments for the command. */
  args?: string[]
  /** Arguments for node itself, before the command (`--import …`). @default none */
  nodeArgs?: string[]
}

export async function startRelayProcess(o: RelayProcessOptions): Promise<RelayProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'outlast-relay-'))
  const args = [
    ...(o.nodeArgs ?? []),
    CLI,
    'relay',
    '--rpc',
    o.rpc,
    '--listen',
    '/ip4/127.0.0.1/tcp/0',
    '--listen',
    '/ip4/127.0.0.1/tcp/0/ws',
    '--listen',
    '/ip4/127.0.0.1/udp/0/webrtc-direct',
    '--key',
    o.keyFile ?? join(dir, 'relay.key'),
    '--status-port',
    '0',
    '--json',
    ...(o.peers ?? []).flatMap((p) => ['--peer', p]),
    ...(o.rate ? ['--rate', String(o.rate)] : []),
    ...(o.gossip === false ? ['--no-gossip'] : []),
    ...(o.pin ?? []).flatMap((file) => ['--pin', file]),
    ...(o.ipfs ? ['--ipfs'] : []),
    ...(o.args ?? []),
  ]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d) => {
    stderr += d
  })
  const ready = await firstLine(child, () => stderr)
  const addresses: string[] = ready.addresses
  const pick = (part: string) => addresses.find((a) => a.includes(part)) ?? ''
  const statusUrl = `http://127.0.0.1:${ready.statusPort}/status`
  let gone = false
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    peerId: ready.peerId,
    addresses,
    tcp: pick('/tcp/') && addresses.find((a) => a.includes('/tcp/') && !a.includes('/ws'))!,
    ws: pick('/ws/'),
    webrtc: pick('/webrtc-direct/'),
    status: async () => (await fetch(statusUrl)).json() as Promise<RelayStatus>,
    http: `http://127.0.0.1:${ready.statusPort}`,
    kill() {
      gone = true
      child.kill('SIGKILL')
    },
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    async stop() {
      if (!gone) {
        child.kill('SIGCONT')
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
        await exited
        clearTimeout(timer)
      } else await exited
      gone = true
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** The command's `ready` line, or its error output if it exits first. */
function firstLine(
  child: ChildProcess,
  stderr: () => string,
): Promise<RelayStatus & { statusPort: number }> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`outlast relay did not start within 20 s: ${stderr()}`))
    }, 20_000)
    lines.on('line', (line) => {
      try {
        const message = JSON.parse(line)
        if (message.event !== 'ready') return
        clearTimeout(timer)
        lines.removeAllListeners('line')
        resolve(message)
      } catch {}
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`outlast relay exited (${code}): ${stderr()}`))
    })
  })
}
