// zkcloud's recipes next to Curator's and kazoo's, as real processes on the same server: Lock vs
// InterProcessMutex and kazoo's Lock, Semaphore vs InterProcessSemaphoreV2, LeaderLatch vs Curator's
// LeaderLatch, LeaderSelector vs kazoo's Election.
import * as assert from 'uvu/assert'
import { LeaderLatch, LeaderSelector, Lock, ReadWriteLock, Semaphore, type Lease } from '../../lib/recipes/index.js'
import type { ZooKeeper } from '../../lib/zk-wire/index.js'
import { ClientPool } from '../support/clients.js'
import { zkSuite } from '../support/zookeeper.js'
import { Peer, curatorMissing, kazooMissing } from './peers.js'
import { childrenOf, deferred, settlesWithin, waitFor } from './support.js'

interface Ctx {
  pool: ClientPool
  curator: Peer
  kazoo: Peer
  admin: ZooKeeper
  root: string
}

const test = await zkSuite<Ctx>('interop with Curator and kazoo')
const missing = curatorMissing() ?? kazooMissing()
if (missing !== null && process.env.CI === 'true') throw new Error(`CI=true but ${missing}`)

test.before(async (ctx) => {
  if (missing !== null) return
  ctx.pool = new ClientPool(ctx.zk.connectString)
  const { zk, root } = await ctx.pool.rooted('interop')
  ctx.admin = zk
  ctx.root = root
  // One JVM and one Python for the whole file, rooted in this file's namespace.
  ;[ctx.curator, ctx.kazoo] = await Promise.all([Peer.curator(ctx.zk.connectString + root), Peer.kazoo(ctx.zk.connectString + root)])
})
test.after(async (ctx) => {
  await Promise.all([ctx.curator?.stop(), ctx.kazoo?.stop()])
  await ctx.pool?.closeAll()
})

function interop(name: string, body: (ctx: Ctx) => Promise<void>): void {
  if (missing !== null) {
    test.skip(`${name} (SKIPPED: ${missing})`)
    return
  }
  test(name, body)
}

interop('Curator holds the mutex: zkcloud waits, and gets it when Curator releases', async ({ curator, admin }) => {
  await curator.call('c1', 'mutex /l1')
  assert.match(await curator.call('c1', 'acquire 5000'), /^acquired/)
  const lock = new Lock(admin, '/l1')
  assert.is(await lock.tryAcquire(), null, 'excluded by Curator\'s holder')
  const pending = lock.acquire({ timeout: 10_000 })
  await waitFor('zkcloud queued', async () => (await childrenOf(admin, '/l1')).length === 2)
  assert.not.ok(await settlesWithin(pending, 200))
  await curator.call('c1', 'release')
  const hold = await pending
  assert.ok(lock.isHeld)
  await hold.release()
  await curator.call('c1', 'close')
})

interop('zkcloud holds: Curator times out, then gets it when zkcloud releases', async ({ curator, admin }) => {
  const lock = new Lock(admin, '/l2')
  const hold = await lock.acquire()
  await curator.call('c2', 'mutex /l2')
  assert.is(await curator.call('c2', 'acquire 300'), 'timeout')
  assert.equal((await childrenOf(admin, '/l2')).length, 1, 'Curator removed its candidate')
  const curatorAcquire = curator.call('c2', 'acquire 10000')
  await waitFor('Curator queued', async () => (await childrenOf(admin, '/l2')).length === 2)
  await hold.release()
  assert.match(await curatorAcquire, /^acquired/)
  // Now zkcloud must wait for Curator.
  assert.is(await lock.tryAcquire(), null)
  await curator.call('c2', 'release')
  await (await lock.acquire({ timeout: 5000 })).release()
})

interop('one queue across implementations: holders take turns in sequence order', async ({ curator, admin, pool, root }) => {
  const first = new Lock(admin, '/l3')
  const second = new Lock(await pool.connect({ root }), '/l3')
  const h1 = await first.acquire()
  await curator.call('c3', 'mutex /l3')
  const curatorAcquire = curator.call('c3', 'acquire 10000')
  await waitFor('Curator queued', async () => (await childrenOf(admin, '/l3')).length === 2)
  const p2 = second.acquire()
  await waitFor('zkcloud queued', async () => (await childrenOf(admin, '/l3')).length === 3)
  const names = (await first.participants()).map((p) => p.split('/').pop()!)
  assert.ok(names.every((n) => /^_c_[0-9a-f-]{36}-lock-\d{10}$/.test(n)), `the same names: ${names.join(' ')}`)
  await h1.release()
  assert.match(await curatorAcquire, /^acquired/)
  assert.not.ok(await settlesWithin(p2, 300), 'the zkcloud waiter behind Curator keeps waiting')
  await curator.call('c3', 'release')
  await (await p2).release()
})

interop('kazoo with extra_lock_patterns=["-lock-"] and zkcloud exclude each other both ways', async ({ kazoo, admin }) => {
  await kazoo.call('k1', 'lock /l4 kazoo-one -lock-')
  assert.match(await kazoo.call('k1', 'acquire 5000'), /^acquired [0-9a-f]{32}__lock__\d{10}$/)
  const lock = new Lock(admin, '/l4')
  assert.is(await lock.tryAcquire(), null, 'zkcloud sees kazoo\'s __lock__ candidate')
  const pending = lock.acquire({ timeout: 10_000 })
  await waitFor('zkcloud queued', async () => (await childrenOf(admin, '/l4')).length === 2)
  await kazoo.call('k1', 'release')
  const hold = await pending
  assert.is(await kazoo.call('k1', 'acquire 300'), 'timeout', 'kazoo sees zkcloud\'s -lock- candidate')
  const kazooAcquire = kazoo.call('k1', 'acquire 10000')
  await waitFor('kazoo queued', async () => (await childrenOf(admin, '/l4')).length === 2)
  await hold.release()
  assert.match(await kazooAcquire, /^acquired/)
  await kazoo.call('k1', 'release')
})

