/**
 * The relay's line to its operator's node: JSON-RPC over HTTP, the body passed through as the
 * node wrote it (a peer gets the node's own answer, errors included), bounded in time and bytes.
 * Node's own `http` with a keep-alive agent: the relay runs in Node only, and on this hop, which
 * every call takes, it costs half the CPU of `fetch`. The node's URL may hold a key: it never
 * appears in what the relay says to peers or prints.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { SourceError, type SourceFailureKind } from '../../shared/errors.ts'

/** Posts a JSON-RPC payload; resolves with the node's answer as JSON text (`json` parses it). */
export type NodeClient = {
  text(payload: unknown): Promise<string>
  json(payload: unknown): Promise<unknown>
  /** Closes the kept-alive connections. */
  close(): void
}

/**
 * A client with its own connections to the node: at most `sockets` at once (more calls wait for
 * one), so that what one client has in flight never delays another's calls.
 */
export function nodeClient(
  url: string,
  timeout: number,
  maxBytes: number,
  sockets = 64,
): NodeClient {
  const target = new URL(url)
  const secure = target.protocol === 'https:'
  const agent = new (secure ? HttpsAgent : HttpAgent)({ keepAlive: true, maxSockets: sockets })
  const send = secure ? httpsRequest : httpRequest
  const fail = (kind: SourceFailureKind, message: string) => new SourceError('node', kind, message)

  const text = (payload: unknown) =>
    new Promise<string>((resolve, reject) => {
      const body = JSON.stringify(payload)
      const req = send(
        target,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
          timeout,
        },
        (res) => read(res, maxBytes).then(resolve, reject),
      )
      // No cause, no text: a socket error may carry the URL.
      req.on('timeout', () => req.destroy(fail('timeout', 'the node did not answer in time')))
      req.on('error', (error) =>
        reject(error instanceof SourceError ? error : fail('network', 'the node did not answer')),
      )
      req.end(body)
    })

  const read = (res: IncomingMessage, max: number) =>
    new Promise<string>((resolve, reject) => {
      if ((res.statusCode ?? 0) >= 400) {
        res.resume()
        return reject(fail('http', `the node answered HTTP ${res.statusCode}`))
      }
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > max) {
          res.destroy()
          reject(fail('body', `the node's answer is larger than ${max} bytes`))
        } else chunks.push(chunk)
      })
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
      res.on('error', () => reject(fail('network', 'the node broke off its answer')))
    })

  return {
    text,
    close: () => agent.destroy(),
    async json(payload) {
      const answer = await text(payload)
      try {
        return JSON.parse(answer)
      } catch {
        throw fail('body', 'the node sent malformed JSON')
      }
    },
  }
}
