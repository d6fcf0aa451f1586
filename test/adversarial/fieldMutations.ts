/**
 * Well-formed field mutations of an honest JSON-RPC answer, for the field sweep
 * (fieldSweep.test.ts): each changes exactly one thing to another value of the same type.
 */

export type Path = readonly (string | number)[]

export type Mutation = {
  /** `transactions.1.value +1`: where, and what was done. */
  name: string
  apply: (answer: unknown) => unknown
}

const clone = <T>(v: T): T => structuredClone(v)

/** A copy of `root` with the value at `path` replaced by `f(old)` (`undefined`: key removed). */
export function edit(root: unknown, path: Path, f: (old: unknown) => unknown): unknown {
  if (path.length === 0) return f(clone(root))
  const out = clone(root) as Record<string | number, unknown>
  let at = out
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>
  const last = path[path.length - 1]!
  const next = f(at[last])
  if (next === undefined && !Array.isArray(at)) delete at[last]
  else at[last] = next
  return out
}

const QUANTITY = /^0x(0|[1-9a-f][0-9a-f]*)$/i
const HEX = /^0x[0-9a-f]*$/i
/** Fields spelled as quantities whose length would make them look like data. */
const DATA_KEYS = new Set(['nonce']) // a header's 8-byte nonce is data

/** The last hex digit changed (an empty `0x` becomes one byte). */
export const flipNibble = (s: string) => {
  if (s === '0x') return '0x00'
  const c = s[s.length - 1]!.toLowerCase()
  return `${s.slice(0, -1)}${c === '0' ? '1' : '0'}`
}
const plus = (s: string, d: bigint) => `0x${(BigInt(s) + d).toString(16)}`

const isQuantity = (key: string | number | undefined, s: string) =>
  QUANTITY.test(s) && s.length < 42 && !(typeof key === 'string' && DATA_KEYS.has(key))

/** Mutations of one leaf value (its key tells quantities from data where needed). */
function leafMutations(
  key: string | number | undefined,
  v: unknown,
): [string, (old: unknown) => unknown][] {
  if (typeof v === 'boolean') return [['flipped', (o) => !o]]
  if (typeof v === 'number') return [['+1', (o) => (o as number) + 1]]
  if (typeof v !== 'string' || !HEX.test(v)) return []
  const out: [string, (old: unknown) => unknown][] = []
  if (isQuantity(key, v)) {
    out.push(['+1', (o) => plus(o as string, 1n)])
    if (BigInt(v) > 0n) out.push(['-1', (o) => plus(o as string, -1n)])
  } else out.push(['nibble', (o) => flipNibble(o as string)])
  // An address or hash in upper case: the spec's hex is one spelling (lower case).
  if ((v.length === 42 || v.length === 66) && /[a-f]/.test(v))
    out.push(['upper case', (o) => `0x${(o as string).slice(2).toUpperCase()}`])
  return out
}

export type Options = {
  /** In arrays of objects (transactions, logs, receipts), mutate the fields of this item only. */
  item?: (array: Path, length: number) => number
  /** Paths not to mutate inside (e.g. `hash`, whose change is another lookup). */
  skip?: (path: Path) => boolean
  /** Also remove each object field, and add one extra field. @default true */
  shape?: boolean
}

/** Every mutation of `answer`: leaves changed, array items dropped, duplicated, reordered, fields removed or added. */
export function mutations(answer: unknown, o: Options = {}): Mutation[] {
  const out: Mutation[] = []
  const shape = o.shape ?? true
  const walk = (v: unknown, path: Path) => {
    if (o.skip?.(path)) return
    const at = path.join('.') || '(answer)'
    const key = path[path.length - 1]
    for (const [what, f] of leafMutations(key, v))
      out.push({ name: `${at} ${what}`, apply: (a) => edit(a, path, f) })
    if (Array.isArray(v)) {
      if (v.length > 0) {
        out.push({
          name: `${at} first item dropped`,
          apply: (a) => edit(a, path, (x) => (x as unknown[]).slice(1)),
        })
        out.push({
          name: `${at} first item duplicated`,
          apply: (a) => edit(a, path, (x) => [(x as unknown[])[0], ...(x as unknown[])]),
        })
      }
      if (v.length > 1) {
        out.push({
          name: `${at} last item dropped`,
          apply: (a) => edit(a, path, (x) => (x as unknown[]).slice(0, -1)),
        })
        out.push({
          name: `${at} reversed`,
          apply: (a) => edit(a, path, (x) => [...(x as unknown[])].reverse()),
        })
      }
      const objects = v.length > 0 && v.every((x) => x && typeof x === 'object')
      if (objects) {
        const i = o.item?.(path, v.length) ?? v.length - 1
        walk(v[i], [...path, i])
      } else for (const [i, x] of v.entries()) walk(x, [...path, i])
      return
    }
    if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (shape && !o.skip?.([...path, k]))
          out.push({
            name: `${[...path, k].join('.')} removed`,
            apply: (a) => edit(a, [...path, k], () => undefined),
          })
        walk(x, [...path, k])
      }
      if (shape)
        out.push({
          name: `${at} extra field`,
          apply: (a) =>
            edit(a, path, (x) => ({ ...(x as object), isSystemTx: true, l1Fee: '0x1' })),
        })
    }
  }
  walk(answer, [])
  return out
}
