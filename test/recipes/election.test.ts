// LeaderLatch (Curator's TestLeaderLatch) and LeaderSelector (kazoo's test_election, Curator's TestLeaderSelector).
import * as assert from 'uvu/assert'
import { LeaderLatch, LeaderSelector, type LeadershipEnd, type Term } from '../../lib/recipes/index.js'
import { ClientPool } from '../support/clients.js'
import { sleep } from '../support/wait.js'
import { zkSuite } from '../support/zookeeper.js'
import { CountingEnv, childrenOf, closeProxies, deferred, isolatable, rejectsWith, stateReached, throwsWith, waitFor } from './support.js'

const test = await zkSuite<{ pool: ClientPool }>('election')
test.before.each((ctx) => {
  ctx.pool = new ClientPool(ctx.zk.connectString)
})
test.after.each(async (ctx) => {
  await ctx.pool.closeAll()
  await closeProxies()
})

test('LeaderLatch: exactly one leader; when it leaves, the next in line leads', async ({ pool }) => {
  const { zk } = await pool.rooted('latch basic')
  const latches = await Promise.all(['a', 'b', 'c'].map(async (id) => new LeaderLatch(await pool.connect({ root: zk.chrootPath }), '/latch', { id })))
  for (const latch of latches) await latch.start()
  const first = await latches[0]!.await({ timeout: 5000 })
  assert.ok(latches[0]!.hasLeadership)
  assert.not.ok(latches[1]!.hasLeadership || latches[2]!.hasLeadership)
  const participants = await latches[1]!.participants()
  assert.equal(participants.map((p) => [p.id, p.isLeader]), [['a', true], ['b', false], ['c', false]])
  assert.match(participants[0]!.path.split('/').pop()!, /^_c_[0-9a-f-]{36}-latch-\d{10}$/)
  const ended: LeadershipEnd[] = []
  latches[0]!.on('notLeader', (reason) => ended.push(reason))
  await latches[0]!.close()
  assert.equal(ended, ['stopped'])
  assert.not.ok(first.signal.aborted, 'a normal stop does not fire the signal')
  const second = await latches[1]!.await({ timeout: 5000 })
  assert.ok(second.token > first.token, 'tokens increase from leader to leader')
  assert.equal((await latches[2]!.leader())?.id, 'b')
  await Promise.all(latches.map((l) => l.close()))
  assert.equal(await childrenOf(zk, '/latch'), [])
})

test('LeaderLatch: relinquish hands leadership on and queues at the back', async ({ pool }) => {
  const { zk } = await pool.rooted('latch relinquish')
  const a = new LeaderLatch(zk, '/latch', { id: 'a' })
  const b = new LeaderLatch(await pool.connect({ root: zk.chrootPath }), '/latch', { id: 'b' })
  await a.start()
  await a.await()
  await b.start()
  const ends: LeadershipEnd[] = []
  a.on('notLeader', (r) => ends.push(r))
  await a.relinquish()
  await b.await({ timeout: 5000 })
  assert.equal(ends, ['relinquished'])
  await waitFor('a queued again', async () => (await b.participants()).length === 2)
  assert.equal((await b.participants()).map((p) => p.id), ['b', 'a'])
  await b.relinquish()
  await a.await({ timeout: 5000 })
  await b.relinquish() // not leading: a no-op
  await Promise.all([a.close(), b.close()])
})

test('LeaderLatch: await times out, aborts, and rejects on close; its own znode deleted by someone else is noticed', async ({ pool }) => {
  const { zk } = await pool.rooted('latch await')
  const env = new CountingEnv()
  const leader = new LeaderLatch(zk, '/latch', { id: 'leader' })
  await leader.start()
  const term = await leader.await()
  const other = new LeaderLatch(await pool.connect({ root: zk.chrootPath }), '/latch', { id: 'other', env })
  await rejectsWith(other.await(), 'BUSY', /before start/)
  await other.start()
  await rejectsWith(other.await({ timeout: 200 }), 'TIMEOUT')
  const controller = new AbortController()
  const aborted = other.await({ signal: controller.signal })
  controller.abort()
  await rejectsWith(aborted, 'ABORTED')
  // Someone deletes the leader's znode: the leader hears it and stands again behind `other`.
  const reasons: LeadershipEnd[] = []
  leader.on('notLeader', (r) => reasons.push(r))
  await zk.delete(term.path)
  await other.await({ timeout: 5000 })
  await waitFor('the leader noticed', () => reasons.length === 1)
  assert.equal(reasons, ['deleted'])
  assert.ok(term.signal.aborted)
  await waitFor('stood again', async () => (await other.participants()).length === 2)
  const pending = rejectsWith(leader.await(), 'CLOSED')
  await leader.close()
  await pending
  await other.close()
  await other.close()
  assert.is(env.liveTimers, 0)
  assert.equal(await childrenOf(zk, '/latch'), [])
  await rejectsWith(other.start(), 'CLOSED')
})

test('LeaderLatch: a leader cut off until its session expires gives up leadership before the next one is elected, then ends', async ({ pool, zk: server }) => {
  const { zk } = await pool.rooted('latch expiry')
  const { zk: doomed, proxy } = await isolatable(pool, server.connectString, zk.chrootPath)
  const a = new LeaderLatch(doomed, '/latch', { id: 'a' })
  const b = new LeaderLatch(zk, '/latch', { id: 'b' })
  await a.start()
  const term = await a.await()
  await b.start()
  const order: string[] = []
  a.on('notLeader', (r) => order.push(`a notLeader ${r}`))
  a.on('ended', () => order.push('a ended'))
  b.on('isLeader', () => order.push('b isLeader'))
  proxy.stall() // silence: the server expires the session after its timeout (2 s)
  await b.await({ timeout: 15_000 })
  assert.equal(order, ['a notLeader suspect', 'b isLeader'])
  assert.ok(term.signal.aborted)
  proxy.resume()
  await stateReached(doomed, 'expired')
  await waitFor('a ended', () => a.state === 'ended')
  assert.equal(order, ['a notLeader suspect', 'b isLeader', 'a ended'])
  await rejectsWith(a.await(), 'LOST')
  await Promise.all([a.close(), b.close()])
})

