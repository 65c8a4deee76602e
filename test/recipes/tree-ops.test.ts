// zk.mkdirp and zk.deleteRecursive: the client methods the recipes build their paths with.
import * as assert from 'uvu/assert'
import { ZkError, type ZooKeeper } from '../../lib/zk-wire/index.js'
import { ClientPool } from '../support/clients.js'
import { zkSuite } from '../support/zookeeper.js'
import { childrenOf } from './support.js'

const test = await zkSuite<{ pool: ClientPool }>('mkdirp and deleteRecursive')
test.before.each((ctx) => {
  ctx.pool = new ClientPool(ctx.zk.connectString)
})
test.after.each(async (ctx) => {
  await ctx.pool.closeAll()
})

async function rejectsZk(promise: Promise<unknown>, name: string, message?: RegExp): Promise<void> {
  try {
    await promise
  } catch (error) {
    assert.instance(error, ZkError, String(error))
    assert.is((error as ZkError).name, name)
    if (message) assert.match((error as Error).message, message)
    return
  }
  assert.unreachable(`expected ${name}`)
}

/** Every path under `root` (root included), parents before children. */
async function tree(zk: ZooKeeper, root: string): Promise<string[]> {
  const out: string[] = []
  const queue = [root]
  while (queue.length > 0) {
    const path = queue.shift()!
    out.push(path)
    for (const child of (await zk.getChildren(path)).sort()) queue.push(path === '/' ? `/${child}` : `${path}/${child}`)
  }
  return out
}

test('mkdirp creates every missing ancestor, data on the last one only; existing nodes are fine', async ({ pool }) => {
  const { zk } = await pool.rooted('mkdirp basic')
  await zk.mkdirp('/a/b/c/d', { data: 'leaf' })
  assert.equal(await tree(zk, '/a'), ['/a', '/a/b', '/a/b/c', '/a/b/c/d'])
  assert.is((await zk.getData('/a/b/c/d')).data.toString(), 'leaf')
  assert.is((await zk.getData('/a/b')).data.length, 0)
  await zk.mkdirp('/a/b/c/d', { data: 'ignored' })
  assert.is((await zk.getData('/a/b/c/d')).data.toString(), 'leaf', 'an existing node is left alone')
  await zk.mkdirp('/a/b/x')
  await zk.mkdirp('/')
  assert.equal(await tree(zk, '/a'), ['/a', '/a/b', '/a/b/c', '/a/b/x', '/a/b/c/d'])
})

test('mkdirp in container mode makes containers', async ({ pool }) => {
  const { zk } = await pool.rooted('mkdirp containers')
  await zk.mkdirp('/c1/c2', { mode: 'container' })
  await zk.create('/c1/c2/keep', 'x', { mode: 'ephemeral' })
  // A container's Stat looks like a persistent node's; the server reaps it once empty (checked in the recipes' tests).
  assert.ok(await zk.exists('/c1/c2'))
})

test('concurrent mkdirp calls on overlapping paths all succeed', async ({ pool }) => {
  const { zk } = await pool.rooted('mkdirp concurrent')
  const clients = [zk, await pool.connect({ root: zk.chrootPath }), await pool.connect({ root: zk.chrootPath })]
  const paths = ['/p/q/r/s', '/p/q/r/t', '/p/q/u', '/p/q/r/s/v', '/p/w']
  await Promise.all(clients.flatMap((c) => paths.map((p) => c.mkdirp(p))))
  assert.equal(await tree(zk, '/p'), ['/p', '/p/q', '/p/w', '/p/q/r', '/p/q/u', '/p/q/r/s', '/p/q/r/t', '/p/q/r/s/v'])
})

test('mkdirp and deleteRecursive refuse bad input with BADARGUMENTS', async ({ pool }) => {
  const { zk } = await pool.rooted('tree bad input')
  await rejectsZk(zk.mkdirp('relative/path'), 'BADARGUMENTS', /must start with \//)
  await rejectsZk(zk.mkdirp('/a/'), 'BADARGUMENTS', /must not end with \//)
  await rejectsZk(zk.mkdirp('/a', { mode: 'ephemeral' as 'persistent' }), 'BADARGUMENTS', /mode must be/)
  await rejectsZk(zk.deleteRecursive('/a/../b'), 'BADARGUMENTS', /relative segment/)
  await rejectsZk(zk.deleteRecursive('/a', { batchSize: 0 }), 'BADARGUMENTS', /batchSize/)
  assert.equal(await childrenOf(zk, '/'), [])
})

test('deleteRecursive removes a wide tree in bounded batches; a missing path is fine', async ({ pool }) => {
  const { zk } = await pool.rooted('delete wide')
  const ops: Promise<unknown>[] = []
  await zk.mkdirp('/w')
  for (let i = 0; i < 40; i++) ops.push(zk.create(`/w/n${i}`))
  await Promise.all(ops)
  const more: Promise<unknown>[] = []
  for (let i = 0; i < 40; i++) for (let j = 0; j < 25; j++) more.push(zk.create(`/w/n${i}/m${j}`))
  await Promise.all(more)
  assert.is(await zk.getAllChildrenNumber('/w'), 1040)
  const multi = zk.multi.bind(zk)
  const batches: number[] = []
  zk.multi = (list) => {
    batches.push(list.length)
    return multi(list)
  }
  await zk.deleteRecursive('/w', { batchSize: 100 })
  assert.is(await zk.exists('/w'), null)
  assert.ok(batches.every((n) => n <= 100), `batches ${batches.join()}`)
  assert.is(batches.reduce((a, b) => a + b, 0), 1041)
  await zk.deleteRecursive('/never-was')
})

test('deleteRecursive tolerates nodes vanishing and appearing meanwhile', async ({ pool }) => {
  const { zk } = await pool.rooted('delete racing')
  const other = await pool.connect({ root: zk.chrootPath })
  for (let i = 0; i < 20; i++) await zk.mkdirp(`/r/a${i}/b/c`)
  let creating = true
  const creator = (async () => {
    let n = 0
    while (creating) {
      await other.create(`/r/a${n % 20}/new${n}`).catch(() => undefined)
      n++
    }
  })()
  try {
    // Two deleters race each other and the creator.
    await Promise.all([zk.deleteRecursive('/r'), other.deleteRecursive('/r/a3')])
  } finally {
    creating = false
    await creator
  }
  assert.is(await zk.exists('/r'), null)
})

test('deleteRecursive("/") under a chroot empties it and keeps the chroot node', async ({ pool }) => {
  const { zk, root } = await pool.rooted('delete root')
  await zk.mkdirp('/x/y')
  await zk.mkdirp('/z')
  await zk.deleteRecursive('/')
  assert.equal(await childrenOf(zk, '/'), [])
  const admin = await pool.connect()
  assert.ok(await admin.exists(root))
})

// 10,000 levels (100 MB of paths: more than the test servers' heap) run in `npm run soak:recipes`.
test('a path 2,000 levels deep: mkdirp creates it, deleteRecursive removes it', async ({ pool }) => {
  const { zk } = await pool.rooted('deep path')
  const depth = 2_000
  const path = '/d'.repeat(depth)
  await zk.mkdirp(path, { data: 'bottom' })
  assert.is((await zk.getData(path)).data.toString(), 'bottom')
  assert.is(await zk.getAllChildrenNumber('/d'), depth - 1)
  await zk.deleteRecursive('/d')
  assert.is(await zk.exists('/d'), null)
})

test.run()
