/**
 * Helpers of the secrets reviews (reviewOfClip*, reviewOfSecretsRound*): loopback nodes that
 * echo what they are sent into their errors, and a measure of how much of a secret survived.
 */
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createOutlast, type Source } from '../../src/index.ts'
import { CHAIN_ID } from '../helpers.ts'

/** Every run of `n` characters of `secret` that `text` holds (a part that survived). */
export const partsOf = (text: string, secret: string, n: number) => {
  const lower = text.toLowerCase()
  const found: string[] = []
  for (let i = 0; i + n <= secret.length; i++)
    if (lower.includes(secret.slice(i, i + n).toLowerCase())) found.push(secret.slice(i, i + n))
  return found
}

const servers: { close(): void }[] = []

/** Closes every server `serve` started (a file's `afterAll`). */
export function closeServers() {
  for (const s of servers.splice(0)) s.close()
}

/** A loopback server; `handler` decides every answer. */
export async function serve(
  handler: (req: IncomingMessage, body: string, res: ServerResponse) => void,
) {
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => {
      body += c.toString()
    })
    req.on('end', () => handler(req, body, res))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  servers.push({
    close: () => {
      server.closeAllConnections()
      server.close()
    },
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** A node that answers every call with a JSON-RPC error (`code`) whose message `say` writes. */
export const erroringNode = (
  say: (params: unknown[], req: IncomingMessage) => string,
  code = -32000,
) =>
  serve((req, body, res) => {
    const call = JSON.parse(body) as { id: number; params?: unknown[] }
    res.setHeader('content-type', 'application/json')
    res.end(
      JSON.stringify({
        jsonrpc: '2.0',
        id: call.id,
        error: { code, message: say(call.params ?? [], req) },
      }),
    )
  })

/** The error a call to `source` ends in (the test fails if it does not fail). */
export async function failureOf(source: Source, method: string, params: unknown[] = []) {
  const error = await source.request({ method, params }).then(
    () => undefined,
    (e: unknown) => e as Error & { details?: string },
  )
  assert.ok(error, 'the call did not fail: nothing tested')
  return error
}

/** A failed `eth_call`'s error: the quorum's answers as outlast shows them. */
export type FailedCall = Error & { answers: { source: string; answer: string }[] }

/**
 * Calls `eth_call` (a precompile: `to`, with `data`) through a fresh client over `sources`,
 * after a first read, and returns the error it must end in (the test fails if it does not),
 * with `shown`: its message and answers as one text, where no part of a secret may be.
 */
export async function failedCall(
  sources: Source[],
  { to = '0x0000000000000000000000000000000000000001', data = '0x' } = {},
): Promise<{ error: FailedCall; shown: string }> {
  const rpc = createOutlast({ chainId: CHAIN_ID, sources })
  try {
    await rpc.request({ method: 'eth_blockNumber' })
    const error = await rpc.request({ method: 'eth_call', params: [{ to, data }, 'latest'] }).then(
      () => undefined,
      (e: unknown) => e as FailedCall,
    )
    assert.ok(error?.answers, `eth_call did not fail with answers: nothing tested (${error})`)
    return { error, shown: `${error.message}\n${JSON.stringify(error.answers)}` }
  } finally {
    await rpc.close()
  }
}
