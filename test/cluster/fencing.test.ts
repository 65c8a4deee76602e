import * as assert from 'uvu/assert'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { startEnsemble, type Ensemble } from '../support/ensemble.js'
import { waitFor } from '../support/wait.js'
import { withLogs } from '../support/with-logs.js'
import { chroot, ensembleSuite } from '../support/zookeeper.js'
import { ClusterPool } from './support.js'

interface Ctx {
  ensemble: Ensemble
  observer: ZooKeeper
}

/** A server of its own: the kit's servers reap empty containers every 500 ms (production: 60 s). */
const test = ensembleSuite<Ctx>('fencing tokens')
test.before(async ctx => {
  ctx.ensemble = await startEnsemble({ size: 1 })
  ctx.observer = await ZooKeeper.connect(ctx.ensemble.connectString)
})
test.after(async ctx => {
  await ctx.observer?.close()
  await ctx.ensemble?.stop()
})

/** A resource guarded by a fence: it refuses any token lower than the highest it has seen. */
class Fenced {
  highest = -Infinity
  readonly refused: number[] = []
  write(token: number): boolean {
    if (token < this.highest) {
      this.refused.push(token)
      return false
    }
    this.highest = token
    return true
  }
}

test('tokens keep increasing after the container reaper deleted the name and sequence numbers start again at 0', ctx =>
  withLogs(() => ctx.ensemble.logs(20), async () => {
    const prefix = chroot('fencing reaper')
    const pool = new ClusterPool({ zookeeper: ctx.ensemble.connectString, prefix })
    try {
      const fence = new Fenced()
      const tokens: Array<{ token: number; seq: number }> = []
      for (let holder = 0; holder < 3; holder++) {
        const { cluster } = await pool.start()
        await cluster.registerCandidate('g', (_, leadership) => {
          tokens.push({ token: leadership.token, seq: leadership.seq })
          assert.ok(fence.write(leadership.token), `holder ${holder} (token ${leadership.token}) refused by the fence`)
        })
        await waitFor('its global process to end', () => tokens.length === holder + 1)
        // The candidacy is withdrawn with its process: the directory is empty, and the reaper removes it.
        await waitFor('the reaper to delete the name', async () => (await ctx.observer.exists(`${prefix}/global/g`)) === null, { timeoutMs: 10_000 })
        await cluster.stop()
      }
      assert.equal(tokens.map(t => t.seq), [0, 0, 0], 'each holder found a fresh directory')
      assert.ok(tokens[1]!.token > tokens[0]!.token && tokens[2]!.token > tokens[1]!.token, `tokens ${tokens.map(t => t.token).join(', ')} increase`)
      // A deposed holder that does not know it yet is refused.
      assert.not.ok(fence.write(tokens[0]!.token))
      assert.equal(fence.refused, [tokens[0]!.token])
    } finally {
      await pool.stopAll()
    }
  })(ctx))

test.run()
