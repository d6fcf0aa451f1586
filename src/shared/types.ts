/**
 * What a source is: a provider's endpoint, the user's own node, the user's wallet, a libp2p
 * peer (`outlast/p2p`), or headers by hash from IPFS (`outlast/ipfs`'s `ipfsHeaders()`).
 */
export const SOURCE_KINDS = ['cloud', 'self-hosted', 'wallet', 'p2p', 'ipfs'] as const
export type SourceKind = (typeof SOURCE_KINDS)[number]

/** The kinds a URL source (`http`, `webSocket`) may claim: a libp2p peer is `p2p()`'s. */
export const URL_KINDS = ['cloud', 'self-hosted', 'wallet'] as const satisfies readonly SourceKind[]
export type UrlSourceKind = (typeof URL_KINDS)[number]

/** A source's methods: the only ones it is asked, or the ones it is never asked. */
export type MethodRoute = { include?: readonly string[]; exclude?: readonly string[] }

export type RpcRequest = { method: string; params?: readonly unknown[] | undefined }

export type SourceRequestOptions = {
  /** Aborts the attempt when the engine no longer needs it. */
  signal?: AbortSignal | undefined
}

export type SourceConfig = {
  /** Unique name, shown in events, errors and `status()`. */
  name: string
  kind: SourceKind
  /** Failure domain: sources in one domain are expected to fail together. */
  domain: string
  /** Ranking weight; higher is preferred when latency is equal. */
  weight: number
  /** Where the source points, with API keys and credentials removed. */
  label: string
  /**
   * Its answers count only when checked here (a Merkle proof against a trusted header, a hash):
   * never toward a quorum, a head, a fee figure or a broadcast's verdict. Peers found by
   * discovery are untrusted: one operator can run any number of them (docs/architecture.md,
   * "Trust rules").
   */
  untrusted?: boolean
  /**
   * Which methods it is asked (`include`), or not asked (`exclude`): exact names, or a prefix
   * ending in `*` (`debug_*`). A source that includes `eth_sendRawTransaction` by name is a
   * private route for transactions (see `OutlastOptions.privateTransactions`). @default every method
   */
  methods?: MethodRoute | undefined
  /**
   * Removes the source's configured secrets from a text (a node may echo them inside an
   * answer): the engine passes what it shows of answers through every source's `redact`.
   */
  redact?(text: string): string
}

/**
 * A source answers JSON-RPC. `request` resolves with the `result` member of the response
 * and rejects with a `SourceError` (transport failure, bad body, JSON-RPC error object).
 * A source never decides what is true; the engine does.
 */
export type Source = {
  config: SourceConfig
  request(body: RpcRequest, options?: SourceRequestOptions): Promise<unknown>
  /** Sources that can push (WebSocket) feed `eth_subscribe` streams; see `webSocket()`. */
  subscribe?(
    params: readonly unknown[],
    onMessage: (result: unknown) => void,
    handlers?: { onError?(error: unknown): void; onResubscribe?(event: unknown): void },
  ): Promise<{ unsubscribe(): Promise<void> }>
  close?(): void | Promise<void>
}

export type Hex = `0x${string}`
