/**
 * Bounds on the shape of what a source sends (depth, width, size), checked without recursion, so
 * that a hostile body is that source's failure and never the host's stack overflow or a stalled
 * event loop.
 */
import { precompute } from './canonical.ts'

/** Limits on one value from a source. */
export type ShapeLimits = {
  /** Deepest nesting of arrays and objects (a top-level object is depth 1). */
  maxDepth: number
  /** Most keys in one object. */
  maxKeys: number
  /** Most values in one answer, containers and leaves together. */
  maxNodes: number
}

/**
 * Real answers nest under 10 levels; a callTracer trace nests 2 levels per call frame, and gas
 * (EIP-150's 63/64 rule) keeps real call depth to a few hundred frames. 1,024 levels leaves room
 * for ~500 nested calls while staying well inside what recursive JSON tools in the host can take
 * (Node 22: `structuredClone` overflows at ~2,150 levels, `JSON.stringify` at ~4,100).
 * The widest real maps (prestateTracer storage of one contract, txpool_content) stay under ~15k
 * keys. 1M values is ~3x a 16 MB answer of logs; anything larger is beyond every byte budget.
 */
export const SHAPE_LIMITS: Readonly<ShapeLimits> = {
  maxDepth: 1_024,
  maxKeys: 20_000,
  maxNodes: 1_000_000,
}

/**
 * Past these sizes an answer is large: the event loop gets a turn, and its canonical form is
 * worked out in slices, before the engine works on it.
 */
const LARGE_NODES = 100_000
const LARGE_CHARS = 1_000_000

export type Shape = {
  /** Why the value is out of bounds or not JSON, or undefined. */
  reason: string | undefined
  /** Values seen (all of them when within bounds). */
  nodes: number
  /** Characters in the strings and keys seen. */
  chars: number
}

/** Walks `value` with an explicit stack; stops at the first limit passed. */
export function measureShape(value: unknown, limits: ShapeLimits = SHAPE_LIMITS): Shape {
  const steps = walk(value, limits)
  for (;;) {
    const r = steps.next()
    if (r.done) return r.value
  }
}

/** Why `value` is out of bounds or not JSON, or undefined if it is fine. Never recurses. */
export function checkShape(value: unknown, limits: ShapeLimits = SHAPE_LIMITS): string | undefined {
  return measureShape(value, limits).reason
}

/**
 * Checks a value from a source in slices of `SLICE_MS`, letting the event loop turn between
 * them: returns why it is out of bounds, or else why `check` (run once it is safe to read)
 * refuses it, or undefined. A large value that passes both also has its `canonical` form worked
 * out in slices, ready for the engine (unless `signal` was aborted meanwhile).
 */
export async function screen(
  value: unknown,
  signal?: AbortSignal,
  check?: (value: unknown) => string | undefined,
): Promise<string | undefined> {
  const shape = await sliced(walk(value, SHAPE_LIMITS))
  const reason = shape.reason ?? check?.(value)
  if (reason || (shape.nodes <= LARGE_NODES && shape.chars <= LARGE_CHARS)) return reason
  await yieldToEventLoop()
  if (!signal?.aborted) await sliced(precompute(value))
  return undefined
}

/**
 * Lets the event loop turn: due timers first, then pending I/O (Node's `setImmediate`, after the
 * poll phase), before the caller goes on. Browsers have no `setImmediate`; a timer yields there.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) =>
    setTimeout(() => (typeof setImmediate === 'function' ? setImmediate(resolve) : resolve()), 0),
  )
}

/** Runs a generator, letting the event loop turn whenever a slice of `SLICE_MS` is used up. */
export async function sliced<T>(steps: Generator<void, T>): Promise<T> {
  let start = performance.now()
  for (;;) {
    const r = steps.next()
    if (r.done) return r.value
    if (performance.now() - start >= SLICE_MS) {
      await yieldToEventLoop()
      start = performance.now()
    }
  }
}

/** Longest stretch of work on one value before the event loop gets a turn. */
const SLICE_MS = 15
/** Values visited between two pauses of the walk. */
const STEP = 4_096

function* walk(value: unknown, limits: ShapeLimits): Generator<void, Shape> {
  const { maxDepth, maxKeys, maxNodes } = limits
  const shape: Shape = { reason: undefined, nodes: 0, chars: 0 }
  // Containers waiting to be walked, each with its depth.
  const stack: object[] = []
  const depths: number[] = []
  const tooMany = `has more than ${maxNodes} values`
  // Counts a leaf, or queues a container; returns a reason to stop.
  const visit = (v: unknown, depth: number): string | undefined => {
    if (++shape.nodes > maxNodes) return tooMany
    switch (typeof v) {
      case 'string':
        shape.chars += v.length
        return undefined
      case 'number':
      case 'boolean':
      case 'undefined':
        return undefined
      case 'object':
        if (v === null) return undefined
        if (depth > maxDepth) return `is nested deeper than ${maxDepth} levels`
        stack.push(v)
        depths.push(depth)
        return undefined
      default:
        return `holds a ${typeof v}, which is not JSON`
    }
  }
  try {
    shape.reason = visit(value, 1)
    let work = 0
    while (!shape.reason && stack.length > 0) {
      if (work > STEP) {
        work = 0
        yield
      }
      const node = stack.pop() as Record<string, unknown>
      const depth = (depths.pop() as number) + 1
      if (Array.isArray(node)) {
        work += node.length
        if (shape.nodes + node.length > maxNodes) shape.reason = tooMany
        for (let i = 0; i < node.length && !shape.reason; i++) shape.reason = visit(node[i], depth)
      } else {
        const keys = Object.keys(node)
        work += keys.length
        if (keys.length > maxKeys)
          shape.reason = `has an object with ${keys.length} keys (at most ${maxKeys})`
        else if (shape.nodes + keys.length > maxNodes) shape.reason = tooMany
        for (let i = 0; i < keys.length && !shape.reason; i++) {
          const key = keys[i] as string
          shape.chars += key.length
          shape.reason = visit(node[key], depth)
        }
      }
    }
  } catch (error) {
    // A getter or proxy that throws (an in-process source): malformed, not our crash.
    shape.reason = `is malformed (${error instanceof Error ? error.message : String(error)})`
  }
  return shape
}
