/**
 * `eth_blockNumber`: the head tracker's agreed head, never below a confirmed one returned before
 * (a height one domain alone backed, `degraded`, is no floor); with only untrusted sources, the
 * light client's newest verified block. Under `onQuorumLoss: 'fail'`, a height no second domain
 * confirms is a QuorumLostError.
 */
import { beforeDeadline } from '../../shared/abort.ts'
import { QuorumLostError } from '../../shared/errors.ts'
import type { Handler } from '../engine.ts'
import { noHead } from './noHead.ts'

export const blockNumber: Handler = async (engine, c) => {
  const { method, deadline, meta } = c
  const { head } = engine
  // No trusted source to poll: the light client's newest verified block is the head.
  if (engine.config.lightOnly) {
    const t = await beforeDeadline(
      engine.trust!().then((trust) => trust.latest()),
      deadline,
      () => noHead(engine, c),
    )
    if (!t) throw noHead(engine, c)
    return {
      result: `0x${t.number.toString(16)}`,
      meta: meta({ consistency: 'verified', block: { number: t.number, hash: t.hash } }),
    }
  }
  const [n, confirmed] = await beforeDeadline(head.blockNumber(), deadline, () => noHead(engine, c))
  // One domain's height is quorum lost: under `onQuorumLoss: 'fail'`, not returned (flagged).
  if (!confirmed && engine.config.onQuorumLoss === 'fail')
    throw new QuorumLostError(
      `Quorum lost for ${method}: no second domain confirms the head and onQuorumLoss is 'fail'.`,
    )
  return {
    result: `0x${n.toString(16)}`,
    // A head only one domain backs is no better than that domain.
    meta: meta({ consistency: confirmed ? 'head' : 'degraded', block: head.peek()! }),
  }
}
