/**
 * A stable string for an answer, so that answers from different nodes can be compared:
 * object keys sorted, hex strings lower-cased. Errors that every node gives (reverts) are keyed
 * by their code and data, so that honest nodes agree on them too.
 *
 * No recursion: the value is normalized with an explicit stack, then written by the native
 * `JSON.stringify` when it is shallow enough for it (`NATIVE_DEPTH`), else by `write`. A cycle
 * throws a TypeError, as in `JSON.stringify`. A large answer may be `precompute`d in steps
 * first, so that the engine's own call finds it ready.
 */
export function canonical(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    const ready = computed.get(value)
    if (ready !== undefined) return ready
  }
  const { tree, depth } = drain(normalize(value))
  const text = depth <= NATIVE_DEPTH ? JSON.stringify(tree) : drain(write(tree, Infinity, all))
  return text ?? String(value)
}

/**
 * `canonical(value)` worked out in small steps (a generator: the driver may let the event loop
 * turn between steps), kept for the `canonical(value)` calls of the current turn only.
 */
export function* precompute(value: unknown): Generator<void, void> {
  if (typeof value !== 'object' || value === null) return
  const big = new Set<object>()
  const { tree, depth } = yield* normalize(value, big)
  if (depth > NATIVE_DEPTH) return // never for a checked answer; `canonical` copes alone
  const text = yield* write(tree, Infinity, (v) => big.has(v))
  computed.set(value, text)
  // Dropped at the next turn: a value changed later must not find a stale text.
  setTimeout(() => computed.delete(value), 0)
}

/** A short form of an answer for error messages and events; a large answer is not all written. */
export function preview(value: unknown, max = 80): string {
  const text = typeof value === 'string' ? value : drain(write(value, max, all))
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/**
 * Depth up to which the native `JSON.stringify` runs (as deep as answers may be, `SHAPE_LIMITS`);
 * Node 22 overflows its stack at ~4,100 levels, or ~3,500 when called 2,000 frames deep.
 */
const NATIVE_DEPTH = 1_024
/** Past this depth the normalizer tracks open containers, to find a cycle. */
const CYCLE_CHECK_DEPTH = 1_024
/** Containers of more values than this are written in steps by `precompute`. */
const CHUNK = 50_000
/** Values handled between two pauses of a generator. */
const STEP = 4_096

const computed = new WeakMap<object, string>()
const all = () => true

/** Runs a generator to its end at once. */
function drain<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next()
    if (r.done) return r.value
  }
}

type Frame = {
  src: Record<string, unknown>
  dst: Record<string, unknown>
  keys: string[] | undefined
  i: number
  /** Values in the container, itself included (counted when `big` is asked for). */
  size: number
}

const lower = (v: unknown) => (typeof v === 'string' && v.startsWith('0x') ? v.toLowerCase() : v)

/**
 * A copy of `value` with keys sorted and hex lower-cased, and its depth; `big` collects the
 * copied containers of more than `CHUNK` values.
 */
function* normalize(
  value: unknown,
  big?: Set<object>,
): Generator<void, { tree: unknown; depth: number }> {
  if (typeof value !== 'object' || value === null) return { tree: lower(value), depth: 0 }
  const stack: Frame[] = []
  // Containers open deeper than CYCLE_CHECK_DEPTH: a real tree that deep is rare, a cycle
  // goes on forever and shows up here within one turn.
  const deepOpen = new Set<object>()
  let depth = 0
  const open = (src: object): Frame => {
    if (stack.length >= CYCLE_CHECK_DEPTH) {
      if (deepOpen.has(src)) throw new TypeError('canonical: cyclic structure')
      deepOpen.add(src)
    }
    const keys = Array.isArray(src) ? undefined : Object.keys(src).sort()
    const dst = keys ? {} : new Array((src as unknown[]).length)
    const f = {
      src: src as Record<string, unknown>,
      dst: dst as Record<string, unknown>,
      keys,
      i: 0,
      size: 1,
    }
    stack.push(f)
    if (stack.length > depth) depth = stack.length
    work += keys ? keys.length : 1
    return f
  }
  let work = 0
  const root = open(value)
  while (stack.length > 0) {
    if (work > STEP) {
      work = 0
      yield
    }
    const f = stack[stack.length - 1] as Frame
    const { src, dst, keys } = f
    const n = keys ? keys.length : (src as unknown as unknown[]).length
    let opened = false
    // Leaves are copied in place; the first container met is opened and walked first.
    while (f.i < n && !opened && work <= STEP) {
      const key = keys ? (keys[f.i] as string) : f.i
      f.i++
      const v = src[key]
      if (typeof v === 'object' && v !== null) {
        dst[key] = open(v).dst
        opened = true
      } else {
        dst[key] = lower(v)
        f.size++
        work++
      }
    }
    if (opened || f.i < n) continue // a child first, or a pause
    if (stack.length > CYCLE_CHECK_DEPTH) deepOpen.delete(src)
    stack.pop()
    const parent = stack[stack.length - 1]
    if (parent) parent.size += f.size
    if (big && f.size > CHUNK) big.add(dst)
  }
  return { tree: root.dst, depth }
}

/**
 * `JSON.stringify` with an explicit stack. Containers for which `descend` is true are written
 * here, the others by the native `JSON.stringify`. Stops once the text is longer than `budget`
 * (then cut, not valid JSON). Follows no `toJSON`.
 */
function* write(
  value: unknown,
  budget: number,
  descend: (v: object) => boolean,
): Generator<void, string> {
  if (typeof value !== 'object' || value === null || !descend(value))
    return JSON.stringify(value) ?? String(value)
  const pieces: string[] = []
  let length = 0
  const put = (piece: string) => {
    pieces.push(piece)
    length += piece.length
  }
  const stack: {
    node: Record<string, unknown>
    keys: string[] | undefined
    i: number
    any: boolean
  }[] = []
  let next: object | undefined = value
  let work = 0
  while (next || stack.length > 0) {
    if (next) {
      const keys = Array.isArray(next) ? undefined : Object.keys(next)
      put(keys ? '{' : '[')
      stack.push({ node: next as Record<string, unknown>, keys, i: 0, any: false })
      next = undefined
    }
    const f = stack[stack.length - 1] as (typeof stack)[number]
    const n = f.keys ? f.keys.length : (f.node as unknown as unknown[]).length
    while (f.i < n && !next && length <= budget) {
      if (work > STEP) {
        work = 0
        yield
      }
      const key = f.keys ? (f.keys[f.i] as string) : f.i
      const v = f.node[key]
      f.i++
      const inline = typeof v === 'object' && v !== null && descend(v)
      const text = inline ? undefined : JSON.stringify(v)
      // A container written natively may hold up to CHUNK values.
      work += typeof v === 'object' && v !== null && !inline ? STEP : 1
      if (f.keys && !inline && text === undefined) continue // JSON leaves out such keys
      if (f.any) put(',')
      f.any = true
      if (f.keys) put(`${JSON.stringify(key)}:`)
      if (inline) next = v as object
      else put(text ?? 'null') // as JSON writes such array items
    }
    if (length > budget) break
    if (next) continue
    put(f.keys ? '}' : ']')
    stack.pop()
  }
  return pieces.join('')
}
