import * as assert from 'uvu/assert'
import { CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, Perms, ZkError, digestACL, op } from '../../lib/zk-wire/index.js'
import { ClientPool } from '../support/clients.js'
import { rejection } from '../support/rejection.js'
import { waitFor } from '../support/wait.js'
import { zkSuite } from '../support/zookeeper.js'

const test = await zkSuite<{ pool: ClientPool }>('operations against a real server')

test.before.each((ctx) => {
  ctx.pool = new ClientPool(ctx.zk.connectString)
})
test.after.each(async (ctx) => {
  await ctx.pool.closeAll()
})

async function fails(p: Promise<unknown>, name: string): Promise<ZkError> {
  const err = await rejection(p)
  assert.instance(err, ZkError, `expected ZkError ${name}, got ${String(err)}`)
  assert.is(err.name, name, err.message)
  return err as ZkError
}

test('create, read, update and delete a persistent node, with versions', async ({ pool }) => {
  const { zk } = await pool.rooted('crud')
  assert.is(await zk.create('/a', 'one'), '/a')
  const got = await zk.getData('/a')
  assert.is(got.data.toString(), 'one')
  assert.is(got.stat.version, 0)
  assert.is(got.stat.dataLength, 3)
  const stat = await zk.setData('/a', Buffer.from('two'), 0)
  assert.is(stat.version, 1)
  const bad = await fails(zk.setData('/a', 'x', 0), 'BADVERSION')
  assert.is(bad.path, '/a')
  assert.is(bad.op, 'setData')
  await fails(zk.delete('/a', 0), 'BADVERSION')
  await zk.delete('/a', 1)
  assert.is(await zk.exists('/a'), null)
})

test('error codes: NONODE, NODEEXISTS, NOTEMPTY, NOCHILDRENFOREPHEMERALS', async ({ pool }) => {
  const { zk } = await pool.rooted('errors')
  await fails(zk.getData('/missing'), 'NONODE')
  await fails(zk.create('/missing/child'), 'NONODE')
  await zk.create('/p')
  await fails(zk.create('/p'), 'NODEEXISTS')
  await zk.create('/p/c')
  await fails(zk.delete('/p'), 'NOTEMPTY')
  await zk.create('/e', null, { mode: 'ephemeral' })
  await fails(zk.create('/e/c'), 'NOCHILDRENFOREPHEMERALS')
})

test('null data and empty data both read as an empty buffer', async ({ pool }) => {
  const { zk } = await pool.rooted('null-data')
  await zk.create('/n', null)
  await zk.create('/e', Buffer.alloc(0))
  assert.is((await zk.getData('/n')).data.length, 0)
  assert.is((await zk.getData('/e')).data.length, 0)
})

test('sequential nodes get a 10-digit counter from the parent cversion', async ({ pool }) => {
  const { zk } = await pool.rooted('sequential')
  await zk.create('/q')
  await zk.create('/q/other')
  const a = await zk.create('/q/item-', 'x', { mode: 'persistent_sequential' })
  const b = await zk.create('/q/item-', 'x', { mode: 'ephemeral_sequential' })
  const c = await zk.create('/q/', 'x', { mode: 'persistent_sequential' })
  assert.is(a, '/q/item-0000000001')
  assert.is(b, '/q/item-0000000002')
  assert.is(c, '/q/0000000003')
  assert.ok((await zk.exists(b))!.ephemeralOwner === zk.sessionId)
})

test('create2 returns the Stat; exists returns it too or null', async ({ pool }) => {
  const { zk } = await pool.rooted('create2')
  const { path, stat } = await zk.create2('/n', 'abc', { mode: 'ephemeral' })
  assert.is(path, '/n')
  assert.is(stat.dataLength, 3)
  assert.is(stat.ephemeralOwner, zk.sessionId)
  assert.equal(await zk.exists('/n'), stat)
  assert.is(await zk.exists('/nope'), null)
})

test('getChildren with and without stat', async ({ pool }) => {
  const { zk } = await pool.rooted('children')
  await zk.create('/p')
  for (const c of ['x', 'y', 'z']) await zk.create(`/p/${c}`)
  assert.equal((await zk.getChildren('/p')).sort(), ['x', 'y', 'z'])
  const { children, stat } = await zk.getChildren('/p', { stat: true })
  assert.equal(children.sort(), ['x', 'y', 'z'])
  assert.is(stat.numChildren, 3)
  assert.is(stat.cversion, 3)
  assert.is(await zk.getAllChildrenNumber('/p'), 3)
  await zk.create('/p/x/deep')
  assert.is(await zk.getAllChildrenNumber('/p'), 4)
})

