import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import * as assert from 'uvu/assert'
import { ZooKeeper, op, type WatchedEvent } from '../../lib/zk-wire/index.js'
import { attached, proxiedEnsembleSuite, recordStates } from '../support/proxied-ensemble.js'
import { rejection } from '../support/rejection.js'
import { sleep, waitFor } from '../support/wait.js'

const SESSION = 4000
const fault = proxiedEnsembleSuite('session faults on a real 3-server ensemble', { size: 3 })

fault('kill -9 of the attached server during writes: same session, no acknowledged write lost, watches still fire', async (ctx) => {
  const zk = await ctx.pool.connect({ sessionTimeout: SESSION })
  const observer = await ctx.pool.connect({ sessionTimeout: SESSION })
  const session = zk.sessionId
  const states = recordStates(zk)
  await zk.create('/kill', '')
  const events: WatchedEvent[] = []
  await zk.exists('/kill/marker', { watch: (e) => events.push(e) })
  const acknowledged: number[] = []
  const failed: number[] = []
  const unsent: number[] = []
  const writes: Promise<void>[] = []
  let stop = false
  const writer = (async () => {
    for (let i = 0; !stop; i++) {
      writes.push(
        zk.create(`/kill/n-${String(i).padStart(5, '0')}`).then(
          () => void acknowledged.push(i),
          (e: Error) => {
            // A write queued while no server answered longer than requestTimeout (an election after the
            // kill can take that long on a loaded machine) fails with OPERATIONTIMEOUT: it was never sent.
            assert.ok(['CONNECTIONLOSS', 'NODEEXISTS', 'OPERATIONTIMEOUT'].includes(e.name), e.message)
            if (e.name === 'OPERATIONTIMEOUT') unsent.push(i)
            failed.push(i)
          },
        ),
      )
      await sleep(2)
    }
  })()
  await waitFor('some writes', () => acknowledged.length > 20)
  await ctx.ensemble.servers[attached(ctx, zk).index]!.kill('SIGKILL')
  await waitFor('the client to re-attach', () => states.includes('connected'), { timeoutMs: 15_000 })
  const afterFailover = acknowledged.length
  await waitFor('writes after the failover', () => acknowledged.length > afterFailover + 20, { timeoutMs: 15_000 })
  stop = true
  await writer
  await Promise.all(writes)
  assert.is(zk.sessionId, session)
  assert.equal(states.slice(0, 2), ['disconnected', 'connected'])
  const children = new Set(await observer.getChildren('/kill'))
  for (const i of acknowledged) assert.ok(children.has(`n-${String(i).padStart(5, '0')}`), `acknowledged write ${i} is on the ensemble`)
  for (const i of unsent) assert.not.ok(children.has(`n-${String(i).padStart(5, '0')}`), `write ${i}, timed out unsent, is not on the ensemble`)
  await observer.create('/kill/marker')
  await waitFor('the watch set before the kill', () => events.length === 1)
  assert.is(events[0]!.type, 'NodeCreated')
})

fault('a stalled link longer than the read timeout: the client moves to another server with the same session', async (ctx) => {
  const zk = await ctx.pool.connect({ sessionTimeout: SESSION })
  const session = zk.sessionId
  const states = recordStates(zk)
  await zk.create('/stall-short', 'a', { mode: 'ephemeral' })
  const { proxy, index } = attached(ctx, zk)
  const silence = new Promise<number>((resolve) => zk.once('state', () => resolve(Date.now() - zk.lastHeardAt)))
  proxy.stall()
  const stalledAt = Date.now()
  const silentFor = await silence
  assert.ok(zk.lastHeardAt <= stalledAt + 50, 'lastHeardAt stops when the server goes quiet')
  assert.ok(silentFor >= (SESSION * 2) / 3 - 100, `disconnected after two thirds of the session timeout of silence (${silentFor} ms)`)
  await waitFor('a new server', () => zk.state === 'connected' && attached(ctx, zk).index !== index, { timeoutMs: SESSION * 2 })
  proxy.resume()
  assert.is(zk.sessionId, session)
  assert.equal(states, ['disconnected', 'connected'])
  assert.is((await zk.getData('/stall-short')).data.toString(), 'a', 'the ephemeral node survived')
  assert.ok(Date.now() - zk.lastHeardAt < 1000, 'lastHeardAt advances again')
})

