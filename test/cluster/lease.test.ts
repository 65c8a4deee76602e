// The lease's arithmetic on a hand-driven clock: what a returning sync proves, after regular
// syncs, after a gap in them, and on a connection opened long ago. (On real ZooKeeper:
// partition.test.ts and quiet-lease.test.ts.)
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Clock, Timer } from '../../lib/env.js'
import { Lease } from '../../lib/cluster/lease.js'
import type { ZooKeeper } from '../../lib/zk-wire/index.js'

const TICK = 500
const T = 4000
const MARGIN = 200
/** T − 1.5 × tickTime − margin. */
const L = T - 1.5 * TICK - MARGIN
/** min(tickTime / 2, L / 4). */
const INTERVAL = 250

/** A clock that moves only when told; `pause` moves it without running timers (a frozen process). */
class ManualClock implements Clock {
  #now = 0
  #timers: Array<{ due: number; fn: () => void; cancelled: boolean }> = []

  now(): number {
    return this.#now
  }

  setTimer(ms: number, fn: () => void): Timer {
    const entry = { due: this.#now + Math.max(0, ms), fn, cancelled: false }
    this.#timers.push(entry)
    const timer: Timer = { cancel: () => void (entry.cancelled = true), unref: () => timer }
    return timer
  }

  /** Runs every timer due within `ms`, in order, then stands at now + ms. */
  advance(ms: number): void {
    const target = this.#now + ms
    for (;;) {
      const next = this.#timers.filter(t => !t.cancelled && t.due <= target).sort((a, b) => a.due - b.due)[0]
      if (next === undefined) break
      next.cancelled = true
      this.#now = Math.max(this.#now, next.due)
      next.fn()
    }
    this.#now = target
  }

  pause(ms: number): void {
    this.#now += ms
  }
}

interface Ctx {
  clock: ManualClock
  lease: Lease
  /** Replies not yet given, oldest first. */
  pending: Array<{ sentAt: number; reply: () => void }>
  connectedSince: number
}

const flush = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

const test = suite<Ctx>('lease evidence')
test.before.each(ctx => {
  ctx.clock = new ManualClock()
  ctx.pending = []
  ctx.connectedSince = 0
  const zk = {
    sessionId: 1n,
    negotiatedTimeout: T,
    sync: () => new Promise<void>(resolve => ctx.pending.push({ sentAt: ctx.clock.now(), reply: resolve })),
  } as unknown as ZooKeeper
  ctx.lease = new Lease({ client: () => zk, tickTime: TICK, stepDownMargin: MARGIN, onExpire: () => undefined, connectedSince: () => ctx.connectedSince, clock: ctx.clock })
})
test.after.each(ctx => {
  ctx.lease.stop()
})

/** Answers every sync sent so far. */
async function answerAll(ctx: Ctx): Promise<void> {
  for (const { reply } of ctx.pending.splice(0)) reply()
  await flush()
}

/** Lets the lease sync every interval for `ms`, each sync answered at once. */
async function regular(ctx: Ctx, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += INTERVAL) {
    await answerAll(ctx)
    ctx.clock.advance(INTERVAL)
  }
  await answerAll(ctx)
}

test('with a sync every interval, a returning sync proves its own send time', async ctx => {
  ctx.lease.need(true)
  await regular(ctx, 5000)
  assert.is(ctx.lease.deadline(), 5000 + L)
  assert.ok(ctx.lease.valid())
})

test('a stalled link: the syncs of one chain prove the send time of its first one', async ctx => {
  ctx.lease.need(true)
  await regular(ctx, 2000)
  ctx.clock.advance(INTERVAL) // 2250: this one and the next ones stay unanswered
  ctx.clock.advance(4 * INTERVAL)
  await answerAll(ctx)
  assert.is(ctx.lease.deadline(), 2250 + L)
})

