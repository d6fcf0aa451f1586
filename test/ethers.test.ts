/** outlast/ethers: an ethers v6 Provider over an outlast client, against a real lab. */
import assert from 'node:assert/strict'
import {
  AbiCoder,
  type BaseContract,
  ContractFactory,
  concat,
  dataLength,
  id,
  isError,
  parseEther,
  toBeHex,
  Wallet,
} from 'ethers'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { OutlastProvider } from '../src/adapters/ethers.ts'
import {
  AllSourcesFailedError,
  createOutlast,
  http,
  type Outlast,
  ProviderRpcError,
  QuorumError,
} from '../src/index.ts'
import { devAccounts, type Lab, type LabSource, startLab } from './lab/index.ts'

const CHAIN_ID = 31337
const TEN_THOUSAND = parseEther('10000')
/** Never sends a transaction in these tests: its balance stays anvil's 10,000 ETH. */
const idle = devAccounts[3].address

/** An outlast client over the lab's sources (or some of them), each in its own domain. */
function clientFor(lab: Lab, names?: string[]): Outlast {
  const picked = lab.sources.filter((s) => !names || names.includes(s.name))
  return createOutlast({
    chainId: CHAIN_ID,
    pollingInterval: 250,
    sources: picked.map((s) =>
      http(s.proxy.url, { name: s.name, domain: s.domain, fetchFn: s.proxy.fetch, timeout: 2_000 }),
    ),
  })
}

// Tiny contracts as raw EVM bytecode (no compiler needed).
const PING = id('Ping(uint256)')
/** Any call: emits Ping(42) and returns 42. */
const answerRuntime = concat(['0x602a6000527f', PING, '0x60206000a160206000f3'])
/** Any call: reverts with Error("Nope"). */
const nope = concat(['0x08c379a0', AbiCoder.defaultAbiCoder().encode(['string'], ['Nope'])])
const reverterRuntime = concat(['0x6064600c60003960646000fd', nope])
/** Init code that deploys `runtime` as it is. */
const deployable = (runtime: string) =>
  concat(['0x60', toBeHex(dataLength(runtime), 1), '0x80600b6000396000f3', runtime])

const answerAbi = [
  'function answer() view returns (uint256)',
  'function ping()',
  'event Ping(uint256 value)',
]
const reverterAbi = ['function fail() view returns (uint256)']

type Answer = BaseContract & {
  answer(): Promise<bigint>
  ping(): Promise<{ wait(): Promise<{ blockNumber: number; status: number | null } | null> }>
}
type Reverter = BaseContract & { fail(): Promise<bigint> }

/** Resolves with the first value `register` passes on, or rejects after `ms`. */
function within<T>(ms: number, register: (done: (value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms)
    register((value) => {
      clearTimeout(timer)
      resolve(value)
    })
  })
}

