/**
 * Bounds on the shape of what a source (or a caller) sends: depth, keys per object, values per
 * answer. Checked with an explicit stack, before anything else reads the value, so that a
 * hostile body is that source's failure and never the host's stack overflow. Within these
 * bounds the rest of outlast may recurse (`canonical`, `structuredClone`).
 */
import { yieldToEventLoop } from '../shared/yield.ts'

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
 * Real objects have a few dozen keys; the widest maps a node sends (prestateTracer storage of
 * one contract, txpool_content) stay in the thousands. 500,000 values is more than a 16 MB
 * answer of logs holds (~300,000). Within these, sorting keys for agreement stays near 250 ms
 * for the largest answer a source can send.
 */
export const SHAPE_LIMITS: Readonly<ShapeLimits> = {
  maxDepth: 1_024,
  maxKeys: 10_000,
  maxNodes: 500_000,
}

/** Past this many values (or string characters) an answer is large: the event loop gets a turn. */
const LARGE = 100_000

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
  const { maxDepth, maxKeys, maxNodes } = limits
  // A lone string (most answers: a quantity, a hash, data) has nothing to walk.
  if (typeof value === 'string' && maxNodes > 0)
    return { reason: undefined, nodes: 1, chars: value.length }
  const shape: Shape = { reason: undefined, nodes: 0, chars: 0 }
  const stack: [node: object, depth: number][] = []
  const visit = (v: unknown, depth: number): string | undefined => {
    if (++shape.nodes > maxNodes) return `has more than ${maxNodes} values`
    if (typeof v === 'string') shape.chars += v.length
    else if (typeof v === 'object' && v !== null) {
      if (depth > maxDepth) return `is nested deeper than ${maxDepth} levels`
      stack.push([v, depth])
    } else if (typeof v !== 'number' && typeof v !== 'boolean' && v !== undefined && v !== null)
      return `holds a ${typeof v}, which is not JSON`
    return undefined
  }
  try {
    shape.reason = visit(value, 1)
    while (!shape.reason && stack.length > 0) {
      const [node, depth] = stack.pop()!
      if (Array.isArray(node)) {
        for (let i = 0; i < node.length && !shape.reason; i++)
          shape.reason = visit(node[i], depth + 1)
        continue
      }
      const keys = Object.keys(node)
      if (keys.length > maxKeys)
        shape.reason = `has an object with ${keys.length} keys (at most ${maxKeys})`
      for (let i = 0; i < keys.length && !shape.reason; i++) {
        shape.chars += keys[i]!.length
        shape.reason = visit((node as Record<string, unknown>)[keys[i]!], depth + 1)
      }
    }
  } catch (error) {
    // A getter or proxy that throws while being read is not JSON either.
    shape.reason = `is malformed (${error instanceof Error ? error.message : String(error)})`
  }
  return shape
}

/** Why `value` is out of bounds or not JSON, or undefined if it is fine. Never recurses. */
export function checkShape(value: unknown, limits: ShapeLimits = SHAPE_LIMITS): string | undefined {
  return measureShape(value, limits).reason
}

/**
 * `checkShape` for an answer about to be worked on: a large one (many values, long strings)
 * first lets the event loop turn, so that timers and other sources' answers are not starved.
 */
export async function screen(value: unknown): Promise<string | undefined> {
  const shape = measureShape(value)
  if (isLarge(shape)) await yieldToEventLoop()
  return shape.reason
}

/** Within bounds but large (many values, long strings): the event loop gets a turn first. */
export const isLarge = (shape: Shape): boolean =>
  !shape.reason && (shape.nodes > LARGE || shape.chars > 10 * LARGE)
