/** Command-line options of `npm run demo`. */
import { parseArgs } from 'node:util'

export type DemoArgs = {
  /** How long the workload runs, in seconds, across all three phases. */
  seconds: number
  /** Plain log lines instead of the live view (also chosen when stdout is not a terminal). */
  plain: boolean
  help: boolean
}

export const DEMO_USAGE = `Usage: npm run demo -- [--seconds N] [--plain]

Runs a wallet-like workload through outlast and through viem's fallback transport, side by
side, over a local outage lab (anvil behind fault-injecting proxies): no keys, no network.
Midway, the whole aws-us-east-1 domain goes down as it did on 20 October 2025.

  --seconds N   length of the run in seconds (default 45, at least 6)
  --plain       plain log lines instead of the live view
  -h, --help    show this help`

/** The shortest run that still has room for three phases. */
export const MIN_SECONDS = 6

/** Parses `argv` (without node and the script); throws an `Error` with a readable message. */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      seconds: { type: 'string' },
      plain: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  const seconds = values.seconds === undefined ? 45 : Number(values.seconds)
  if (!Number.isFinite(seconds) || seconds < MIN_SECONDS)
    throw new Error(`--seconds must be a number >= ${MIN_SECONDS}, got ${values.seconds}`)
  return { seconds, plain: values.plain, help: values.help }
}
