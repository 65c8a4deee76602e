import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import * as assert from 'uvu/assert'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { waitFor } from '../support/wait.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { ClusterPool, collector, keys } from './support.js'

const FIXTURE = fileURLToPath(new URL('./fixtures/worker.js', import.meta.url))

const test = await zkSuite('getCapable and nodes the transport saw go down')

test('a worker whose node was killed (kill -9) leaves getCapable at once, while ZooKeeper still lists it until its session expires', async ({ zk }) => {
  const prefix = chroot('down')
  const pool = new ClusterPool({ zookeeper: zk.connectString, prefix })
  const observer = await ZooKeeper.connect(zk.connectString)
  const child = fork(FIXTURE, [JSON.stringify({ options: { zookeeper: zk.connectString, prefix, sessionTimeout: 4000, tickTime: 500 } })], { stdio: 'inherit' })
  try {
    const { cluster } = await pool.start()
    const ready = (await once(child, 'message'))[0] as { pid: string }
    const [worker] = await waitFor('the worker', async () => {
      cluster.clearCache()
      const found = await cluster.getCapable('worker')
      return found.length === 1 ? found : undefined
    })
    assert.is(worker!.key, ready.pid)
    const got = collector(cluster.node)
    cluster.node.send(worker!, { ping: 1, from: got.pid })
    assert.equal(await got.next(), { pong: 1 })

    let downAt = 0
    cluster.node.on('nodedown', node => {
      if (node.equals(worker!.node)) downAt = Date.now()
    })
    child.kill('SIGKILL')
    await waitFor('the transport to see the node go', () => downAt > 0)
    assert.equal(keys(await cluster.getCapable('worker')), [])
    assert.equal(await cluster.getCapable('worker'), [])
    const member = `${prefix}/services/worker/${worker!.key}`
    assert.ok(await observer.exists(member), 'ZooKeeper still lists it')
    await waitFor('ZooKeeper to expire its session', async () => (await observer.exists(member)) === null, { timeoutMs: 10_000 })
    assert.equal(await cluster.getCapable('worker'), [])
  } finally {
    child.kill('SIGKILL')
    await observer.close()
    await pool.stopAll()
  }
})

test.run()
