/** The request handlers, one per policy class (src/core/policy.ts). */
import type { Handler } from '../engine.ts'
import type { PolicyClass } from '../policy.ts'
import { blockNumber } from './blockNumber.ts'
import { fees } from './fees.ts'
import { staticAnswer, subscription, unsupported } from './local.ts'
import { read } from './read.ts'
import { send } from './send.ts'

export const handlers: Readonly<Record<PolicyClass, Handler>> = {
  static: staticAnswer,
  head: blockNumber,
  median: fees,
  verified: read,
  quorum: read,
  single: read,
  broadcast: send,
  subscription,
  unsupported,
}
