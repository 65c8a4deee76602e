import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { countRequests } from '../support/request-counter.js'
import { waitFor } from '../support/wait.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { ClusterPool, count, keys, onEnsemble } from './support.js'

interface Ctx {
  connectString: string
  pool: ClusterPool
  prefix: string
}

/** The discovery cases, registered on a suite whose context gives a connect string. */
function discoveryCases(test: Test<Ctx>): void {
  test.before.each(ctx => {
    ctx.prefix = chroot(ctx.__test__)
    ctx.pool = new ClusterPool({ zookeeper: ctx.connectString, prefix: ctx.prefix })
  })
  test.after.each(async ctx => {
    await ctx.pool.stopAll()
  })

  test('repeated lookups are answered from memory: one ZooKeeper read', async ({ pool }) => {
    const [a, b] = await pool.startMany(2)
    const pid = b!.cluster.node.spawn(async self => void (await self.receive()))
    await b!.cluster.register('svc', pid)
    for (let i = 0; i < 100; i++) assert.equal(keys(await a!.cluster.getCapable('svc')), [pid.key])
    for (let i = 0; i < 100; i++) await a!.cluster.getPeers()
    assert.is(count(a!.traces, /^cache miss: service svc$/), 1)
    assert.is(count(a!.traces, /^cache miss: peers$/), 1)
  })

  test('concurrent misses on one key make one read', async ({ pool }) => {
    const { cluster, traces } = await pool.start()
    const answers = await Promise.all(Array.from({ length: 50 }, () => cluster.getCapable('many')))
    assert.ok(answers.every(answer => answer === answers[0]), 'every caller got the same list')
    await Promise.all(Array.from({ length: 20 }, () => cluster.whereisGlobal('g')))
    assert.is(count(traces, /^cache miss: service many$/), 1)
    assert.is(count(traces, /^cache miss: global g$/), 1)
  })

  test('a watch evicts exactly the entry that changed', async ({ pool }) => {
    const [a, b] = await pool.startMany(2)
    await a!.cluster.getCapable('one')
    await a!.cluster.getCapable('two')
    await a!.cluster.getPeers()
    const pid = b!.cluster.node.spawn(async self => void (await self.receive()))
    await b!.cluster.register('one', pid)
    await waitFor('the eviction of one', () => count(a!.traces, /^cache evict: service one /) === 1)
    assert.equal(keys(await a!.cluster.getCapable('one')), [pid.key])
    await a!.cluster.getCapable('two')
    await a!.cluster.getPeers()
    assert.is(count(a!.traces, /^cache miss: service one$/), 2, 'one was read again')
    assert.is(count(a!.traces, /^cache miss: service two$/), 1, 'two was not')
    assert.is(count(a!.traces, /^cache miss: peers$/), 1, 'nor the peers')
  })

  test('eviction is lazy: a node told of changes reads nothing until it asks, then reads once', async ({ pool, prefix }) => {
    const [a, b] = await pool.startMany(2)
    const node = b!.cluster.node
    const counted = countRequests(a!.cluster.zk)
    await b!.cluster.register('herd', node.spawn(async self => void (await self.receive())))
    await waitFor('the first member', async () => (await a!.cluster.getCapable('herd')).length === 1)
    counted.reset()
    for (let i = 0; i < 5; i++) await b!.cluster.register('herd', node.spawn(async self => void (await self.receive())))
    await waitFor('the eviction', () => counted.events === 1)
    await b!.cluster.zk.sync(`${prefix}/services/herd`)
    await new Promise(resolve => setTimeout(resolve, 100))
    assert.is(counted.requests, 0, 'no read by a node that did not ask again')
    assert.is(counted.events, 1, 'one watch event for five changes: the watch is not set again until a read')
    await a!.cluster.zk.sync(`${prefix}/services/herd`)
    counted.reset()
    for (let i = 0; i < 20; i++) assert.is((await a!.cluster.getCapable('herd')).length, 6)
    assert.equal(Object.fromEntries(counted.byMethod), { getChildren: 1 }, 'one read for twenty lookups')
  })

  test('a re-read reuses the members it already knew', async ({ pool }) => {
    const [a, b] = await pool.startMany(2)
    const node = b!.cluster.node
    await b!.cluster.register('reuse', node.spawn(async self => void (await self.receive())))
    await b!.cluster.register('reuse', node.spawn(async self => void (await self.receive())))
    const first = await waitFor('both members', async () => {
      const members = await a!.cluster.getCapable('reuse')
      return members.length === 2 ? members : undefined
    })
    await b!.cluster.register('reuse', node.spawn(async self => void (await self.receive())))
    const second = await waitFor('the third member', async () => {
      const members = await a!.cluster.getCapable('reuse')
      return members.length === 3 ? members : undefined
    })
    for (const member of first) assert.ok(second.includes(member), `${member} is the same object`)
    const both = node.spawn(async self => void (await self.receive()))
    await b!.cluster.register('one-of-two', both)
    await b!.cluster.register('two-of-two', both)
    const [x] = await waitFor('the member of one', async () => ((await a!.cluster.getCapable('one-of-two')).length === 1 ? a!.cluster.getCapable('one-of-two') : undefined))
    const [y] = await waitFor('the member of two', async () => ((await a!.cluster.getCapable('two-of-two')).length === 1 ? a!.cluster.getCapable('two-of-two') : undefined))
    assert.is(x, y, 'a process listed by two services is one object in the cache')
  })

  test('register and unregister are visible from other nodes; so is a process that ends', async ({ pool }) => {
    const [a, b] = await pool.startMany(2)
    const node = b!.cluster.node
    const first = node.spawn(async self => void (await self.receive()))
    const second = node.spawn(async self => void (await self.receive()))
    await b!.cluster.register('pool', first)
    await b!.cluster.register('pool', second)
    const both = [first.key, second.key].sort()
    await waitFor('both members', async () => keys(await a!.cluster.getCapable('pool')).join() === both.join())
    await b!.cluster.unregister('pool', first)
    await waitFor('the unregistration', async () => keys(await a!.cluster.getCapable('pool')).join() === second.key)
    node.send(second, 'exit')
    await waitFor('the exit', async () => (await a!.cluster.getCapable('pool')).length === 0)
    await b!.cluster.register('pool', node.spawn(async self => void (await self.receive())))
    await b!.cluster.register('pool', node.spawn(async self => void (await self.receive())))
    await waitFor('two new members', async () => (await a!.cluster.getCapable('pool')).length === 2)
    await b!.cluster.unregister('pool')
    await waitFor('unregister without a pid to withdraw them all', async () => (await a!.cluster.getCapable('pool')).length === 0)
  })

  test('a service nobody registered yet is cached empty, and its first member evicts it', async ({ pool }) => {
    const [a, b] = await pool.startMany(2)
    assert.equal(await a!.cluster.getCapable('later'), [])
    assert.equal(await a!.cluster.getCapable('later'), [])
    const pid = b!.cluster.node.spawn(async self => void (await self.receive()))
    await b!.cluster.register('later', pid)
    await waitFor('the first member', async () => (await a!.cluster.getCapable('later')).length === 1)
    assert.is(count(a!.traces, /^cache miss: service later$/), 2)
  })

  test('the local cache forgets a local process the moment it ends', async ({ pool }) => {
    const { cluster } = await pool.start()
    const pid = cluster.node.spawn(async self => void (await self.receive()))
    await cluster.register('short', pid)
    assert.equal(keys(await cluster.getCapable('short')), [pid.key])
    cluster.node.kill(pid)
    assert.equal(await cluster.getCapable('short'), [], 'no ZooKeeper round trip needed')
  })

  test('clearCache drops every answer', async ({ pool }) => {
    const { cluster, traces } = await pool.start()
    await cluster.getCapable('x')
    await cluster.getPeers()
    await cluster.whereisGlobal('y')
    cluster.clearCache()
    await cluster.getCapable('x')
    await cluster.getPeers()
    await cluster.whereisGlobal('y')
    assert.is(count(traces, /^cache miss: /), 6)
  })

  test('getPeers lists the live nodes; a stopped node leaves at once', async ({ pool }) => {
    const [a, b, c] = await pool.startMany(3)
    const all = [a, b, c].map(t => t!.cluster.id.key).sort()
    assert.equal(keys(await a!.cluster.getPeers()), all)
    await c!.cluster.stop()
    await waitFor('the stopped node to leave', async () => (await a!.cluster.getPeers()).length === 2, { timeoutMs: 3000 })
  })

  test('discovery never connects nodes; sending connects only the two nodes concerned', async ({ pool }) => {
    const [a, b, c] = await pool.startMany(3)
    const pid = b!.cluster.node.spawn(async self => void (await self.receive()))
    await b!.cluster.register('solo', pid)
    await a!.cluster.getPeers()
    await waitFor('the member', async () => (await a!.cluster.getCapable('solo')).length === 1)
    await a!.cluster.whereisGlobal('nobody')
    for (const t of [a, b, c]) assert.equal(t!.cluster.node.peers(), [], 'no connection yet')
    await a!.cluster.nsendCapable('solo', 'hello')
    await b!.cluster.node.exited(pid)
    assert.equal(keys(a!.cluster.node.peers()), [b!.cluster.id.key])
    assert.equal(c!.cluster.node.peers(), [])
  })

  test('clusters with different prefixes share the ensemble without seeing each other', async ({ pool, connectString, prefix }) => {
    const [a] = await pool.startMany(1)
    const other = await pool.start({ prefix: `${prefix}-other` })
    const here = a!.cluster.node.spawn(async self => void (await self.receive()))
    const there = other.cluster.node.spawn(async self => void (await self.receive()))
    await a!.cluster.register('shared', here)
    await other.cluster.register('shared', there)
    assert.equal(keys(await a!.cluster.getCapable('shared')), [here.key])
    assert.equal(keys(await other.cluster.getCapable('shared')), [there.key])
    assert.equal(keys(await a!.cluster.getPeers()), [a!.cluster.id.key])
    const zk = await ZooKeeper.connect(connectString)
    try {
      assert.equal((await zk.getChildren(prefix)).sort(), ['global', 'nodes', 'services'])
    } finally {
      await zk.close()
    }
  })

  test('children that zkcloud did not write are ignored, with an error logged', async ({ pool, prefix }) => {
    const { cluster, errors } = await pool.start()
    await cluster.zk.create(`${prefix}/services/odd`)
    await cluster.zk.create(`${prefix}/services/odd/not-a-pid`)
    assert.equal(await cluster.getCapable('odd'), [])
    assert.match(errors.join('\n'), /ignoring "not-a-pid" in service odd/)
  })
}

const single = await zkSuite<Ctx>('discovery on a single server')
single.before(ctx => {
  ctx.connectString = ctx.zk.connectString
})
discoveryCases(single as unknown as Test<Ctx>)
single.run()

onEnsemble<Ctx>('discovery on a 3-server ensemble', discoveryCases)
