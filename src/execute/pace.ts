/**
 * Keeps a local execution from freezing the app: every loop in EVM code goes through JUMP or
 * JUMPI, so those two opcodes are wrapped to give the event loop a turn every few milliseconds
 * and to give up (the call is left to quorum) once the execution has taken `maxMs` in all. A
 * call burning a block's 30M gas in a loop takes seconds in a JavaScript EVM. Precompiles run no
 * JUMP and may take seconds in one call (a BN254 pairing of many pairs): each call is checked
 * before and after it runs, so that its time counts too, and since one call cannot be stopped
 * midway, one priced above `MAX_PRECOMPILE_GAS` is not run at all. Proofs awaited mid-run are
 * not execution time (`waiting`).
 */
import type { Common } from '@ethereumjs/common'
import {
  type CustomPrecompile,
  EVMError,
  type EVMOpts,
  getActivePrecompiles,
  getOpcodesForHF,
  type PrecompileFunc,
  type PrecompileInput,
  paramsEVM,
} from '@ethereumjs/evm'
import { UnprovableError } from './unprovable.ts'

/** Jumps between clock reads: cheap enough not to show, often enough to be within a few ms. */
const EVERY = 2_048
/** How long the EVM may run before the event loop gets a turn. */
const SLICE_MS = 8
/** JUMP and JUMPI with their gas, unchanged since Frontier. */
const JUMPS = [
  [0x56, 'JUMP', 8],
  [0x57, 'JUMPI', 10],
] as const

type CustomOpcode = NonNullable<EVMOpts['customOpcodes']>[number]

/**
 * The most gas one precompile call may use here: curve arithmetic in JavaScript runs 1.5 to 3.5
 * Mgas/s (a BLS12-381 G2 MSM, a BN254 pairing), and nothing stops one call midway, so a call
 * above this would hold the event loop for over about 100 ms. It admits a Groth16 verification
 * (four BN254 pairings, 181,000 gas).
 */
export const MAX_PRECOMPILE_GAS = 250_000n

/**
 * Runs a precompile with at most `MAX_PRECOMPILE_GAS`. Every precompile prices its input before
 * it computes, so one that needs more is out of gas at once, and the call is left to the quorum;
 * one that fails otherwise takes all the gas it was given, as it would have.
 */
async function withinGas(run: PrecompileFunc, input: PrecompileInput) {
  if (input.gasLimit <= MAX_PRECOMPILE_GAS) return run(input)
  const result = await run({ ...input, gasLimit: MAX_PRECOMPILE_GAS })
  const error = result.exceptionError?.error
  if (error === EVMError.errorMessages.OUT_OF_GAS)
    throw new UnprovableError(
      `A precompile call of more than ${MAX_PRECOMPILE_GAS} gas would hold the event loop: left to the quorum.`,
    )
  return error === undefined ? result : { ...result, executionGasUsed: input.gasLimit }
}
type Handler = (runState: never, common: Common) => unknown
/** The EVM's own JUMP and JUMPI (the same in every fork), looked up once. */
let originals: Map<number, Handler> | undefined

export type Pace = {
  /** The JUMP and JUMPI of `common`, with the pacing check. */
  opcodes(common: Common): CustomOpcode[]
  /** The precompiles of `common`, each call checked before and after it runs. */
  precompiles(common: Common): CustomPrecompile[]
  /** Counts time from now (an execution starts) until `stop()`. */
  start(): void
  stop(): void
  /** `read`, with the clock stopped while it waits: a proof on the network is no execution time. */
  waiting<T>(read: Promise<T>): Promise<T>
}

export function pace(maxMs: number, signal?: AbortSignal): Pace {
  let spent = 0
  let since = 0
  let slice = 0
  let jumps = 0
  let running = false
  const now = () => globalThis.performance.now()

  const check = async () => {
    if (signal?.aborted)
      throw new UnprovableError('Local execution cancelled: another source answered.')
    const t = now()
    if (spent + (t - since) > maxMs)
      throw new UnprovableError(`Local execution took over ${maxMs} ms: left to the quorum.`)
    if (t - slice < SLICE_MS) return
    await new Promise((resolve) => setTimeout(resolve, 0))
    // Time spent elsewhere while yielding is not this execution's.
    since += now() - t
    slice = now()
  }

  const start = () => {
    running = true
    since = now()
    slice = since
  }
  const stop = () => {
    if (running) spent += now() - since
    running = false
  }

  return {
    opcodes(common) {
      if (!originals) {
        common.updateParams(paramsEVM) // as the EVM does: the opcode table reads gas params
        originals = getOpcodesForHF(common).handlers as unknown as Map<number, Handler>
      }
      return JUMPS.map(([opcode, name, gas]): CustomOpcode => {
        const original = originals!.get(opcode)!
        return {
          opcode,
          opcodeName: name,
          baseFee: gas,
          logicFunction: (runState, c) => {
            original(runState as never, c)
            if (++jumps % EVERY === 0) return check()
          },
        }
      })
    },
    precompiles(common) {
      return [...getActivePrecompiles(common)].map(([address, run]) => ({
        address: `0x${address}`,
        function: async (input) => {
          await check()
          const result = await withinGas(run!, input)
          await check()
          return result
        },
      }))
    },
    start,
    stop,
    async waiting(read) {
      if (!running) return read
      stop()
      try {
        return await read
      } finally {
        start()
      }
    },
  }
}
