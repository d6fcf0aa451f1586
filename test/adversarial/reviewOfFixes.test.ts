/**
 * Attacker review of the last fixes (a634bd5..HEAD): the holes found in them, both a key echoed
 * by its own source surviving a cut that came before the scrub. Each failed on the code before
 * the fix, for the hole's own reason. The fix was then a cut-off pattern in the scrubber; it is
 * now `clip` (shared/clip.ts) at every cut, since the pattern was an oracle for a key's start.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type OutlastEvents } from '../../src/index.ts'
import { CHAIN_ID, resetLab, threeDomains, transfers } from '../helpers.ts'
import { type Lab, startLab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'

/** Every run of `n` characters of `key` that `text` holds (a part of the key that survived). */
const partsOf = (text: string, key: string, n: number) => {
  const lower = text.toLowerCase()
  const found: string[] = []
  for (let i = 0; i + n <= key.length; i++)
    if (lower.includes(key.slice(i, i + n))) found.push(key.slice(i, i + n))
  return found
}

describe('with the lab', () => {
  let lab: Lab
  beforeAll(async () => {
    lab = await startLab({
      blockTime: 0,
      sources: [...threeDomains, { name: 'liar', domain: 'liar-host', latency: 0 }],
    })
  })
  afterAll(() => lab.stop())
  const { sign, nonceNext } = transfers(() => lab.anvil)

  // Correct: no usable part of a configured secret reaches anything outlast emits (DESIGN.md:
  // secrets scrubbed "including node messages that echo it"; commit 3ef9669: "also inside a
  // quoted answer"): not QuorumError's message or `answers`, not the `disagreement` event.
  // Before, src/core/fanOut.ts `show` cut an answer to 1,024 characters, scrubs that, then cuts to
  // 80, "so that no part of it survives the cut": but scrubbing SHRINKS the text (each whole key
  // becomes `…`). An answer that is the key 33 times, cut at 1,023 inside the 32nd copy, is
  // scrubbed to `0x` + 31 `…` + the key's first 29 characters, inside the 80 shown: 29 of 32
  // hex digits (4,096 guesses from the whole key). Fix: scrub the whole text before any cut (it
  // is bounded by maxResponseBytes), or after scrubbing the 1,024 window drop a trailing run
  // that is a prefix of a secret (the scrubber can offer `text(t, { cut: true })`).
  it('an answer that shrinks when scrubbed: no 24-digit part of the key in QuorumError', async () => {
    await resetLab(lab)
    const KEY = '7d3e9a41c0b25f86e1a4d9c37b20f5e8'
    const keyed = http(`${lab.proxy('liar').url}/v3/${KEY}`, { name: 'keyed', domain: 'liar-host' })
    const echoing = hostile(keyed, async (method, _params, answer) => {
      if (method !== 'eth_call') return answer()
      return `0x${KEY.repeat(33)}`
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [echoing, ...labSources(lab, ['aws'])],
    })
    const disagreements: unknown[] = []
    rpc.on('disagreement', (e) => disagreements.push(e))
    try {
      await rpc.request({ method: 'eth_blockNumber' })
      const error = (await rpc
        .request({
          method: 'eth_call',
          params: [{ to: '0x0000000000000000000000000000000000000001', data: '0x' }, 'latest'],
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        )) as (Error & { answers?: unknown }) | undefined
      assert.ok(error, 'eth_call did not fail: nothing tested')
      const shown = `${error.message}\n${JSON.stringify(error.answers)}\n${JSON.stringify(disagreements)}`
      assert.ok(!shown.toLowerCase().includes(KEY), 'the whole key (control)')
      const parts = partsOf(shown, KEY, 24)
      assert.deepEqual(parts, [], `part of the key is shown: ${shown}`)
    } finally {
      await rpc.close()
    }
  })

  // Correct: as above. Before, a field a source fills with something that is not hex is quoted in
  // the rejection cut to 80 characters (src/verify/fields.ts `malformed`: `value.slice(0, 80)`)
  // and only then scrubbed (sourcePool.ts `markLying` → `redact`, requestWithMeta.ts
  // `scrubbed`): the scrubber knows the whole key only, so a transaction whose
  // `accessList[0].address` is `0x` + 47 x's + the key puts the key's first 31 of 32 digits in
  // the `lie` event and status().lastError (src/verify/errors.ts `show` cuts the same way). Fix: redact before cutting
  // (`malformed`/`show` in src/verify, `preview`), i.e. cut only text that was scrubbed whole; or
  // have `redact` also remove any tail that is a prefix (>= 8 chars) of a secret.
  it('a malformed field cut at 80 characters: no 24-digit part of the key in the lie event or status()', async () => {
    await resetLab(lab)
    const KEY = '7d3e9a41c0b25f86e1a4d9c37b20f5e8'
    const keyed = http(`${lab.proxy('liar').url}/v3/${KEY}`, { name: 'keyed', domain: 'liar-host' })
    const echoing = hostile(keyed, async (method, _params, answer) => {
      const tx = (await answer()) as Record<string, unknown> | null
      if (method !== 'eth_getTransactionByHash' || !tx) return tx
      // 0x + 47 filler + the key: the cut at 80 keeps the key's first 31 digits.
      return { ...tx, accessList: [{ address: `0x${'x'.repeat(47)}${KEY}`, storageKeys: [] }] }
    })
    const raw = await sign(await nonceNext())
    const hash = await lab.anvil.rpc<string>('eth_sendRawTransaction', [raw])
    await lab.anvil.rpc('evm_mine')
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [echoing, ...labSources(lab, ['aws'])],
    })
    const lies: OutlastEvents['lie'][] = []
    rpc.on('lie', (e) => lies.push(e))
    try {
      await rpc.request({ method: 'eth_blockNumber' })
      const error = await rpc.request({ method: 'eth_getTransactionByHash', params: [hash] }).then(
        () => undefined,
        (e: unknown) => e as Error,
      )
      assert.ok(lies.length > 0, 'the liar was not asked: nothing tested')
      const shown = `${JSON.stringify(lies)}\n${JSON.stringify(rpc.status().sources)}\n${error?.message ?? ''}`
      assert.ok(!shown.toLowerCase().includes(KEY), 'the whole key (control)')
      assert.deepEqual(partsOf(shown, KEY, 24), [], `part of the key is shown: ${shown}`)
    } finally {
      await rpc.close()
    }
  })
})
