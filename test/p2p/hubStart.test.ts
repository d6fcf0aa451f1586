/**
 * The p2p hub's libp2p node fails to start (here: its listen address is taken; in a browser, its
 * code failed to load): the failure is not kept. Once the cause is gone, the next use starts it.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { tcp } from '@libp2p/tcp'
import { it } from 'vitest'
import { createHub } from '../../src/p2p/hub.ts'

it('a node that failed to start is started again at the next use', async () => {
  const taken = createServer()
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
  const port = (taken.address() as { port: number }).port
  const hub = createHub({
    transports: [tcp()],
    listen: [`/ip4/127.0.0.1/tcp/${port}`],
    maxResponseBytes: 1 << 20,
    gossip: false,
    told: [],
  })
  hub.open()
  try {
    await assert.rejects(hub.ready(), 'the port is taken')
    await new Promise<void>((r) => taken.close(() => r()))
    const node = await hub.ready()
    assert.equal(node.status, 'started')
    assert.ok(node.getMultiaddrs().some((a) => a.toString().includes(`/tcp/${port}`)))
  } finally {
    taken.close()
    await hub.close()
  }
})
