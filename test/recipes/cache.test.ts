// kazoo's test_cache (TreeCache) and Curator's CuratorCache/NodeCache tests that fit, on zkcloud's
// TreeCache (recursive-watch and per-node modes), NodeCache and ChildrenCache; and PersistentNode.
import * as assert from 'uvu/assert'
import { ChildrenCache, NodeCache, PersistentNode, TreeCache, type TreeEvent } from '../../lib/recipes/index.js'
import type { ZooKeeper } from '../../lib/zk-wire/index.js'
import { ClientPool } from '../support/clients.js'
import { zkSuite } from '../support/zookeeper.js'
import { childrenOf, closeProxies, expireSession, isolatable, rejectsWith, stateReached, throwsWith, waitFor, watchedPaths } from './support.js'

const test = await zkSuite<{ pool: ClientPool }>('caches')
test.before.each((ctx) => {
  ctx.pool = new ClientPool(ctx.zk.connectString)
})
test.after.each(async (ctx) => {
  await ctx.pool.closeAll()
  await closeProxies()
})

/** Collects a cache's events as `type path[=data]` strings. */
function record(cache: TreeCache): string[] {
  const seen: string[] = []
  cache.on('event', (e: TreeEvent) => seen.push(e.type === 'initialized' ? 'initialized' : `${e.type} ${e.node.path}${e.type === 'removed' ? '' : `=${e.node.data.toString()}`}`))
  return seen
}

async function populate(zk: ZooKeeper): Promise<void> {
  await zk.mkdirp('/tree/a/x', { data: 'ax' })
  await zk.setData('/tree', 'root')
  await zk.setData('/tree/a', 'a')
  await zk.create('/tree/b', 'b')
}

for (const mode of ['recursive', 'perNode'] as const) {
  test(`TreeCache (${mode}): the initial load reports every node, then 'initialized'; get/children answer from memory`, async ({ pool }) => {
    const { zk } = await pool.rooted(`tree load ${mode}`)
    await populate(zk)
    const cache = new TreeCache(zk, '/tree', { mode })
    const seen = record(cache)
    const stream = cache.events()
    await cache.start()
    assert.is(cache.watchMode, mode)
    assert.equal(seen.slice(0, -1).sort(), ['added /tree/a/x=ax', 'added /tree/a=a', 'added /tree/b=b', 'added /tree=root'])
    assert.is(seen.at(-1), 'initialized')
    assert.is(cache.size, 4)
    assert.is(cache.get('/tree/a/x')!.data.toString(), 'ax')
    assert.equal(cache.children('/tree'), ['a', 'b'])
    assert.is(cache.get('/elsewhere'), undefined)
    let count = 0
    for await (const e of stream) {
      count++
      if (e.type === 'initialized') break
    }
    assert.is(count, 5, 'the async iterable saw the same events')
    await cache.close()
  })

  test(`TreeCache (${mode}): creations, changes and deletions anywhere below are reported`, async ({ pool }) => {
    const { zk } = await pool.rooted(`tree changes ${mode}`)
    await populate(zk)
    const cache = new TreeCache(zk, '/tree', { mode })
    await cache.start()
    const seen = record(cache)
    await zk.create('/tree/a/x/deep', 'd')
    await waitFor('deep added', () => seen.includes('added /tree/a/x/deep=d'))
    await zk.setData('/tree/b', 'b2')
    await waitFor('b updated', () => seen.includes('updated /tree/b=b2'))
    await zk.deleteRecursive('/tree/a')
    await waitFor('a removed', () => seen.includes('removed /tree/a'))
    assert.ok(seen.indexOf('removed /tree/a/x/deep') < seen.indexOf('removed /tree/a'), 'children go before their parent')
    assert.equal(cache.children('/tree'), ['b'])
    assert.is(cache.get('/tree/a/x'), undefined)
    // The root itself deleted and re-created (kazoo's test_root_recreated).
    await zk.deleteRecursive('/tree')
    await waitFor('root removed', () => seen.includes('removed /tree'))
    assert.is(cache.size, 0)
    await zk.create('/tree', 'again')
    await waitFor('root back', () => seen.includes('added /tree=again'))
    await zk.create('/tree/c', 'c')
    await waitFor('c added', () => seen.includes('added /tree/c=c'))
    await cache.close()
    assert.equal((await watchedPaths(zk)).filter((p) => p.startsWith('/tree')), [], 'close leaves no watch behind')
  })
}

test('TreeCache: changes made while the client was disconnected are reported after it reconnects', async ({ pool, zk: server }) => {
  const { zk } = await pool.rooted('tree reconnect')
  await populate(zk)
  const { zk: cached, proxy } = await isolatable(pool, server.connectString, zk.chrootPath, 6000)
  const cache = new TreeCache(cached, '/tree')
  await cache.start()
  const seen = record(cache)
  proxy.cut()
  proxy.refuse()
  await zk.setData('/tree/b', 'while away')
  await zk.delete('/tree/a/x')
  await zk.create('/tree/new', 'n')
  await proxy.accept()
  await waitFor('resynced', () => seen.includes('added /tree/new=n') && seen.includes('updated /tree/b=while away') && seen.includes('removed /tree/a/x'), { timeoutMs: 15_000 })
  await cache.close()
})

