import * as assert from 'uvu/assert'
import type { DevServer } from '../../lib/dev-server/index.js'
import { zkSuite } from '../support/zookeeper.js'
import { startMatchingDevServer } from './dev-target.js'
import { record } from './harness.js'
import { randomScenario } from './random.js'

/** Fixed seeds, so every run checks the same sequences; add more with CONFORMANCE_SEEDS=7,8,9. */
const SEEDS = [1, 2, 3, 4, 5, 6, ...(process.env.CONFORMANCE_SEEDS ?? '').split(',').filter(Boolean).map(Number)]

const test = await zkSuite<{ dev: DevServer }>('conformance: seeded random sequences on ZooKeeper 3.8 and on the dev server')

test.before(async (ctx) => {
  ctx.dev = await startMatchingDevServer()
})
test.after(async (ctx) => {
  await ctx.dev?.close()
})

for (const seed of SEEDS) {
  const s = randomScenario(seed)
  test(s.name, async ({ zk, dev }) => {
    const real = await record(s, zk.connectString)
    const ours = await record(s, dev.connectString)
    assert.equal(ours, real)
  })
}

test.run()
