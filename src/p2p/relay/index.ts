/** `outlast/p2p/relay`: share a node with outlast peers (Node only; the CLI's `outlast relay`). */
export { createRelay, type Relay, type RelayOptions, type RelayStatus } from './createRelay.ts'
export { SERVED } from './guards.ts'