test('ephemeral nodes vanish when their session closes; getEphemerals lists them', async ({ pool }) => {
  const { zk, root } = await pool.rooted('ephemeral')
  await zk.create('/e1', null, { mode: 'ephemeral' })
  await zk.create('/d')
  await zk.create('/d/e2', null, { mode: 'ephemeral' })
  assert.equal((await zk.getEphemerals()).sort(), ['/d/e2', '/e1'])
  assert.equal(await zk.getEphemerals('/d'), ['/d/e2'])
  const other = await pool.connect({ root })
  await zk.close()
  assert.is(zk.state, 'closed')
  assert.is(await other.exists('/e1'), null)
  assert.is(await other.exists('/d/e2'), null)
})

test('multi applies all operations atomically and returns per-op results', async ({ pool }) => {
  const { zk } = await pool.rooted('multi-ok')
  await zk.create('/v', 'v0')
  const results = await zk.multi([op.create('/a', 'A'), op.create('/a/s-', null, { mode: 'persistent_sequential' }), op.setData('/v', 'v1', 0), op.check('/v', 1), op.delete('/a/s-0000000000')])
  assert.equal(results.map((r) => r.type), ['create', 'create', 'setData', 'check', 'delete'])
  assert.is(results[1]!.type === 'create' && results[1]!.path, '/a/s-0000000000')
  assert.is(results[2]!.type === 'setData' && results[2]!.stat.version, 1)
  assert.equal(await zk.getChildren('/a'), [])
})

test('a failing check aborts the whole multi and names the failing op', async ({ pool }) => {
  const { zk } = await pool.rooted('multi-abort')
  await zk.create('/v')
  const err = await fails(zk.multi([op.create('/x'), op.setData('/v', 'changed'), op.check('/v', 7), op.delete('/v')]), 'BADVERSION')
  assert.is(err.op, 'multi')
  assert.is(err.path, '/v')
  assert.equal(
    err.results!.map((r) => (r.type === 'error' ? r.error.name : r.type)),
    ['OK', 'OK', 'BADVERSION', 'RUNTIMEINCONSISTENCY'],
  )
  assert.is(await zk.exists('/x'), null, 'the create before the failing check did not happen')
  assert.is((await zk.getData('/v')).stat.version, 0)
})

test('multiRead answers each read on its own', async ({ pool }) => {
  const { zk } = await pool.rooted('multi-read')
  await zk.create('/a', 'A')
  await zk.create('/a/b')
  const [data, children, missing] = await zk.multiRead([op.getData('/a'), op.getChildren('/a'), op.getData('/nope')])
  assert.is(data!.type === 'getData' && data!.data.toString(), 'A')
  assert.equal(children!.type === 'getChildren' && children!.children, ['b'])
  assert.is(missing!.type === 'error' && missing!.error.name, 'NONODE')
  assert.is(missing!.type === 'error' && missing!.error.path, '/nope')
})

test('multi rejects read ops and multiRead rejects writes before sending', async ({ pool }) => {
  const { zk } = await pool.rooted('multi-kinds')
  await fails(zk.multi([op.getData('/a')]), 'BADARGUMENTS')
  await fails(zk.multiRead([op.create('/a')]), 'BADARGUMENTS')
  await fails(zk.multi([op.create('bad')]), 'BADARGUMENTS')
  assert.is(await zk.exists('/a'), null)
})

test('containers are deleted by the server once their last child goes', async ({ pool }) => {
  const { zk } = await pool.rooted('container')
  const { stat } = await zk.create2('/c', null, { mode: 'container' })
  assert.is(stat.ephemeralOwner, 0n)
  await zk.create('/c/child')
  await zk.delete('/c/child')
  await waitFor('the container to be reaped', async () => (await zk.exists('/c')) === null, { timeoutMs: 15_000, intervalMs: 100 })
})

test('TTL nodes expire once unmodified and childless for longer than their ttl', async ({ pool }) => {
  const { zk } = await pool.rooted('ttl')
  assert.is(await zk.create('/t', 'x', { mode: 'persistent_with_ttl', ttl: 300 }), '/t')
  const seq = await zk.create('/s-', 'x', { mode: 'persistent_sequential_with_ttl', ttl: 300 })
  assert.match(seq, /^\/s-\d{10}$/)
  await waitFor('the TTL nodes to expire', async () => (await zk.exists('/t')) === null && (await zk.exists(seq)) === null, { timeoutMs: 15_000, intervalMs: 100 })
})

test('TTL and mode arguments are checked before sending', async ({ pool }) => {
  const { zk } = await pool.rooted('ttl-args')
  await fails(zk.create('/t', null, { mode: 'persistent_with_ttl' }), 'BADARGUMENTS')
  await fails(zk.create('/t', null, { mode: 'persistent_with_ttl', ttl: 0 }), 'BADARGUMENTS')
  await fails(zk.create('/t', null, { mode: 'persistent', ttl: 100 }), 'BADARGUMENTS')
  await fails(zk.create('/t', null, { mode: 'nonsense' as never }), 'BADARGUMENTS')
})

