import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import * as assert from 'uvu/assert'
import type { ClusterOptions, StepDownReason } from '../../lib/cluster/index.js'
import { startEnsemble, type Ensemble } from '../support/ensemble.js'
import { TcpProxy } from '../support/proxy.js'
import { sleep, waitFor } from '../support/wait.js'
import { withLogs } from '../support/with-logs.js'
import { chroot, ensembleSuite } from '../support/zookeeper.js'
import { ClusterPool, count, keys, recordLeadership, type Interval, type TestCluster } from './support.js'

interface Ctx {
  ensemble: Ensemble
  pool: ClusterPool
  prefix: string
  proxies: TcpProxy[]
  children: ChildProcess[]
}

/**
 * Session timeout of the faulted nodes: short, so expiry tests are quick, but long enough that
 * a leader's lease (T − 1.5 × tickTime − margin = 2.1 s here) survives a loaded machine.
 */
const T = 3000
const test = ensembleSuite<Ctx>('failover on a 3-server ensemble, with faults')

test.before(async ctx => {
  ctx.ensemble = await startEnsemble({ size: 3 })
})
test.after(async ctx => {
  await ctx.ensemble?.stop()
})
test.before.each(async ctx => {
  for (const server of ctx.ensemble.servers) if (!server.isRunning) await server.start()
  await ctx.ensemble.waitReady()
  ctx.prefix = chroot(ctx.__test__)
  ctx.pool = new ClusterPool({ zookeeper: ctx.ensemble.connectString, prefix: ctx.prefix, sessionTimeout: T })
  ctx.proxies = []
  ctx.children = []
})
test.after.each(async ctx => {
  for (const child of ctx.children) child.kill('SIGKILL')
  await ctx.pool.stopAll()
  await Promise.all(ctx.proxies.map(proxy => proxy.close()))
})

/** Registers a fault test; `ONLY=<part of a name>` runs just the matching ones. */
function fault(name: string, body: (ctx: Ctx) => Promise<void>): void {
  if (process.env.ONLY && !name.includes(process.env.ONLY)) return
  test(name, ctx => withLogs(() => ctx.ensemble.logs(10), () => body(ctx))(ctx))
}

/** A cluster node that reaches ZooKeeper through its own proxies (proxy i → server i), so its links can be cut or stalled. */
async function proxied(ctx: Ctx, options: Partial<ClusterOptions> = {}): Promise<TestCluster & { proxies: TcpProxy[] }> {
  const proxies = await Promise.all(ctx.ensemble.servers.map(server => TcpProxy.start(server.host, server.clientPort)))
  ctx.proxies.push(...proxies)
  const node = await ctx.pool.start({ zookeeper: proxies.map(p => p.address).join(','), ...options })
  return { ...node, proxies }
}

/** Index of the proxy (and server) a node's client is attached to now. */
function attached(node: TestCluster & { proxies: TcpProxy[] }): number {
  const port = Number(node.cluster.zk.currentServer?.split(':').pop())
  return node.proxies.findIndex(proxy => proxy.port === port)
}

function stepDowns(node: TestCluster): Array<{ reason: StepDownReason; at: number }> {
  const seen: Array<{ reason: StepDownReason; at: number }> = []
  node.cluster.on('stepDown', (_, reason) => seen.push({ reason, at: performance.now() }))
  return seen
}

function assertNoOverlap(intervals: readonly Interval[]): void {
  const sorted = [...intervals].sort((a, b) => a.start - b.start)
  for (let i = 1; i < sorted.length; i++) {
    const before = sorted[i - 1]!
    const after = sorted[i]!
    assert.ok(before.end !== null && before.end <= after.start, `leadership ${before.token} on ${before.node} (${before.start.toFixed(0)}..${before.end?.toFixed(0)}) overlaps ${after.token} on ${after.node} from ${after.start.toFixed(0)}`)
    assert.ok(after.token > before.token, 'tokens increase from one holder to the next')
  }
}

fault('the leader loses ZooKeeper: it kills its global process before anyone else is elected, then comes back on a new session', async ctx => {
  const leader = await proxied(ctx)
  const successor = await ctx.pool.start()
  const intervals: Interval[] = []
  for (const node of [leader, successor]) recordLeadership(node.cluster, 'g', intervals)
  const steps = stepDowns(leader)
  await leader.cluster.registerCandidate('g', async self => void (await self.receive()))
  await successor.cluster.registerCandidate('g', async self => void (await self.receive()))
  const worker = leader.cluster.node.spawn(async self => void (await self.receive()))
  await leader.cluster.register('svc', worker)
  const oldSession = leader.cluster.zk.sessionId
  const global = leader.cluster.leadership('g')!.pid
  const sessions: bigint[] = []
  leader.cluster.on('session', id => sessions.push(id))

  for (const proxy of leader.proxies) proxy.stall()
  const stalledAt = performance.now()
  await waitFor('the successor to lead', () => successor.cluster.leadership('g') !== null, { timeoutMs: 5 * T })
  assert.equal(steps.map(s => s.reason), ['suspect'])
  assert.ok(steps[0]!.at - stalledAt < T, `stepped down ${(steps[0]!.at - stalledAt).toFixed(0)} ms into the silence, before the session could expire`)
  assert.not.ok(leader.cluster.node.isAlive(global), 'the global process is dead')
  assert.ok(leader.cluster.node.isAlive(worker), 'other processes live on')
  assertNoOverlap(intervals)

  for (const proxy of leader.proxies) proxy.resume()
  await waitFor('a new session', () => sessions.length === 1, { timeoutMs: 5 * T })
  assert.ok(sessions[0] !== oldSession && leader.cluster.zk.sessionId === sessions[0])
  await waitFor('the node advertised again', async () => keys(await successor.cluster.getPeers()).includes(leader.cluster.id.key))
  await waitFor('its service advertised again', async () => keys(await successor.cluster.getCapable('svc')).includes(worker.key))
  await waitFor('its candidacy stood again', () => count(leader.traces, /standing as /) === 2)
  assert.ok(successor.cluster.leadership('g'), 'the successor keeps the name')
  assert.is(leader.cluster.leadership('g'), null)
  assert.is(intervals.length, 2)
})

