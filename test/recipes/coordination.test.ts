// kazoo's test_barrier, test_counter, test_queue and test_party (and Curator's barrier, SharedCount and
// queue tests that fit), on zkcloud's Barrier, DoubleBarrier, SharedCounter, DistributedQueue,
// LockingQueue and Party.
import * as assert from 'uvu/assert'
import { Barrier, DistributedQueue, DoubleBarrier, LockingQueue, Party, SharedCounter, type VersionedValue } from '../../lib/recipes/index.js'
import { ClientPool } from '../support/clients.js'
import { sleep } from '../support/wait.js'
import { zkSuite } from '../support/zookeeper.js'
import { childrenOf, expireSession, hasWatch, rejectsWith, settlesWithin, throwsWith, waitFor } from './support.js'

const test = await zkSuite<{ pool: ClientPool }>('coordination recipes')
test.before.each((ctx) => {
  ctx.pool = new ClientPool(ctx.zk.connectString)
})
test.after.each(async (ctx) => {
  await ctx.pool.closeAll()
})

test('Barrier: wait passes when it is not set, blocks while set, and every waiter passes once removed', async ({ pool }) => {
  const { zk } = await pool.rooted('barrier')
  const gate = new Barrier(zk, '/a/gate')
  assert.not.ok(await gate.isSet())
  await gate.wait({ timeout: 100 })
  await gate.remove() // removing an open barrier is fine
  await gate.set()
  await gate.set() // raising a raised barrier too
  assert.ok(await gate.isSet())
  await rejectsWith(gate.wait({ timeout: 150 }), 'TIMEOUT')
  assert.not.ok(await hasWatch(zk, '/a/gate'), 'a timed-out wait leaves no watch')
  const others = await Promise.all([1, 2].map(async () => new Barrier(await pool.connect({ root: zk.chrootPath }), '/a/gate')))
  const waits = others.map((b) => b.wait())
  assert.not.ok(await settlesWithin(Promise.race(waits), 200))
  await gate.remove()
  await Promise.all(waits)
  const pending = gate.wait()
  await gate.close() // nothing pending: the barrier is open
  await pending
  throwsWith(() => gate.wait(), 'CLOSED')
})

test('DoubleBarrier: nobody gets in before all have entered, nobody gets out before all have left', async ({ pool }) => {
  const { zk } = await pool.rooted('double barrier')
  const members = await Promise.all([0, 1, 2].map(async (i) => new DoubleBarrier(await pool.connect({ root: zk.chrootPath }), '/phase', 3, { data: `m${i}` })))
  const entered: number[] = []
  const first = members[0]!.enter().then(() => entered.push(0))
  const second = members[1]!.enter().then(() => entered.push(1))
  assert.not.ok(await settlesWithin(Promise.race([first, second]), 300), 'two of three wait')
  await members[2]!.enter()
  await Promise.all([first, second])
  assert.equal(members.map((m) => m.state), ['inside', 'inside', 'inside'])
  assert.ok((await childrenOf(zk, '/phase')).includes('ready'))
  const left: number[] = []
  const l0 = members[0]!.leave().then(() => left.push(0))
  const l1 = members[1]!.leave().then(() => left.push(1))
  assert.not.ok(await settlesWithin(Promise.race([l0, l1]), 300), 'they wait for the third to leave')
  await members[2]!.leave()
  await Promise.all([l0, l1])
  assert.equal(await childrenOf(zk, '/phase'), [])
  await rejectsWith(members[0]!.leave(), 'BUSY', /while outside/)
  const late = new DoubleBarrier(zk, '/phase', 2)
  await rejectsWith(late.enter({ timeout: 200 }), 'TIMEOUT')
  assert.equal(await childrenOf(zk, '/phase'), [], 'a timed-out enter takes its znode back')
  await Promise.all([...members, late].map((m) => m.close()))
  throwsWith(() => new DoubleBarrier(zk, '/phase', 0), 'BAD_ARGUMENT', /memberCount/)
})

