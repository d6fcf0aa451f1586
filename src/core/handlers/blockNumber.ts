/** `eth_blockNumber`: the head tracker's agreed head, never backwards. */
import { beforeDeadline } from '../../shared/abort.ts'
import type { Handler } from '../engine.ts'
import { noHead } from './noHead.ts'

export const blockNumber: Handler = async (engine, { method, deadline, meta }) => {
  const { head } = engine
  const n = await beforeDeadline(head.blockNumber(), deadline, () => noHead(engine, method))
  return {
    result: `0x${n.toString(16)}`,
    // A head only one domain backs is no better than that domain.
    meta: meta({ consistency: head.confirmed() ? 'head' : 'degraded', block: head.peek()! }),
  }
}