fault('a stall longer than the session timeout: expired, ephemerals gone, others see the deletion', async (ctx) => {
  const zk = await ctx.pool.connect({ sessionTimeout: SESSION })
  const other = ctx.pool.track(await ZooKeeper.connect(ctx.ensemble.connectString, { sessionTimeout: SESSION }))
  await zk.create('/stall-long', 'a', { mode: 'ephemeral' })
  const deleted: string[] = []
  await other.exists('/stall-long', { watch: (e) => deleted.push(e.type) })
  const states = recordStates(zk)
  const watcherStates: string[] = []
  await zk.getData('/stall-long', { watch: (e) => watcherStates.push(`${e.type} ${e.state}`) })
  for (const p of ctx.proxies) p.stall()
  await waitFor('the deletion seen by the other client', () => deleted.length === 1, { timeoutMs: SESSION * 3 })
  for (const p of ctx.proxies) p.resume()
  await waitFor('expiry', () => zk.state === 'expired', { timeoutMs: SESSION * 3 })
  assert.equal(deleted, ['NodeDeleted'])
  assert.equal(states, ['disconnected', 'expired'])
  assert.equal(watcherStates, ['None expired'])
  assert.is((await rejection(zk.getData('/'))).name, 'SESSIONEXPIRED')
  assert.is(((await zk.closed()) as Error).name, 'SESSIONEXPIRED')
  const fresh = ctx.pool.track(await zk.newSession())
  assert.ok(fresh.sessionId !== zk.sessionId)
  assert.is(await fresh.exists('/stall-long'), null)
})

fault('calls made while disconnected wait for the reconnect, or reject after requestTimeout', async (ctx) => {
  const zk = await ctx.pool.connect({ sessionTimeout: SESSION, requestTimeout: 2500 })
  await zk.create('/waiting', 'w')
  for (const p of ctx.proxies) p.refuse()
  ctx.proxies.forEach((p) => p.cut())
  await waitFor('disconnected', () => zk.state === 'disconnected')
  const asked = Date.now()
  const err = await rejection(zk.getData('/waiting'))
  assert.is(err.name, 'OPERATIONTIMEOUT')
  assert.ok(Date.now() - asked >= 2400, `rejected after ${Date.now() - asked} ms`)
  const queued = zk.getData('/waiting')
  await sleep(300)
  for (const p of ctx.proxies) await p.accept()
  assert.is((await queued).data.toString(), 'w')
})

fault('the whole ensemble restarts while the client is away: the session resumes within its timeout', async (ctx) => {
  const zk = await ctx.pool.connect({ sessionTimeout: 8000 })
  const session = zk.sessionId
  await zk.create('/restart', 'kept', { mode: 'ephemeral' })
  await Promise.all(ctx.ensemble.servers.map((s) => s.kill()))
  await waitFor('disconnected', () => zk.state === 'disconnected')
  await Promise.all(ctx.ensemble.servers.map((s) => s.start()))
  await zk.whenConnected(20_000)
  assert.is(zk.sessionId, session)
  assert.is((await zk.getData('/restart')).data.toString(), 'kept')
})

fault('a stolen session: another client attaches with its id and password, then closes; the first hears expired', async (ctx) => {
  const zk = await ctx.pool.connect({ sessionTimeout: SESSION })
  const states = recordStates(zk)
  const thief = await ZooKeeper.connect(ctx.proxies.map((p) => p.address).join(','), { sessionId: zk.sessionId, sessionPassword: zk.sessionPassword })
  assert.is(thief.sessionId, zk.sessionId)
  await thief.close()
  await waitFor('expired', () => zk.state === 'expired', { timeoutMs: SESSION * 3 })
  assert.equal(states.filter((s) => s !== 'connected' && s !== 'disconnected'), ['expired'])
})

