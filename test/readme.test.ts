/** The README stays true: its first commands, and its policy table against the code's (and the prover's). */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { it } from 'vitest'
import { execute } from '../src/execute/index.ts'
import { methodPolicies } from '../src/index.ts'
import { proofs } from '../src/proofs/index.ts'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))

it('the first lines give the demo and test commands, and they exist', () => {
  const head = readme.split('\n').slice(0, 6).join('\n')
  assert.match(head, /npm ci && npm run demo/)
  assert.match(head, /npm test/)
  assert.ok(pkg.scripts.demo && pkg.scripts.test)
  const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8')
  assert.match(ci, /npm ci/)
  assert.match(ci, /npm test/)
})

it('the method-policy table lists every method under its class', () => {
  const section = readme.split('## Method policies')[1]!.split('\n## ')[0]!
  const documented = new Map<string, string>()
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim())
    const cls = cells[1]
    if (!cls || cls === 'class' || cls.startsWith('---')) continue
    for (const m of cells[2]!.matchAll(/`([a-zA-Z0-9_]+)`/g)) documented.set(m[1]!, cls)
  }
  for (const [method, policy] of Object.entries(methodPolicies))
    assert.equal(documented.get(method), policy.class, `${method} in README`)
  for (const [method, cls] of documented)
    if (!method.endsWith('_')) assert.equal(methodPolicies[method]?.class, cls, `${method} in code`)
})

it('the method-policy table lists what outlast/proofs and outlast/execute prove, each under its class', () => {
  const section = readme.split('## Method policies')[1]!.split('\n## ')[0]!
  const proven = new Map<string, string>()
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim())
    const cls = cells[1]
    if (!cls || cls === 'class' || cls.startsWith('---') || cells[4] === undefined) continue
    for (const m of cells[4].matchAll(/`([a-zA-Z0-9_]+)`/g)) proven.set(m[1]!, cls)
  }
  const provers = [...proofs().methods, ...execute().methods]
  assert.deepEqual([...proven.keys()].sort(), provers.sort())
  for (const [method, cls] of proven)
    assert.equal(methodPolicies[method]?.class, cls, `${method} is proven under its own class`)
})
