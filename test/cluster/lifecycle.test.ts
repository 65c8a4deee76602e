import * as assert from 'uvu/assert'
import { bootstrap, Cluster, ClusterError, type ClusterOptions, type StepDownReason } from '../../lib/cluster/index.js'
import { ProcessExitError } from '../../lib/runtime/index.js'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { TcpProxy } from '../support/proxy.js'
import { rejection } from '../support/rejection.js'
import { waitFor } from '../support/wait.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { ClusterPool, count, keys, type TestCluster } from './support.js'

interface Ctx {
  pool: ClusterPool
  prefix: string
  observer: ZooKeeper
  proxies: TcpProxy[]
}

const test = await zkSuite<Ctx>('cluster life cycle: start, stop, unreachable ZooKeeper, session expiry')

test.before.each(async ctx => {
  ctx.prefix = chroot(ctx.__test__)
  ctx.pool = new ClusterPool({ zookeeper: ctx.zk.connectString, prefix: ctx.prefix })
  ctx.observer = await ZooKeeper.connect(ctx.zk.connectString)
  ctx.proxies = []
})
test.after.each(async ctx => {
  await ctx.pool.stopAll()
  await ctx.observer.close()
  await Promise.all(ctx.proxies.map(proxy => proxy.close()))
})

/** Session timeout of the nodes whose sessions the tests expire. */
const T = 3000

/** A cluster node that reaches ZooKeeper through its own proxy, so the test can silence it. */
async function silenceable(ctx: Ctx & { zk: { connectString: string } }, options: Partial<ClusterOptions> = {}): Promise<TestCluster & { proxy: TcpProxy }> {
  const [host, port] = ctx.zk.connectString.split(',')[0]!.split(':')
  const proxy = await TcpProxy.start(host!, Number(port))
  ctx.proxies.push(proxy)
  return { ...(await ctx.pool.start({ zookeeper: proxy.address, sessionTimeout: T, ...options })), proxy }
}

/** Silences a node until ZooKeeper has expired its session (its node znode is gone), then lets it talk again. */
async function expire(ctx: Ctx, node: TestCluster & { proxy: TcpProxy }): Promise<void> {
  const path = `${ctx.prefix}/nodes/${node.cluster.id.key}`
  const gone = new Promise(resolve => void ctx.observer.exists(path, { watch: resolve }))
  node.proxy.stall()
  await gone
  node.proxy.resume()
}

test('bootstrap advertises the node while main runs, and its return removes every znode at once', async ({ zk, prefix, observer }) => {
  let during: string[] = []
  let id = ''
  await bootstrap({ zookeeper: zk.connectString, prefix }, async (self, cluster) => {
    id = cluster.id.key
    await cluster.register('svc', self.pid)
    await cluster.registerCandidate('g', async me => void (await me.receive()))
    during = await observer.getChildren(`${prefix}/nodes`)
  })
  assert.equal(during, [id])
  assert.equal(await observer.getChildren(`${prefix}/nodes`), [])
  assert.equal(await observer.getChildren(`${prefix}/services/svc`).catch(() => []), [])
  assert.equal(await observer.getChildren(`${prefix}/global/g`).catch(() => []), [])
})

test('bootstrap rejects with what main threw, after stopping the cluster', async ({ zk, prefix, observer }) => {
  const err = await rejection(bootstrap({ zookeeper: zk.connectString, prefix }, () => {
    throw new Error('main failed')
  }))
  assert.is(err.message, 'main failed')
  assert.equal(await observer.getChildren(`${prefix}/nodes`), [])
  const killed = await rejection(bootstrap({ zookeeper: zk.connectString, prefix }, self => self.node.kill(self.pid, 'enough')))
  assert.instance(killed, ProcessExitError)
  assert.is((killed as ProcessExitError).reason, 'enough')
  await bootstrap({ zookeeper: zk.connectString, prefix }, (_, cluster) => void cluster.stop())
})