test('TreeCache: session expiry ends it; bad options are refused; start twice is BUSY', async ({ pool }) => {
  const { zk } = await pool.rooted('tree expiry')
  const doomed = await pool.connect({ root: zk.chrootPath })
  await doomed.create('/t')
  const cache = new TreeCache(doomed, '/t')
  const stream = cache.events()
  await cache.start()
  await rejectsWith(cache.start(), 'BUSY')
  let ended: Error | null = null
  cache.on('ended', (e) => (ended = e))
  await expireSession(doomed)
  await waitFor('ended', () => ended !== null)
  await stream.next() // 'added /t'
  await stream.next() // 'initialized'
  await rejectsWith(stream.next(), 'LOST')
  throwsWith(() => new TreeCache(zk, '/t', { mode: 'sometimes' as 'auto' }), 'BAD_ARGUMENT', /mode/)
  throwsWith(() => new TreeCache(zk, 't'), 'BAD_ARGUMENT', /invalid path/)
  await cache.close()
})

test('NodeCache: follows one node through creation, changes and deletion', async ({ pool }) => {
  const { zk } = await pool.rooted('node cache')
  const cache = new NodeCache(zk, '/n')
  await cache.start()
  assert.is(cache.current, null)
  const values = cache.values()
  await zk.create('/n', 'one')
  assert.is((await values.next()).value!.data.toString(), 'one')
  await zk.setData('/n', 'two')
  assert.is((await values.next()).value!.data.toString(), 'two')
  await zk.delete('/n')
  assert.is((await values.next()).value, null)
  assert.is(cache.current, null)
  await cache.close()
  assert.ok((await values.next()).done)
  assert.equal(await watchedPaths(zk), [])
})

test('ChildrenCache: follows one node\'s children', async ({ pool }) => {
  const { zk } = await pool.rooted('children cache')
  await zk.create('/p')
  const cache = new ChildrenCache(zk, '/p')
  await cache.start()
  assert.equal(cache.current, [])
  const values = cache.values()
  await zk.create('/p/b')
  assert.equal((await values.next()).value, ['b'])
  await zk.create('/p/a')
  assert.equal((await values.next()).value, ['a', 'b'])
  await zk.delete('/p/b')
  assert.equal((await values.next()).value, ['a'])
  await cache.close()
  assert.equal(await watchedPaths(zk), [])
})

test('PersistentNode: created at start, created again when deleted and after its session expired; close deletes it', async ({ pool }) => {
  const { zk } = await pool.rooted('persistent node')
  const owner = await pool.connect({ root: zk.chrootPath })
  const node = new PersistentNode(owner, '/members/me', 'hello')
  const created: string[] = []
  node.on('created', (p) => created.push(p))
  await node.start()
  assert.is((await zk.getData('/members/me')).data.toString(), 'hello')
  assert.is((await zk.exists('/members/me'))!.ephemeralOwner, owner.sessionId)
  await zk.delete('/members/me')
  await waitFor('created again', () => created.length === 2)
  await node.setData('changed')
  await expireSession(owner)
  await waitFor('on a new session', async () => (await zk.exists('/members/me'))?.ephemeralOwner === node.client.sessionId && node.client !== owner)
  assert.is((await zk.getData('/members/me')).data.toString(), 'changed')
  const renewed = node.client
  await node.close()
  assert.is(await zk.exists('/members/me'), null)
  assert.is(renewed.state, 'closed', 'the session it opened is closed')
  await node.close()
})

test('PersistentNode: sequential mode gets a protected name; afterExpiry "end" ends it', async ({ pool, zk: server }) => {
  const { zk } = await pool.rooted('persistent node sequential')
  const { zk: owner, proxy } = await isolatable(pool, server.connectString, zk.chrootPath)
  const node = new PersistentNode(owner, '/m/worker-', 'w', { mode: 'ephemeral_sequential', afterExpiry: 'end' })
  await node.start()
  assert.match(node.actualPath!, /^\/m\/_c_[0-9a-f-]{36}-worker-\d{10}$/)
  let ended: Error | null = null
  node.on('ended', (e) => (ended = e))
  proxy.stall()
  // childrenOf: once empty, /m (a container) may be reaped before we look.
  await waitFor('node gone with the session', async () => (await childrenOf(zk, '/m')).length === 0, { timeoutMs: 10_000 })
  proxy.resume()
  await stateReached(owner, 'expired')
  await waitFor('ended', () => ended !== null)
  await node.close()
  throwsWith(() => new PersistentNode(zk, '/x', null, { mode: 'persistent' as 'ephemeral' }), 'BAD_ARGUMENT', /mode/)
})

test.run()
