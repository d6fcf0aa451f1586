/** Reads the light-client fixtures (test/fixtures/light-client, see its README and MANIFEST.tsv). */
import { readFileSync } from 'node:fs'
import { uncompress } from 'snappyjs'

export const FIXTURES = new URL('../fixtures/light-client/', import.meta.url)

export function fixtureBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(path, FIXTURES)))
}

export function fixtureText(path: string): string {
  return readFileSync(new URL(path, FIXTURES), 'utf8')
}

export function fixtureJson(path: string): unknown {
  return JSON.parse(fixtureText(path))
}

/** A consensus-spec-tests `.ssz_snappy` file: snappy block format around SSZ. */
export function sszSnappy(path: string): Uint8Array {
  return uncompress(fixtureBytes(path))
}

/** The `KEY: value` lines of a spec-tests `config.yaml` (quotes stripped). */
export function configValues(path: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of fixtureText(path).split('\n')) {
    const m = /^([A-Z0-9_]+):\s*'?([^'#\s]*)'?/.exec(line)
    if (m) out[m[1] as string] = m[2] as string
  }
  return out
}

/** A `key: '0x…'` value of a spec-tests `meta.yaml` (flow or block style). */
export function metaValue(path: string, key: string): string {
  const m = new RegExp(`${key}:\\s*'(0x[0-9a-f]+)'`).exec(fixtureText(path))
  if (!m) throw new Error(`${path}: no ${key}`)
  return m[1] as string
}

export type HeaderCheck = { slot: number; beaconRoot: string; executionRoot: string }

export type SpecStep =
  | {
      kind: 'process_update'
      update: string
      currentSlot: number
      finalized: HeaderCheck
      optimistic: HeaderCheck
    }
  | { kind: 'force_update'; currentSlot: number; finalized: HeaderCheck; optimistic: HeaderCheck }

function headerCheck(text: string, name: string, where: string): HeaderCheck {
  const m = new RegExp(
    `${name}:[\\s{]*slot: (\\d+),?\\s*beacon_root: '(0x[0-9a-f]{64})',?\\s*execution_root: '(0x[0-9a-f]{64})'`,
  ).exec(text)
  if (!m) throw new Error(`${where}: no ${name} check`)
  return { slot: Number(m[1]), beaconRoot: m[2] as string, executionRoot: m[3] as string }
}

/**
 * The steps of a light_client/sync `steps.yaml`: only the two kinds these vectors hold
 * (`process_update`, `force_update`); anything else fails loudly rather than being skipped.
 */
export function specSteps(path: string): SpecStep[] {
  const text = fixtureText(path)
  return text
    .split(/^- /m)
    .filter((s) => s.trim() !== '')
    .map((s, i) => {
      const where = `${path} step ${i}`
      const slot = /current_slot: (\d+)/.exec(s)
      if (!slot) throw new Error(`${where}: no current_slot`)
      const finalized = headerCheck(s, 'finalized_header', where)
      const optimistic = headerCheck(s, 'optimistic_header', where)
      if (s.startsWith('process_update:')) {
        const update = /update: (update_0x[0-9a-f]+_[a-z]{2})/.exec(s)
        if (!update) throw new Error(`${where}: no update`)
        return {
          kind: 'process_update',
          update: update[1] as string,
          currentSlot: Number(slot[1]),
          finalized,
          optimistic,
        }
      }
      if (s.startsWith('force_update:'))
        return { kind: 'force_update', currentSlot: Number(slot[1]), finalized, optimistic }
      throw new Error(`${where}: unknown step ${s.split(':')[0]}`)
    })
}
