import * as assert from 'uvu/assert'
import type { DevServer } from '../../lib/dev-server/index.js'
import { zkSuite } from '../support/zookeeper.js'
import { startMatchingDevServer } from './dev-target.js'
import { record } from './harness.js'
import { scenarios } from './scenarios/index.js'

const test = await zkSuite<{ dev: DevServer }>('conformance: hand-written scenarios on ZooKeeper 3.8 and on the dev server')

test.before(async (ctx) => {
  ctx.dev = await startMatchingDevServer()
})
test.after(async (ctx) => {
  await ctx.dev?.close()
})

for (const s of scenarios) {
  test(s.name, async ({ zk, dev }) => {
    const real = await record(s, zk.connectString)
    const ours = await record(s, dev.connectString)
    assert.equal(ours, real)
  })
}

test.run()
