/**
 * Checks for option values, shared by `createOutlast()`, `proofs()` and `execute()`. A bad value
 * is a `ConfigError` that names the factory and the option's full path, e.g.
 * `createOutlast(): breaker.cooldown must be an integer number of ms between 1 and 2147483647, got NaN.`
 * `undefined` is always accepted (the default applies where the option is read).
 */

import { clip } from '../shared/clip.ts'
import { ConfigError } from '../shared/errors.ts'

/** The longest delay a timer takes (2^31 − 1 ms); a longer one fires at once. */
export const MAX_TIMER = 2_147_483_647

/** What a numeric option accepts: `min` to `max` inclusive, whole numbers only if `integer`. */
export type NumberRule = { min: number; max: number; integer?: boolean; unit?: 'ms' }

/** A duration in whole milliseconds that a timer can take. */
export const ms = (min: number): NumberRule => ({ min, max: MAX_TIMER, integer: true, unit: 'ms' })

/** A whole number, by default up to the largest exact one. */
export const whole = (min: number, max = Number.MAX_SAFE_INTEGER): NumberRule => ({
  min,
  max,
  integer: true,
})

export function checkNumber(
  where: string,
  path: string,
  value: unknown,
  rule: NumberRule,
): number | undefined {
  if (value === undefined) return undefined
  if (
    typeof value !== 'number' ||
    !(value >= rule.min && value <= rule.max) ||
    (rule.integer && !Number.isInteger(value))
  ) {
    const kind = rule.integer
      ? `an integer${rule.unit ? ` number of ${rule.unit}` : ''}`
      : 'a number'
    throw new ConfigError(
      `${where}: ${path} must be ${kind} between ${rule.min} and ${rule.max}, got ${show(value)}.`,
    )
  }
  return value
}

export function checkBoolean(where: string, path: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  throw new ConfigError(`${where}: ${path} must be true or false, got ${show(value)}.`)
}

export function checkOneOf<T extends string>(
  where: string,
  path: string,
  value: unknown,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined || allowed.includes(value as T)) return value as T | undefined
  throw new ConfigError(
    `${where}: ${path} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${show(value)}.`,
  )
}

/**
 * A plain options object (not `null`, not an array) whose keys are all in `keys` (any key when
 * `keys` is omitted). `path` is `''` for a factory's own options.
 */
export function checkObject(
  where: string,
  path: string,
  value: unknown,
  keys?: readonly string[],
): Readonly<Record<string, unknown>> | undefined {
  if (value === undefined) return undefined
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError(
      `${where}: ${path || 'the options'} must be an object, got ${show(value)}.`,
    )
  if (keys)
    for (const key of Object.keys(value))
      if (!keys.includes(key))
        throw new ConfigError(
          `${where}: unknown option "${path ? `${path}.${key}` : key}" (known: ${keys.join(', ')}).`,
        )
  return value as Record<string, unknown>
}

/** A value as it appears in an error: strings quoted and cut short, bigints with `n`. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(clip(value, 41))
  if (typeof value === 'bigint') return `${value}n`
  if (
    value === null ||
    (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')
  )
    return String(value)
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}
