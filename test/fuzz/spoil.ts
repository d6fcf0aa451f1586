/**
 * Spoiled results: the honest answer to a call, broken by a `Mutation` so that it is never a
 * well-formed answer to that call (bad hex, wrong type, one field of a block or transaction).
 */
import { honestResult } from './chain.ts'
import type { Gates, How, Mutation } from './replies.ts'
import type { Call } from './server.ts'

type Kind = 'quantity' | 'data' | 'bytesN' | 'block' | 'tx'

const RESULT_KIND: Record<string, Kind> = {
  eth_chainId: 'quantity',
  eth_blockNumber: 'quantity',
  eth_getBalance: 'quantity',
  eth_gasPrice: 'quantity',
  eth_call: 'data',
  eth_sendRawTransaction: 'bytesN',
  eth_getBlockByNumber: 'block',
  eth_getBlockByHash: 'block',
  eth_getTransactionByHash: 'tx',
}

const HASHED_BLOCK = new Set([
  'hash',
  'parentHash',
  'sha3Uncles',
  'miner',
  'stateRoot',
  'transactionsRoot',
  'receiptsRoot',
  'logsBloom',
  'difficulty',
  'number',
  'gasLimit',
  'gasUsed',
  'timestamp',
  'extraData',
  'mixHash',
  'nonce',
  'baseFeePerGas',
  'withdrawalsRoot',
  'blobGasUsed',
  'excessBlobGas',
  'parentBeaconBlockRoot',
  'requestsHash',
])
/** The fields of the fixture's type-2 transaction that its hash covers. */
const HASHED_TX = new Set([
  'hash',
  'type',
  'chainId',
  'nonce',
  'maxPriorityFeePerGas',
  'maxFeePerGas',
  'gas',
  'to',
  'value',
  'input',
  'accessList',
  'yParity',
  'v',
  'r',
  's',
])
const OPTIONAL = new Set(['v', 'yParity', 'accessList'])
const NOT_STRING = new Set<How>([
  'number',
  'bigNumber',
  'null',
  'array',
  'object',
  'bool',
  'deleteField',
])
/** The kind of each non-quantity field of a block or transaction. */
const FIELD_KIND: Record<string, Kind> = {
  hash: 'bytesN',
  parentHash: 'bytesN',
  sha3Uncles: 'bytesN',
  miner: 'bytesN',
  stateRoot: 'bytesN',
  transactionsRoot: 'bytesN',
  receiptsRoot: 'bytesN',
  logsBloom: 'bytesN',
  mixHash: 'bytesN',
  nonce: 'bytesN', // a block's nonce is 8 bytes; a transaction's is a quantity (below)
  withdrawalsRoot: 'bytesN',
  parentBeaconBlockRoot: 'bytesN',
  requestsHash: 'bytesN',
  blockHash: 'bytesN',
  from: 'bytesN',
  to: 'bytesN',
  extraData: 'data',
  input: 'data',
}

/** A spoiled copy of a valid string of `kind`; never valid for that kind. */
function spoilString(value: string, kind: Kind, m: Mutation): unknown {
  const digits = value.slice(2)
  const at = 2 + (m.pos % (digits.length + 1))
  switch (m.how) {
    case 'noPrefix':
      return digits
    case 'leadingZero':
      return `0x0${digits}`
    case 'oddLength':
      return kind === 'quantity' ? `${value.slice(0, at)}${m.ch}${value.slice(at)}` : `${value}0`
    case 'empty':
    case 'deleteField':
      return ''
    case 'bare0x':
      return kind === 'data' ? '0x0' : '0x'
    case 'number':
      return Number.parseInt(value, 16) || m.n
    case 'bigNumber':
      return 1e30 * m.n
    case 'null':
      return kind === 'quantity' || kind === 'data' || kind === 'bytesN' ? null : true
    case 'array':
      return [value]
    case 'object':
      return { value }
    case 'bool':
      return m.n % 2 === 0
    case 'spaces':
      return ` ${value}`
    case 'negative':
      return `-${value}`
    case 'upperPrefix':
      return `0X${digits}`
    case 'huge':
      return kind === 'quantity' ? `0x${'f'.repeat(64 + m.n)}` : `${value}0`
    default:
      return `${value.slice(0, at)}${m.ch}${value.slice(at)}`
  }
}

function spoilObject(
  value: Record<string, unknown>,
  kind: 'block' | 'tx',
  m: Mutation,
  gates: Gates,
): unknown {
  const hashed = kind === 'block' ? HASHED_BLOCK : HASHED_TX
  const keys = Object.keys(value).filter((k) => gates.unhashedFields || hashed.has(k))
  if (m.field < 0 || keys.length === 0)
    return m.how === 'array'
      ? [value]
      : m.how === 'number'
        ? m.n
        : m.how === 'bool'
          ? true
          : `${JSON.stringify(value).slice(0, m.n)}`
  const key = keys[m.field % keys.length]!
  const out = { ...value }
  // Without v (or yParity, or an empty access list) a type-2 transaction is still well-formed.
  if (m.how === 'deleteField' && hashed.has(key) && !OPTIONAL.has(key)) {
    delete out[key]
    return out
  }
  const field = out[key]
  const fieldKind: Kind =
    kind === 'tx' && key === 'nonce' ? 'quantity' : (FIELD_KIND[key] ?? 'quantity')
  const how: How =
    (m.how === 'leadingZero' && fieldKind === 'quantity' && !gates.leadingZeroFields) ||
    (kind === 'tx' && key === 'hash' && !gates.txHashType && NOT_STRING.has(m.how))
      ? 'badChar'
      : m.how === 'null' || m.how === 'deleteField'
        ? 'bool'
        : m.how
  out[key] =
    typeof field === 'string'
      ? spoilString(field, fieldKind, { ...m, how })
      : m.n % 2
        ? 'garbage'
        : { field }
  return out
}

/** The honest result spoiled by `m`: guaranteed not to be a well-formed answer to `call`. */
export function spoil(call: Call, m: Mutation, gates: Gates): unknown {
  const honest = honestResult(call.method, call.params)
  const kind = RESULT_KIND[call.method]
  if (kind === undefined) return { spoiled: honest ?? null }
  if (kind === 'block' || kind === 'tx') {
    if (honest === null || typeof honest !== 'object') return m.n % 2 ? 'null' : []
    // The head tracker only checks a head's number and hash: spoil one of those (or the shape).
    if (call.method === 'eth_getBlockByNumber' && !gates.headShape) {
      const key = m.field % 2 ? 'hash' : 'number'
      if (m.field < 0) return spoilObject(honest as Record<string, unknown>, kind, m, gates)
      const out = { ...(honest as Record<string, unknown>) }
      const how = m.how === 'null' || m.how === 'deleteField' ? 'badChar' : m.how
      out[key] = spoilString(out[key] as string, key === 'hash' ? 'bytesN' : 'quantity', {
        ...m,
        how,
      })
      return out
    }
    return spoilObject(honest as Record<string, unknown>, kind, m, gates)
  }
  return spoilString(honest as string, kind, m)
}