test('LeaderLatch: bad input', async ({ pool }) => {
  const { zk } = await pool.rooted('latch bad input')
  throwsWith(() => new LeaderLatch(zk, 'latch'), 'BAD_ARGUMENT', /invalid path/)
  throwsWith(() => new LeaderLatch(zk, '/latch', { id: 7 as unknown as string }), 'BAD_ARGUMENT', /id must be a string/)
  throwsWith(() => new LeaderLatch(zk, '/latch', { margin: -1 }), 'BAD_ARGUMENT', /margin/)
  const latch = new LeaderLatch(zk, '/latch')
  await latch.start()
  await rejectsWith(latch.start(), 'BUSY', /already started/)
  await rejectsWith(latch.await({ timeout: -1 }), 'BAD_ARGUMENT')
  await latch.close()
})

test('LeaderSelector: leaders take turns, each runs the function once per term, and re-queue when it returns', async ({ pool }) => {
  const { zk } = await pool.rooted('selector turns')
  const terms: Array<{ id: string; token: bigint }> = []
  let inside = 0
  const selectors = await Promise.all(['a', 'b', 'c'].map(async (id) => {
    const client = await pool.connect({ root: zk.chrootPath })
    return new LeaderSelector(client, '/sel', async (term: Term) => {
      inside++
      assert.is(inside, 1, 'one leader at a time')
      terms.push({ id, token: term.token })
      await sleep(20)
      inside--
    }, { id })
  }))
  for (const s of selectors) s.start()
  await waitFor('nine terms', () => terms.length >= 9, { timeoutMs: 15_000 })
  await Promise.all(selectors.map((s) => s.close()))
  for (let i = 1; i < terms.length; i++) assert.ok(terms[i]!.token > terms[i - 1]!.token)
  assert.equal(new Set(terms.map((t) => t.id)), new Set(['a', 'b', 'c']), 'everyone led')
  assert.equal(await childrenOf(zk, '/sel'), [])
})

test('LeaderSelector: a throwing leader function is reported and leadership moves on; without autoRequeue it waits for requeue()', async ({ pool }) => {
  const { zk } = await pool.rooted('selector errors')
  const errors: unknown[] = []
  let runs = 0
  const a = new LeaderSelector(zk, '/sel', () => {
    runs++
    throw new Error('boom')
  }, { autoRequeue: false })
  a.on('error', (e) => errors.push(e))
  a.start()
  await waitFor('one run', () => runs === 1)
  await sleep(100)
  assert.is(runs, 1, 'no requeue by itself')
  assert.match(String(errors[0]), /boom/)
  a.requeue()
  await waitFor('two runs', () => runs === 2)
  await a.close()
  throwsWith(() => a.start(), 'CLOSED')
  throwsWith(() => new LeaderSelector(zk, '/sel', 'nope' as never), 'BAD_ARGUMENT', /function/)
})

test('LeaderSelector: interruptLeadership and close fire the term signal; the function returns and the lock is released', async ({ pool }) => {
  const { zk } = await pool.rooted('selector interrupt')
  const started = deferred<Term>()
  const reasons: LeadershipEnd[] = []
  const sel = new LeaderSelector(zk, '/sel', async (term) => {
    started.resolve(term)
    await new Promise((resolve) => term.signal.addEventListener('abort', resolve))
  }, { autoRequeue: false })
  sel.on('notLeader', (r) => reasons.push(r))
  sel.start()
  const term = await started.promise
  assert.ok(sel.hasLeadership)
  sel.interruptLeadership()
  await waitFor('ended', () => reasons.length === 1)
  assert.equal(reasons, ['relinquished'])
  assert.ok(term.signal.aborted)
  assert.equal(await childrenOf(zk, '/sel'), [])
  await sel.close()
})

test('LeaderSelector: a leader cut off until its session expires sees its term signal fire before anyone else leads', async ({ pool, zk: server }) => {
  const { zk } = await pool.rooted('selector expiry')
  const { zk: doomed, proxy } = await isolatable(pool, server.connectString, zk.chrootPath)
  const order: string[] = []
  const leading = deferred()
  const a = new LeaderSelector(doomed, '/sel', async (term) => {
    leading.resolve()
    await new Promise((resolve) => term.signal.addEventListener('abort', resolve))
    order.push('a signalled')
  })
  a.start()
  await leading.promise
  const b = new LeaderSelector(zk, '/sel', async () => {
    order.push('b leads')
    await sleep(10)
  }, { autoRequeue: false })
  b.start()
  await waitFor('b queued', async () => (await childrenOf(zk, '/sel')).length === 2)
  proxy.stall()
  await waitFor('b leads', () => order.includes('b leads'), { timeoutMs: 15_000 })
  assert.equal(order, ['a signalled', 'b leads'])
  proxy.resume()
  await waitFor('a ended', () => a.state === 'ended', { timeoutMs: 10_000 })
  await Promise.all([a.close(), b.close()])
})

test.run()
