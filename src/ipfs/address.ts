/**
 * Where content is, as the caller wrote it: `ipfs://CID/path`, `/ipfs/CID/path`, `CID/path`, or
 * an HTTP gateway URL (`https://host/ipfs/CID/path`, `https://CID.ipfs.host/path`). Only the
 * CID and the path are kept: the host of a gateway URL is never asked because of it (a token's
 * metadata URL names whichever gateway its minter liked; the content is the same anywhere).
 */
import { CID } from 'multiformats/cid'
import { clip } from '../shared/clip.ts'
import { redactUrl } from '../shared/url.ts'
import { ContentError } from './errors.ts'

export type ContentAddress = {
  cid: CID
  /** Path segments below the CID, percent-decoded, without empty segments. */
  path: string[]
}

/** The CID and path `url` names; a `ContentError` when it names none. */
export function parseAddress(url: string): ContentAddress {
  const input = url.trim()
  const bad = (why: string) =>
    new ContentError(shown(input), `Not an IPFS address: ${shown(input)} (${why}).`)
  let rest: string
  if (/^ipfs:\/\//i.test(input)) rest = input.slice('ipfs://'.length)
  else if (/^https?:\/\//i.test(input)) rest = fromGateway(input, bad)
  else if (input.startsWith('/ipfs/')) rest = input.slice('/ipfs/'.length)
  else if (input.startsWith('ipfs/')) rest = input.slice('ipfs/'.length)
  else rest = input
  // `ipfs://ipfs/CID` is a common mistake in token metadata; read it as meant.
  if (rest.startsWith('ipfs/')) rest = rest.slice('ipfs/'.length)
  rest = rest.replace(/[?#].*$/, '')
  const [root = '', ...segments] = rest.split('/')
  let cid: CID
  try {
    cid = CID.parse(root)
  } catch {
    throw bad(root ? `"${shown(root)}" is not a CID` : 'no CID')
  }
  const path: string[] = []
  for (const segment of segments) {
    if (segment === '') continue
    let name: string
    try {
      name = decodeURIComponent(segment)
    } catch {
      throw bad(`bad percent-encoding in "${shown(segment)}"`)
    }
    if (name === '.' || name === '..' || name.includes('/'))
      throw bad(`path segment "${shown(name)}" is not a name`)
    path.push(name)
  }
  return { cid, path }
}

/**
 * The `CID/path` part of a gateway URL: subdomain style when the host's first label is a CID
 * (`https://CID.ipfs.host/ipfs/x` is the entry `ipfs/x` under CID, as that gateway serves it),
 * else path style.
 */
function fromGateway(input: string, bad: (why: string) => Error): string {
  let u: URL
  try {
    u = new URL(input)
  } catch {
    throw bad('not a URL')
  }
  const labels = u.hostname.split('.')
  if (labels.length > 2 && labels[1] === 'ipfs' && isCid(labels[0]!))
    return `${labels[0]}${u.pathname}`
  const at = u.pathname.indexOf('/ipfs/')
  if (at !== -1) return u.pathname.slice(at + '/ipfs/'.length)
  throw bad('a URL without /ipfs/CID in its path or a CID.ipfs.host name')
}

function isCid(text: string): boolean {
  try {
    CID.parse(text)
    return true
  } catch {
    return false
  }
}

/**
 * An address as errors show it: an HTTP URL as its host only (keys live in paths and queries),
 * anything else without its query and cut short.
 */
function shown(s: string): string {
  if (/^https?:\/\//i.test(s)) return redactUrl(s)
  const plain = s.replace(/[?#].*$/, '')
  return clip(plain, 121)
}
