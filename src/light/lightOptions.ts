/** `light()`'s options, checked at construction (a ConfigError names the option), with their defaults. */
import { type Clock, realClock } from '../core/clock.ts'
import { ConfigError } from '../shared/errors.ts'
import { WEAK_SUBJECTIVITY_SECONDS } from './checkpoint.ts'
import { mainnet } from './forks.ts'
import type { LightOptions } from './light.ts'

export type LightSettings = Required<
  Pick<LightOptions, 'sources' | 'config' | 'strict' | 'maxCheckpointAge' | 'lieCooloff' | 'vouch'>
> &
  Pick<LightOptions, 'checkpoint' | 'storage' | 'verifier'> & { clock: Clock }

export function lightSettings(options: LightOptions): LightSettings {
  const {
    sources,
    config = mainnet,
    clock = realClock,
    strict = false,
    storage,
    maxCheckpointAge = WEAK_SUBJECTIVITY_SECONDS,
    lieCooloff = 60_000,
    vouch = 'optimistic',
    verifier,
    checkpoint,
  } = options
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new ConfigError(`light: ${what}`)
  }
  check(
    Array.isArray(sources) && sources.length > 0,
    'sources must list at least one light-client source',
  )
  check(new Set(sources.map((s) => s.name)).size === sources.length, 'source names must be unique')
  check(
    config.genesisTime !== undefined,
    `config ${config.name} has no genesisTime: the clock cannot be read as a slot`,
  )
  check(
    checkpoint === undefined || /^0x[0-9a-fA-F]{64}$/.test(checkpoint),
    `checkpoint must be a 32-byte 0x-hex beacon block root, got ${JSON.stringify(checkpoint)}`,
  )
  check(
    vouch === 'optimistic' || vouch === 'finalized',
    `vouch must be 'optimistic' or 'finalized', got ${JSON.stringify(vouch)}`,
  )
  check(
    verifier === undefined || typeof verifier?.verifySyncAggregate === 'function',
    'verifier must be a BlsVerifier: nobleVerifier(), or await fastestVerifier() / blstVerifier()',
  )
  check(
    Number.isFinite(maxCheckpointAge) && maxCheckpointAge > 0,
    `maxCheckpointAge must be seconds > 0, got ${maxCheckpointAge}`,
  )
  return {
    sources,
    config,
    clock,
    strict,
    maxCheckpointAge,
    lieCooloff,
    vouch,
    ...(checkpoint === undefined ? {} : { checkpoint }),
    ...(storage === undefined ? {} : { storage }),
    ...(verifier === undefined ? {} : { verifier }),
  }
}
