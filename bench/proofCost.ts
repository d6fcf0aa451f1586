/**
 * What proofs cost (`node bench/proofCost.ts`): CPU time to verify one eth_getBalance proof,
 * the extra bytes per request, and latency of proven against quorum reads, side by side on one
 * lab (three sources at 20/40/60 ms in three domains).
 */
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { proofs } from '../src/proofs/index.ts'
import { provenAnswer, type RpcProof } from '../src/verify/proof.ts'
import { clientFor } from '../test/helpers.ts'
import { devAccounts, startLab } from '../test/lab/index.ts'
import { sources } from './scenarios.ts'
import { percentile, table } from './stats.ts'

const N = Number(process.argv[process.argv.indexOf('--requests') + 1]) || 300
// The bench's lab: three sources at 20/40/60 ms in three failure domains.
const lab = await startLab({ sources })
try {
  for (let i = 0; i < 3; i++) await lab.anvil.rpc('evm_mine')
  const block = await lab.anvil.rpc<{ hash: string; stateRoot: `0x${string}` }>(
    'eth_getBlockByNumber',
    ['latest', false],
  )
  const who = devAccounts[1].address
  const proof = await lab.anvil.rpc<RpcProof>('eth_getProof', [who, [], { blockHash: block.hash }])
  const balance = await lab.anvil.rpc<string>('eth_getBalance', [who, { blockHash: block.hash }])

  // CPU per verification.
  for (let i = 0; i < 200; i++) await provenAnswer('eth_getBalance', [who], proof, block.stateRoot)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const runs = 2_000
  for (let i = 0; i < runs; i++) await provenAnswer('eth_getBalance', [who], proof, block.stateRoot)
  const wall = (performance.now() - t0) / runs
  const used = process.cpuUsage(cpu0)
  const cpu = (used.user + used.system) / 1000 / runs

  // The same on a real mainnet proof (a deeper trie: more and larger nodes).
  const fixtures = JSON.parse(
    readFileSync(new URL('../src/verify/fixtures/proofs.json', import.meta.url), 'utf8'),
  ) as { proofs: { stateRoot: `0x${string}`; proof: RpcProof & { address: string } }[] }
  const real = fixtures.proofs.find((f) => f.proof.storageProof.length === 0) ?? fixtures.proofs[0]!
  const mainnetParams = [real.proof.address]
  for (let i = 0; i < 100; i++)
    await provenAnswer('eth_getBalance', mainnetParams, real.proof, real.stateRoot)
  const cpu1 = process.cpuUsage()
  for (let i = 0; i < runs; i++)
    await provenAnswer('eth_getBalance', mainnetParams, real.proof, real.stateRoot)
  const used1 = process.cpuUsage(cpu1)
  const cpuMainnet = (used1.user + used1.system) / 1000 / runs
  const mainnetBytes = JSON.stringify(real.proof).length

  // Bytes on the wire (JSON-RPC result members).
  const proofBytes = JSON.stringify(proof).length
  const plainBytes = JSON.stringify(balance).length

  // Latency side by side: a proven client and a quorum client over the same lab, alternating.
  const quorum = clientFor(lab)
  const proven = clientFor(lab, { prover: proofs() })
  const q: number[] = []
  const p: number[] = []
  let notProven = 0
  for (let i = 0; i < 20; i++) {
    await quorum.request({ method: 'eth_getBalance', params: [who, 'latest'] })
    await proven.request({ method: 'eth_getBalance', params: [who, 'latest'] })
  }
  for (let i = 0; i < N; i++) {
    const account = devAccounts[i % devAccounts.length]!.address
    let t = performance.now()
    await quorum.request({ method: 'eth_getBalance', params: [account, 'latest'] })
    q.push(performance.now() - t)
    t = performance.now()
    const r = await proven.requestWithMeta({
      method: 'eth_getBalance',
      params: [account, 'latest'],
    })
    p.push(performance.now() - t)
    if (r.meta.consistency !== 'proven') notProven++
  }
  await quorum.close()
  await proven.close()
  console.log(
    table([
      ['measure', 'value'],
      [
        'CPU to verify one eth_getBalance proof (lab)',
        `${cpu.toFixed(2)} ms (wall ${wall.toFixed(2)} ms)`,
      ],
      ['CPU to verify one eth_getBalance proof (mainnet fixture)', `${cpuMainnet.toFixed(2)} ms`],
      [
        'bytes: eth_getProof result vs eth_getBalance result',
        `${proofBytes} vs ${plainBytes} (+${proofBytes - plainBytes})`,
      ],
      ['bytes: eth_getProof result (mainnet fixture)', String(mainnetBytes)],
      [
        'quorum read p50 / p99 (2 of 3 domains)',
        `${percentile(q, 50).toFixed(1)} / ${percentile(q, 99).toFixed(1)} ms`,
      ],
      [
        'proven read p50 / p99 (1 source + proof)',
        `${percentile(p, 50).toFixed(1)} / ${percentile(p, 99).toFixed(1)} ms`,
      ],
      ['proven reads that fell back to quorum', String(notProven)],
    ]),
  )
} finally {
  await lab.stop()
}
