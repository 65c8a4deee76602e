import * as assert from 'uvu/assert'
import { type WatchedEvent, ZooKeeper } from '../../lib/zk-wire/index.js'
import { ClientPool } from '../support/clients.js'
import { TcpProxy } from '../support/proxy.js'
import { rejection } from '../support/rejection.js'
import { sleep, waitFor } from '../support/wait.js'
import { zkSuite } from '../support/zookeeper.js'

const test = await zkSuite<{ pool: ClientPool }>('watches against a real server')

test.before.each((ctx) => {
  ctx.pool = new ClientPool(ctx.zk.connectString)
})
test.after.each(async (ctx) => {
  await ctx.pool.closeAll()
})

function log(): { events: string[]; watch: (e: WatchedEvent) => void } {
  const events: string[] = []
  return { events, watch: (e) => events.push(`${e.type} ${e.path}`) }
}

test('a data watch fires once, for the first of two changes', async ({ pool }) => {
  const { zk, root } = await pool.rooted('data-once')
  const other = await pool.connect({ root })
  await zk.create('/n', 'a')
  const w = log()
  await zk.getData('/n', { watch: w.watch })
  await other.setData('/n', 'b')
  await other.setData('/n', 'c')
  await waitFor('the event', () => w.events.length > 0)
  await zk.sync('/n')
  assert.equal(w.events, ['NodeDataChanged /n'])
})

test('watched lists what the client watches now: added by reads, gone when fired, removed or closed', async ({ pool }) => {
  const { zk, root } = await pool.rooted('watched')
  const other = await pool.connect({ root })
  const none = { data: [], exist: [], child: [], persistent: [], persistentRecursive: [] }
  assert.equal(zk.watched, none)
  await zk.create('/a', 'x')
  await zk.getData('/a', { watch: () => {} })
  await zk.exists('/missing', { watch: () => {} })
  await zk.getChildren('/', { watch: () => {} })
  const persistent = await zk.addWatch('/a', 'persistentRecursive')
  assert.equal(zk.watched, { data: ['/a'], exist: ['/missing'], child: ['/'], persistent: [], persistentRecursive: ['/a'] })
  await other.setData('/a', 'y')
  await waitFor('the data watch to fire', () => zk.watched.data.length === 0)
  await zk.removeWatches('/', 'children')
  await persistent.close()
  assert.equal(zk.watched, { ...none, exist: ['/missing'] })
})

test('the watch event arrives before the reply to the change that caused it', async ({ pool }) => {
  const { zk } = await pool.rooted('order')
  await zk.create('/n', 'a')
  const w = log()
  await zk.getData('/n', { watch: w.watch })
  await zk.setData('/n', 'b')
  assert.equal(w.events, ['NodeDataChanged /n'])
})

test('exists on a missing node watches for its creation', async ({ pool }) => {
  const { zk, root } = await pool.rooted('exists-watch')
  const other = await pool.connect({ root })
  const w = log()
  assert.is(await zk.exists('/later', { watch: w.watch }), null)
  await other.create('/later')
  await waitFor('NodeCreated', () => w.events.length > 0)
  assert.equal(w.events, ['NodeCreated /later'])
})

test('child watches fire on child changes and on deletion of the parent', async ({ pool }) => {
  const { zk } = await pool.rooted('child-watch')
  await zk.create('/p')
  const w = log()
  await zk.getChildren('/p', { watch: w.watch })
  await zk.create('/p/c')
  await zk.getChildren('/p', { watch: w.watch })
  await zk.delete('/p/c')
  await zk.getChildren('/p', { watch: w.watch })
  await zk.delete('/p')
  assert.equal(w.events, ['NodeChildrenChanged /p', 'NodeChildrenChanged /p', 'NodeDeleted /p'])
})

test('one watcher set by getData and getChildren on a deleted node hears it once', async ({ pool }) => {
  const { zk } = await pool.rooted('dedupe')
  await zk.create('/n')
  const w = log()
  await zk.getData('/n', { watch: w.watch })
  await zk.getChildren('/n', { watch: w.watch })
  await zk.exists('/n', { watch: w.watch })
  await zk.delete('/n')
  await zk.sync('/')
  assert.equal(w.events, ['NodeDeleted /n'])
})

test('a failed read sets no watch (getData on a missing node)', async ({ pool }) => {
  const { zk } = await pool.rooted('no-watch')
  const w = log()
  await rejection(zk.getData('/n', { watch: w.watch }))
  await zk.create('/n')
  await zk.delete('/n')
  await zk.sync('/')
  await sleep(50)
  assert.equal(w.events, [])
})

