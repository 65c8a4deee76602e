// test-timeout: 240
import * as assert from 'uvu/assert'
import type { ClusterOptions } from '../../lib/cluster/index.js'
import { startEnsemble, type Ensemble } from '../support/ensemble.js'
import { sleep, waitFor } from '../support/wait.js'
import { withLogs } from '../support/with-logs.js'
import { chroot, ensembleSuite } from '../support/zookeeper.js'
import { ClusterPool, recordLeadership, serverOneFollows, type Interval } from './support.js'

/**
 * A follower cut off from the ZooKeeper leader keeps answering its clients' pings
 * (for up to syncLimit × tickTime) but stops telling the leader that their sessions
 * are alive; the leader expires them after the session timeout. A holder attached only
 * to that follower must be gone before its successor starts.
 */
interface Timing {
  readonly tickTime: number
  readonly syncLimit: number
  /** The cluster nodes' session timeout. */
  readonly sessionTimeout: number
  /**
   * One more round in which the system clock (`Date.now`) steps back this far at
   * the cut, as an NTP step or a resumed VM does: the lease runs on a monotonic
   * clock, so the holder still stops in time (on `Date.now` it would lead this much longer).
   */
  readonly clockStepBackMs?: number
}

const ROUNDS = 3

function partitionSuite(name: string, timing: Timing): void {
  const test = ensembleSuite<{ ensemble: Ensemble }>(name)
  const { tickTime, syncLimit, sessionTimeout: T } = timing
  test.before(async ctx => {
    ctx.ensemble = await startEnsemble({ size: 3, tickTime, syncLimit, proxyQuorumLinks: true })
    await serverOneFollows(ctx.ensemble)
  })
  test.after(async ctx => {
    await ctx.ensemble?.stop()
  })

  const rounds = ROUNDS + (timing.clockStepBackMs === undefined ? 0 : 1)
  test(`a holder attached to a follower cut off from the quorum stops before its successor starts (${rounds} rounds)`, ctx =>
    withLogs(() => ctx.ensemble.logs(10), async () => {
      const { ensemble } = ctx
      const [one, two, three] = ensemble.servers
      const lines: string[] = []
      const wallClock = Date.now
      for (let round = 1; round <= rounds; round++) {
        const step = round > ROUNDS ? timing.clockStepBackMs! : 0
        const options: Partial<ClusterOptions> = { prefix: chroot(`${name} ${round}`), sessionTimeout: T, tickTime }
        const pool = new ClusterPool({ zookeeper: one!.address, ...options })
        try {
          const holder = await pool.start({ zookeeper: one!.address })
          const others = [await pool.start({ zookeeper: two!.address }), await pool.start({ zookeeper: three!.address })]
          const intervals: Interval[] = []
          for (const node of [holder, ...others]) recordLeadership(node.cluster, 'g', intervals)
          const acts: number[] = []
          await holder.cluster.registerCandidate('g', async self => {
            for (;;) {
              await self.receive({ timeout: 20 })
              acts.push(performance.now())
            }
          })
          await waitFor('the holder to lead', () => holder.cluster.leadership('g') !== null)
          for (const node of others) await node.cluster.registerCandidate('g', async self => void (await self.receive()))
          await sleep(tickTime)

          ensemble.links!.isolate(one!.id)
          const cutAt = performance.now()
          if (step > 0) Date.now = () => wallClock() - step
          const successor = await waitFor('a successor', () => intervals.find(i => i.node !== holder.cluster.id.key), { timeoutMs: 3 * T + syncLimit * tickTime + 10_000 })
          const held = intervals.find(i => i.node === holder.cluster.id.key)!
          // If the holder is still running, see for how long (and how often it acts meanwhile).
          await waitFor('the holder to stop', () => held.end !== null, { timeoutMs: 2 * T }).catch(() => undefined)
          const late = acts.filter(at => at > successor.start).length
          const ms = (at: number | null): string => (at === null ? 'never' : `+${(at - cutAt).toFixed(0)} ms`)
          lines.push(`round ${round}${step > 0 ? ` (system clock stepped back ${step / 1000} s)` : ''}: holder stopped ${ms(held.end)} (${held.reason}), successor started ${ms(successor.start)}, holder acted ${late} times after that`)
          assert.ok(held.end !== null && held.end <= successor.start, `round ${round}: the holder stopped ${ms(held.end)}, after its successor started ${ms(successor.start)} (${late} actions in between)`)
          assert.is(late, 0)
        } finally {
          Date.now = wallClock
          ensemble.links!.heal()
          await pool.stopAll()
        }
        await ensemble.waitReady()
      }
      console.log(`${name}:\n  ${lines.join('\n  ')}`)
    })(ctx))
  test.run()
}

partitionSuite('partition (tickTime 500, syncLimit 5, session 4 s)', { tickTime: 500, syncLimit: 5, sessionTimeout: 4000, clockStepBackMs: 60_000 })
partitionSuite("partition (ZooKeeper's default tickTime 2000 and syncLimit 5, scaled down 5x: tickTime 400, session 2 s)", { tickTime: 400, syncLimit: 5, sessionTimeout: 2000 })