test('SharedCounter: add returns the value it set; concurrent adds all count; trySet is compare-and-set', async ({ pool }) => {
  const { zk } = await pool.rooted('counter')
  const counters = await Promise.all([0, 1, 2].map(async () => new SharedCounter(await pool.connect({ root: zk.chrootPath }), '/count')))
  for (const c of counters) await c.start()
  assert.is(counters[0]!.value, 0)
  assert.is(await counters[0]!.add(5), 5)
  assert.is(await counters[0]!.add(-2), 3)
  await Promise.all(counters.flatMap((c) => Array.from({ length: 10 }, () => c.add(1))))
  const read = await counters[1]!.read()
  assert.is(read.value, 33)
  assert.ok(await counters[1]!.trySet(100, read.version))
  assert.not.ok(await counters[2]!.trySet(7, read.version), 'a stale version loses')
  // Curator's SharedCount encoding: 4 bytes, big-endian.
  assert.equal([...(await zk.getData('/count')).data], [0, 0, 0, 100])
  await Promise.all(counters.map((c) => c.close()))
})

test('SharedCounter: change events and changes() follow every value; text encoding as kazoo stores it', async ({ pool }) => {
  const { zk } = await pool.rooted('counter events')
  const watcher = new SharedCounter(zk, '/count', { encoding: 'text', initial: 10 })
  await watcher.start()
  assert.is((await zk.getData('/count')).data.toString(), '10')
  const seen: VersionedValue[] = []
  watcher.on('change', (v) => seen.push(v))
  const stream = watcher.changes()
  const writer = new SharedCounter(await pool.connect({ root: zk.chrootPath }), '/count', { encoding: 'text' })
  await writer.start()
  await writer.set(11)
  await writer.add(1)
  const first = await stream.next()
  const second = await stream.next()
  assert.equal([first.value.value, second.value.value], [11, 12])
  await waitFor('watcher caught up', () => watcher.value === 12)
  assert.equal(seen.map((v) => v.value), [11, 12])
  await watcher.close()
  assert.ok((await stream.next()).done, 'close ends the iteration')
  assert.not.ok(await hasWatch(zk, '/count'))
  await writer.close()
  throwsWith(() => new SharedCounter(zk, '/c', { initial: 2 ** 31 }), 'BAD_ARGUMENT', /32-bit/)
  await zk.create('/text', 'abc')
  const wrong = new SharedCounter(zk, '/text')
  await rejectsWith(wrong.start(), 'BAD_ARGUMENT', /not a 4-byte integer/)
})

test('DistributedQueue: FIFO; poll is null when empty; take waits for a put', async ({ pool }) => {
  const { zk } = await pool.rooted('queue')
  const q = new DistributedQueue(zk, '/q')
  assert.is(await q.poll(), null)
  assert.is(await q.peek(), null)
  for (const item of ['one', 'two', 'three']) await q.put(item)
  await q.putAll(['four', 'five'])
  assert.is(await q.size(), 5)
  assert.is((await q.peek())!.toString(), 'one')
  const got: string[] = []
  for (let i = 0; i < 5; i++) got.push((await q.take())!.toString())
  assert.equal(got, ['one', 'two', 'three', 'four', 'five'])
  const waiting = q.take({ timeout: 5000 })
  assert.not.ok(await settlesWithin(waiting, 150))
  await new DistributedQueue(await pool.connect({ root: zk.chrootPath }), '/q').put('late')
  assert.is((await waiting).toString(), 'late')
  await rejectsWith(q.take({ timeout: 100 }), 'TIMEOUT')
  assert.not.ok(await hasWatch(zk, '/q'), 'no watch left on the queue')
  await rejectsWith(q.put(42 as unknown as string), 'BAD_ARGUMENT')
  await q.close()
})

test('DistributedQueue: concurrent consumers take every item exactly once', async ({ pool }) => {
  const { zk } = await pool.rooted('queue concurrent')
  const producer = new DistributedQueue(zk, '/q')
  const items = Array.from({ length: 60 }, (_, i) => `item-${i}`)
  await producer.putAll(items)
  const taken: string[] = []
  await Promise.all([0, 1, 2, 3].map(async () => {
    const q = new DistributedQueue(await pool.connect({ root: zk.chrootPath }), '/q')
    for (;;) {
      const item = await q.poll()
      if (item === null) break
      taken.push(item.toString())
    }
  }))
  assert.is(taken.length, items.length)
  assert.equal([...taken].sort(), [...items].sort())
})

