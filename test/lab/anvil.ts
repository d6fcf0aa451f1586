/**
 * Real anvil nodes for the lab. The binary ships inside `@foundry-rs/anvil`'s platform package;
 * we spawn it directly (not through the npm wrapper) so that stopping it stops the node.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

/** The anvil binary from the platform package that npm installed for this machine. */
export function anvilBinary(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`
  const bin = join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', 'anvil')
  if (!existsSync(bin)) throw new Error(`anvil binary not found at ${bin}; run npm ci`)
  return bin
}

export type AnvilOptions = {
  /** Seconds between blocks; 0 mines on each transaction. @default 1 */
  blockTime?: number
  /** @default 31337 */
  chainId?: number
  /** Start from another node's state (for lagging and forked nodes). */
  forkUrl?: string
  forkBlockNumber?: number
  /** Never mine: the node stays where it started. */
  noMining?: boolean
  /** Extra command-line arguments. */
  args?: string[]
}

export type Anvil = {
  url: string
  port: number
  process: ChildProcess
  /** Sends one JSON-RPC request straight to the node (no proxy). */
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>
  stop(): Promise<void>
}

const running = new Set<ChildProcess>()

/**
 * Kills every node still running: what a failed test left. On process exit, and after each test
 * file under vitest (`test/lab/afterFile.ts`), whose workers end with SIGTERM and skip 'exit'.
 */
export function killRunningAnvils(): void {
  for (const child of running) child.kill('SIGKILL')
}
process.once('exit', killRunningAnvils)

/**
 * The receipt of `hash` once it is mined. anvil's automine answers `eth_sendTransaction` before
 * it mines the block: a read of `latest` just after may not see the transaction yet.
 */
export async function mined<T = { blockNumber: string }>(anvil: Anvil, hash: string): Promise<T> {
  const until = Date.now() + 10_000
  for (;;) {
    const receipt = await anvil.rpc<T | null>('eth_getTransactionReceipt', [hash])
    if (receipt) return receipt
    if (Date.now() > until) throw new Error(`${hash} was not mined in 10 s`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const args = [
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--chain-id',
    String(options.chainId ?? 31337),
  ]
  if (options.noMining) args.push('--no-mining')
  else if ((options.blockTime ?? 1) > 0) args.push('--block-time', String(options.blockTime ?? 1))
  if (options.forkUrl) args.push('--fork-url', options.forkUrl)
  if (options.forkBlockNumber !== undefined)
    args.push('--fork-block-number', String(options.forkBlockNumber))
  args.push(...(options.args ?? []))

  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  child.once('exit', () => running.delete(child))

  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`anvil did not start: ${out}`)), 20_000)
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      const match = /Listening on [\d.]+:(\d+)/.exec(out)
      if (match) {
        clearTimeout(timer)
        child.stdout?.off('data', onData)
        child.stdout?.resume()
        resolve(Number(match[1]))
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`anvil exited with ${code}: ${out}`))
    })
  })
  child.stdout?.resume()
  child.stderr?.resume()

  const url = `http://127.0.0.1:${port}`
  let id = 0
  return {
    url,
    port,
    process: child,
    async rpc<T>(method: string, params: unknown[] = []): Promise<T> {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }),
      })
      const json = (await res.json()) as { result?: T; error?: { message: string } }
      if (json.error) throw new Error(`anvil ${method}: ${json.error.message}`)
      return json.result as T
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

/** anvil's default dev accounts (mnemonic "test test ... junk"), funded with 10,000 ETH each. */
export const devAccounts = [
  {
    address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    privateKey: '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  },
  {
    address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    privateKey: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  },
  {
    address: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    privateKey: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  },
  {
    address: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
    privateKey: '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  },
] as const
