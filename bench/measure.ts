/**
 * Runs one scenario: every client in its own process on its own lab (so that each lab's
 * proxies count that client's calls alone, and no client's CPU work delays another's timers),
 * all at once (so that machine noise hits all of them), with the same workload, warm-up, fault
 * and measured window. The parent only starts the processes, lines up their starts and collects
 * the figures; `clientProcess.ts` does the work.
 */
import { type ChildProcess, fork } from 'node:child_process'
import type { ClientName } from './clients.ts'
import type { Scenario } from './scenarios.ts'
import type { OpKind } from './workload.ts'

export type Outcome = 'right' | 'wrong' | 'failed' | 'capped'

export type Sample = { ms: number; outcome: Outcome; kind: OpKind; at: number }

export type ClientRun = {
  client: ClientName
  samples: Sample[]
  /** Calls each source's proxy received during the measured window, and their `total`. */
  calls: Record<string, number>
  /** Why requests failed or were wrong, counted, with one example each. */
  errors: Record<string, { count: number; example: string }>
  /** For scenarios with a `watch` source: its calls and the requests, before and after `at`. */
  phases?: {
    before: { calls: number; requests: number }
    after: { calls: number; requests: number }
  }
  /** outlast only: its answers by `meta.consistency` (agreed, verified, head, degraded...). */
  consistency?: Record<string, number>
  /** The client process's event loop over the window: busy share and delay p99 (ms). */
  loop: { utilization: number; delayP99: number }
}

export type MeasureOptions = {
  /** Length of the measured window, ms. */
  window: number
  /** Concurrent request loops per client. */
  workers: number
  /** Each loop starts a request at most this often, ms. */
  pace: number
  /** A request still running after this many ms counts as failed. */
  cap: number
  warmup: number
}

/** Messages between the parent and a client process. */
export type ToChild =
  | { type: 'start'; scenario: string; client: ClientName; options: MeasureOptions }
  | { type: 'go' }
  /** Stop early (another client failed): clean the lab up and exit. */
  | { type: 'abort' }
export type FromChild =
  | { type: 'ready' }
  | { type: 'progress'; requests: number; delayP99: number }
  | { type: 'note'; line: string }
  | { type: 'done'; run: ClientRun }

type Child = {
  name: ClientName
  process: ChildProcess
  ready: Promise<void>
  done: Promise<ClientRun>
  requests: number
  delayP99: number
}

function start(
  scenario: Scenario,
  name: ClientName,
  options: MeasureOptions,
  note: (l: string) => void,
): Child {
  const child = fork(new URL('./clientProcess.ts', import.meta.url), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  let onReady: () => void = () => {}
  let onDone: (run: ClientRun) => void = () => {}
  let finished = false
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => {
      if (!finished) reject(new Error(`bench: the ${name} process exited with ${code}`))
    })
  })
  exited.catch(() => {})
  const c: Child = {
    name,
    process: child,
    ready: Promise.race([
      new Promise<void>((resolve) => {
        onReady = resolve
      }),
      exited,
    ]),
    done: Promise.race([
      new Promise<ClientRun>((resolve) => {
        onDone = resolve
      }),
      exited,
    ]),
    requests: 0,
    delayP99: 0,
  }
  c.ready.catch(() => {})
  c.done.catch(() => {})
  child.on('message', (m: FromChild) => {
    if (m.type === 'ready') onReady()
    else if (m.type === 'progress') {
      c.requests = m.requests
      c.delayP99 = m.delayP99
    } else if (m.type === 'note') note(m.line)
    else if (m.type === 'done') {
      finished = true
      onDone(m.run)
    }
  })
  child.send({ type: 'start', scenario: scenario.id, client: name, options } satisfies ToChild)
  return c
}

export async function measure(
  scenario: Scenario,
  clients: readonly ClientName[],
  options: MeasureOptions,
  progress: (line: string) => void,
): Promise<ClientRun[]> {
  return measurePairs(
    clients.map((client) => ({ scenario, client })),
    options,
    progress,
  )
}

/**
 * Runs several (scenario, client) pairs at once, each in its own process on its own lab: the
 * same client under two scenarios side by side meets the same machine noise, so the ratio
 * between them is the client's own.
 */
export async function measurePairs(
  pairs: readonly { scenario: Scenario; client: ClientName }[],
  options: MeasureOptions,
  progress: (line: string) => void,
): Promise<ClientRun[]> {
  let noted = false
  const children = pairs.map(({ scenario, client: name }) =>
    start(scenario, name, options, (line) => {
      // Every process reports the same timed event: print it once.
      if (!noted) progress(line)
      noted = true
    }),
  )
  try {
    // Labs up, warm-up done everywhere: then all start their window at once.
    await Promise.all(children.map((c) => c.ready))
    const t0 = Date.now()
    for (const c of children) c.process.send({ type: 'go' } satisfies ToChild)
    const ticker = setInterval(() => {
      const t = ((Date.now() - t0) / 1000).toFixed(0)
      progress(
        `    ${t} s: ${children.map((c) => `${c.name} ${c.requests}`).join(', ')} requests done ` +
          `(event loop delay p99 ${children.map((c) => c.delayP99.toFixed(0)).join('/')} ms)`,
      )
    }, 10_000)
    try {
      return await Promise.all(children.map((c) => c.done))
    } finally {
      clearInterval(ticker)
    }
  } catch (error) {
    for (const c of children)
      if (c.process.connected) c.process.send({ type: 'abort' } satisfies ToChild)
    throw error
  } finally {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.process.exitCode !== null || c.process.signalCode !== null) return resolve()
            c.process.once('exit', () => resolve())
            // A process that sent its figures cleans its lab up and exits on its own.
            setTimeout(() => c.process.kill('SIGTERM'), 60_000).unref()
          }),
      ),
    )
  }
}