/** The rejection of `promise` (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise
  } catch (error) {
    return error as Error & Record<string, unknown>
  }
  return assert.fail('expected a rejection')
}

const threeDomains: LabSource[] = [
  { name: 'cloud-a', domain: 'aws-us-east-1', latency: 5 },
  { name: 'cloud-b', domain: 'gcp-europe-west1', latency: 10 },
  { name: 'home', domain: 'home', kind: 'self-hosted', latency: 15 },
]

describe('OutlastProvider over three domains', () => {
  let lab: Lab
  let rpc: Outlast
  let provider: OutlastProvider
  let wallet: Wallet
  let answer: Answer
  let reverter: Reverter
  /** Every method ethers sent through the client. */
  const methods = new Set<string>()

  beforeAll(async () => {
    lab = await startLab({ sources: threeDomains })
    rpc = clientFor(lab)
    rpc.on('request', (e) => methods.add(e.method))
    provider = new OutlastProvider(rpc, { pollingInterval: 100 })
    wallet = new Wallet(devAccounts[0].privateKey, provider)
    // Both deployments in the same block: explicit nonces, then wait for both.
    const nonce = await wallet.getNonce('pending')
    const deploy = (abi: string[], runtime: string, n: number) =>
      new ContractFactory(abi, deployable(runtime), wallet).deploy({ nonce: n })
    const [a, r] = await Promise.all([
      deploy(answerAbi, answerRuntime, nonce),
      deploy(reverterAbi, reverterRuntime, nonce + 1),
    ])
    answer = (await a.waitForDeployment()) as unknown as Answer
    reverter = (await r.waitForDeployment()) as unknown as Reverter
  })

  afterAll(async () => {
    provider?.destroy()
    await rpc?.close()
    await lab?.stop()
  })

  it('has the static network of the client and exposes it', async () => {
    assert.equal(provider.outlast, rpc)
    // Set at construction: nothing was asked to learn it.
    assert.equal(provider._network.chainId, BigInt(CHAIN_ID))
    assert.equal((await provider.getNetwork()).chainId, BigInt(CHAIN_ID))
  })

  it('getBalance agrees with the node', async () => {
    assert.equal(await provider.getBalance(idle), TEN_THOUSAND)
    const truth = await lab.anvil.rpc<string>('eth_getBalance', [wallet.address, 'latest'])
    const balance = await provider.getBalance(wallet.address)
    assert.ok(balance < TEN_THOUSAND, 'the deployer paid for gas')
    assert.equal(balance, BigInt(truth))
  })

  it('getBlockNumber follows the node', async () => {
    const truth = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
    const n = await provider.getBlockNumber()
    assert.ok(n > 0 && Math.abs(n - truth) <= 1, `outlast says ${n}, the node ${truth}`)
  })

  it("getBlock('latest') and getBlock(hash) give the node's block", async () => {
    const latest = await provider.getBlock('latest')
    assert.ok(latest?.hash)
    const truth = await lab.anvil.rpc<{ hash: string; parentHash: string }>(
      'eth_getBlockByNumber',
      [toBeHex(latest.number), false],
    )
    assert.equal(latest.hash, truth.hash)
    const byHash = await provider.getBlock(latest.hash)
    assert.equal(byHash?.number, latest.number)
    assert.equal(byHash?.parentHash, truth.parentHash)
    assert.equal(await provider.getBlock(`0x${'ab'.repeat(32)}`), null)
  })

  it('call reads a deployed contract', async () => {
    assert.equal(await answer.answer(), 42n)
    const to = await answer.getAddress()
    assert.equal(await provider.call({ to, data: '0x' }), toBeHex(42, 32))
    assert.equal(await provider.getCode(to), answerRuntime)
  })

  it("a revert is ethers' CALL_EXCEPTION with the reason", async () => {
    const error = await rejection(reverter.fail())
    assert.ok(isError(error, 'CALL_EXCEPTION'), String(error))
    assert.equal(error.reason, 'Nope')
    assert.equal(error.data, nope)
    const raw = await rejection(provider.call({ to: await reverter.getAddress(), data: '0x' }))
    assert.ok(isError(raw, 'CALL_EXCEPTION'))
    assert.equal(raw.reason, 'Nope')
    // estimateGas reverts the same way, so sending the call fails before signing.
    const send = await rejection(wallet.sendTransaction({ to: await reverter.getAddress() }))
    assert.ok(isError(send, 'CALL_EXCEPTION'))
    assert.equal(send.reason, 'Nope')
  })

  it('sendTransaction is broadcast, mined and waited for', async () => {
    const to = Wallet.createRandom().address
    const tx = await wallet.sendTransaction({ to, value: 12_345n })
    const receipt = await tx.wait()
    assert.equal(receipt?.status, 1)
    assert.equal(receipt?.hash, tx.hash)
    const waited = await provider.waitForTransaction(tx.hash, 1, 5_000)
    assert.equal(waited?.blockHash, receipt?.blockHash)
    assert.equal(await provider.getBalance(to), 12_345n)
    assert.equal((await provider.getTransaction(tx.hash))?.value, 12_345n)
  })

  it('getLogs finds an emitted event', async () => {
    const receipt = await (await answer.ping()).wait()
    assert.equal(receipt?.status, 1)
    const block = receipt!.blockNumber
    const address = await answer.getAddress()
    const logs = await provider.getLogs({
      address,
      topics: [PING],
      fromBlock: block,
      toBlock: block,
    })
    assert.equal(logs.length, 1)
    assert.equal(logs[0]?.data, toBeHex(42, 32))
    const events = await answer.queryFilter('Ping', block, block)
    assert.equal(events.length, 1)
    assert.equal((events[0] as unknown as { args: [bigint] }).args[0], 42n)
  })

  it('contract.on hears an event, by polling getLogs', async () => {
    let listener: ((value: bigint) => void) | undefined
    const heard = within<bigint>(8_000, (done) => {
      listener = done
      void answer.on('Ping', listener)
    })
    // Let the subscription take its starting block before the event is emitted.
    await new Promise((resolve) => setTimeout(resolve, 300))
    await (await answer.ping()).wait()
    assert.equal(await heard, 42n)
    await answer.off('Ping', listener)
  })

  it("a reused nonce is ethers' NONCE_EXPIRED", async () => {
    const signed = await wallet.signTransaction(
      await wallet.populateTransaction({ to: idle, value: 1n, nonce: 0 }),
    )
    const error = await rejection(provider.broadcastTransaction(signed))
    assert.ok(isError(error, 'NONCE_EXPIRED'), String(error))
  })

  it("an unfunded sender is ethers' INSUFFICIENT_FUNDS", async () => {
    const poor = Wallet.createRandom(provider)
    const signed = await poor.signTransaction({
      to: idle,
      value: 1n,
      nonce: 0,
      gasLimit: 21_000n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 1n,
      chainId: CHAIN_ID,
      type: 2,
    })
    const error = await rejection(provider.broadcastTransaction(signed))
    assert.ok(isError(error, 'INSUFFICIENT_FUNDS'), String(error))
  })

  it("a wallet-only method is ethers' UNSUPPORTED_OPERATION with outlast's message", async () => {
    const error = await rejection(provider.send('eth_accounts', []))
    assert.ok(isError(error, 'UNSUPPORTED_OPERATION'), String(error))
    assert.equal(error.operation, 'eth_accounts')
    assert.match(String(error.shortMessage), /not served by outlast/)
  })

  it("on('block') receives new blocks", async () => {
    const start = await provider.getBlockNumber()
    let listener: ((n: number) => void) | undefined
    const n = await within<number>(5_000, (done) => {
      listener = done
      provider.on('block', listener)
    })
    await provider.off('block', listener)
    assert.ok(n > start, `block ${n} after ${start}`)
    const block = await provider.getBlock(n)
    assert.equal(block?.number, n)
  })

  it("outlast's own errors are thrown as they are", async () => {
    const closed = clientFor(lab)
    await closed.close()
    const error = await rejection(new OutlastProvider(closed).getBalance(idle))
    assert.ok(error instanceof ProviderRpcError)
    assert.equal(error.code, 4900)
    assert.match(error.message, /closed/)

    const dead = createOutlast({
      chainId: CHAIN_ID,
      sources: [http('http://127.0.0.1:9', { name: 'nowhere', domain: 'void' })],
    })
    const onDead = new OutlastProvider(dead)
    try {
      const failed = await rejection(onDead.getTransaction(`0x${'cd'.repeat(32)}`))
      assert.ok(failed instanceof AllSourcesFailedError, String(failed))
      assert.match(failed.message, /All sources failed for eth_getTransactionByHash[\s\S]*nowhere/)
    } finally {
      onDead.destroy()
      await dead.close()
    }
  })

  it('ethers never asked for the chain id or a node filter', () => {
    for (const method of ['eth_chainId', 'eth_newFilter', 'eth_getFilterChanges'])
      assert.ok(!methods.has(method), `${method} was sent`)
    for (const method of ['eth_getBalance', 'eth_call', 'eth_getLogs', 'eth_sendRawTransaction'])
      assert.ok(methods.has(method), `${method} was not sent`)
  })

  it('destroy() leaves the client open unless closeOnDestroy is set', async () => {
    const shared = clientFor(lab)
    new OutlastProvider(shared).destroy()
    assert.equal(await shared.request({ method: 'eth_chainId' }), toBeHex(CHAIN_ID))
    new OutlastProvider(shared, { closeOnDestroy: true }).destroy()
    const error = await rejection(shared.request({ method: 'eth_chainId' }))
    assert.equal((error as unknown as ProviderRpcError).code, 4900)
  })
})