test('ZooKeeper unreachable at start: retries with backoff and a log line each time, then fails clearly', async ({ zk }) => {
  const [host, port] = zk.connectString.split(',')[0]!.split(':')
  const proxy = await TcpProxy.start(host!, Number(port))
  proxy.refuse()
  const lines: string[] = []
  try {
    const started = Date.now()
    const err = await rejection(Cluster.start({ zookeeper: proxy.address, connectTimeout: 5000, logError: line => lines.push(line) }))
    assert.ok(Date.now() - started >= 5000)
    assert.match(err.message, new RegExp(`could not reach ZooKeeper at ${proxy.address} within 5000 ms \\(\\d+ attempts\\)`))
    assert.ok(lines.length >= 2, lines.join('\n'))
    assert.match(lines[0]!, new RegExp(`ZooKeeper at ${proxy.address} is unreachable \\(attempt 1: .*\\); retrying in 250 ms`))
    assert.match(lines[1]!, /attempt 2: .*retrying in 500 ms/)
  } finally {
    await proxy.close()
  }
})

test('ZooKeeper coming up during the retries: start succeeds', async ({ zk, prefix, observer }) => {
  const [host, port] = zk.connectString.split(',')[0]!.split(':')
  const proxy = await TcpProxy.start(host!, Number(port))
  proxy.refuse()
  const lines: string[] = []
  try {
    setTimeout(() => void proxy.accept(), 1500)
    const cluster = await Cluster.start({ zookeeper: proxy.address, prefix, connectTimeout: 10_000, logError: line => lines.push(line) })
    try {
      assert.ok(lines.length >= 1)
      assert.equal(await observer.getChildren(`${prefix}/nodes`), [cluster.id.key])
    } finally {
      await cluster.stop()
    }
  } finally {
    await proxy.close()
  }
})

test('session expiry is survived: a new session, the node, its services and candidacies back, a session event', async ctx => {
  const { observer, prefix } = ctx
  const leader = await silenceable(ctx)
  const waiting = await silenceable(ctx)
  const global = await leader.cluster.registerCandidate('g', async self => void (await self.receive()))
  await waiting.cluster.registerCandidate('g', async self => void (await self.receive()))
  const worker = waiting.cluster.node.spawn(async self => void (await self.receive()))
  await waiting.cluster.register('svc', worker)
  waiting.cluster.node.register('mirrored', worker)
  const reasons: StepDownReason[] = []
  leader.cluster.on('stepDown', (_, reason) => reasons.push(reason))
  const sessions: bigint[] = []
  leader.cluster.on('session', id => sessions.push(id))
  waiting.cluster.on('session', id => sessions.push(id))
  await waitFor('the mirrored name', async () => (await observer.getChildren(`${prefix}/services/mirrored`).catch(() => [])).length === 1)

  const before = [leader.cluster.zk.sessionId, waiting.cluster.zk.sessionId]
  await expire(ctx, waiting)
  await waitFor('the waiting node back', () => sessions.length === 1)
  assert.ok(!before.includes(sessions[0]!))
  assert.equal((await observer.getChildren(`${prefix}/nodes`)).sort(), [leader.cluster.id.key, waiting.cluster.id.key].sort())
  assert.equal(await observer.getChildren(`${prefix}/services/svc`), [worker.key])
  assert.equal(await observer.getChildren(`${prefix}/services/mirrored`), [worker.key])
  await waitFor('the waiting candidate to stand again', () => count(waiting.traces, /standing as /) === 2)
  assert.ok(leader.cluster.leadership('g')?.pid.equals(global), 'the leader kept the name')

  await expire(ctx, leader)
  await waitFor('the waiting node to lead', () => waiting.cluster.leadership('g') !== null)
  assert.equal(reasons, ['suspect'], 'the leader stepped down before its session could expire')
  assert.not.ok(leader.cluster.node.isAlive(global))
  await waitFor('the old leader back in the queue', () => count(leader.traces, /standing as /) === 2)
  await waitFor('its session event', () => sessions.length === 2)
  assert.is((await observer.getChildren(`${prefix}/global/g`)).length, 2)
})

/** What each of `calls` rejected with, failing if one resolves or is still pending after `ms` (v0.1 waited forever). */
async function rejectionsWithin(calls: Array<Promise<unknown>>, ms: number): Promise<Error[]> {
  const timedOut = new Error(`still pending after ${ms} ms`)
  const late = new Promise<Error>(resolve => setTimeout(() => resolve(timedOut), ms).unref())
  const outcomes = await Promise.all(calls.map(call => Promise.race([call.then(() => new Error('resolved'), (error: Error) => error), late])))
  for (const outcome of outcomes) assert.ok(outcome !== timedOut && outcome.message !== 'resolved', outcome.message)
  return outcomes
}

