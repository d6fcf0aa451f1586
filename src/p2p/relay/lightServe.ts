/**
 * `outlast relay --beacon`: serves `/outlast/lc/1.0.0` from the operator's beacon node (Beacon
 * REST, SSZ) to peers that cannot reach one (browsers cannot dial beacon nodes), and gossips its
 * finality and optimistic updates (lightGossip.ts). The relay decodes everything before it
 * serves it, so it passes on no junk, and verifies nothing else it serves: clients verify every
 * object themselves. The guards are the RPC protocol's: frame size, streams per peer, rate, idle
 * streams and peers that stop reading (writeToPeer.ts); a request that is not one closes its
 * stream (a strike), never the relay.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { lpStream, RateLimiter } from '@libp2p/utils'
import {
  type ChainConfig,
  configFromSpecValues,
  decodeUpdatesResponse,
  mainnet,
  toHex,
} from '../../light/index.ts'
import { ConfigError, SourceError } from '../../shared/errors.ts'
import { redactUrl } from '../../shared/url.ts'
import { digestedLightObject } from '../lightObjects.ts'
import {
  decodeLightRequest,
  LIGHT_LIMITED,
  LIGHT_NONE,
  LIGHT_OK,
  LIGHT_UNAVAILABLE,
  type LightRequest,
  lightAnswer,
} from '../lightWire.ts'
import type { PeerLibp2p } from '../peerNode.ts'
import { LC_PROTOCOL, MAX_LC_REQUEST_BYTES, STREAM_LIMITS } from '../protocol.ts'
import { type BeaconNode, beaconNode } from './beaconNode.ts'
import { lightGossip } from './lightGossip.ts'
import { relayLightStore } from './lightStore.ts'
import type { Penalties } from './penalties.ts'
import { writeToPeer } from './writeToPeer.ts'

export type RelayLightSettings = {
  /** The beacon node's URL (a key in it is never shown). */
  beacon: string
  /** Milliseconds a call to the beacon node may take. */
  timeout: number
  /** Milliseconds between polls of the node's finality and optimistic updates. */
  interval: number
  gossip: boolean
  /** Requests per second per peer (a request for n updates counts n/8, at least 1). */
  rate: number
  maxStreamsPerPeer: number
  idleTimeout: number
}

export type RelayLightStatus = {
  /** The beacon node, redacted. */
  beacon: string
  /** The gossip topics' chain part (the genesis validators root's first 4 bytes). */
  chain: string
  served: number
  /** The relay's own store (what gossip is verified against); absent until the node gave a bootstrap. */
  store?: { period: number; finalizedSlot: number }
}

export type RelayLight = { status(): RelayLightStatus; stop(): void }

/** lpStream's errors for a frame whose length prefix is over the limit or not a length. */
const FRAME_ERRORS = new Set([
  'InvalidDataLengthError',
  'InvalidDataLengthLengthError',
  'InvalidMessageLengthError',
])

