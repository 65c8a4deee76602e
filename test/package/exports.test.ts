import { fileURLToPath, pathToFileURL } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { modulesLoadedBy } from '../support/module-trace.js'
import { requireZooKeeper } from '../support/zookeeper.js'

const test = suite('the package as users import it (bundled entries)')
const root = fileURLToPath(new URL('../../..', import.meta.url))

test('zkcloud/zk loads only the client: no runtime, no msgpackr, not even debug', () => {
  const loaded = modulesLoadedBy(root, 'zkcloud/zk')
  assert.ok(loaded.some((u) => u.includes('/dist/pkg/zk.js')), loaded.join('\n'))
  // Matched below the package root: a checkout's own path may contain these words (a worktree named simcluster).
  assert.equal(loaded.filter((u) => /msgpackr|debug|runtime|cluster/.test(u.replace(pathToFileURL(root).href, ''))), [])
})

test('every subpath export resolves and exports its public API', async () => {
  const zk = await import('zkcloud/zk')
  assert.type(zk.ZooKeeper.connect, 'function')
  assert.type(zk.ZkError, 'function')
  const runtime = await import('zkcloud/runtime')
  assert.type(runtime.Node.start, 'function')
  const cluster = await import('zkcloud/cluster')
  assert.type(cluster.bootstrap, 'function')
  assert.type(cluster.Cluster.start, 'function')
  const devServer = await import('zkcloud/dev-server')
  assert.type(devServer.startDevServer, 'function')
  const all = await import('zkcloud')
  assert.is(all.ZooKeeper, zk.ZooKeeper)
  assert.is(all.Node, runtime.Node)
  assert.is(all.bootstrap, cluster.bootstrap)
  assert.is(all.startDevServer, devServer.startDevServer)
})

test('the bundled client talks to a real server', async () => {
  const server = await requireZooKeeper()
  if (!server) return
  const { ZooKeeper } = await import('zkcloud/zk')
  const zk = await ZooKeeper.connect(server.connectString)
  try {
    assert.ok((await zk.exists('/zookeeper')) !== null)
    const err = await zk.getData('/no/such/node').catch((e: Error) => e)
    assert.is((err as Error).name, 'NONODE')
  } finally {
    await zk.close()
  }
})

test.run()
