// test-timeout: 240
import * as assert from 'uvu/assert'
import { startEnsemble, type Ensemble } from '../support/ensemble.js'
import { sleep, waitFor } from '../support/wait.js'
import { withLogs } from '../support/with-logs.js'
import { chroot, ensembleSuite } from '../support/zookeeper.js'
import { ClusterPool, recordLeadership, serverOneFollows, type Interval } from './support.js'

/**
 * The ZooKeeper leader expires a session from the last touch it applied, and a
 * follower reports its clients' touches only in its replies to the leader's
 * pings. A sync answered through the leader therefore proves only that the
 * touches the follower had *already reported* are applied — not its own.
 * A node that stood for nothing a moment ago sent only pings (every T/3), so
 * its last reported touch can be that old: the lease may not count from its
 * first sync. Found by a random fault campaign against real ZooKeeper: a node that
 * registers a candidate just before its next ping, and whose follower is cut
 * off from the quorum as it starts to lead, kept leading (valid() true) up
 * to 1.3 s after ZooKeeper expired its session and a successor started.
 */
const TICK = 500
const T = 8000
const ROUNDS = 2

const test = ensembleSuite<{ ensemble: Ensemble }>('the first lease after a quiet spell')
test.before(async ctx => {
  ctx.ensemble = await startEnsemble({ size: 3, tickTime: TICK, syncLimit: 5, maxSessionTimeout: 20_000, proxyQuorumLinks: true })
  await serverOneFollows(ctx.ensemble)
})
test.after(async ctx => {
  await ctx.ensemble?.stop()
})

test(`a node that sent only pings before it stood, cut off as it leads, stops before its successor starts (${ROUNDS} rounds)`, ctx =>
  withLogs(() => ctx.ensemble.logs(10), async () => {
    const { ensemble } = ctx
    const [one, two] = ensemble.servers
    const lines: string[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      const pool = new ClusterPool({ zookeeper: one!.address, prefix: chroot(`quiet lease ${round}`), sessionTimeout: T, tickTime: TICK })
      try {
        const holder = await pool.start({ zookeeper: one!.address })
        const successor = await pool.start({ zookeeper: two!.address })
        const intervals: Interval[] = []
        for (const node of [holder, successor]) recordLeadership(node.cluster, 'g', intervals)
        let cutAt = 0
        holder.cluster.on('elected', () => {
          if (cutAt !== 0) return
          ensemble.links!.isolate(one!.id)
          cutAt = performance.now()
        })
        // Since it started the holder's client has sent nothing but pings (one every T/3 when idle):
        // stand shortly before the next one would go out, when the last touch of it that server 1
        // reported to the ZooKeeper leader is oldest, ...
        const zk = holder.cluster.zk
        const heard = zk.lastHeardAt
        await waitFor('a ping reply', () => zk.lastHeardAt > heard, { timeoutMs: T, intervalMs: 5 })
        await sleep(Math.max(0, zk.lastHeardAt + T / 3 - 500 - Date.now()))
        // ... and just after a ping of the ZooKeeper leader reached server 1: server 1 answers it at
        // once (with the touches it saw so far), and reads the next one tickTime / 2 later. The holder
        // leads well within that, so its follower is cut off before it reports the holder's new sync.
        const leader = (await ensemble.leader())!
        await new Promise<void>(resolve => {
          const stop = ensemble.links!.peer(one!.id, leader.id).observe(direction => {
            if (direction !== 'down') return
            stop()
            resolve()
          })
        })
        const acts: Array<{ at: number; valid: boolean }> = []
        await holder.cluster.registerCandidate('g', async (self, leadership) => {
          for (;;) {
            await self.receive({ timeout: 20 })
            acts.push({ at: performance.now(), valid: leadership.valid() })
          }
        })
        await waitFor('the holder to lead', () => holder.cluster.leadership('g') !== null)
        await successor.cluster.registerCandidate('g', async self => void (await self.receive()))
        const next = await waitFor('a successor', () => intervals.find(i => i.node === successor.cluster.id.key), { timeoutMs: 3 * T })
        const held = intervals.find(i => i.node === holder.cluster.id.key)!
        await waitFor('the holder to stop', () => held.end !== null, { timeoutMs: 2 * T }).catch(() => undefined)
        const late = acts.filter(act => act.at > next.start).length
        const ms = (at: number | null): string => (at === null ? 'never' : `+${(at - cutAt).toFixed(0)} ms`)
        lines.push(`round ${round}: holder stopped ${ms(held.end)} (${held.reason}), successor started ${ms(next.start)}, holder acted ${late} times after that`)
        assert.ok(held.end !== null && held.end <= next.start, `round ${round}: the holder stopped ${ms(held.end)}, after its successor started ${ms(next.start)} (${late} actions in between)`)
        assert.is(late, 0)
      } finally {
        ensemble.links!.heal()
        await pool.stopAll()
      }
      await ensemble.waitReady()
    }
    console.log(`the first lease after a quiet spell:\n  ${lines.join('\n  ')}`)
  })(ctx))

test.run()