test('LockingQueue: take locks an item; ack removes it; release gives it back; priorities go first', async ({ pool }) => {
  const { zk } = await pool.rooted('locking queue')
  const q = new LockingQueue(zk, '/lq')
  await q.put('low', 500)
  await q.put('high', 1)
  await q.putAll(['mid-a', 'mid-b'], 100)
  const first = await q.take()
  assert.is(first.data.toString(), 'high')
  const second = await q.take()
  assert.is(second.data.toString(), 'mid-a')
  assert.is((await childrenOf(zk, '/lq/taken')).length, 2)
  await second.release()
  const again = await q.take()
  assert.is(again.data.toString(), 'mid-a', 'a released item is taken again')
  await first.ack()
  await again.ack()
  assert.is(await q.size(), 2)
  assert.equal(await childrenOf(zk, '/lq/taken'), [])
  await rejectsWith(q.put('x', 1000), 'BAD_ARGUMENT', /priority/)
  await q.close()
  assert.is(await q.size(), 2)
})

test('LockingQueue: a consumer that dies holding an item loses nothing: another takes it', async ({ pool }) => {
  const { zk } = await pool.rooted('locking queue crash')
  await new LockingQueue(zk, '/lq').putAll(['job-1', 'job-2'])
  const doomed = await pool.connect({ root: zk.chrootPath })
  const crashing = new LockingQueue(doomed, '/lq')
  const held = await crashing.take()
  assert.is(held.data.toString(), 'job-1')
  const survivor = new LockingQueue(zk, '/lq')
  const next = await survivor.take()
  assert.is(next.data.toString(), 'job-2', 'a locked item is skipped')
  const waiting = survivor.take({ timeout: 15_000 })
  await expireSession(doomed)
  const retaken = await waiting
  assert.is(retaken.data.toString(), 'job-1')
  await rejectsWith(held.ack(), 'LOST').catch(() => undefined) // the dead consumer's ack fails (its session is gone)
  await next.ack()
  await retaken.ack()
  assert.is(await survivor.size(), 0)
  await survivor.close()
})

test('LockingQueue: concurrent consumers process every item exactly once', async ({ pool }) => {
  const { zk } = await pool.rooted('locking queue concurrent')
  const items = Array.from({ length: 40 }, (_, i) => `job-${i}`)
  await new LockingQueue(zk, '/lq').putAll(items)
  const done: string[] = []
  await Promise.all([0, 1, 2].map(async () => {
    const q = new LockingQueue(await pool.connect({ root: zk.chrootPath }), '/lq')
    for (;;) {
      let item
      try {
        item = await q.take({ timeout: 300 })
      } catch {
        break
      }
      done.push(item.data.toString())
      await item.ack()
    }
    await q.close()
  }))
  assert.equal([...done].sort(), [...items].sort())
})

test('Party: members join and leave; a deleted member node comes back; changes() follows them', async ({ pool }) => {
  const { zk } = await pool.rooted('party')
  const a = new Party(zk, '/party', 'alice')
  const b = new Party(await pool.connect({ root: zk.chrootPath }), '/party', 'bob')
  assert.equal(await a.members(), [])
  await a.join()
  await a.join() // joining twice is one member
  const changes = await a.changes()
  await b.join()
  assert.equal((await a.members()).sort(), ['alice', 'bob'])
  const [name] = (await childrenOf(zk, '/party')).filter((n) => n.endsWith('__party__'))
  assert.match(name!, /^[0-9a-f]{32}__party__$/)
  // kazoo's test_party_vanishing_node: the member's node is deleted under it, and comes back.
  const names = await childrenOf(zk, '/party')
  const owners = await Promise.all(names.map(async (n) => (await zk.getData(`/party/${n}`)).data.toString()))
  const bobNode = `/party/${names[owners.indexOf('bob')]!}`
  const before = (await zk.exists(bobNode))!.czxid
  await zk.delete(bobNode)
  await waitFor('bob is back', async () => ((await zk.exists(bobNode))?.czxid ?? before) > before)
  assert.equal((await a.members()).sort(), ['alice', 'bob'])
  await b.leave()
  assert.equal(await a.members(), ['alice'])
  let last: readonly string[] = []
  while (last.length !== 1) last = (await changes.next()).value as readonly string[]
  await Promise.all([a.close(), b.close()])
  assert.equal(await childrenOf(zk, '/party'), [])
  await sleep(10)
})

test.run()
