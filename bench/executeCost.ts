/**
 * What a proven eth_call costs (`node bench/executeCost.ts`): CPU for one proven eth_call of a
 * simple storage view (proofs checked, EVM set up, call run; the source's answers replayed from
 * memory so only local work counts), the calls and bytes it asks of a source, and latency of
 * proven against quorum eth_call, side by side on one lab (three sources at 20/40/60 ms).
 */
import { performance } from 'node:perf_hooks'
import { createTrustStore } from '../src/core/trust.ts'
import { execute } from '../src/execute/index.ts'
import { http } from '../src/index.ts'
import { proofs } from '../src/proofs/index.ts'
import { clientFor } from '../test/helpers.ts'
import { devAccounts, startLab } from '../test/lab/index.ts'
import { sources } from './scenarios.ts'
import { percentile, table } from './stats.ts'

const N = Number(process.argv[process.argv.indexOf('--requests') + 1]) || 300
/** Init code: slot 0 = 7 (PUSH32 7, PUSH32 0, SSTORE), then deploy a runtime that returns sload(calldata[0..32]). */
const READER_INIT = `0x7f${'7'.padStart(64, '0')}7f${'0'.repeat(64)}55600c80604e6000396000f36000355460005260206000f3`
const VIEW = `0x${'0'.repeat(64)}`

// The bench's lab: three sources at 20/40/60 ms in three failure domains.
const lab = await startLab({ sources })
try {
  const deployed = await lab.anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[0].address, data: READER_INIT },
  ])
  let receipt: { contractAddress: string } | null = null
  while (!receipt) {
    await new Promise((r) => setTimeout(r, 100))
    receipt = await lab.anvil.rpc('eth_getTransactionReceipt', [deployed])
  }
  const call = { to: receipt.contractAddress, data: VIEW }
  for (let i = 0; i < 3; i++) await lab.anvil.rpc('evm_mine')

  // One proven eth_call, the source's answers recorded...
  const source = http(lab.anvil.url, { name: 'anvil', domain: 'local' })
  const block = (await source.request({
    method: 'eth_getBlockByNumber',
    params: ['latest', false],
  })) as Record<string, unknown>
  const trust = createTrustStore({
    checkpoints: [],
    hook: undefined,
    fetchHeader: async () => null,
  })
  const header = trust.add(block, 'checkpoint')!
  const recorded = new Map<string, unknown>()
  let bytes = 0
  const live = async (method: string, params: unknown[]) => {
    const answer = await source.request({ method, params })
    recorded.set(JSON.stringify([method, params]), answer)
    bytes += JSON.stringify(answer).length
    return answer
  }
  const prover = execute({ chainId: 31337 })
  const seven = await prover.answer('eth_call', [call, 'latest'], {
    header,
    trusted: trust.resolve,
    call: live,
  })
  if (BigInt(seven as string) !== 7n) throw new Error(`the view answered ${seven}`)
  const plainBytes = JSON.stringify(seven).length
  const calls = [...recorded.keys()].map((k) => JSON.parse(k)[0] as string)

  // ...then replayed from memory: the CPU of proving and executing alone.
  const replay = async (method: string, params: unknown[]) =>
    recorded.get(JSON.stringify([method, params]))
  const ctx = { header, trusted: trust.resolve, call: replay }
  for (let i = 0; i < 100; i++) await prover.answer('eth_call', [call, 'latest'], ctx)
  const runs = 1_000
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < runs; i++) await prover.answer('eth_call', [call, 'latest'], ctx)
  const wall = (performance.now() - t0) / runs
  const used = process.cpuUsage(cpu0)
  const cpu = (used.user + used.system) / 1000 / runs

  // Latency and client CPU side by side: a quorum client and a proven one, alternating.
  const quorum = clientFor(lab)
  const proven = clientFor(lab, { prover: [proofs(), execute({ chainId: 31337 })] })
  const q: number[] = []
  const p: number[] = []
  let notProven = 0
  let hedged = 0
  const request = { method: 'eth_call', params: [call, 'latest'] }
  for (let i = 0; i < 20; i++) {
    await quorum.request(request)
    await proven.request(request)
  }
  for (let i = 0; i < N; i++) {
    let t = performance.now()
    await quorum.request(request)
    q.push(performance.now() - t)
    t = performance.now()
    const r = await proven.requestWithMeta(request)
    p.push(performance.now() - t)
    if (r.meta.consistency !== 'proven') notProven++
    if (r.meta.attempts > 1) hedged++
  }
  await quorum.close()
  await proven.close()
  console.log(
    table([
      ['measure', 'value'],
      [
        'CPU per proven eth_call of a storage view (proofs + EVM, answers replayed)',
        `${cpu.toFixed(2)} ms (wall ${wall.toFixed(2)} ms)`,
      ],
      ['calls asked of the source per proven eth_call', `${calls.length}: ${calls.join(', ')}`],
      [
        'bytes: answers to a proven eth_call vs the eth_call result',
        `${bytes} vs ${plainBytes} (+${bytes - plainBytes})`,
      ],
      [
        'quorum eth_call p50 / p99 (2 of 3 domains)',
        `${percentile(q, 50).toFixed(1)} / ${percentile(q, 99).toFixed(1)} ms`,
      ],
      [
        'proven eth_call p50 / p99 (1 source: access list, proofs, EVM)',
        `${percentile(p, 50).toFixed(1)} / ${percentile(p, 99).toFixed(1)} ms`,
      ],
      ['proven eth_calls hedged to a second source', `${hedged} of ${N}`],
      ['proven eth_calls that fell back to quorum', String(notProven)],
    ]),
  )
} finally {
  await lab.stop()
}