const REQUEST_MS = 1000

test('while disconnected, calls that need ZooKeeper reject after requestTimeout with ClusterError UNREACHABLE', async ctx => {
  const node = await silenceable(ctx, { sessionTimeout: 6000, requestTimeout: REQUEST_MS })
  const { cluster } = node
  node.proxy.stall()
  node.proxy.cut()
  node.proxy.refuse()
  const started = Date.now()
  const calls = [cluster.getCapable('uncached'), cluster.whereisGlobal('uncached'), cluster.register('svc', cluster.node.spawn(async self => void (await self.receive()))), cluster.registerCandidate('g', async self => void (await self.receive()))]
  for (const err of await rejectionsWithin(calls, 4 * REQUEST_MS)) {
    assert.instance(err, ClusterError)
    assert.is(err.name, 'UNREACHABLE', err.message)
    assert.match(err.message, /did not answer within 1000 ms/)
  }
  assert.ok(Date.now() - started >= REQUEST_MS * 0.9)
})

test('after an expiry, while no new session can be opened, calls reject after requestTimeout with EXPIRED; with waitForZooKeeper they wait and succeed', async ctx => {
  for (const wait of [false, true]) {
    const node = await silenceable(ctx, { requestTimeout: REQUEST_MS, waitForZooKeeper: wait })
    const { cluster } = node
    // As soon as the expiry is known, ZooKeeper becomes unreachable: the new session cannot be opened.
    cluster.on('connection', state => {
      if (state !== 'renewing') return
      node.proxy.refuse()
      node.proxy.cut()
    })
    await expire(ctx, node)
    await waitFor('the expiry to be known', () => cluster.zk.state === 'expired')
    const name = wait ? 'waits' : 'gives-up'
    const calls = [cluster.getCapable('uncached'), cluster.whereisGlobal('uncached'), cluster.register('svc', cluster.node.spawn(async self => void (await self.receive()))), cluster.registerCandidate(name, async self => void (await self.receive()))]
    if (!wait) {
      for (const err of await rejectionsWithin(calls, 4 * REQUEST_MS)) {
        assert.instance(err, ClusterError)
        assert.is(err.name, 'EXPIRED', err.message)
      }
      await node.proxy.accept()
      await waitFor('a new session', () => cluster.zk.state === 'connected')
      continue
    }
    await new Promise(resolve => setTimeout(resolve, 2 * REQUEST_MS))
    await node.proxy.accept()
    const results = await Promise.all(calls)
    assert.equal(results[0], [])
    assert.is(results[1], null)
    await waitFor('the candidacy to lead', () => cluster.leadership(name) !== null)
  }
})

test('the cache is cleared on expiry: answers are read again on the new session', async ctx => {
  const node = await silenceable(ctx)
  const { cluster, traces } = node
  await cluster.getCapable('svc')
  await cluster.getPeers()
  let renewed = false
  cluster.once('session', () => (renewed = true))
  await expire(ctx, node)
  await waitFor('a new session', () => renewed)
  assert.equal(keys(await cluster.getPeers()), [cluster.id.key])
  await cluster.getCapable('svc')
  assert.is(count(traces, /^cache miss: /), 4)
})

test('stop() is idempotent; afterwards the cluster refuses work', async ({ pool }) => {
  const { cluster } = await pool.start()
  const pid = cluster.node.spawn(() => undefined)
  await Promise.all([cluster.stop(), cluster.stop()])
  assert.is(cluster.state, 'stopped')
  assert.is(cluster.node.state, 'stopped')
  assert.is(cluster.zk.state, 'closed')
  const calls = [cluster.registerCandidate('g', () => undefined), cluster.unregister('s'), cluster.register('s', pid), cluster.getCapable('uncached')]
  for (const err of await Promise.all(calls.map(call => rejection(call)))) {
    assert.instance(err, ClusterError)
    assert.is(err.name, 'STOPPED')
  }
  assert.match((await rejection(cluster.unregister('s'))).message, /is stopped/)
})

test('await using: a cluster is disposed like a node', async ({ zk, prefix, observer }) => {
  {
    await using cluster = await Cluster.start({ zookeeper: zk.connectString, prefix, logError: () => undefined })
    assert.equal(await observer.getChildren(`${prefix}/nodes`), [cluster.id.key])
  }
  assert.equal(await observer.getChildren(`${prefix}/nodes`), [])
})