export async function startRelayLight(
  node: PeerLibp2p,
  o: RelayLightSettings,
  /** Counts a refusal; a violation is a strike (createRelay.ts). */
  refuse: (why: string, peer: string) => void,
  penalties: Penalties,
  told: (what: string) => void,
): Promise<RelayLight> {
  const beacon = beaconNode(o.beacon, o.timeout)
  const config = await lightConfig(beacon, o.beacon)
  const store = relayLightStore(beacon, config)
  const gossip = lightGossip(
    node,
    beacon,
    config,
    store,
    { interval: o.interval, publish: o.gossip },
    told,
    (peer) => refuse('gossip', peer),
  )
  let served = 0

  const answerOf = async (r: LightRequest): Promise<Uint8Array> => {
    try {
      if (r.kind === 'updates') {
        const bytes = await beacon.updates(r.start, r.count)
        // Decoded (junk is not passed on), served as the node sent it.
        if (bytes) decodeUpdatesResponse(bytes, config, r.count)
        return lightAnswer(LIGHT_OK, bytes ?? new Uint8Array(0))
      }
      const kept = r.kind === 'bootstrap' ? undefined : gossip.latest(r.kind)
      if (kept) return lightAnswer(LIGHT_OK, kept)
      const got = await (r.kind === 'bootstrap'
        ? beacon.bootstrap(toHex(r.root))
        : beacon[r.kind]())
      if (!got) return lightAnswer(LIGHT_NONE, `the beacon node has no ${r.kind} for that`)
      return lightAnswer(LIGHT_OK, digestedLightObject(r.kind, got.fork, got.body, config).bytes)
    } catch (error) {
      if (error instanceof SourceError)
        return lightAnswer(LIGHT_UNAVAILABLE, `the relay's beacon node failed: ${error.reason}`)
      told('lcNodeMalformed')
      return lightAnswer(
        LIGHT_UNAVAILABLE,
        `the relay's beacon node sent a ${r.kind} that does not decode`,
      )
    }
  }

  const limiter = new RateLimiter({ points: o.rate, duration: 1 })
  const open = new Map<string, number>()
  const handler = async (stream: Stream, connection: Connection) => {
    const peer = connection.remotePeer.toString()
    if (penalties.banned(peer)) return stream.abort(new Error('banned'))
    const streams = (open.get(peer) ?? 0) + 1
    open.set(peer, streams)
    const lp = lpStream(stream, { maxDataLength: MAX_LC_REQUEST_BYTES })
    // A peer that stops reading an answer holds the stream as one that stops sending does.
    const write = (bytes: Uint8Array) => writeToPeer(lp, stream, bytes, o.idleTimeout)
    try {
      if (streams > o.maxStreamsPerPeer) {
        refuse('streams', peer)
        await write(
          lightAnswer(LIGHT_LIMITED, `at most ${o.maxStreamsPerPeer} open streams per peer`),
        )
        await stream.close()
        return
      }
      while (true) {
        const request = decodeLightRequest(
          (await lp.read({ signal: AbortSignal.timeout(o.idleTimeout) })).subarray(),
        )
        if (!request) {
          refuse('malformed', peer)
          stream.abort(new Error('malformed light-client request'))
          return
        }
        try {
          limiter.consume(peer, request.kind === 'updates' ? Math.ceil(request.count / 8) : 1)
        } catch {
          refuse('rate', peer)
          await write(
            lightAnswer(
              LIGHT_LIMITED,
              `rate limited: at most ${o.rate} requests per second per peer`,
            ),
          )
          continue
        }
        served++
        await write(await answerOf(request))
      }
    } catch (error) {
      if (FRAME_ERRORS.has(error instanceof Error ? error.name : '')) refuse('frame', peer)
      // The peer closed its end (the usual end of a stream), went idle, stopped reading, or broke
      // the framing.
      stream.abort(error instanceof Error ? error : new Error(String(error)))
    } finally {
      const left = (open.get(peer) ?? 1) - 1
      if (left > 0) open.set(peer, left)
      else open.delete(peer)
    }
  }
  await node.handle(LC_PROTOCOL, handler, STREAM_LIMITS)

  return {
    status: () => {
      const s = store.status()
      return {
        beacon: redactUrl(o.beacon),
        chain: toHex(config.genesisValidatorsRoot.subarray(0, 4)).slice(2),
        served,
        ...(s ? { store: s } : {}),
      }
    },
    stop: () => gossip.stop(),
  }
}

/** The beacon chain's parameters: mainnet's when its genesis is mainnet's, else from the node's spec. */
async function lightConfig(beacon: BeaconNode, url: string): Promise<ChainConfig> {
  let genesis: Awaited<ReturnType<BeaconNode['genesis']>>
  try {
    genesis = await beacon.genesis()
  } catch {
    throw new ConfigError(
      `relay: the beacon node at ${redactUrl(url)} did not answer /eth/v1/beacon/genesis; is --beacon right and the node up?`,
    )
  }
  if (genesis.root === toHex(mainnet.genesisValidatorsRoot)) return mainnet
  const spec = await beacon.spec().catch(() => undefined)
  const preset = {
    slotsPerEpoch: Number(spec?.SLOTS_PER_EPOCH),
    epochsPerSyncCommitteePeriod: Number(spec?.EPOCHS_PER_SYNC_COMMITTEE_PERIOD),
    syncCommitteeSize: Number(spec?.SYNC_COMMITTEE_SIZE),
  }
  if (!spec || !Object.values(preset).every((n) => Number.isSafeInteger(n) && n > 0))
    throw new ConfigError(
      `relay: the beacon node at ${redactUrl(url)} is not on mainnet and gave no usable /eth/v1/config/spec`,
    )
  return { ...configFromSpecValues(spec, preset, genesis.root), genesisTime: genesis.time }
}
