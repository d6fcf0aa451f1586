import assert from 'node:assert/strict'
import { createPublicClient, http as viemHttp } from 'viem'
import { afterAll, beforeAll, it } from 'vitest'
import { type Anvil, startAnvil } from '../../test/lab/index.ts'
import { ConfigError, RpcResponseError, SourceError } from '../shared/errors.ts'
import { eip1193 } from './eip1193.ts'

let anvil: Anvil
beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 0 })
})
afterAll(() => anvil.stop())

it('wraps any EIP-1193 provider (here viem over a real node) as a source', async () => {
  const provider = createPublicClient({ transport: viemHttp(anvil.url, { retryCount: 0 }) })
  const source = eip1193(provider, { name: 'injected', domain: 'wallet-rpc' })
  assert.equal(await source.request({ method: 'eth_chainId' }), '0x7a69')
  assert.deepEqual(source.config, {
    name: 'injected',
    kind: 'wallet',
    domain: 'wallet-rpc',
    weight: 1,
    label: 'eip1193',
  })
  await assert.rejects(
    source.request({ method: 'eth_getBalance', params: ['0xnope', 'latest'] }),
    (e) => e instanceof RpcResponseError && typeof e.code === 'number',
  )
})

it('times out and honours abort', async () => {
  const never = { request: () => new Promise(() => {}) }
  await assert.rejects(
    eip1193(never, { timeout: 50 }).request({ method: 'eth_chainId' }),
    (e) => e instanceof SourceError && e.kind === 'timeout',
  )
  const controller = new AbortController()
  const pending = eip1193(never).request({ method: 'eth_chainId' }, { signal: controller.signal })
  controller.abort()
  await assert.rejects(pending, (e) => e instanceof SourceError && e.kind === 'aborted')
})

it('refuses things that are not providers', () => {
  assert.throws(() => eip1193({} as never), ConfigError)
})
