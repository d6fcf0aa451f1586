/**
 * `outlast/ipfs` with gateways only loads neither Helia nor libp2p (nor a Kubo client): they
 * come in only with `startHelia()`. Checked in a fresh Node process that records every module
 * it resolves.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'vitest'

const entry = fileURLToPath(new URL('../../src/ipfs/index.ts', import.meta.url))

const script = `
import { registerHooks } from 'node:module'
const seen = new Set()
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.add(r.url); return r } })
const m = await import(${JSON.stringify(entry)})
m.createIpfs({ gateways: ['https://a.example'] })
const before = [...seen]
if (process.argv.includes('--helia')) await (await m.startHelia({ transports: [] })).stop()
console.log(JSON.stringify({ before, after: [...seen] }))
`

const heavy = /node_modules\/(helia|@helia|libp2p|@libp2p|kubo-rpc-client)\//

function load(helia: boolean): { before: string[]; after: string[] } {
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', script, ...(helia ? ['--', '--helia'] : [])],
    { encoding: 'utf8' },
  )
  return JSON.parse(out.trim().split('\n').at(-1)!)
}

describe('outlast/ipfs imports', () => {
  it('gateways only: no Helia, libp2p or Kubo client is loaded', () => {
    const { before } = load(false)
    assert.ok(before.some((u) => u.includes('ipfs-unixfs-exporter')))
    assert.deepEqual(
      before.filter((u) => heavy.test(u)),
      [],
    )
  })

  it('startHelia() loads them on demand', () => {
    const { after } = load(true)
    assert.ok(after.some((u) => /node_modules\/helia\//.test(u)))
    assert.ok(after.some((u) => /node_modules\/libp2p\//.test(u)))
  })
})
