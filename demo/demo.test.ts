/** `npm run demo` end to end: a short plain run exits 0 and reports no wrong answer from outlast. */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { it } from 'vitest'

const demo = fileURLToPath(new URL('./demo.ts', import.meta.url))

function runDemo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [demo, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

it('runs 12 s through the outage and prints a summary with no wrong answer from outlast', async () => {
  const started = Date.now()
  const { code, stdout, stderr } = await runDemo(['--seconds', '12', '--plain'])
  const output = `${stdout}\n${stderr}`
  assert.equal(code, 0, output)
  assert.match(stdout, /OUTAGE: aws-us-east-1 goes dark/)
  assert.match(stdout, /AFTER: aws-us-east-1 back/)
  assert.match(stdout, /Summary of a 12 s run/)
  for (const phase of ['before', 'outage', 'after', 'total']) {
    const row = new RegExp(`^outlast\\s+${phase}\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s`, 'm').exec(
      stdout,
    )
    assert.ok(row, `no outlast ${phase} row in:\n${output}`)
    assert.ok(Number(row[1]) > 0, `outlast sent no request in the ${phase} phase`)
    assert.equal(row[3], '0', `outlast wrong answers in the ${phase} phase`)
    assert.match(stdout, new RegExp(`^viem fallback\\s+${phase}\\s+\\d+`, 'm'))
  }
  assert.match(stdout, /^Verdict: outlast answered \d+\/\d+ requests, 0 wrong/m)
  assert.ok(Date.now() - started < 40_000, `took ${Date.now() - started} ms`)
})

it('refuses bad arguments with a usage message and exit code 2', async () => {
  const { code, stderr } = await runDemo(['--seconds', 'soon'])
  assert.equal(code, 2)
  assert.match(stderr, /--seconds must be a number/)
  assert.match(stderr, /Usage: npm run demo/)
})
