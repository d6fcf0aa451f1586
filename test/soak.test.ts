/**
 * The short version of the chaos soak, for CI: 30 seconds of the seeded fault schedule (seed 1)
 * against a real lab, run as a child process exactly as `npm run soak` runs it. It must exit 0
 * with no invariant broken. The full soak is `npm run soak -- --minutes 10`.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { it } from 'vitest'
import type { SoakSummary } from '../soak/report.ts'

const root = fileURLToPath(new URL('..', import.meta.url))

it('a 30-second chaos soak breaks no invariant', { timeout: 58_000 }, async () => {
  const child = spawn(process.execPath, ['soak/run.ts', '--minutes', '0.5', '--seed', '1'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 55_000)
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  clearTimeout(timer)
  const line = out.split('\n').find((l) => l.startsWith('SOAK_RESULT '))
  assert.ok(line, `no SOAK_RESULT line; output:\n${out.slice(-4000)}`)
  const summary = JSON.parse(line.slice('SOAK_RESULT '.length)) as SoakSummary
  const report = out.slice(out.indexOf('outlast chaos soak: report'))
  assert.equal(summary.violations, 0, report)
  assert.equal(summary.harnessErrors, 0, report)
  assert.equal(code, 0, report)
  assert.ok(summary.ok > 100, `only ${summary.ok} successful requests`)
  assert.ok(summary.tx.mined > 0 && summary.tx.mined === summary.tx.sent, report)
})