describe('OutlastProvider through an outage', () => {
  let lab: Lab
  let rpc: Outlast
  let provider: OutlastProvider

  beforeAll(async () => {
    lab = await startLab({
      sources: [...threeDomains, { name: 'cloud-c', domain: 'azure-westeurope', latency: 20 }],
    })
    rpc = clientFor(lab)
    provider = new OutlastProvider(rpc, { pollingInterval: 100 })
    await lab.proxy('cloud-a').setMode({ kind: 'blackhole' })
    await lab.proxy('cloud-b').setMode({ kind: 'lie' })
  })

  afterAll(async () => {
    provider?.destroy()
    await rpc?.close()
    await lab?.stop()
  })

  it('with the first source blackholed and another lying, balances are right', async () => {
    lab.proxy('cloud-b').resetStats()
    for (let i = 0; i < 3; i++) assert.equal(await provider.getBalance(idle), TEN_THOUSAND)
    assert.ok((lab.proxy('cloud-b').stats.byMethod.eth_getBalance ?? 0) > 0, 'the liar was asked')
  })

  it('with the first source blackholed and another lying, a transaction is mined', async () => {
    const wallet = new Wallet(devAccounts[1].privateKey, provider)
    const to = Wallet.createRandom().address
    const tx = await wallet.sendTransaction({ to, value: 777n })
    const receipt = await tx.wait()
    assert.equal(receipt?.status, 1)
    assert.equal(await provider.getBalance(to), 777n)
    const truth = await lab.anvil.rpc<string>('eth_getBalance', [to, 'latest'])
    assert.equal(BigInt(truth), 777n)
  })

  it('with one honest domain left against a liar, outlast refuses instead of guessing', async () => {
    const thin = clientFor(lab, ['cloud-a', 'cloud-b', 'home'])
    const onThin = new OutlastProvider(thin)
    try {
      const error = await rejection(onThin.getBalance(idle))
      assert.ok(error instanceof QuorumError, String(error))
      // Both answers are named: the honest one and the lie.
      assert.match(
        error.message,
        new RegExp(`home \\(home\\) answered 0x${TEN_THOUSAND.toString(16)}`),
      )
      assert.match(error.message, /cloud-b \(gcp-europe-west1\) answered/)
    } finally {
      onThin.destroy()
      await thin.close()
    }
  })
})