fault('a connection cut does not cost the leadership: the session moves to another server', async ctx => {
  const leader = await proxied(ctx)
  const successor = await ctx.pool.start()
  const steps = stepDowns(leader)
  await leader.cluster.registerCandidate('g', async self => void (await self.receive()))
  await successor.cluster.registerCandidate('g', async self => void (await self.receive()))
  const session = leader.cluster.zk.sessionId
  leader.proxies[attached(leader)]!.cut()
  await sleep(T)
  assert.is(leader.cluster.zk.sessionId, session)
  assert.equal(steps, [])
  assert.ok(leader.cluster.leadership('g'))
  assert.is(successor.cluster.leadership('g'), null)
})

fault('with stepDownOnDisconnect the leader steps down on a cut and stands again behind the successor', async ctx => {
  const leader = await proxied(ctx, { stepDownOnDisconnect: true })
  const successor = await ctx.pool.start()
  const intervals: Interval[] = []
  for (const node of [leader, successor]) recordLeadership(node.cluster, 'g', intervals)
  const steps = stepDowns(leader)
  await leader.cluster.registerCandidate('g', async self => void (await self.receive()))
  await successor.cluster.registerCandidate('g', async self => void (await self.receive()))
  leader.proxies[attached(leader)]!.cut()
  await waitFor('the successor to lead', () => successor.cluster.leadership('g') !== null, { timeoutMs: 3 * T })
  assert.equal(steps.map(s => s.reason), ['disconnect'])
  await waitFor('the old leader to stand again', () => count(leader.traces, /standing as /) === 2)
  assertNoOverlap(intervals)
})

fault("kill -9 of the leader's process: the successor takes over once ZooKeeper expires the session", async ctx => {
  const fixture = fileURLToPath(new URL('./fixtures/candidate.js', import.meta.url))
  const child = fork(fixture, [JSON.stringify({ options: { zookeeper: ctx.ensemble.connectString, prefix: ctx.prefix, sessionTimeout: T, tickTime: 500 }, name: 'g' })], { stdio: 'inherit' })
  ctx.children.push(child)
  const messages: Array<{ type: string; at?: number }> = []
  child.on('message', message => messages.push(message as { type: string }))
  await waitFor('the child to lead', () => messages.some(m => m.type === 'elected'), { timeoutMs: 15_000 })
  const successor = await ctx.pool.start()
  let electedAt = 0
  successor.cluster.on('elected', () => (electedAt = Date.now()))
  await successor.cluster.registerCandidate('g', async self => void (await self.receive()))
  const killedAt = Date.now()
  child.kill('SIGKILL')
  await once(child, 'exit')
  await waitFor('the successor to lead', () => electedAt > 0, { timeoutMs: 5 * T })
  assert.ok(electedAt - killedAt < 3 * T, `took over ${electedAt - killedAt} ms after the kill`)
})

fault('split brain check: across repeated leader faults, leaderships never overlap', async ctx => {
  const intervals: Interval[] = []
  type Faultable = TestCluster & { proxies: TcpProxy[] }
  const live: Faultable[] = []
  const join = async (): Promise<Faultable> => {
    const node = await proxied(ctx)
    recordLeadership(node.cluster, 'g', intervals)
    await node.cluster.registerCandidate('g', async self => void (await self.receive()))
    live.push(node)
    return node
  }
  for (let i = 0; i < 3; i++) await join()
  const leaderOf = (): Faultable | undefined => live.find(node => node.cluster.leadership('g') !== null)
  const faults = ['stall past expiry', 'cut', 'global exits', 'stop', 'kill its server', 'stall past expiry', 'global exits', 'stop'] as const
  for (const kind of faults) {
    const leader = await waitFor('a leader', () => leaderOf(), { timeoutMs: 5 * T })
    const stood = count(leader.traces, /standing as /)
    switch (kind) {
      case 'stall past expiry':
        for (const proxy of leader.proxies) proxy.stall()
        await waitFor('another leader', () => leaderOf() !== undefined && leaderOf() !== leader, { timeoutMs: 5 * T })
        for (const proxy of leader.proxies) proxy.resume()
        await waitFor('the stalled node back in the queue', () => count(leader.traces, /standing as /) > stood, { timeoutMs: 5 * T })
        break
      case 'cut':
        leader.proxies[attached(leader)]!.cut()
        await sleep(300)
        break
      case 'global exits':
        leader.cluster.node.send(leader.cluster.leadership('g')!.pid, 'done')
        await waitFor('another leader', () => leaderOf() !== undefined && leaderOf() !== leader, { timeoutMs: 5 * T })
        await leader.cluster.registerCandidate('g', async self => void (await self.receive()))
        break
      case 'stop':
        await leader.cluster.stop()
        live.splice(live.indexOf(leader), 1)
        await join()
        break
      case 'kill its server': {
        const server = ctx.ensemble.servers[attached(leader)]!
        await server.kill()
        await sleep(T)
        await server.start()
        await ctx.ensemble.waitReady()
        break
      }
    }
  }
  await waitFor('a leader at the end', () => leaderOf(), { timeoutMs: 5 * T })
  assert.ok(intervals.length >= 7, `${intervals.length} leaderships recorded`)
  assertNoOverlap(intervals)
  assert.is(intervals.filter(i => i.end === null).length, 1, 'one leadership open at the end')
})

test.run()
