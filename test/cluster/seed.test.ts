// The seed's own test suite (test/Spec.hs of distributed-process-zookeeper), case by case.
import * as assert from 'uvu/assert'
import { bootstrap, Cluster } from '../../lib/cluster/index.js'
import { CREATOR_ALL_ACL, ZooKeeper, digestId } from '../../lib/zk-wire/index.js'
import { rejection } from '../support/rejection.js'
import { sleep, waitFor } from '../support/wait.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { ClusterPool, collector, keys } from './support.js'

interface Ctx {
  pool: ClusterPool
  prefix: string
}

const test = await zkSuite<Ctx>('the seed test suite (Spec.hs)')

test.before.each(ctx => {
  ctx.prefix = chroot(ctx.__test__)
  ctx.pool = new ClusterPool({ zookeeper: ctx.zk.connectString, prefix: ctx.prefix })
})
test.after.each(async ctx => {
  await ctx.pool.stopAll()
})

test('can do basic Process messaging', async ({ zk, prefix }) => {
  let said: unknown
  await bootstrap({ zookeeper: zk.connectString, prefix }, async self => {
    const child = self.spawn(async me => {
      const text = await me.receive<string>({ timeout: 500 })
      me.send(self.pid, `I said: ${text}`)
    })
    self.send(child, 'foo')
    said = await self.receive({ timeout: 500 })
  })
  assert.is(said, 'I said: foo')
})

test('will register local names with zookeeper', async ({ pool }) => {
  const { cluster } = await pool.start()
  const self = cluster.node.spawn(async me => void (await me.receive()))
  cluster.node.register('testy', self)
  const found = await waitFor('the mirrored name', async () => {
    const pids = await cluster.getCapable('testy')
    return pids.length > 0 && pids
  })
  assert.equal(keys(found), [self.key])
})

test('will only register prefixed local names if configured', async ({ pool }) => {
  const { cluster } = await pool.start({ registerPrefix: 'zk:' })
  const self = cluster.node.spawn(async me => void (await me.receive()))
  cluster.node.register('testr', self)
  cluster.node.register('zk:testr2', self)
  const found = await waitFor('the prefixed name', async () => {
    const pids = await cluster.getCapable('zk:testr2')
    return pids.length > 0 && pids
  })
  assert.equal(keys(found), [self.key])
  // Registrations of one session are applied in order: had testr been mirrored, it would show now.
  cluster.clearCache()
  assert.equal(await cluster.getCapable('testr'), [])
})

test('enables broadcast to specific services', async ({ pool }) => {
  const { cluster } = await pool.start()
  const slaves = await pool.startMany(2)
  const got = collector(cluster.node)
  for (const { cluster: slave } of slaves) {
    const pid = slave.node.spawn(async me => {
      const message = await me.receive()
      me.send(got.pid, { from: me.node.id.key, message })
    })
    await slave.register('test-broadcast', pid)
  }
  await cluster.nsendCapable('test-broadcast', 'foundme')
  const answers = [await got.next(), await got.next()] as { from: string; message: string }[]
  assert.equal(answers.map(a => a.message), ['foundme', 'foundme'])
  assert.equal(new Set(answers.map(a => a.from)).size, 2)
})

test('enables broadcast to all nodes', async ({ pool }) => {
  const { cluster } = await pool.start()
  const slaves = await pool.startMany(2)
  const got = collector(cluster.node)
  for (const { cluster: slave } of slaves) {
    const pid = slave.node.spawn(async me => {
      me.send(got.pid, { from: me.node.id.key, message: await me.receive() })
    })
    slave.node.register('test-broadcast', pid)
  }
  await waitFor('every node advertised', async () => (await cluster.getPeers()).length === 3)
  await cluster.nsendPeers('test-broadcast', 'foundme')
  const answers = [await got.next(), await got.next()] as { from: string; message: string }[]
  assert.equal(answers.map(a => a.message), ['foundme', 'foundme'])
  assert.equal(new Set(answers.map(a => a.from)).size, 2)
})

test('will run a single process with a global name', async ({ pool }) => {
  const { cluster } = await pool.start()
  const got = collector(cluster.node)
  const racers = await pool.startMany(2)
  await Promise.all(racers.map(({ cluster: racer }) => racer.registerCandidate('test-global', async self => {
    self.send(got.pid, self.pid.key)
    await self.receive()
  })))
  await got.next()
  await sleep(300)
  assert.is(got.received.length, 1, 'only one global process ran')
})

