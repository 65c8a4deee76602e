import * as assert from 'uvu/assert'
import { ZooKeeper, type ZkState } from '../../lib/zk-wire/index.js'
import { ClientPool } from '../support/clients.js'
import { startEnsemble, type Ensemble } from '../support/ensemble.js'
import { TcpProxy } from '../support/proxy.js'
import { rejection } from '../support/rejection.js'
import { sleep, waitFor } from '../support/wait.js'
import { withLogs } from '../support/with-logs.js'
import { ensembleSuite } from '../support/zookeeper.js'

interface Ctx {
  ensemble: Ensemble
  proxies: TcpProxy[]
  pool: ClientPool
}

const SESSION = 4000
const test = ensembleSuite<Ctx>('read-only mode on a real 3-server ensemble')

test.before(async (ctx) => {
  // Read-only servers can only create local sessions: ZooKeeper refuses to create global
  // sessions (and to re-attach them) in read-only mode.
  ctx.ensemble = await startEnsemble({ size: 3, readOnly: true, extraConfig: { localSessionsEnabled: 'true', localSessionsUpgradingEnabled: 'true' } })
  ctx.proxies = await Promise.all(ctx.ensemble.servers.map((s) => TcpProxy.start(s.host, s.clientPort)))
})
test.after(async (ctx) => {
  await Promise.all(ctx.proxies?.map((p) => p.close()) ?? [])
  await ctx.ensemble?.stop()
})
test.before.each(async (ctx) => {
  for (const p of ctx.proxies) {
    p.resume()
    await p.accept()
  }
  for (const s of ctx.ensemble.servers) if (!s.isRunning) await s.start()
  await ctx.ensemble.waitReady()
  ctx.pool = new ClientPool(ctx.proxies.map((p) => p.address).join(','))
})
test.after.each(async (ctx) => {
  await ctx.pool.closeAll()
})

function fault(name: string, body: (ctx: Ctx) => Promise<void>): void {
  if (process.env.ONLY && !name.includes(process.env.ONLY)) return
  test(name, (ctx) => withLogs(() => ctx.ensemble.logs(15), () => body(ctx))(ctx))
}

/** The proxy (and server) the client is attached to now. */
function attached(ctx: Ctx, zk: ZooKeeper): { proxy: TcpProxy; index: number } {
  const port = Number(zk.currentServer?.split(':').pop())
  const index = ctx.proxies.findIndex((p) => p.port === port)
  assert.ok(index >= 0, `attached to a proxy (${zk.currentServer})`)
  return { proxy: ctx.proxies[index]!, index }
}

function recordStates(zk: ZooKeeper): ZkState[] {
  const states: ZkState[] = []
  zk.on('state', (s) => states.push(s))
  return states
}

fault('losing the quorum: a new read-only session reads while writes fail fast; read-write comes back with the quorum', async (ctx) => {
  const zk = await ctx.pool.connect({ sessionTimeout: 10_000, canBeReadOnly: true, requestTimeout: 1000 })
  const session = zk.sessionId
  await zk.create('/ro', 'before')
  await zk.create('/owner', null, { mode: 'ephemeral' }) // makes the session global (local sessions are on)
  const survivor = ctx.ensemble.servers[0]!
  const others = ctx.ensemble.servers.slice(1)
  await Promise.all(others.map((s) => s.kill()))
  await waitFor('the survivor to serve read-only', async () => (await survivor.fourLetter('isro').catch(() => '')) === 'ro', { timeoutMs: 20_000 })
  // ZooKeeper refuses to move an existing (global) session to a read-only server, as
  // for the Java client: that session waits; sessions started now can read.
  const reader = await ctx.pool.connect({ sessionTimeout: 8000, canBeReadOnly: true, requestTimeout: 1000 })
  const states = recordStates(reader)
  assert.is(reader.state, 'connectedReadOnly')
  assert.is((await reader.getData('/ro')).data.toString(), 'before')
  const started = Date.now()
  assert.is((await rejection(reader.setData('/ro', 'during'))).name, 'NOTREADONLY')
  assert.ok(Date.now() - started < 500, 'a write on a read-only session fails at once')
  await rejection(ZooKeeper.connect(survivor.address, { sessionTimeout: 8000, connectTimeout: 1500 }))
  await Promise.all(others.map((s) => s.start()))
  await waitFor('read-write again', () => reader.state === 'connected' && zk.state === 'connected', { timeoutMs: 30_000, intervalMs: 100 })
  assert.equal(states.slice(-2), ['disconnected', 'connected'])
  assert.is(zk.sessionId, session, 'the existing session re-attached')
  await reader.setData('/ro', 'after')
  assert.is((await zk.getData('/ro')).data.toString(), 'after')
})

test.run()
