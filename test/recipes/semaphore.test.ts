// The behaviour of kazoo's Semaphore tests and Curator's TestInterProcessSemaphore, on zkcloud's Semaphore.
import * as assert from 'uvu/assert'
import { Semaphore, type Lease, type LossReason } from '../../lib/recipes/index.js'
import { ClientPool } from '../support/clients.js'
import { sleep } from '../support/wait.js'
import { zkSuite } from '../support/zookeeper.js'
import { CountingEnv, childrenOf, hasWatch, expireSession, rejectsWith, settlesWithin, throwsWith } from './support.js'

const test = await zkSuite<{ pool: ClientPool }>('semaphore')
test.before.each((ctx) => {
  ctx.pool = new ClientPool(ctx.zk.connectString)
})
test.after.each(async (ctx) => {
  await ctx.pool.closeAll()
})

test('never more than maxLeases holders at once, and the limit is reached', async ({ pool }) => {
  const { zk } = await pool.rooted('semaphore limit')
  const other = await pool.connect({ root: zk.chrootPath })
  let inside = 0
  let most = 0
  await Promise.all(Array.from({ length: 8 }, async (_, i) => {
    const sem = new Semaphore(i % 2 === 0 ? zk : other, '/sem', 3)
    for (let round = 0; round < 2; round++) {
      const lease = await sem.acquire()
      inside++
      most = Math.max(most, inside)
      await sleep(20)
      inside--
      await lease.release()
    }
    await sem.close()
  }))
  assert.is(most, 3)
  assert.equal(await childrenOf(zk, '/sem/leases'), [])
})

test('lease znodes follow Curator\'s layout: leases/_c_<uuid>-lease-<seq>, the mutex under locks/', async ({ pool }) => {
  const { zk } = await pool.rooted('semaphore layout')
  const sem = new Semaphore(zk, '/sem', 2, { data: 'me' })
  const lease = await sem.acquire()
  const [name] = await childrenOf(zk, '/sem/leases')
  assert.match(name!, /^_c_[0-9a-f-]{36}-lease-\d{10}$/)
  assert.is(lease.path, `/sem/leases/${name}`)
  assert.is((await zk.getData(lease.path)).data.toString(), 'me')
  assert.equal(await childrenOf(zk, '/sem/locks'), [], 'the mutex is released once the lease is granted')
  assert.equal(await sem.participants(), [lease.path])
  await sem.close()
})

test('tryAcquire is null when every lease is taken; a returned lease goes to the waiter', async ({ pool }) => {
  const { zk } = await pool.rooted('semaphore non blocking')
  const a = new Semaphore(zk, '/sem', 1)
  const b = new Semaphore(await pool.connect({ root: zk.chrootPath }), '/sem', 1)
  const lease = await a.acquire()
  assert.is(await b.tryAcquire(), null)
  assert.is((await childrenOf(zk, '/sem/leases')).length, 1, 'the failed try left nothing')
  const waiting = b.acquire()
  assert.not.ok(await settlesWithin(waiting, 200))
  await lease.release()
  const next: Lease = await waiting
  assert.equal(b.leases, [next])
  await Promise.all([a.close(), b.close()])
  assert.equal(await childrenOf(zk, '/sem/leases'), [])
})

test('a timed-out or aborted acquire leaves no lease, no mutex candidate, no watch, no timer', async ({ pool }) => {
  const { zk } = await pool.rooted('semaphore timeout')
  const holder = new Semaphore(await pool.connect({ root: zk.chrootPath }), '/sem', 1)
  await holder.acquire()
  const env = new CountingEnv()
  const sem = new Semaphore(zk, '/sem', 1, { env })
  await rejectsWith(sem.acquire({ timeout: 250 }), 'TIMEOUT')
  const controller = new AbortController()
  const pending = sem.acquire({ signal: controller.signal })
  await sleep(100)
  controller.abort()
  await rejectsWith(pending, 'ABORTED')
  assert.is((await childrenOf(zk, '/sem/leases')).length, 1)
  assert.equal(await childrenOf(zk, '/sem/locks'), [])
  assert.not.ok(await hasWatch(zk, '/sem/leases'), 'no watch left on the leases')
  assert.is(env.liveTimers, 0)
  await holder.close()
})

test('acquireMany takes all or none', async ({ pool }) => {
  const { zk } = await pool.rooted('semaphore many')
  const sem = new Semaphore(zk, '/sem', 3)
  const other = new Semaphore(await pool.connect({ root: zk.chrootPath }), '/sem', 3)
  const one = await other.acquire()
  await rejectsWith(sem.acquireMany(3, { timeout: 300 }), 'TIMEOUT')
  assert.is((await childrenOf(zk, '/sem/leases')).length, 1, 'the two it got were returned')
  await one.release()
  const three = await sem.acquireMany(3)
  assert.is(three.length, 3)
  await rejectsWith(sem.acquireMany(4), 'BAD_ARGUMENT', /count must be an integer in 1\.\.3/)
  await Promise.all(three.map((l) => l.release()))
  await Promise.all([sem.close(), other.close()])
})

test('session expiry while holding a lease: lost event and signal, then the waiter gets it', async ({ pool }) => {
  const { zk } = await pool.rooted('semaphore expiry')
  // A long session: on a loaded machine a few seconds without a ping would report 'suspect'
  // first, which is right but not what this test is about (the server saying 'expired').
  const doomed = await pool.connect({ root: zk.chrootPath, sessionTimeout: 30_000 })
  const env = new CountingEnv()
  const sem = new Semaphore(doomed, '/sem', 1, { env })
  const lease = await sem.acquire()
  const lost: LossReason[] = []
  sem.on('lost', (reason, _error, which) => {
    assert.is(which, lease)
    lost.push(reason)
  })
  const waiter = new Semaphore(zk, '/sem', 1)
  const next = waiter.acquire()
  await sleep(100)
  await expireSession(doomed)
  assert.equal(lost, ['expired'])
  assert.ok(lease.signal.aborted)
  await (await next).release()
  await lease.release()
  assert.is(env.liveTimers, 0)
  await waiter.close()
})

test('close returns every lease and ends pending acquires; twice is fine; later calls are CLOSED', async ({ pool }) => {
  const { zk } = await pool.rooted('semaphore close')
  const sem = new Semaphore(zk, '/sem', 2)
  await sem.acquireMany(2)
  const pending = sem.acquire()
  await sleep(50)
  await Promise.all([sem.close(), sem.close()])
  await rejectsWith(pending, 'CLOSED')
  assert.equal(await childrenOf(zk, '/sem/leases'), [])
  assert.equal(await childrenOf(zk, '/sem/locks'), [])
  await rejectsWith(sem.acquire(), 'CLOSED')
})

test('bad input is refused with clear errors', async ({ pool }) => {
  const { zk } = await pool.rooted('semaphore bad input')
  throwsWith(() => new Semaphore(zk, '/sem', 0), 'BAD_ARGUMENT', /maxLeases must be an integer/)
  throwsWith(() => new Semaphore(zk, '/sem', 1.5), 'BAD_ARGUMENT', /maxLeases/)
  throwsWith(() => new Semaphore(zk, 'sem', 1), 'BAD_ARGUMENT', /invalid path/)
  const sem = new Semaphore(zk, '/sem', 1)
  await rejectsWith(sem.acquire({ timeout: -5 }), 'BAD_ARGUMENT', /timeout/)
  assert.equal(await childrenOf(zk, '/'), [])
})

test.run()
