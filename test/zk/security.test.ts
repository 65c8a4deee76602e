import * as assert from 'uvu/assert'
import { CREATOR_ALL_ACL, ZooKeeper, ZkError, type ZkState } from '../../lib/zk-wire/index.js'
import { ClientPool } from '../support/clients.js'
import { startEnsemble, type Ensemble } from '../support/ensemble.js'
import { rejection } from '../support/rejection.js'
import { withLogs } from '../support/with-logs.js'
import { ensembleSuite } from '../support/zookeeper.js'

const test = ensembleSuite<{ tls?: Ensemble; sasl?: Ensemble; pool: ClientPool }>('TLS, SASL and auth failures against real servers')

test.before(async (ctx) => {
  ;[ctx.tls, ctx.sasl] = await Promise.all([startEnsemble({ tls: true }), startEnsemble({ sasl: { users: { alice: 'wonderland' } } })])
})
test.after(async (ctx) => {
  await Promise.all([ctx.tls?.stop(), ctx.sasl?.stop()])
})
test.before.each((ctx) => {
  ctx.pool = new ClientPool(ctx.sasl!.connectString)
})
test.after.each(async (ctx) => {
  await ctx.pool.closeAll()
})

const logsOf = (e?: Ensemble) => () => e?.logs() ?? ''

test('TLS: connects to the secure port, verifying the server certificate, and works', async (ctx) => {
  await withLogs(logsOf(ctx.tls), async () => {
    const { ca, cert, key } = ctx.tls!.tlsMaterial!
    const zk = ctx.pool.track(await ZooKeeper.connect(ctx.tls!.secureConnectString!, { tls: { ca, cert, key } }))
    await zk.create('/over-tls', 'secret')
    assert.is((await zk.getData('/over-tls')).data.toString(), 'secret')
  })(ctx)
})

test('TLS: a server certificate from an unknown CA is refused', async (ctx) => {
  const { cert, key } = ctx.tls!.tlsMaterial!
  const err = await rejection(ZooKeeper.connect(ctx.tls!.secureConnectString!, { tls: { cert, key }, connectTimeout: 1500 }))
  assert.instance(err, ZkError)
  assert.is(err.name, 'CONNECTIONLOSS')
})

test('SASL DIGEST-MD5: the right password authenticates and the identity holds ACLs', async (ctx) => {
  await withLogs(logsOf(ctx.sasl), async () => {
    const zk = ctx.pool.track(await ZooKeeper.connect(ctx.sasl!.connectString, { sasl: { username: 'alice', password: 'wonderland' } }))
    await zk.create('/alice-only', 'x', { acl: CREATOR_ALL_ACL })
    const { acl } = await zk.getACL('/alice-only')
    assert.equal(acl, [{ perms: 31, id: { scheme: 'sasl', id: 'alice' } }])
    const anonymous = await ctx.pool.connect()
    assert.is((await rejection(anonymous.getData('/alice-only'))).name, 'NOAUTH')
  })(ctx)
})

test('SASL DIGEST-MD5: a wrong password ends in authFailed with a clear error', async (ctx) => {
  const states: ZkState[] = []
  const zk = new ZooKeeper(ctx.sasl!.connectString, { sasl: { username: 'alice', password: 'wrong' } })
  zk.on('state', (s) => states.push(s))
  const err = await rejection(zk.whenConnected(5000))
  assert.is(err.name, 'AUTHFAILED')
  assert.is(zk.state, 'authFailed')
  assert.equal(states, ['authFailed'])
  assert.is((await rejection(zk.getData('/'))).name, 'AUTHFAILED')
  assert.is(((await zk.closed()) as Error).name, 'AUTHFAILED')
  await zk.close()
})

test('digest auth is sent again after a reconnect', async (ctx) => {
  const zk = await ctx.pool.connect()
  await zk.addAuth('digest', 'bob:builder')
  await zk.create('/bob', 'b', { acl: CREATOR_ALL_ACL })
  const server = ctx.sasl!.servers[0]!
  const session = zk.sessionId
  await server.kill()
  await server.start()
  await zk.whenConnected(10_000)
  assert.is(zk.sessionId, session)
  assert.is((await zk.getData('/bob')).data.toString(), 'b')
})

test.run()
