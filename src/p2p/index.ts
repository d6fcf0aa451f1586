/**
 * `outlast/p2p`: relays reached over libp2p as sources (`p2p()`), light-client data from relays
 * (`relayLightSource()`, for `light()`), and the parts a custom setup needs. libp2p loads only
 * with this subpath; the core never imports it.
 */
export { type RelayLightSourceOptions, relayLightSource } from './lightSource.ts'
export { type P2pOptions, type P2pPeer, p2p } from './p2p.ts'
export { type PeerLibp2p, type PeerNodeOptions, startPeerNode, type Transport } from './peerNode.ts'
export { headsTopic, LC_PROTOCOL, lightTopic, RPC_PROTOCOL, txsTopic } from './protocol.ts'
