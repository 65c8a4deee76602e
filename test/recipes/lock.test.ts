// The behaviour of kazoo's test_lock.py and Curator's TestInterProcessMutex, on zkcloud's Lock and ReadWriteLock.
import * as assert from 'uvu/assert'
import { Lock, ReadWriteLock, RecipeError, type Hold, type LossReason } from '../../lib/recipes/index.js'
import { ClientPool } from '../support/clients.js'
import { sleep } from '../support/wait.js'
import { zkSuite } from '../support/zookeeper.js'
import { CountingEnv, childrenOf, closeProxies, deferred, expireSession, hasWatch, isolatable, rejectsWith, settlesWithin, stateReached, throwsWith, waitFor } from './support.js'

const test = await zkSuite<{ pool: ClientPool }>('lock')
test.before.each((ctx) => {
  ctx.pool = new ClientPool(ctx.zk.connectString)
})
test.after.each(async (ctx) => {
  await ctx.pool.closeAll()
  await closeProxies()
})

test('waiters get the lock one at a time, in the order they queued', async ({ pool }) => {
  const { zk } = await pool.rooted('lock order')
  const first = new Lock(zk, '/lock', { data: 'first' })
  const held = await first.acquire()
  const names = ['c0', 'c1', 'c2', 'c3', 'c4']
  const clients = await Promise.all(names.map(() => pool.connect({ root: zk.chrootPath })))
  const order: string[] = []
  let inside = 0
  const releaseNext = names.map(() => deferred())
  const runs = names.map(async (name, i) => {
    const lock = new Lock(clients[i]!, '/lock', { data: name })
    // Queue one after the other, so the queue order is known.
    return { lock, name }
  })
  const lockers = await Promise.all(runs)
  const done: Promise<void>[] = []
  for (const [i, { lock, name }] of lockers.entries()) {
    done.push(lock.run(async () => {
      inside++
      assert.is(inside, 1, 'one holder at a time')
      order.push(name)
      await releaseNext[i]!.promise
      inside--
    }))
    await waitFor(`${name} queued`, async () => (await first.participants()).length === i + 2)
  }
  const participants = await first.participants()
  const data = await Promise.all(participants.map(async (p) => (await zk.getData(p)).data.toString()))
  assert.equal(data, ['first', ...names])
  await held.release()
  for (let i = 0; i < names.length; i++) {
    await waitFor(`${names[i]} holds`, () => order.length === i + 1)
    assert.is(order[i], names[i])
    assert.is((await first.participants()).length, names.length - i)
    releaseNext[i]!.resolve()
  }
  await Promise.all(done)
  assert.equal(await childrenOf(zk, '/lock'), [])
})

test('candidates are protected ephemeral sequential znodes named as Curator names them', async ({ pool }) => {
  const { zk } = await pool.rooted('lock names')
  const lock = new Lock(zk, '/a/b/lock')
  const hold = await lock.acquire()
  const [name] = await childrenOf(zk, '/a/b/lock')
  assert.match(name!, /^_c_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-lock-\d{10}$/)
  assert.is(hold.path, `/a/b/lock/${name}`)
  const stat = (await zk.exists(hold.path))!
  assert.is(stat.ephemeralOwner, zk.sessionId)
  assert.is(hold.token, stat.czxid)
  // Missing parents are containers, as Curator's creatingParentContainersIfNeeded makes them.
  assert.is((await zk.exists('/a/b/lock'))!.ephemeralOwner, 0n)
  await hold.release()
  assert.equal(await childrenOf(zk, '/a/b/lock'), [])
  await lock.close()
})

test('tryAcquire is null while another holds, and leaves no candidate behind', async ({ pool }) => {
  const { zk } = await pool.rooted('lock non blocking')
  const other = await pool.connect({ root: zk.chrootPath })
  const holder = new Lock(other, '/lock')
  await holder.acquire()
  const lock = new Lock(zk, '/lock')
  assert.is(await lock.tryAcquire(), null)
  assert.is((await childrenOf(zk, '/lock')).length, 1)
  assert.not.ok(lock.isHeld)
  await holder.release()
  const hold = await lock.tryAcquire()
  assert.ok(hold)
  assert.ok(lock.isHeld)
  await hold!.release()
})