interop('kazoo without extra_lock_patterns ignores zkcloud (and Curator) candidates; zkcloud still waits for kazoo', async ({ kazoo, admin }) => {
  const lock = new Lock(admin, '/l5')
  const hold = await lock.acquire()
  await kazoo.call('k2', 'lock /l5 kazoo-two')
  // The documented limitation: kazoo's default contender pattern is only "__lock__".
  assert.match(await kazoo.call('k2', 'acquire 2000'), /^acquired/)
  await kazoo.call('k2', 'release')
  await hold.release()
  await kazoo.call('k2', 'acquire 2000')
  assert.is(await lock.tryAcquire(), null, 'zkcloud waits for a kazoo holder either way')
  await kazoo.call('k2', 'release')
})

interop('ReadWriteLock uses Curator\'s __READ__/__WRIT__ names: Curator participants see our readers', async ({ admin }) => {
  const rw = new ReadWriteLock(admin, '/rw')
  const r = await rw.readLock.acquire()
  const [name] = await childrenOf(admin, '/rw')
  assert.match(name!, /^_c_[0-9a-f-]{36}-__READ__\d{10}$/)
  await r.release()
  await rw.close()
})

interop('Semaphore and InterProcessSemaphoreV2 share the leases: never more than maxLeases in all', async ({ curator, admin }) => {
  await curator.call('s1', 'semaphore /sem 2')
  await curator.call('s2', 'semaphore /sem 2')
  assert.match(await curator.call('s1', 'acquire 5000'), /^acquired _c_[0-9a-f-]{36}-lease-\d{10}$/)
  const sem = new Semaphore(admin, '/sem', 2)
  const mine = await sem.acquire({ timeout: 5000 })
  assert.is(await curator.call('s2', 'acquire 300'), 'timeout', 'Curator counts our lease')
  assert.is(await sem.tryAcquire(), null, 'we count Curator\'s lease')
  const ours = sem.acquire({ timeout: 10_000 })
  assert.not.ok(await settlesWithin(ours, 200))
  await curator.call('s1', 'release')
  const second: Lease = await ours
  assert.is((await childrenOf(admin, '/sem/leases')).length, 2)
  const curatorWaits = curator.call('s2', 'acquire 10000')
  assert.not.ok(await settlesWithin(curatorWaits, 200))
  await mine.release()
  assert.match(await curatorWaits, /^acquired/)
  await second.release()
  await curator.call('s2', 'release')
  await sem.close()
  assert.equal(await childrenOf(admin, '/sem/leases'), [])
})

interop('LeaderLatch and Curator\'s LeaderLatch elect one leader between them, in queue order', async ({ curator, admin, pool, root }) => {
  await curator.call('l1', 'latch /latch curator-1')
  await curator.event(/^event l1 leader$/)
  const ours = new LeaderLatch(admin, '/latch', { id: 'zkcloud-1' })
  await ours.start()
  await curator.call('l2', 'latch /latch curator-2')
  await waitFor('three participants', async () => (await ours.participants()).length === 3)
  assert.equal((await ours.participants()).map((p) => [p.id, p.isLeader]), [['curator-1', true], ['zkcloud-1', false], ['curator-2', false]])
  assert.not.ok(ours.hasLeadership)
  assert.is(await curator.call('l2', 'has'), 'false')
  await curator.call('l1', 'close')
  const term = await ours.await({ timeout: 10_000 })
  assert.is(await curator.call('l2', 'has'), 'false', 'Curator\'s latch behind us waits')
  const other = new LeaderLatch(await pool.connect({ root }), '/latch', { id: 'zkcloud-2' })
  await other.start()
  await ours.close()
  assert.ok(!term.signal.aborted)
  await curator.event(/^event l2 leader$/)
  assert.not.ok(other.hasLeadership)
  await curator.call('l2', 'close')
  await other.await({ timeout: 10_000 })
  await other.close()
  assert.equal(await childrenOf(admin, '/latch'), [])
})

interop('LeaderSelector waits for a kazoo Election leader; a kazoo Election given the "-lock-" pattern waits for ours', async ({ kazoo, admin }) => {
  await kazoo.call('e1', 'election /elect kazoo-1')
  kazoo.send('e1', 'run')
  await kazoo.event(/^event e1 leader$/)
  const leading = deferred()
  const done = deferred()
  const selector = new LeaderSelector(admin, '/elect', async () => {
    leading.resolve()
    await done.promise
  }, { id: 'zkcloud', autoRequeue: false })
  selector.start()
  assert.not.ok(await settlesWithin(leading.promise, 300), 'kazoo leads; we wait')
  kazoo.send('e1', 'resign')
  await kazoo.event(/^event e1 ended$/)
  await leading.promise
  await kazoo.call('e2', 'election /elect kazoo-2 -lock-')
  kazoo.send('e2', 'run')
  await waitFor('kazoo queued', async () => (await childrenOf(admin, '/elect')).length === 2)
  assert.is(kazoo.events.filter((e) => e.startsWith('event e2 leader')).length, 0, 'kazoo waits for us')
  done.resolve()
  await kazoo.event(/^event e2 leader$/)
  kazoo.send('e2', 'resign')
  await kazoo.event(/^event e2 ended$/)
  await selector.close()
})

test.run()