test('after a gap in the syncs (a paused or starved process) the first one back does not prove its send time', async ctx => {
  ctx.lease.need(true)
  await regular(ctx, 10_000) // last regular sync at 10 000
  ctx.clock.pause(1800)
  ctx.clock.advance(0) // the overdue sync goes out at 11 800
  await answerAll(ctx)
  // Its follower had reported the touches of syncs sent up to tickTime / 2 before the one
  // before it (10 000): the 9 750 one, so the session lives until at least 9 750 + T.
  assert.is(ctx.lease.deadline(), 9750 + 1.5 * TICK + L)
  // Regular syncs again: the evidence catches up within tickTime / 2 + an interval.
  ctx.clock.advance(INTERVAL)
  await answerAll(ctx)
  assert.is(ctx.lease.deadline(), 10_000 + 1.5 * TICK + L)
  ctx.clock.advance(INTERVAL)
  await answerAll(ctx)
  assert.is(ctx.lease.deadline(), 12_300 + L)
})

test('the first sync on a connection opened long ago proves only the connection, then regular syncs take over', async ctx => {
  ctx.clock.advance(5000)
  ctx.lease.need(true)
  await answerAll(ctx)
  assert.is(ctx.lease.deadline(), 0 + 1.5 * TICK + L)
  assert.not.ok(ctx.lease.valid())
  await regular(ctx, 2 * INTERVAL)
  assert.is(ctx.lease.deadline(), 5500 + L)
  assert.ok(ctx.lease.valid())
})

test('the first sync on a connection just made proves its send time', async ctx => {
  ctx.clock.advance(5000)
  ctx.connectedSince = 4990
  ctx.lease.need(true)
  await answerAll(ctx)
  assert.is(ctx.lease.deadline(), 5000 + L)
  assert.ok(ctx.lease.valid())
})

test('a candidate is told to lead only with enough lease left to last until fresh syncs renew it', async ctx => {
  // A connection made 3.2 s ago: the first sync proves only the handshake (0 + 1.5 × tickTime),
  // a lease valid until 750 + L = 3800, 600 ms from now. While it waits, a sync goes out as
  // soon as the last is answered (3200, 3400, 3600, 3800); the first to prove its own send
  // time is 3800 (the one before it, 3600, is tickTime / 2 younger than 3200), back at 3950.
  // Leading on the first reply would step down at 3800 with every sync answered.
  let expired = 0
  const sync = (): Promise<void> => new Promise<void>(resolve => ctx.pending.push({ sentAt: ctx.clock.now(), reply: resolve }))
  const zk = { sessionId: 1n, negotiatedTimeout: T, sync } as unknown as ZooKeeper
  const lease = new Lease({ client: () => zk, tickTime: TICK, stepDownMargin: MARGIN, onExpire: () => expired++, connectedSince: () => 0, clock: ctx.clock })
  ctx.clock.advance(3200)
  lease.need(true)
  let toldAt = -1
  lease.whenRenewed(() => {
    toldAt = ctx.clock.now()
    lease.arm()
  })
  // Every sync answered 150 ms after it went out, for 3 s.
  const RTT = 150
  for (let t = 0; t < 3000; t += 50) {
    ctx.clock.advance(50)
    for (const entry of ctx.pending.filter(p => ctx.clock.now() - p.sentAt >= RTT)) {
      ctx.pending.splice(ctx.pending.indexOf(entry), 1)
      entry.reply()
    }
    await flush()
  }
  assert.is(toldAt, 3800 + RTT, 'told when the first sync that proves its own send time came back')
  assert.ok(lease.valid())
  assert.is(expired, 0, 'the leader it made never ran out of lease')
  lease.stop()
})

