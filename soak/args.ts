/** Command-line options of `npm run soak`. */
import { parseSeed } from './random.ts'

export type SoakArgs = {
  minutes: number
  /** The seed as given (printed in the command), and as a number. */
  seedText: string
  seed: number
  /** ms after a mode switch during which failures are not held against outlast. */
  grace: number
  heapThresholdMb: number
  tradeoffs: boolean
  readers: number
  accounts: number
  /** Print outlast's source condition changes as they happen. */
  verbose: boolean
}

export const MAX_MINUTES = 120

export const USAGE = `usage: npm run soak -- --minutes N [--seed S] [--grace SECONDS] [--heap-threshold MB] [--no-tradeoffs]
  --minutes N         length of the fault schedule, 0 < N <= ${MAX_MINUTES} (default 2)
  --seed S            seed of the schedule and workload (default: random, printed)
  --grace SECONDS     after a mode switch, failures are not violations for this long (default 5)
  --heap-threshold MB heap growth after warm-up that counts as a leak (default 32)
  --no-tradeoffs      leave out steps labelled last-domain-lies (the documented trade-off)
  --readers N         concurrent readers (default 4); --accounts N sending accounts (default 4)
  --verbose           print outlast's source condition changes as they happen`

/** Parses argv; throws an Error with a message for the user when an option is bad. */
export function parseArgs(argv: readonly string[]): SoakArgs {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`)
    if (i < 0) return undefined
    const value = argv[i + 1]
    if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`)
    return value
  }
  const number = (name: string, fallback: number, min: number, max: number) => {
    const text = get(name)
    if (text === undefined) return fallback
    const n = Number(text)
    if (!Number.isFinite(n) || n < min || n > max)
      throw new Error(
        `--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(text)}`,
      )
    return n
  }
  const known = new Set([
    'minutes',
    'seed',
    'grace',
    'heap-threshold',
    'no-tradeoffs',
    'readers',
    'accounts',
    'verbose',
    'help',
  ])
  for (const a of argv)
    if (a.startsWith('--') && !known.has(a.slice(2))) throw new Error(`unknown option ${a}`)
  const minutesText = get('minutes')
  const minutes = minutesText === undefined ? 2 : Number(minutesText)
  if (!Number.isFinite(minutes) || minutes <= 0)
    throw new Error(`--minutes must be a number above 0, got ${JSON.stringify(minutesText)}`)
  if (minutes > MAX_MINUTES)
    throw new Error(`--minutes ${minutes} refused: the soak is bounded to ${MAX_MINUTES} minutes`)
  const seedText = get('seed') ?? String(Math.floor(Math.random() * 1_000_000))
  return {
    minutes,
    seedText,
    seed: parseSeed(seedText),
    grace: number('grace', 5, 0, 60) * 1000,
    heapThresholdMb: number('heap-threshold', 32, 1, 4096),
    tradeoffs: !argv.includes('--no-tradeoffs'),
    readers: number('readers', 4, 1, 16),
    accounts: number('accounts', 4, 1, 6),
    verbose: argv.includes('--verbose'),
  }
}