test('a timed-out acquire rejects with TIMEOUT and leaves neither its znode nor its watch', async ({ pool }) => {
  const { zk } = await pool.rooted('lock timeout')
  const other = await pool.connect({ root: zk.chrootPath })
  const holder = await new Lock(other, '/lock').acquire()
  const env = new CountingEnv()
  const lock = new Lock(zk, '/lock', { env })
  const started = Date.now()
  await rejectsWith(lock.acquire({ timeout: 300 }), 'TIMEOUT', /timed out after 300 ms/)
  assert.ok(Date.now() - started >= 290, 'waited the timeout')
  assert.equal(await childrenOf(zk, '/lock'), [holder.path.split('/').pop()!])
  assert.not.ok(await hasWatch(zk, holder.path), 'the watch on the holder is removed')
  assert.is(env.liveTimers, 0)
  await holder.release()
})

test('an aborted acquire rejects with ABORTED and leaves the queue as it was', async ({ pool }) => {
  const { zk } = await pool.rooted('lock cancel')
  const other = await pool.connect({ root: zk.chrootPath })
  const holder = new Lock(other, '/lock', { data: 'one' })
  await holder.acquire()
  const lock = new Lock(zk, '/lock', { data: 'two' })
  const controller = new AbortController()
  const pending = lock.acquire({ signal: controller.signal })
  await waitFor('two queued', async () => (await holder.participants()).length === 2)
  controller.abort(new Error('changed my mind'))
  const error = await rejectsWith(pending, 'ABORTED')
  assert.match(String((error.cause as Error).message), /changed my mind/)
  assert.is((await holder.participants()).length, 1)
  // An already aborted signal fails before anything is created.
  await rejectsWith(lock.acquire({ signal: controller.signal }), 'ABORTED')
  assert.is((await holder.participants()).length, 1)
  await holder.close()
})

test('a waiter whose predecessor gives up does not jump the holder', async ({ pool }) => {
  const { zk } = await pool.rooted('lock predecessor leaves')
  const holder = await new Lock(zk, '/lock').acquire()
  const a = new Lock(await pool.connect({ root: zk.chrootPath }), '/lock')
  const b = new Lock(await pool.connect({ root: zk.chrootPath }), '/lock')
  const controller = new AbortController()
  const pa = a.acquire({ signal: controller.signal })
  await waitFor('a queued', async () => (await childrenOf(zk, '/lock')).length === 2)
  const pb = b.acquire()
  await waitFor('b queued', async () => (await childrenOf(zk, '/lock')).length === 3)
  controller.abort()
  await rejectsWith(pa, 'ABORTED')
  assert.not.ok(await settlesWithin(pb, 300), 'b still waits for the holder')
  await holder.release()
  await (await pb).release()
})

test('not re-entrant: a second acquire on the same object is BUSY; release without a hold is NOT_HELD; reacquire works', async ({ pool }) => {
  const { zk } = await pool.rooted('lock double calls')
  const lock = new Lock(zk, '/lock')
  await rejectsWith(lock.release(), 'NOT_HELD', /does not hold/)
  const hold = await lock.acquire()
  await rejectsWith(lock.acquire({ timeout: 100 }), 'BUSY', /not re-entrant/)
  assert.ok(lock.isHeld)
  await lock.release()
  assert.not.ok(lock.isHeld)
  await rejectsWith(lock.release(), 'NOT_HELD')
  await hold.release() // the hold's own release is idempotent
  const again = await lock.acquire()
  await again[Symbol.asyncDispose]()
  assert.equal(await childrenOf(zk, '/lock'), [])
})

