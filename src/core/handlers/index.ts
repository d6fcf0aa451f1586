/**
 * The request handlers, one per policy class (src/core/policy.ts). Those of classes only some
 * dApps use (fee medians, sends) load with their first request: a dApp that only reads never
 * carries them.
 */
import type { Handler } from '../engine.ts'
import type { PolicyClass } from '../policy.ts'
import { blockNumber } from './blockNumber.ts'
import { staticAnswer, subscription, unsupported } from './local.ts'
import { read } from './read.ts'

/** A handler whose code loads on its first request. */
const onFirstUse =
  (load: () => Promise<Handler>): Handler =>
  async (engine, call) =>
    (await load())(engine, call)

export const handlers: Readonly<Record<PolicyClass, Handler>> = {
  static: staticAnswer,
  head: blockNumber,
  median: onFirstUse(async () => (await import('./fees.ts')).fees),
  verified: read,
  quorum: read,
  single: read,
  broadcast: onFirstUse(async () => (await import('./send.ts')).send),
  subscription,
  unsupported,
}