test('events from many changes arrive in zxid order across watchers', async ({ pool }) => {
  const { zk, root } = await pool.rooted('ordering')
  const other = await pool.connect({ root })
  const seen: string[] = []
  for (let i = 0; i < 20; i++) {
    await zk.create(`/n${i}`)
    await zk.getData(`/n${i}`, { watch: (e) => seen.push(e.path!) })
  }
  for (let i = 0; i < 20; i++) void other.setData(`/n${i}`, 'x')
  await waitFor('20 events', () => seen.length === 20)
  assert.equal(seen, Array.from({ length: 20 }, (_, i) => `/n${i}`))
})

test('a persistent watch sees every change of its node, children included, until closed', async ({ pool }) => {
  const { zk, root } = await pool.rooted('persistent')
  const other = await pool.connect({ root })
  await zk.create('/p')
  const watch = await zk.addWatch('/p', 'persistent')
  await other.setData('/p', '1')
  await other.create('/p/c')
  await other.setData('/p/c', 'ignored: not the watched node')
  await other.setData('/p', '2')
  const got: string[] = []
  for await (const e of watch) {
    got.push(`${e.type} ${e.path}`)
    if (got.length === 3) break
  }
  assert.equal(got, ['NodeDataChanged /p', 'NodeChildrenChanged /p', 'NodeDataChanged /p'])
  assert.is((await rejection(zk.checkWatches('/p', 'any'))).name, 'NOWATCHER', 'breaking out of the loop removed the watch')
})

test('a recursive watch sees creations, changes and deletions in the whole subtree', async ({ pool }) => {
  const { zk, root } = await pool.rooted('recursive')
  const other = await pool.connect({ root })
  await zk.create('/r')
  const watch = await zk.addWatch('/r', 'persistentRecursive')
  await zk.checkWatches('/r', 'any')
  await other.create('/r/a')
  await other.create('/r/a/b', 'x')
  await other.setData('/r/a/b', 'y')
  await other.delete('/r/a/b')
  await other.create('/elsewhere')
  await other.setData('/r', 'z')
  const got: string[] = []
  for await (const e of watch) {
    got.push(`${e.type} ${e.path}`)
    if (got.length === 5) break
  }
  assert.equal(got, ['NodeCreated /r/a', 'NodeCreated /r/a/b', 'NodeDataChanged /r/a/b', 'NodeDeleted /r/a/b', 'NodeDataChanged /r'])
})

test('removeWatches removes one-shot watches here and on the server, with *WatchRemoved events', async ({ pool }) => {
  const { zk } = await pool.rooted('remove')
  await zk.create('/n')
  const w = log()
  await zk.getData('/n', { watch: w.watch })
  await zk.getChildren('/n', { watch: w.watch })
  await zk.checkWatches('/n', 'data')
  await zk.removeWatches('/n', 'data')
  assert.equal(w.events, ['DataWatchRemoved /n'])
  const err = await rejection(zk.checkWatches('/n', 'data'))
  assert.is(err.name, 'NOWATCHER')
  await zk.removeWatches('/n', 'any')
  assert.equal(w.events, ['DataWatchRemoved /n', 'ChildWatchRemoved /n'])
  assert.is((await rejection(zk.removeWatches('/n', 'any'))).name, 'NOWATCHER')
  await zk.setData('/n', 'x')
  await zk.sync('/n')
  assert.is(w.events.length, 2)
})

test('removeWatches local: connected, it removes here and on the server, as without local', async ({ pool }) => {
  const { zk, root } = await pool.rooted('remove-local')
  const other = await pool.connect({ root })
  await zk.create('/n')
  const w = log()
  const states: string[] = []
  await zk.getData('/n', { watch: (e) => (w.watch(e), states.push(e.state)) })
  await zk.getChildren('/n', { watch: w.watch })
  await zk.removeWatches('/n', 'data', { local: true })
  assert.equal(w.events, ['DataWatchRemoved /n'])
  assert.equal(states, ['connected'])
  assert.is((await rejection(zk.checkWatches('/n', 'data'))).name, 'NOWATCHER', 'the server dropped it too')
  assert.is((await rejection(zk.removeWatches('/n', 'data', { local: true }))).name, 'NOWATCHER', 'none left here or there')
  await other.setData('/n', 'x')
  await other.create('/n/c')
  await waitFor('the child watch', () => w.events.length === 2)
  assert.equal(w.events, ['DataWatchRemoved /n', 'NodeChildrenChanged /n'])
})