test('ACLs: digest identities, NOAUTH for others, INVALIDACL without credentials', async ({ pool }) => {
  const { zk, root } = await pool.rooted('acl')
  await fails(zk.create('/creator', null, { acl: CREATOR_ALL_ACL }), 'INVALIDACL')
  await zk.addAuth('digest', 'alice:secret')
  await zk.create('/creator', 'mine', { acl: CREATOR_ALL_ACL })
  const { acl } = await zk.getACL('/creator')
  assert.equal(acl, [digestACL('alice', 'secret')])
  const stranger = await pool.connect({ root })
  await fails(stranger.getData('/creator'), 'NOAUTH')
  await stranger.addAuth('digest', 'alice:secret')
  assert.is((await stranger.getData('/creator')).data.toString(), 'mine')
  await zk.create('/ro', 'r', { acl: READ_ACL_UNSAFE })
  await fails(stranger.setData('/ro', 'w'), 'NOAUTH')
  const stat = await zk.setACL('/creator', OPEN_ACL_UNSAFE, 0)
  assert.is(stat.aversion, 1)
  await fails(zk.setACL('/creator', OPEN_ACL_UNSAFE, 0), 'BADVERSION')
  await fails(zk.setACL('/creator', []), 'INVALIDACL')
  assert.equal((await zk.getACL('/creator')).acl, [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }])
})

test('sync resolves for existing paths', async ({ pool }) => {
  const { zk } = await pool.rooted('sync')
  await zk.create('/s')
  await zk.sync('/s')
  await zk.sync('/')
})

test('chroot: paths in, created paths, watch events and multi results out are chroot-relative', async ({ pool }) => {
  const { zk, root } = await pool.rooted('chroot')
  const admin = await pool.connect()
  const events: string[] = []
  await zk.exists('/w', { watch: (e) => events.push(`${e.type} ${e.path}`) })
  assert.is(await zk.create('/w', 'x'), '/w')
  assert.is((await admin.getData(`${root}/w`)).data.toString(), 'x')
  const [created] = await zk.multi([op.create('/s-', null, { mode: 'persistent_sequential' })])
  assert.is(created!.type === 'create' && created!.path, '/s-0000000001')
  assert.equal(events, ['NodeCreated /w'])
  assert.equal((await zk.getChildren('/')).sort(), ['s-0000000001', 'w'])
})

test('large values up to the server limit round-trip; larger replies than maxBufferSize drop the connection, not the session', async ({ pool }) => {
  const { zk, root } = await pool.rooted('big')
  const big = Buffer.alloc(900_000, 0x61)
  await zk.create('/big', big)
  assert.ok((await zk.getData('/big')).data.equals(big))
  const small = await pool.connect({ root, maxBufferSize: 64 * 1024 })
  const session = small.sessionId
  const err = await fails(small.getData('/big'), 'CONNECTIONLOSS')
  assert.match(String((err.cause as Error).message), /maxBufferSize/)
  await small.whenConnected(5000)
  assert.is(small.sessionId, session, 'same session after the oversize frame')
  assert.is((await small.exists('/big'))!.dataLength, 900_000)
})

test('invalid paths reject with BADARGUMENTS and the client keeps working', async ({ pool }) => {
  const { zk } = await pool.rooted('bad-paths')
  for (const p of ['', 'rel', '/a/', '/a//b', '/a/../b', '/a\u0000']) {
    const err = await fails(zk.create(p), 'BADARGUMENTS')
    assert.is(err.path, p)
  }
  await fails(zk.getData(undefined as never), 'BADARGUMENTS')
  assert.is(await zk.create('/ok'), '/ok')
})

test('calls on a closed client reject with CLOSED; close() twice is safe', async ({ pool }) => {
  const zk = await pool.connect()
  await zk.close()
  await zk.close()
  await fails(zk.getData('/'), 'CLOSED')
  await fails(zk.addAuth('digest', 'a:b'), 'CLOSED')
  assert.is(await zk.closed(), undefined)
})

test('calls pipelined without awaiting are answered in order', async ({ pool }) => {
  const { zk } = await pool.rooted('pipeline')
  await zk.create('/c', '0')
  const writes = Array.from({ length: 500 }, (_, i) => zk.setData('/c', String(i + 1)))
  const stats = await Promise.all(writes)
  assert.equal(
    stats.map((s) => s.version),
    Array.from({ length: 500 }, (_, i) => i + 1),
  )
  assert.is((await zk.getData('/c')).data.toString(), '500')
})

test('errors carry the caller stack', async ({ pool }) => {
  const { zk } = await pool.rooted('stack')
  const err = await rejection(zk.getData('/nope'))
  assert.match(err.stack!, /operations\.test\.(js|ts)/)
  assert.not.match(err.stack!.split('\n').slice(1).join('\n'), /zk-wire/)
})

test.run()