test('will elect a new global when one exits', async ({ pool }) => {
  const { cluster } = await pool.start()
  const got = collector(cluster.node)
  const racers = await pool.startMany(3)
  const holders = await Promise.all(racers.map(({ cluster: racer }) => racer.registerCandidate('test-global2', async self => {
    self.send(got.pid, self.pid.key)
    await self.receive()
  })))
  const first = holders[0]!
  assert.ok(holders.every(pid => pid.equals(first)), 'every candidate is told the same holder')
  assert.is(await got.next(), first.key)
  cluster.node.kill(first, 'because')
  const second = await got.next()
  assert.is.not(second, first.key)
  await waitFor('whereisGlobal to name the new holder', async () => (await cluster.whereisGlobal('test-global2'))?.key === second)
  await sleep(300)
  assert.is(got.received.length, 2, 'exactly one new global process')
})

test('will not leak processes when a candidate is attempted to register again', async ({ pool }) => {
  const { cluster } = await pool.start()
  let live = 0
  cluster.node.on('spawn', () => live++)
  cluster.node.on('exit', () => live--)
  const gpid = await cluster.registerCandidate('test-global3', async self => void (await self.receive()))
  const before = live
  const same = await cluster.registerCandidate('test-global3', async self => void (await self.receive()))
  assert.is(live, before, 'no process started or ended')
  assert.ok(same.equals(gpid))
  const path = cluster.leadership('test-global3')!.path
  assert.is((await cluster.zk.getChildren(path.slice(0, path.lastIndexOf('/')))).length, 1, 'one candidate znode')
})

test('will clear the name cache when a service exits', async ({ pool }) => {
  const { cluster } = await pool.start()
  const service = cluster.node.spawn(async self => void (await self.receive()))
  cluster.node.register('test-cache', service)
  const [pid] = await waitFor('the registration', async () => {
    const pids = await cluster.getCapable('test-cache')
    return pids.length > 0 && pids
  })
  cluster.node.send(pid!, 'exit')
  await cluster.node.exited(service)
  await waitFor('the cache to forget it', async () => (await cluster.getCapable('test-cache')).length === 0)
})

test('will clear the name cache when a global process exits', async ({ pool }) => {
  const { cluster } = await pool.start()
  const gpid = await cluster.registerCandidate('test-cache2', async self => void (await self.receive()))
  assert.ok((await cluster.whereisGlobal('test-cache2'))?.equals(gpid))
  cluster.node.send(gpid, 'exit')
  await cluster.node.exited(gpid)
  await waitFor('the cache to forget it', async () => (await cluster.whereisGlobal('test-cache2')) === null)
})

test('will strictly evaluate command arguments in the client process (bad names throw in the caller)', async ({ pool }) => {
  const { cluster } = await pool.start()
  const self = cluster.node.spawn(async me => void (await me.receive()))
  assert.instance(await rejection(cluster.register('a/b', self)), TypeError)
  assert.instance(await rejection(cluster.register('', self)), TypeError)
  assert.instance(await rejection(cluster.getCapable('..')), TypeError)
  assert.instance(await rejection(cluster.registerCandidate('x/y', () => undefined)), TypeError)
  assert.instance(await rejection(cluster.whereisGlobal('')), TypeError)
})

test('supports authorization: can set up with a restricted (creator-only) ACL', async ({ zk, prefix }) => {
  const root = `${zk.connectString}${prefix}-auth`
  await bootstrap({ zookeeper: root, credentials: ['digest', 'user:rightpassword'], acl: CREATOR_ALL_ACL }, async (self, cluster) => {
    const { acl } = await cluster.zk.getACL('/zkcloud/nodes')
    assert.equal(acl, [{ perms: 31, id: { scheme: 'digest', id: digestId('user', 'rightpassword') } }])
  })
  await bootstrap({ zookeeper: root, credentials: ['digest', 'user:rightpassword'], acl: CREATOR_ALL_ACL }, () => undefined)
  const outsider = await ZooKeeper.connect(root)
  try {
    assert.is((await rejection(outsider.getChildren('/zkcloud'))).name, 'NOAUTH')
  } finally {
    await outsider.close()
  }
})

test('supports authorization: fails clearly with other credentials', async ({ zk, prefix }) => {
  const root = `${zk.connectString}${prefix}-auth`
  await bootstrap({ zookeeper: root, credentials: ['digest', 'user:rightpassword'], acl: CREATOR_ALL_ACL }, () => undefined)
  let ran = false
  const err = await rejection(bootstrap({ zookeeper: root, credentials: ['digest', 'user:wrongpassword'], acl: CREATOR_ALL_ACL, logError: () => undefined }, () => void (ran = true)))
  assert.match(err.message, /not authorized as digest:user/)
  assert.match(err.message, /credentials/)
  assert.is((err.cause as Error).name, 'NOAUTH')
  assert.not.ok(ran, 'main never ran')
  const none = await rejection(Cluster.start({ zookeeper: root, logError: () => undefined }))
  assert.match(none.message, /not authorized without credentials/)
})

test.run()