test('many lockers on three clients: never two inside, everyone gets a turn', async ({ pool }) => {
  const { zk } = await pool.rooted('lock many')
  const clients = [zk, await pool.connect({ root: zk.chrootPath }), await pool.connect({ root: zk.chrootPath })]
  let inside = 0
  let entries = 0
  const overlaps: number[] = []
  await Promise.all(Array.from({ length: 15 }, async (_, i) => {
    const lock = new Lock(clients[i % 3]!, '/lock')
    for (let round = 0; round < 3; round++) {
      await lock.run(async () => {
        inside++
        overlaps.push(inside)
        entries++
        await sleep(2)
        inside--
      })
    }
    await lock.close()
  }))
  assert.is(entries, 45)
  assert.equal(overlaps, Array(45).fill(1))
  assert.equal(await childrenOf(zk, '/lock'), [])
})

test('fencing tokens increase from one holder to the next', async ({ pool }) => {
  const { zk } = await pool.rooted('lock tokens')
  const a = new Lock(zk, '/lock')
  const b = new Lock(await pool.connect({ root: zk.chrootPath }), '/lock')
  const tokens: bigint[] = []
  for (let i = 0; i < 3; i++) {
    for (const lock of [a, b]) tokens.push(await lock.run((hold) => hold.token))
  }
  for (let i = 1; i < tokens.length; i++) assert.ok(tokens[i]! > tokens[i - 1]!, `token ${i} increases`)
})

test('a holder cut off until its session expires hears it (event and signal) before the next waiter gets the lock', async ({ pool, zk: server }) => {
  const { zk } = await pool.rooted('lock expiry')
  const { zk: doomed, proxy } = await isolatable(pool, server.connectString, zk.chrootPath)
  const env = new CountingEnv()
  const lock = new Lock(doomed, '/lock', { env })
  const hold = await lock.acquire()
  const order: string[] = []
  lock.on('lost', (reason) => order.push(`lost ${reason}`))
  const waiter = new Lock(zk, '/lock')
  const next = waiter.acquire().then((h) => {
    order.push('next acquired')
    return h
  })
  await waitFor('the waiter queued', async () => (await waiter.participants()).length === 2)
  let signalled: unknown = null
  hold.signal.addEventListener('abort', () => (signalled = hold.signal.reason))
  proxy.stall() // silence: the server expires the session after its timeout (2 s)
  const nextHold = await next
  assert.equal(order, ['lost suspect', 'next acquired'])
  assert.instance(signalled, RecipeError)
  assert.is((signalled as RecipeError).code, 'LOST')
  assert.match((signalled as Error).message, /may have expired/)
  assert.not.ok(lock.isHeld)
  assert.ok(nextHold.token > hold.token)
  proxy.resume()
  await stateReached(doomed, 'expired')
  await hold.release() // nothing left to release: resolves
  assert.is(env.liveTimers, 0)
  await waiter.close()
})

test('session expiry reported by the server ends the hold at once', async ({ pool }) => {
  const { zk } = await pool.rooted('lock expired')
  // A long session: on a loaded machine a few seconds without a ping would report 'suspect'
  // first, which is right but not what this test is about (the server saying 'expired').
  const doomed = await pool.connect({ root: zk.chrootPath, sessionTimeout: 30_000 })
  const lock = new Lock(doomed, '/lock')
  const hold = await lock.acquire()
  const lost: LossReason[] = []
  lock.on('lost', (reason) => lost.push(reason))
  await expireSession(doomed)
  assert.equal(lost, ['expired'])
  assert.ok(hold.signal.aborted)
  assert.match((hold.signal.reason as Error).message, /session expired/)
})

test('an expired client cannot acquire: the ZooKeeper error says why', async ({ pool }) => {
  const { zk } = await pool.rooted('lock on expired')
  const doomed = await pool.connect({ root: zk.chrootPath })
  await expireSession(doomed)
  const lock = new Lock(doomed, '/lock')
  try {
    await lock.acquire()
    assert.unreachable('acquired on an expired session')
  } catch (error) {
    assert.is((error as Error).name, 'SESSIONEXPIRED')
  }
})

