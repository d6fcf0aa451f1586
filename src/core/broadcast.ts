import { keccak256 } from 'ox/Hash'
import { AllSourcesFailedError, BaseError, RpcResponseError, SourceError } from './errors.ts'
import type { SourceState } from './sourceState.ts'
import type { Hex } from './types.ts'

export type BroadcastOutcome = {
  hash: Hex
  source: string
  outcome: 'accepted' | 'known' | 'rejected' | 'failed'
  reason?: string
}

const KNOWN =
  /already known|known transaction|already imported|already exists|alreadyknown|already in (the )?(mem)?pool|tx already/i

/**
 * `eth_sendRawTransaction`: send to every target at once, compute the hash locally (for a blob
 * transaction in network form, the hash of its body: `rawTransactionHash`), and return
 * it once any source accepted the transaction or said it already has it. A rejection that every
 * answering source gives (nonce too low, insufficient funds) is returned as that error.
 */
export async function broadcast(
  raw: unknown,
  targets: readonly SourceState[],
  send: (s: SourceState, signal: AbortSignal) => Promise<unknown>,
  deadline: number,
  report: (o: BroadcastOutcome) => void,
): Promise<{ hash: Hex; accepted: string[] }> {
  if (typeof raw !== 'string' || !/^0x([0-9a-fA-F]{2})+$/.test(raw))
    throw new RpcResponseError('outlast', {
      code: -32602,
      message: 'eth_sendRawTransaction needs one hex string: the signed transaction',
    })
  let hash: Hex
  try {
    // Only a blob transaction (type 3) needs decoding: its decoder loads when one is sent.
    hash = raw.startsWith('0x03')
      ? (await import('../verify/rawTransaction.ts')).rawTransactionHash(raw as Hex)
      : keccak256(raw as Hex)
  } catch (error) {
    const message = error instanceof BaseError ? error.shortMessage : String(error)
    throw new RpcResponseError('outlast', { code: -32602, message })
  }
  const signal = AbortSignal.timeout(Math.max(0, deadline - Date.now()))

  return new Promise((resolve, reject) => {
    const accepted: string[] = []
    const rejections: RpcResponseError[] = []
    const failures: { source: string; reason: string }[] = []
    let pending = targets.length
    let done = false
    if (pending === 0) return reject(new AllSourcesFailedError('eth_sendRawTransaction', []))

    const outcome = (s: SourceState, o: Omit<BroadcastOutcome, 'hash' | 'source'>) => {
      report({ hash, source: s.name, ...o })
      if (o.outcome === 'accepted' || o.outcome === 'known') {
        accepted.push(s.name)
        if (!done) {
          done = true
          resolve({ hash, accepted })
        }
      }
      if (--pending > 0 || done) return
      done = true
      const first = rejections[0]
      if (first && rejections.every((r) => sameRejection(r, first))) return reject(first)
      reject(new AllSourcesFailedError('eth_sendRawTransaction', failures))
    }

    for (const s of targets) {
      send(s, signal).then(
        (answer) => {
          if (typeof answer === 'string' && answer.toLowerCase() === hash)
            return outcome(s, { outcome: 'accepted' })
          const reason = `answered hash ${String(answer)}, computed ${hash}`
          failures.push({ source: s.name, reason })
          outcome(s, { outcome: 'failed', reason })
        },
        (error: unknown) => {
          const message = error instanceof BaseError ? error.shortMessage : String(error)
          if (error instanceof RpcResponseError && KNOWN.test(message))
            return outcome(s, { outcome: 'known', reason: message })
          const reason = message.replace(`${s.name}: `, '')
          failures.push({ source: s.name, reason })
          if (
            error instanceof RpcResponseError &&
            !(error instanceof SourceError && error.kind !== 'rpc')
          ) {
            rejections.push(error)
            return outcome(s, { outcome: 'rejected', reason })
          }
          outcome(s, { outcome: 'failed', reason })
        },
      )
    }
  })
}

/** Two nodes reject for the same reason when code and message agree (ignoring the source name). */
function sameRejection(a: RpcResponseError, b: RpcResponseError): boolean {
  const strip = (e: RpcResponseError) => e.shortMessage.replace(`${e.source}: `, '').toLowerCase()
  return a.code === b.code && strip(a) === strip(b)
}