test('a candidate waiting for its lease syncs one at a time as fast as replies come: it leads about tickTime / 2 after turning hot', async ctx => {
  ctx.connectedSince = -Infinity
  ctx.clock.advance(10_000)
  ctx.lease.need(true)
  let toldAt = -1
  ctx.lease.whenRenewed(() => (toldAt = ctx.clock.now()))
  const sentAt: number[] = []
  for (let t = 0; t < 1000 && toldAt < 0; t += 10) {
    sentAt.push(...ctx.pending.map(p => p.sentAt))
    await answerAll(ctx) // replies within 10 ms
    ctx.clock.advance(10)
  }
  // Syncs at 10 000, 10 050, …: the one at 10 300 follows one (10 250) tickTime / 2 younger than the first.
  assert.is(toldAt, 10_300)
  assert.is(ctx.lease.deadline(), 10_300 + L)
  // need() and whenRenewed() each send one at once; then one every 50 ms, each after the last was answered.
  assert.equal(sentAt, [10_000, 10_000, 10_050, 10_100, 10_150, 10_200, 10_250, 10_300])
})

test('a candidate whose older evidence outlasts the warm-up is told at once (a successor that was cold briefly)', async ctx => {
  ctx.lease.need(true)
  await regular(ctx, 2000) // evidence 2000
  ctx.lease.pace(false)
  ctx.clock.advance(1500)
  let told = 0
  ctx.lease.whenRenewed(() => told++) // a sync at 3500
  await answerAll(ctx)
  // It proves only the 1750 one: 1750 + 1.5 × tickTime = 2500, a lease until 2500 + L = 5550;
  // the sync at 4000 will prove its own send time and be back long before that.
  assert.is(ctx.lease.deadline(), 2500 + L)
  assert.is(told, 1)
  assert.ok(ctx.lease.ready())
})

test('a node that stops standing and stands again soon after keeps what its syncs proved', async ctx => {
  ctx.clock.advance(5000) // a connection opened long ago
  ctx.lease.need(true)
  await regular(ctx, 2000) // syncs 5000 … 7000
  ctx.lease.need(false) // its last candidacy ended
  ctx.clock.advance(100)
  ctx.lease.need(true) // and it stands again: a sync at 7100
  await answerAll(ctx)
  assert.is(ctx.lease.deadline(), 7100 + L, 'the sync before the gap (6750) proves 7100')
  assert.ok(ctx.lease.ready())
})

test('cold (every candidacy waits further back): no syncs; hot again: one at once, then every interval', async ctx => {
  ctx.lease.need(true)
  await regular(ctx, 1000)
  ctx.lease.pace(false)
  const sent = ctx.pending.length
  ctx.clock.advance(20 * INTERVAL)
  assert.is(ctx.pending.length, sent, 'cold: nothing sent')
  ctx.lease.pace(true)
  assert.is(ctx.pending.length, sent + 1, 'hot: one sync now')
  ctx.clock.advance(4 * INTERVAL)
  assert.is(ctx.pending.length, sent + 5)
})

test('a cold lease asked for (a candidacy first in line) syncs every interval until it is valid, then tells, then stops', async ctx => {
  ctx.connectedSince = -Infinity
  ctx.lease.need(true)
  await regular(ctx, 1000)
  ctx.lease.pace(false)
  ctx.clock.advance(10_000)
  assert.not.ok(ctx.lease.valid(), 'the old evidence ran out')
  let told = 0
  ctx.lease.whenRenewed(() => told++)
  await answerAll(ctx)
  assert.is(told, 0, 'the first sync after a gap proves only the syncs before the gap')
  assert.not.ok(ctx.lease.valid())
  let syncs = 1
  while (told === 0 && syncs < 40) {
    ctx.clock.advance(INTERVAL)
    syncs++
    await answerAll(ctx)
  }
  assert.is(told, 1, 'told once the lease is valid')
  assert.ok(ctx.lease.valid())
  assert.ok(syncs <= Math.ceil((1.5 * TICK) / INTERVAL) + 2, `regular again within about 1.5 ticks (${syncs} syncs)`)
  ctx.clock.advance(20 * INTERVAL)
  assert.ok(ctx.pending.length <= 1, 'still cold and nobody waits: the syncs stop')
})

test.run()
