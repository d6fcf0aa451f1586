/**
 * The relay example on the local lab: an operator's node (anvil) shared by two `outlast relay`
 * processes, started with the shipped command as an operator would; a dApp (dapp.ts) that pins
 * them beside two cloud endpoints. The clouds fail (DNS, then 503); the dApp reads a proven
 * balance and sends a transfer through the relays alone. Exits 0 when every answer was right.
 *
 *   ./node_modules/.bin/node examples/relay/run-lab.ts
 */
import { parseEther } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { devAccounts, startLab } from '../../test/lab/index.ts'
import { startRelayProcess } from '../../test/lab/relays.ts'
import { dappClient } from './dapp.ts'

const say = (line: string) => console.log(`${new Date().toISOString().slice(11, 23)}  ${line}`)

const lab = await startLab({
  blockTime: 0,
  sources: [
    { name: 'cloud-a', domain: 'aws-us-east-1' },
    { name: 'cloud-b', domain: 'gcp-europe-west1' },
    { name: 'node-1', domain: 'alice-home' },
    { name: 'node-2', domain: 'bob-home' },
  ],
})
await lab.anvil.rpc('evm_mine') // anvil cannot prove its genesis state
// What two operators run: `npx outlast relay --rpc <their node> --key relay.key`.
const relays = await Promise.all(
  ['node-1', 'node-2'].map((n) => startRelayProcess({ rpc: lab.proxy(n).url })),
)
for (const r of relays) say(`relay ${r.peerId} listening on ${r.ws}`)

const { rpc, client } = dappClient({
  chainId: 31337,
  clouds: [
    // The lab's fetch resolves a proxy in `dns` mode to a name that does not exist.
    { url: lab.proxy('cloud-a').url, domain: 'aws-us-east-1', fetchFn: lab.proxy('cloud-a').fetch },
    { url: lab.proxy('cloud-b').url, domain: 'gcp-europe-west1' },
  ],
  relays: [
    { address: relays[0]!.ws, domain: 'alice-home' },
    { address: relays[1]!.ws, domain: 'bob-home' },
  ],
})
let ok = true
try {
  await rpc.connect()
  say('the clouds fail: DNS for one, 503 for the other')
  await lab.proxy('cloud-a').setMode({ kind: 'dns' })
  await lab.proxy('cloud-b').setMode({ kind: 'http5xx', status: 503 })

  const who = devAccounts[1]!.address
  const { result, meta } = await rpc.requestWithMeta({
    method: 'eth_getBalance',
    params: [who, 'latest'],
  })
  const truth = await lab.anvil.rpc('eth_getBalance', [who, 'latest'])
  say(`balance ${BigInt(result as string)} wei, ${meta.consistency} via ${meta.sources.join(', ')}`)
  ok &&=
    result === truth &&
    meta.consistency === 'proven' &&
    meta.sources.every((s) => s.startsWith('relay'))

  const account = privateKeyToAccount(devAccounts[3]!.privateKey)
  const hash = await client.sendRawTransaction({
    serializedTransaction: await account.signTransaction({
      chainId: 31337,
      type: 'eip1559',
      to: who,
      value: parseEther('1'),
      nonce: await client.getTransactionCount({ address: account.address }),
      gas: 21_000n,
      maxFeePerGas: 20_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
    }),
  })
  const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 100 })
  say(
    `transfer ${hash.slice(0, 10)}… mined in block ${receipt.blockNumber}, status ${receipt.status}`,
  )
  ok &&= receipt.status === 'success'
  console.log(rpc.status().toString())
} catch (error) {
  ok = false
  console.error(error)
} finally {
  await rpc.close()
  await Promise.all(relays.map((r) => r.stop()))
  await lab.stop()
}
say(ok ? 'every answer right' : 'SOMETHING WAS WRONG')
process.exitCode = ok ? 0 : 1
