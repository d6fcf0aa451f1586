/**
 * A dApp on viem with outlast as its transport: an account's balance and nonce, a token balance,
 * the latest block, a live panel of outlast's sources (from `status()` and events), and a
 * transfer signed with a local key. Which sources, account and token: from the page's query
 * (`?config=<JSON>`), so the same build runs against any chain; see README.md.
 */
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  formatEther,
  parseAbi,
  parseEther,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { outlast } from '../../src/adapters/viem.ts'
import { createOutlast, http, type OutlastStatus } from '../../src/index.ts'

type Config = {
  chainId: number
  sources: { url: string; name: string; domain: string }[]
  /** A local dev key (never a real one in a page): the account shown and the sender. */
  key: `0x${string}`
  token?: `0x${string}`
  to: `0x${string}`
}

const config = JSON.parse(
  new URLSearchParams(location.search).get('config') ?? 'null',
) as Config | null
if (!config) throw new Error('open the page with ?config=<JSON>: see examples/dapp/README.md')

const rpc = createOutlast({
  chainId: config.chainId,
  sources: config.sources.map((s) => http(s.url, { name: s.name, domain: s.domain })),
})
const chain = defineChain({
  id: config.chainId,
  name: `chain ${config.chainId}`,
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: [] } },
})
const account = privateKeyToAccount(config.key)
const client = createPublicClient({ chain, transport: outlast(rpc) })
const wallet = createWalletClient({ chain, account, transport: outlast(rpc) })
const erc20 = parseAbi(['function balanceOf(address) view returns (uint256)'])

const $ = (id: string) => document.getElementById(id)!
const lastEvent = new Map<string, string>()
rpc.on('source', (e) =>
  lastEvent.set(e.source, `${e.from} → ${e.to}${e.reason ? `: ${e.reason}` : ''}`),
)

/** What the page shows, also readable by tests (`window.dapp.state`). */
const state = { balance: '', nonce: -1, token: '', block: -1, sent: '', errors: [] as string[] }

async function refresh() {
  try {
    const [{ result, meta }, nonce, block] = await Promise.all([
      rpc.requestWithMeta({ method: 'eth_getBalance', params: [account.address, 'latest'] }),
      client.getTransactionCount({ address: account.address }),
      client.getBlockNumber({ cacheTime: 0 }),
    ])
    state.balance = formatEther(BigInt(result as string))
    state.nonce = nonce
    state.block = Number(block)
    $('balance').textContent = state.balance
    $('balance-how').textContent = `${meta.consistency} · ${meta.sources.join(', ')}`
    $('nonce').textContent = String(nonce)
    $('block').textContent = `#${block}`
    if (config!.token) {
      const units = await client.readContract({
        address: config!.token,
        abi: erc20,
        functionName: 'balanceOf',
        args: [account.address],
      })
      state.token = formatEther(units)
      $('token').textContent = state.token
    }
  } catch (error) {
    state.errors.push((error as Error).message)
  }
  panel(rpc.status())
}

function panel(st: OutlastStatus) {
  $('quorum').textContent =
    `quorum ${st.quorum.healthyDomains.length}/${st.quorum.domains} domains${st.quorum.met ? '' : ' (not met)'} · head ${st.head ? `#${st.head.number}` : 'unknown'}`
  $('sources').querySelector('tbody')!.innerHTML = st.sources
    .map(
      (s) =>
        `<tr data-source="${s.name}"><td>${s.name}</td><td>${s.domain}</td><td class="${s.condition}">${s.condition}</td><td>${s.latency.p50 ?? '–'}</td><td>${s.head ?? '–'}</td><td>${s.breaker}</td><td>${lastEvent.get(s.name) ?? ''}</td></tr>`,
    )
    .join('')
}

async function send() {
  const hash = await wallet.sendTransaction({ to: config!.to, value: parseEther('0.01') })
  const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 250 })
  state.sent = `${hash} ${receipt.status} #${receipt.blockNumber}`
  $('sent').textContent = `${hash.slice(0, 10)}… ${receipt.status} in block ${receipt.blockNumber}`
  await refresh()
  return state.sent
}

$('chain').textContent = `chain ${config.chainId}`
$('address').textContent = account.address
$('send').addEventListener('click', () => void send().catch((e) => state.errors.push(e.message)))
await refresh()
setInterval(refresh, 1_000)

// For tests and the console: what the page shows, and its actions.
Object.assign(window, {
  dapp: {
    state: () => ({ ...state, errors: [...state.errors] }),
    refresh,
    send,
    status: () => JSON.parse(JSON.stringify(rpc.status())),
    panel: () => $('sources').outerHTML,
  },
})