test('removeWatches local: with no server to ask, the watches go here at once and are not set again', async ({ pool, zk: server }) => {
  const [host, port] = server.connectString.split(',')[0]!.split(':')
  const proxy = await TcpProxy.start(host!, Number(port))
  try {
    const { root } = await pool.rooted('remove-local-offline')
    const client = pool.track(await ZooKeeper.connect(`${proxy.address}${root}`, { sessionTimeout: 20_000, requestTimeout: 15_000 }))
    const other = await pool.connect({ root })
    await other.create('/n')
    const w = log()
    const states: string[] = []
    await client.getData('/n', { watch: (e) => (w.watch(e), states.push(e.state)) })
    await client.getChildren('/n', { watch: w.watch })
    const seen: string[] = []
    client.on('state', (s) => seen.push(s))
    proxy.refuse()
    proxy.cut()
    await waitFor('the client to lose its server', () => seen.includes('disconnected'))
    const started = Date.now()
    await client.removeWatches('/n', 'data', { local: true })
    assert.ok(Date.now() - started < 1000, `it did not wait for a server (${Date.now() - started} ms)`)
    assert.equal(w.events, ['DataWatchRemoved /n'])
    assert.equal(states, ['disconnected'])
    assert.is((await rejection(client.removeWatches('/n', 'data', { local: true }))).name, 'NOWATCHER', 'nothing left to remove here')
    await proxy.accept()
    await waitFor('the client to re-attach', () => seen.at(-1) === 'connected')
    assert.is((await rejection(client.checkWatches('/n', 'data'))).name, 'NOWATCHER', 'the removed watch was not set again')
    await client.checkWatches('/n', 'children')
    await other.setData('/n', 'x')
    await other.create('/n/c')
    await waitFor('the child watch, kept', () => w.events.length === 2)
    await client.sync('/n')
    assert.equal(w.events, ['DataWatchRemoved /n', 'NodeChildrenChanged /n'])
  } finally {
    await proxy.close()
  }
})

test('removeWatches local: a refusal from the server still removes the watch here (3.8 cannot remove one persistent watch)', async ({ pool }) => {
  const { zk } = await pool.rooted('remove-local-refused')
  await zk.create('/p')
  const watch = await zk.addWatch('/p', 'persistent')
  const refused = await zk.removeWatches('/p', 'persistent').then(() => null, (e: Error) => e.name)
  if (refused === null) return // a server from 3.9 on removes it: nothing refused to test here
  assert.is(refused, 'MARSHALLINGERROR')
  await zk.removeWatches('/p', 'persistent', { local: true })
  assert.equal(await watch.next(), { done: true, value: undefined }, 'the watch ended here')
  assert.is((await rejection(zk.removeWatches('/p', 'persistent', { local: true }))).name, 'NOWATCHER', 'nothing left here')
})

test('closing a persistent watch removes it from the server and ends its iteration', async ({ pool }) => {
  const { zk } = await pool.rooted('persistent-close')
  await zk.create('/p')
  const watch = await zk.addWatch('/p', 'persistent')
  const iterating = (async () => {
    const seen: string[] = []
    for await (const e of watch) seen.push(e.type)
    return seen
  })()
  await zk.setData('/p', '1')
  await waitFor('one event queued or read', async () => (await zk.exists('/p'))!.version === 1)
  await zk.sync('/p')
  await watch.close()
  assert.equal(await iterating, ['NodeDataChanged'])
  assert.is((await rejection(zk.checkWatches('/p', 'any'))).name, 'NOWATCHER')
})

test('closing one persistent watch keeps the other watches of the session on that path', async ({ pool }) => {
  const { zk, root } = await pool.rooted('persistent-keep')
  const other = await pool.connect({ root })
  await zk.create('/p')
  const a = await zk.addWatch('/p', 'persistent')
  const b = await zk.addWatch('/p', 'persistentRecursive')
  const w = log()
  await zk.getData('/p', { watch: w.watch })
  await a.close()
  await other.setData('/p', 'x')
  const first = await b.next()
  assert.is(first.value?.type, 'NodeDataChanged')
  await waitFor('the one-shot watch', () => w.events.length === 1)
  assert.equal(w.events, ['NodeDataChanged /p'])
  await b.close()
})

test('closing a persistent watch while the client closes resolves (the watch goes with the session)', async ({ pool }) => {
  const zk = await pool.connect()
  const watch = await zk.addWatch('/', 'persistent')
  const closing = watch.close().then(
    () => 'resolved',
    (err: Error) => `rejected with ${err.name}`,
  )
  await zk.close()
  assert.is(await closing, 'resolved')
})

test('closing the client ends persistent watches and tells one-shot watchers it closed', async ({ pool }) => {
  const { zk } = await pool.rooted('close-watches')
  await zk.create('/p')
  const watch = await zk.addWatch('/p', 'persistentRecursive')
  const states: string[] = []
  await zk.getData('/p', { watch: (e) => states.push(`${e.type} ${e.state}`) })
  await zk.close()
  const rest: string[] = []
  for await (const e of watch) rest.push(e.type)
  assert.equal(rest, [])
  assert.equal(states, ['None closed'])
})

test.run()
