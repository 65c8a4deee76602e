import * as assert from 'uvu/assert'
import { Cluster } from '../../lib/cluster/index.js'
import type { DownMessage } from '../../lib/runtime/index.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { collector, newCookie, sleep, within } from './support.js'
import { makeNodeTls, type NodeTlsMaterial } from './tls-material.js'

const test = await zkSuite<{ tls: NodeTlsMaterial; clusters: Cluster[] }>('the cluster layer over TLS')

test.before(async ctx => {
  ctx.tls = await makeNodeTls()
})
test.after(async ctx => {
  await ctx.tls?.dispose()
})
test.before.each(ctx => {
  ctx.clusters = []
})
test.after.each(async ctx => {
  await Promise.all(ctx.clusters.map(cluster => cluster.stop()))
})

test('Cluster.start passes tls to its node: a service found through ZooKeeper answers over TLS, a plaintext node is refused', async ctx => {
  const prefix = chroot('cluster-tls')
  const cookie = newCookie()
  const start = async (options: Partial<Parameters<typeof Cluster.start>[0]>): Promise<Cluster> => {
    const cluster = await Cluster.start({ zookeeper: ctx.zk.connectString, prefix, cookie, logError: () => undefined, ...options })
    ctx.clusters.push(cluster)
    return cluster
  }
  const server = await start({ tls: ctx.tls.node })
  const client = await start({ tls: ctx.tls.other })
  const plain = await start({})
  const inbox = collector(server.node)
  await server.register('svc', inbox.pid)
  const [found] = await client.getCapable('svc')
  assert.ok(found?.equals(inbox.pid))
  client.node.send(inbox.pid, 'over tls')
  assert.is(await inbox.next(), 'over tls')
  const down = new Promise<DownMessage>(resolve => plain.node.monitor(inbox.pid, resolve))
  plain.node.send(inbox.pid, 'must not arrive')
  assert.is((await within(down, 5000, 'the plaintext link to fail')).reason, 'disconnect')
  await sleep(100)
  assert.equal(inbox.messages, [])
})

test.run()
