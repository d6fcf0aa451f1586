/**
 * The page of bench/light.ts: light.page.ts's cold path (`sync`), and `verifyUpdates`, which
 * decodes a bootstrap and a run of period updates (Beacon-API SSZ, passed in as base64) and
 * verifies them with outlast/light's core on noble, timing each update. Run the cold path first:
 * it is only cold once.
 */
import {
  createLightClientCore,
  decodeBootstrap,
  decodeUpdatesResponse,
  type ForkName,
  mainnet,
  nobleVerifier,
} from '../../src/light/index.ts'
import { api as coldPath } from './light.page.ts'

export type VerifyOptions = {
  bootstrap: string
  bootstrapFork: ForkName
  updates: string
  checkpoint: `0x${string}`
  /** Passes over the updates, each from a fresh core (the first warms the JIT). */
  runs: number
}

export type VerifyResult = {
  verifier: string
  /** Per-update ms of every pass but the first. */
  times: number[]
  /** Decode + verify of the bootstrap, ms, every pass but the first. */
  bootstraps: number[]
  finalizedBlock: number | undefined
}

const bytes = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))

function verifyUpdates(o: VerifyOptions): VerifyResult {
  const bootstrapBytes = bytes(o.bootstrap)
  const updateBytes = bytes(o.updates)
  const times: number[] = []
  const bootstraps: number[] = []
  let finalizedBlock: number | undefined
  let verifier = nobleVerifier()
  for (let run = 0; run < o.runs; run++) {
    // Fresh objects and a fresh verifier each pass: no decoded key is carried over.
    const updates = decodeUpdatesResponse(updateBytes, mainnet)
    const now = Math.max(...updates.map((u) => u.signatureSlot))
    verifier = nobleVerifier()
    const t0 = performance.now()
    const lc = createLightClientCore({
      config: mainnet,
      checkpoint: o.checkpoint,
      bootstrap: decodeBootstrap(bootstrapBytes, o.bootstrapFork, mainnet),
      verifier,
    })
    if (run > 0) bootstraps.push(performance.now() - t0)
    for (const u of updates) {
      const start = performance.now()
      lc.processUpdate(u, now)
      if (run > 0) times.push(performance.now() - start)
    }
    finalizedBlock = lc.finalized.execution?.blockNumber
  }
  return { verifier: verifier.name, times, bootstraps, finalizedBlock }
}

const api = { ...coldPath, verifyUpdates }
export type BenchPageApi = typeof api
;(window as unknown as { outlastTest: BenchPageApi }).outlastTest = api
