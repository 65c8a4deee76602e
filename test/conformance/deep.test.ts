// test-timeout: 240
import * as assert from 'uvu/assert'
import type { DevServer } from '../../lib/dev-server/index.js'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { startMatchingDevServer } from './dev-target.js'

/** A path 10,000 levels deep, on ZooKeeper 3.8 and on the dev server: every operation answers the same. */
const test = await zkSuite<{ dev: DevServer }>('conformance: a path 10,000 levels deep')

test.before(async (ctx) => {
  ctx.dev = await startMatchingDevServer()
})
test.after(async (ctx) => {
  await ctx.dev?.close()
})

const DEPTH = 10_000

test('create, getAllChildrenNumber, getData, getChildren, exists, delete at depth 10,000', async ({ zk, dev }) => {
  const root = chroot('deep')
  const results: unknown[] = []
  for (const server of [zk.connectString, dev.connectString]) {
    const client = await ZooKeeper.connect(server)
    try {
      const paths: string[] = []
      for (let i = 0, p = root; i < DEPTH; i++, p += '/d') paths.push(p)
      await Promise.all(paths.map((p, i) => client.create(p, i === DEPTH - 1 ? 'bottom' : null)))
      const bottom = paths[DEPTH - 1]!
      results.push({
        count: await client.getAllChildrenNumber(root),
        countMiddle: await client.getAllChildrenNumber(paths[DEPTH / 2]!),
        data: (await client.getData(bottom)).data.toString(),
        children: await client.getChildren(paths[DEPTH - 2]!),
        exists: (await client.exists(bottom))?.numChildren,
        tooDeep: await client.create(`${bottom}/d`).then(() => 'created', (e: Error) => e.name),
      })
      // On ZooKeeper, deepest first, pipelined (each delete finds its node's children gone); the dev server just closes.
      if (server === zk.connectString) await Promise.all([...paths, `${bottom}/d`].reverse().map((p) => client.delete(p).catch((e: Error) => (e.name === 'NONODE' ? undefined : Promise.reject(e)))))
    } finally {
      await client.close()
    }
  }
  assert.equal(results[1], results[0])
  assert.equal(results[0], { count: DEPTH - 1, countMiddle: DEPTH / 2 - 1, data: 'bottom', children: ['d'], exists: 0, tooDeep: 'created' })
})

test.run()
