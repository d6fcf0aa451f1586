/**
 * `outlast/ipfs`: content by CID from anywhere it can be found, every block hashed against its
 * CID before anyone sees it.
 *
 * ```ts
 * import { createIpfs } from 'outlast/ipfs'
 * const ipfs = createIpfs({ gateways: ['https://gw-a.example', 'https://gw-b.example'], kubo })
 * const metadata = await ipfs.json('ipfs://bafy…/42.json', { timeout: 5_000 })
 * ```
 *
 * Routes: `gateway(url)` (trustless, block by block), `kubo(client)` (kubo-rpc-client or
 * ipfs-http-client), `heliaRoute(helia)` (an in-process Helia node, bitswap). Helia and libp2p
 * load only when `startHelia()` is called (dynamic imports): a dApp using gateways alone never
 * loads them.
 *
 * Wallet helpers: `tokenMetadata(rpc, { contract, tokenId, standard })` reads `tokenURI`/`uri`
 * through outlast and fetches the metadata verified; `fetchTokenList(cid)` reads a token list
 * (tokenlists.org) verified and checked.
 *
 * For other modules: `createIpfs().block(cid)` is one verified block (keccak-256 included,
 * for Ethereum headers by CID); `parseAddress` reads every accepted address form.
 */
export { type ContentAddress, parseAddress } from './address.ts'
export { createIpfs } from './createIpfs.ts'
export {
  ContentAbortedError,
  ContentError,
  ContentNotFoundError,
  ContentTimeoutError,
  ContentTooLargeError,
  type RouteReason,
  UnsupportedHashError,
} from './errors.ts'
export {
  blockCid,
  decodeHeader,
  ETH_BLOCK_CODEC,
  type EthHeader,
  encodeHeader,
  fetchHeader,
  hashOfCid,
} from './ethBlock.ts'
export { type GatewayOptions, gateway } from './gateway.ts'
export {
  type BlockGetter,
  type HeaderRouteStatus,
  type IpfsHeaderSource,
  type IpfsHeadersOptions,
  ipfsHeaders,
} from './headerSource.ts'
export { type HeliaNode, type StartHeliaOptions, startHelia } from './heliaNode.ts'
export { type HeliaRouteOptions, heliaRoute } from './heliaRoute.ts'
export {
  type IpnsOptions,
  type IpnsRecordInfo,
  type IpnsResolver,
  type IpnsRouteStatus,
  ipnsResolver,
} from './ipns.ts'
export { type KuboOptions, kubo } from './kubo.ts'
export {
  type JsonReader,
  parseSourceList,
  type RelayEntry,
  type SourceList,
  type SourcesFromOptions,
  type SourcesWatch,
  sourcesFrom,
  type WatchOptions,
  watchSources,
} from './sourcesFrom.ts'
export {
  checkTokenList,
  type FetchTokenListOptions,
  fetchTokenList,
  type TokenInfo,
  type TokenList,
  TokenListError,
} from './tokenList.ts'
export {
  type ChainReader,
  type TokenMetadata,
  TokenMetadataError,
  type TokenMetadataOptions,
  type TokenRef,
  type TokenStandard,
  tokenMetadata,
} from './tokenMetadata.ts'
export { type DocumentOrigin, erc1155Id } from './tokenUri.ts'
export type {
  AttemptOutcome,
  FetchOptions,
  GatewayConfig,
  HeliaLike,
  Ipfs,
  IpfsEvents,
  IpfsOptions,
  IpfsRoute,
  IpfsStatus,
  KuboClient,
  RouteAnswer,
  RouteCondition,
  RouteKind,
  RouteStatus,
} from './types.ts'
export { assertVerifiable, matches as verifiesAgainst } from './verify.ts'