fault('a wrong session password is refused as expired', async (ctx) => {
  const zk = await ctx.pool.connect({ sessionTimeout: SESSION })
  const err = await rejection(ZooKeeper.connect(ctx.proxies[0]!.address, { sessionId: zk.sessionId, sessionPassword: Buffer.alloc(16, 9), connectTimeout: 5000 }))
  assert.is(err.name, 'SESSIONEXPIRED')
  // A server the owner is attached to drops its connection when another connection claims the
  // session — possibly only after the refusal reached us; either way the owner keeps its session
  // and re-attaches: a read lost with the dropped connection works once it has.
  const session = zk.sessionId
  await zk.whenConnected(5000)
  await zk.getData('/').catch(async (e: Error) => {
    if (e.name !== 'CONNECTIONLOSS') throw e
    await zk.whenConnected(5000)
    await zk.getData('/')
  })
  assert.is(zk.sessionId, session)
  assert.is(zk.state, 'connected')
})

fault('a change made while the client was away fires its one-shot watches exactly once; persistent watches hear the re-attach', async (ctx) => {
  const zk = await ctx.pool.connect({ sessionTimeout: SESSION })
  const other = ctx.pool.track(await ZooKeeper.connect(ctx.ensemble.connectString, { sessionTimeout: SESSION }))
  await zk.create('/away', 'a')
  await zk.create('/away/c')
  const events: string[] = []
  await zk.getData('/away', { watch: (e) => events.push(`data ${e.type}`) })
  await zk.getChildren('/away', { watch: (e) => events.push(`child ${e.type}`) })
  await zk.exists('/away/new', { watch: (e) => events.push(`exists ${e.type}`) })
  const recursive = await zk.addWatch('/away', 'persistentRecursive')
  for (const p of ctx.proxies) p.refuse()
  ctx.proxies.forEach((p) => p.cut())
  await waitFor('disconnected', () => zk.state === 'disconnected')
  await other.setData('/away', 'b')
  await other.delete('/away/c')
  await other.create('/away/new')
  for (const p of ctx.proxies) await p.accept()
  await zk.whenConnected(10_000)
  await waitFor('the three one-shot events', () => events.length === 3)
  const marker = await recursive.next()
  assert.equal(marker.value, { type: 'None', state: 'connected', path: null })
  await other.setData('/away/new', 'after')
  // Catch-up events of the one-shot watches on /away reach the recursive watch too; then the new change.
  for (;;) {
    const { value } = await recursive.next()
    if (value.path === '/away/new' && value.type === 'NodeDataChanged') break
  }
  await other.setData('/away', 'c')
  await zk.sync('/')
  await sleep(100)
  assert.equal(events.sort(), ['child NodeChildrenChanged', 'data NodeDataChanged', 'exists NodeCreated'], 'each fired once, none again')
})

