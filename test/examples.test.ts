/** The examples run: each `run-lab.ts` exits 0 on the local lab. */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { it } from 'vitest'

it('examples/relay: a dApp reads proven and sends through relays alone while the clouds fail', () => {
  const run = spawnSync(
    process.execPath,
    [new URL('../examples/relay/run-lab.ts', import.meta.url).pathname],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  )
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`)
  assert.match(run.stdout, /proven via relay-/)
  assert.match(run.stdout, /every answer right/)
})