test('bad options are refused before anything starts', async () => {
  const bad: Array<[Partial<ClusterOptions>, RegExp]> = [
    [{}, /zookeeper: a connect string is required/],
    [{ zookeeper: 'x:1', prefix: 'relative' }, /invalid prefix "relative"/],
    [{ zookeeper: 'x:1', prefix: '/trailing/' }, /invalid prefix/],
    [{ zookeeper: 'x:1', sessionTimeout: -1 }, /sessionTimeout must be a positive number/],
    [{ zookeeper: 'x:1', connectTimeout: 0 }, /connectTimeout must be a positive number/],
    [{ zookeeper: 'x:1', stepDownMargin: Number.NaN }, /stepDownMargin must be a positive number/],
    [{ zookeeper: 'x:1', tickTime: 0 }, /tickTime must be a positive number/],
    [{ zookeeper: 'x:1', requestTimeout: -5 }, /requestTimeout must be a positive number/],
    [{ zookeeper: 'x:1', waitForZooKeeper: 'yes' as unknown as boolean }, /waitForZooKeeper must be true or false/],
    [{ zookeeper: 'x:1', acl: [] }, /acl must be a non-empty list/],
    [{ zookeeper: 'x:1', credentials: ['digest'] as unknown as [string, string] }, /credentials must be \[scheme, credentials\]/],
  ]
  for (const [options, message] of bad) {
    const err = await rejection(Cluster.start(options as ClusterOptions))
    assert.instance(err, TypeError)
    assert.match(err.message, message)
  }
})

test('a dozen lookups whose connection is cut at once back off and retry without a listener-leak warning', async ctx => {
  const node = await silenceable(ctx)
  const warnings: string[] = []
  const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`)
  process.on('warning', onWarning)
  try {
    node.proxy.stall()
    const services = Array.from({ length: 12 }, (_, i) => `svc-${i}`)
    const lookups = services.map(s => node.cluster.getCapable(s))
    await new Promise(resolve => setTimeout(resolve, 50))
    node.proxy.cut() // every lookup in flight fails with CONNECTIONLOSS and waits before it reads again
    node.proxy.resume()
    const lists = await Promise.all(lookups)
    assert.equal(lists.map(list => list.length), services.map(() => 0))
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(warnings, [])
    assert.ok(node.traces.some(line => line.includes('svc-11')), 'the lookups were made (and traced)')
  } finally {
    process.off('warning', onWarning)
  }
})

test('a session timeout too short for a safe lease is refused by registerCandidate, with the numbers', async ({ pool }) => {
  const { cluster } = await pool.start({ sessionTimeout: 4000, tickTime: 2500 })
  const err = await rejection(cluster.registerCandidate('g', () => undefined))
  assert.match(err.message, /cannot stand for "g": the negotiated session timeout 4000 ms is too short to hold a global name safely with tickTime 2500 ms .* at least 4150 ms/)
  assert.is(cluster.leadership('g'), null)
  // Discovery does not need a lease.
  await cluster.register('svc', cluster.node.spawn(async self => void (await self.receive())))
})

test('a local name that cannot be a znode name stays local, with an error logged', async ({ pool }) => {
  const { cluster, errors } = await pool.start()
  const pid = cluster.node.spawn(async self => void (await self.receive()))
  cluster.node.register('has/slash', pid)
  cluster.node.register('fine', pid)
  await waitFor('the fine name', async () => (await cluster.getCapable('fine')).length === 1)
  assert.match(errors.join('\n'), /the local name "has\/slash" is not mirrored into ZooKeeper: contains "\/"/)
  assert.ok(cluster.node.whereis('has/slash')?.equals(pid))
})

test('registering a process that is not a live local one is refused', async ({ pool }) => {
  const [a, b] = await pool.startMany(2)
  const remote = b!.cluster.node.spawn(async self => void (await self.receive()))
  assert.match((await rejection(a!.cluster.register('svc', remote))).message, /not a live process of/)
  const dead = a!.cluster.node.spawn(() => undefined)
  await a!.cluster.node.exited(dead)
  assert.match((await rejection(a!.cluster.register('svc', dead))).message, /not a live process of/)
})

test.run()