fault('more than 1 MiB of watched paths survive a server kill: SetWatches is split below jute.maxbuffer, each watch fires once', async (ctx) => {
  const zk = await ctx.pool.connect({ sessionTimeout: 8000 })
  const other = ctx.pool.track(await ZooKeeper.connect(ctx.ensemble.connectString, { sessionTimeout: 8000 }))
  await zk.create('/big')
  const paths = Array.from({ length: 10_000 }, (_, i) => `/big/${'w'.repeat(100)}-${i}`)
  const bytes = paths.reduce((n, p) => n + 4 + p.length, 0)
  assert.ok(bytes > 1024 * 1024, `${bytes} bytes of watched paths`)
  const fired = new Map<string, number>()
  await Promise.all(paths.map((p) => zk.exists(p, { watch: (e) => fired.set(`${e.type} ${e.path}`, (fired.get(`${e.type} ${e.path}`) ?? 0) + 1) })))
  const states = recordStates(zk)
  for (const p of ctx.proxies) p.refuse()
  await ctx.ensemble.servers[attached(ctx, zk).index]!.kill('SIGKILL')
  ctx.proxies.forEach((p) => p.cut())
  await waitFor('disconnected', () => states.includes('disconnected'))
  // The killed server may have been the leader: `other` may lose its connection during the election.
  for (let i = 0; i < paths.length; i += 500) {
    const batch = paths.slice(i, i + 500)
    for (;;) {
      const err = await other.multi(batch.map((p) => op.create(p, null))).then(() => null, (e: Error) => e)
      if (err === null) break
      assert.ok(['CONNECTIONLOSS', 'NODEEXISTS'].includes(err.name), err.message)
      await other.whenConnected(15_000)
      if ((await other.exists(batch[0]!)) !== null) break // the lost multi was applied (all or nothing)
    }
  }
  for (const p of ctx.proxies) await p.accept()
  await zk.whenConnected(15_000)
  await waitFor('every watch to fire', () => fired.size === paths.length, { timeoutMs: 20_000 })
  await other.setData(paths[0]!, 'again')
  await zk.sync('/')
  await sleep(100)
  assert.ok(paths.every((p) => fired.get(`NodeCreated ${p}`) === 1), 'each watch fired exactly once, as NodeCreated')
  assert.is(fired.size, paths.length)
  // Unsplit, the server drops every reconnect: hundreds of state changes a second.
  assert.ok(states.filter((s) => s === 'connected').length <= 3, `a reconnect, not a loop (${states.join(' ')})`)
})

fault('unresolvable names and refused ports are skipped with backoff, never in a busy loop', async (ctx) => {
  let attempts = 0
  const slammer = createServer((socket) => {
    attempts++
    socket.destroy()
  })
  await new Promise<void>((r) => slammer.listen(0, '127.0.0.1', r))
  const slamming = `127.0.0.1:${(slammer.address() as { port: number }).port}`
  try {
    const zk = ctx.pool.track(new ZooKeeper(`no-such-host.invalid:2181,${slamming}`, { sessionTimeout: SESSION }))
    const started = Date.now()
    const err = await rejection(zk.whenConnected(3000))
    assert.is(err.name, 'CONNECTIONLOSS')
    assert.ok(Date.now() - started >= 2900)
    assert.is(zk.state, 'connecting')
    assert.ok(attempts >= 3, `it kept trying (${attempts} attempts)`)
    assert.ok(attempts <= 20, `it backed off (${attempts} attempts in 3 s)`)
    const good = ctx.pool.track(await ZooKeeper.connect(`no-such-host.invalid:2181,${slamming},${ctx.proxies[0]!.address}`, { sessionTimeout: SESSION }))
    assert.is(good.state, 'connected')
  } finally {
    await new Promise((r) => slammer.close(r))
  }
})

fault('close() during a reconnect, or twice, is safe, and nothing outlives the client (the process exits)', async (ctx) => {
  const zk = await ctx.pool.connect({ sessionTimeout: SESSION })
  for (const p of ctx.proxies) p.refuse()
  ctx.proxies.forEach((p) => p.cut())
  await waitFor('disconnected', () => zk.state === 'disconnected')
  const pending = zk.getData('/')
  await Promise.all([zk.close(), zk.close()])
  assert.is((await rejection(pending)).name, 'CLOSED')
  assert.is(zk.state, 'closed')
  for (const p of ctx.proxies) await p.accept()
  const child = fileURLToPath(new URL('./fixtures/connect-and-close.js', import.meta.url))
  const code = await new Promise<number | null>((resolve) => {
    const proc = spawn(process.execPath, [child, ctx.ensemble.connectString], { stdio: 'inherit' })
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000)
    proc.on('exit', (c) => {
      clearTimeout(timer)
      resolve(c)
    })
  })
  assert.is(code, 0, 'the child exits by itself after close()')
})

