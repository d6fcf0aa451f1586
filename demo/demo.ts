/**
 * `npm run demo`: outlast and viem's fallback transport side by side through a replay of the
 * 20 October 2025 AWS us-east-1 outage, on a local lab. No keys, no network.
 *
 * Exits 0 unless outlast returned a wrong answer (1), the arguments are bad (2), or the run
 * was interrupted (130).
 */
import { DEMO_USAGE, parseDemoArgs } from './demoArgs.ts'
import { createPlainView } from './plainView.ts'
import { runDemo } from './runDemo.ts'
import { createTerminalView } from './terminalView.ts'

async function main(): Promise<number> {
  let args: ReturnType<typeof parseDemoArgs>
  try {
    args = parseDemoArgs(process.argv.slice(2))
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${DEMO_USAGE}\n`)
    return 2
  }
  if (args.help) {
    process.stdout.write(`${DEMO_USAGE}\n`)
    return 0
  }

  const live = process.stdout.isTTY && !args.plain
  const view = live ? createTerminalView(process.stdout) : createPlainView(process.stdout)
  const interrupt = new AbortController()
  const onSignal = () => {
    if (interrupt.signal.aborted) process.exit(130) // second Ctrl-C: leave now
    interrupt.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const result = await runDemo({
      seconds: args.seconds,
      view,
      out: process.stdout,
      color: live && !process.env.NO_COLOR,
      signal: interrupt.signal,
    })
    if (result.outlast.wrong > 0) return 1
    return result.interrupted ? 130 : 0
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

process.exitCode = await main()