test('close releases the hold, ends a pending acquire with CLOSED, leaves nothing; twice is fine; later calls are CLOSED', async ({ pool }) => {
  const { zk } = await pool.rooted('lock close')
  const env = new CountingEnv()
  const held = new Lock(zk, '/lock', { env })
  const hold = await held.acquire()
  const other = await pool.connect({ root: zk.chrootPath })
  const waiting = new Lock(other, '/lock', { env })
  const pending = waiting.acquire()
  await waitFor('queued', async () => (await held.participants()).length === 2)
  await Promise.all([waiting.close(), waiting.close()])
  await rejectsWith(pending, 'CLOSED')
  assert.not.ok(await hasWatch(other, hold.path), 'no watch left on the holder')
  assert.equal((await held.participants()).length, 1)
  const closing = held.close()
  assert.is(held.close(), closing, 'a second close is the same promise')
  await closing
  assert.ok(hold.signal.aborted === false, 'a normal release does not fire the signal')
  assert.equal(await childrenOf(zk, '/lock'), [])
  assert.is(env.liveTimers, 0)
  await rejectsWith(held.acquire(), 'CLOSED')
  await rejectsWith(held.release(), 'NOT_HELD')
})

test('bad input is refused with clear errors before anything is created', async ({ pool }) => {
  const { zk } = await pool.rooted('lock bad input')
  throwsWith(() => new Lock(zk, 'no-slash'), 'BAD_ARGUMENT', /invalid path "no-slash": must start with \//)
  throwsWith(() => new Lock(zk, '/a//b'), 'BAD_ARGUMENT', /empty segment/)
  throwsWith(() => new Lock(zk, '/'), 'BAD_ARGUMENT', /must not be "\/"/)
  throwsWith(() => new Lock(zk, '/ok', { margin: -1 }), 'BAD_ARGUMENT', /margin/)
  const lock = new Lock(zk, '/lock')
  await rejectsWith(lock.acquire({ timeout: -1 }), 'BAD_ARGUMENT', /timeout must be a number of milliseconds >= 0, not -1/)
  await rejectsWith(lock.acquire({ timeout: NaN }), 'BAD_ARGUMENT', /timeout/)
  await rejectsWith(lock.acquire({ signal: 'soon' as unknown as AbortSignal }), 'BAD_ARGUMENT', /AbortSignal/)
  assert.equal(await childrenOf(zk, '/lock'), [])
})

test('ReadWriteLock: readers share, a writer waits for them and excludes them', async ({ pool }) => {
  const { zk } = await pool.rooted('rw lock')
  const other = await pool.connect({ root: zk.chrootPath })
  const a = new ReadWriteLock(zk, '/rw')
  const b = new ReadWriteLock(other, '/rw')
  const ra = await a.readLock.acquire()
  const rb = await b.readLock.acquire({ timeout: 1000 })
  const names = await childrenOf(zk, '/rw')
  assert.ok(names.every((n) => /^_c_[0-9a-f-]{36}-__READ__\d{10}$/.test(n)), names.join())
  const writer = new ReadWriteLock(await pool.connect({ root: zk.chrootPath }), '/rw')
  const writing = writer.writeLock.acquire()
  assert.not.ok(await settlesWithin(writing, 200), 'the writer waits for both readers')
  await ra.release()
  assert.not.ok(await settlesWithin(writing, 100), 'and for the second one')
  // A reader that comes after the waiting writer queues behind it.
  const c = new ReadWriteLock(zk, '/rw')
  const lateReader = c.readLock.acquire()
  await rb.release()
  const w: Hold = await writing
  assert.not.ok(await settlesWithin(lateReader, 200), 'a reader waits while the writer holds')
  // The writer's own read lock is granted at once (downgrade).
  const own = await writer.readLock.acquire({ timeout: 0 })
  await w.release()
  await (await lateReader).release()
  await own.release()
  await Promise.all([a.close(), b.close(), c.close(), writer.close()])
  assert.equal(await childrenOf(zk, '/rw'), [])
})

test.run()
