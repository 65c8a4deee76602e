import { WatchMode } from '../../lib/dev-server/watch-manager.js'
import { ClientDriver, type Instance, type PersistentRecord, type World } from './driver.js'
import { type EnsembleConfig, SimEnsemble } from './ensemble.js'
import { type Fault, describeFault, drawFaults } from './faults.js'
import { type OneShotRecord, type TreeEvent, Trace, Violations } from './model.js'
import { SimNetwork } from './network.js'
import { EPOCH, Scheduler, VirtualEnv, prng } from './scheduler.js'

/** Options of one simulated run. */
export interface RunOptions {
  seed: number
  /** Replaces the seed's fault schedule (reproductions, shrinking). */
  faults?: Fault[]
  /** Virtual length of the busy part. Default 60 s. */
  durationMs?: number
  /** Called at the end with the run's world, its client instances and the tree's events (debugging, tests). */
  inspect?: (world: World, instances: Instance[], events: TreeEvent[]) => void
}

/** What one run found. */
export interface RunResult {
  seed: number
  ok: boolean
  violations: string[]
  faults: Fault[]
  trace: string[]
  stats: { steps: number; calls: number; clients: number; sessions: number; watchesFired: number; persistentEvents: number }
}

const SERVERS = ['zk1', 'zk2', 'zk3']
const EVENT_TYPES = { 1: 'NodeCreated', 2: 'NodeDeleted', 3: 'NodeDataChanged', 4: 'NodeChildrenChanged' } as const

/**
 * Runs one seed: a simulated ensemble, a few clients (the unchanged
 * `ZooKeeper` on virtual envs) running a random workload, the seed's fault
 * schedule, then a quiet end where every fault is healed; checks the
 * invariants as it goes and at the end.
 */
export async function runSeed(options: RunOptions): Promise<RunResult> {
  const { seed } = options
  const durationMs = options.durationMs ?? 60_000
  const scheduler = new Scheduler()
  const start = scheduler.now
  const setup = prng(seed, 1)
  const net = new SimNetwork(scheduler, prng(seed, 2))
  const tickTime = [200, 500, 1000][Math.floor(setup() * 3)]!
  const config: EnsembleConfig = { tickTime, syncLimit: 5, minSessionTimeout: 2 * tickTime, maxSessionTimeout: 20 * tickTime }
  const sessionTimeout = Math.max(config.minSessionTimeout, [2000, 4000, 6000, 10_000][Math.floor(setup() * 4)]!)
  const clientCount = 2 + Math.floor(setup() * 3)
  const longWatches = setup() < 0.1 ? 130 : 0
  const serverEnv = new VirtualEnv(scheduler, 'ensemble', prng(seed, 3), net)
  const ensemble = new SimEnsemble(scheduler, net, config, serverEnv, prng(seed, 4), SERVERS)
  const violations = new Violations(() => scheduler.now, start)
  const trace = new Trace(() => scheduler.now, start)
  const faults = options.faults ?? drawFaults(prng(seed, 5), { clients: clientCount, servers: SERVERS.length, sessionTimeout, durationMs })
  let ids = 0
  const world: World = {
    seed,
    scheduler,
    ensemble,
    net,
    violations,
    trace,
    rand: prng(seed, 6),
    nextId: () => ++ids,
    applied: new Map(),
    rearmedAt: new Map(),
    clientCount,
    sessionTimeout,
    longWatches,
  }
  trace.add(`seed ${seed}: ${clientCount} clients, session ${sessionTimeout} ms, tick ${tickTime} ms${longWatches ? `, ${longWatches} long watched paths` : ''}`)
  const events = watchTree(world)
  ensemble.onRearm = (owner) => {
    const list = world.rearmedAt.get(owner) ?? []
    list.push(scheduler.now)
    world.rearmedAt.set(owner, list)
  }
  seedTree(world)

  const drivers = Array.from({ length: clientCount }, (_, i) => new ClientDriver(world, i))
  for (const d of drivers) d.start()
  for (const f of faults) scheduler.at(f.at, () => applyFault(world, drivers, f))
  const instances = (): Instance[] => drivers.flatMap((d) => d.instances)

  let lastCheck = scheduler.now
  const periodic = (): void => {
    if (scheduler.now - lastCheck < 100) return
    lastCheck = scheduler.now
    for (const inst of instances()) {
      if (inst.env.openSockets > 1) violations.add(`${inst.owner}: ${inst.env.openSockets} sockets open at once`)
      for (const p of inst.persistents) {
        if (p.endedAt === undefined && p.watch.pending > p.maxQueued + 1) violations.add(`${inst.owner}: persistent watch on ${p.path} holds ${p.watch.pending} events (max ${p.maxQueued})`)
      }
    }
    net.prune()
  }
  await scheduler.run(start + durationMs, periodic, () => violations.count > 0)

  // The quiet end: stop the workload, heal everything, let every live client re-attach and catch up.
  for (const d of drivers) d.stop()
  for (const l of net.links) l.resume()
  ensemble.healAll()
  for (const l of net.links) l.extraLatency = 0
  trace.add('healed: quiet end')
  const settleBy = scheduler.now + 4 * config.maxSessionTimeout
  const live = (): Instance[] => instances().filter((i) => !i.terminal)
  await scheduler.runUntil(() => live().every((i) => i.zk.state === 'connected'), settleBy, periodic)
  for (const inst of live()) {
    if (inst.zk.state !== 'connected') violations.add(`${inst.owner}: still ${inst.zk.state} ${4 * config.maxSessionTimeout} ms after every fault healed`)
  }
  for (const inst of live()) inst.track('sync', '/', inst.zk.sync('/'))
  await scheduler.runUntil(() => instances().every((i) => i.inFlight === 0), scheduler.now + config.maxSessionTimeout, periodic)
  await scheduler.run(scheduler.now + 50, periodic)
  // Slow readers of persistent watches catch up (they read at once from now on).
  const unread = (): boolean => live().some((i) => i.persistents.some((p) => p.endedAt === undefined && p.watch.pending > 0))
  await scheduler.runUntil(() => !unread(), scheduler.now + 2000, periodic)
  if (violations.count === 0) checkQuiet(world, instances(), events)

  // Close everything: every call settles, nothing is left behind.
  const closing = instances().map((i) => {
    i.closing = true
    return i.zk.close()
  })
  let closed = false
  void Promise.all(closing).then(() => (closed = true))
  await scheduler.runUntil(() => closed, scheduler.now + 10_000)
  if (!closed) violations.add('close() did not resolve within 10 s')
  await scheduler.run(scheduler.now + 100)
  for (const inst of instances()) {
    for (const c of inst.calls) if (c.outcome === undefined) violations.add(`${inst.owner}: call #${c.id} ${c.op} ${c.path} never settled`)
    if (inst.env.liveTimers.size > 0) violations.add(`${inst.owner}: ${inst.env.liveTimers.size} timers left after close()`)
    if (inst.env.openSockets > 0) violations.add(`${inst.owner}: ${inst.env.openSockets} sockets left after close()`)
  }
  checkApplied(world, instances())
  options.inspect?.(world, instances(), events)

  const all = instances()
  return {
    seed,
    ok: violations.count === 0,
    violations: violations.list,
    faults,
    trace: trace.tail(),
    stats: {
      steps: scheduler.steps,
      calls: all.reduce((n, i) => n + i.calls.length, 0),
      clients: clientCount,
      sessions: all.length,
      watchesFired: all.reduce((n, i) => n + i.oneShots.filter((o) => o.fired.length > 0).length, 0),
      persistentEvents: all.reduce((n, i) => n + i.persistents.reduce((m, p) => m + p.received.length, 0), 0),
    },
  }
}

/** Creates `/c<i>` for each client directly in the leader's tree (before any client exists). */
function seedTree(world: World): void {
  const { processor } = world.ensemble
  for (let i = 0; i < world.clientCount; i++) {
    const parent = processor.tree.get('/')!
    processor.tree.createNode({ path: `/c${i}`, data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], owner: 0n, parentCVersion: parent.cversion + 1 }, ++processor.zxid, BigInt(world.scheduler.now))
  }
}

/** Records every change the leader's tree makes (a recursive watch on `/` that no client owns) and every value it applies. */
function watchTree(world: World): TreeEvent[] {
  const events: TreeEvent[] = []
  const { tree } = world.ensemble.processor
  tree.dataWatches.add('/', {
    sessionId: 0n,
    notify: (type, path) => {
      const name = EVENT_TYPES[type as 1 | 2 | 3]
      if (name === undefined) return
      const t = world.scheduler.now
      events.push({ t, type: name, path })
      if (name !== 'NodeDataChanged') events.push({ t, type: 'NodeChildrenChanged', path: path.slice(0, path.lastIndexOf('/')) || '/' })
    },
  }, WatchMode.persistentRecursive)
  const count = (data: Buffer | null): void => {
    if (data === null) return
    const value = data.toString()
    const n = (world.applied.get(value) ?? 0) + 1
    world.applied.set(value, n)
    if (n > 1) world.violations.add(`the write of ${value} was applied ${n} times`)
  }
  const create = tree.createNode.bind(tree)
  tree.createNode = (node, zxid, time) => {
    count(node.data)
    return create(node, zxid, time)
  }
  const setData = tree.setData.bind(tree)
  tree.setData = (change, zxid, time) => {
    count(change.data)
    return setData(change, zxid, time)
  }
  return events
}

function applyFault(world: World, drivers: ClientDriver[], f: Fault): void {
  const { ensemble, scheduler, trace } = world
  trace.add(`fault: ${describeFault(f)}`)
  const owner = drivers[f.target]?.current?.owner
  const link = (): ReturnType<typeof ensemble.connOf> => (owner === undefined ? undefined : ensemble.connOf(owner))
  switch (f.kind) {
    case 'cut':
      return link()?.link.cut()
    case 'stall': {
      const l = link()?.link
      l?.stall()
      scheduler.at(f.ms!, () => l?.resume())
      return
    }
    case 'loseReply': {
      const c = link()
      if (c) c.loseNextReply = true
      return
    }
    case 'expire': {
      const inst = drivers[f.target]?.current
      if (inst && inst.zk.sessionId !== 0n) ensemble.expire(inst.zk.sessionId)
      return
    }
    case 'partition':
    case 'crash':
    case 'slow':
      return ensemble.serverFault(f.kind, f.target, f.ms!)
  }
}

/**
 * After the quiet end (every live client attached and synced): one-shot
 * watches whose node changed since their read have fired, ended sessions
 * told every watcher, persistent watches saw every change or a gap marker
 * after it, and a session the leader no longer knows is expired on its client.
 */
function checkQuiet(world: World, instances: Instance[], events: TreeEvent[]): void {
  const { violations, ensemble } = world
  const tree = ensemble.processor.tree
  const byPath = new Map<string, TreeEvent[]>()
  for (const e of events) {
    let list = byPath.get(e.path)
    if (list === undefined) byPath.set(e.path, (list = []))
    list.push(e)
  }
  for (const inst of instances) {
    const alive = !inst.terminal
    if (alive && ensemble.processor.sessions.get(inst.zk.sessionId) === undefined) {
      violations.add(`${inst.owner}: session 0x${inst.zk.sessionId.toString(16)} is gone on the server but the client is ${inst.zk.state}`)
    }
    for (const rec of inst.oneShots) {
      if (rec.observed === undefined) continue
      if (!alive) {
        if (rec.fired.length !== 1) violations.add(`${inst.owner}: one-shot ${rec.kind} watch on ${rec.path} fired ${rec.fired.length} times by the end of its session`)
        continue
      }
      if (rec.fired.length > 0) {
        checkNotSpurious(world, rec, byPath)
        continue
      }
      if (changedSince(tree, rec)) violations.add(`${inst.owner}: one-shot ${rec.kind} watch on ${rec.path} (read saw ${rec.observed}) never fired although the node changed`)
    }
    for (const p of inst.persistents) checkPersistent(world, inst, p, events)
  }
}

function changedSince(tree: World['ensemble']['processor']['tree'], rec: OneShotRecord): boolean {
  const node = tree.get(rec.path)
  switch (rec.kind) {
    case 'exist':
      return node !== undefined
    case 'data':
      return node === undefined || `m${node.mzxid}` !== rec.observed
    case 'child':
      return node === undefined || `p${node.pzxid}` !== rec.observed
  }
}

function checkNotSpurious(world: World, rec: OneShotRecord, byPath: Map<string, TreeEvent[]>): void {
  const e = rec.fired[0]!
  if (e.type === 'None' || e.type === 'DataWatchRemoved' || e.type === 'ChildWatchRemoved') return
  // Any change will do: re-armed after a reconnect, a node deleted and created again while away reads as NodeDataChanged (as on ZooKeeper).
  const seen = (byPath.get(rec.path) ?? []).some((t) => t.t >= rec.submittedAt && (rec.kind === 'child' || t.type !== 'NodeChildrenChanged'))
  if (!seen) world.violations.add(`${rec.owner}: one-shot ${rec.kind} watch on ${rec.path} fired ${e.type} but the node had not changed`)
}

/**
 * A persistent watch: (1) every change in its scope after it was set reached
 * it on the connection that was live then — before the next reconnect marker
 * — or a reconnect marker came after it (changes between a marker and the
 * leader re-arming the watch count as before the marker: the application
 * re-reads after it); a watch that ended may miss the changes after the last
 * one it got. (2) Its iterator yielded what was delivered, in order, except
 * runs dropped at the `maxQueued` bound, each replaced by one marker.
 */
function checkPersistent(world: World, inst: Instance, p: PersistentRecord, events: TreeEvent[]): void {
  const fail = (what: string): void => world.violations.add(`${inst.owner}: persistent${p.recursive ? ' recursive' : ''} watch on ${p.path}: ${what}`)
  const inScope = (e: TreeEvent): boolean =>
    p.recursive ? e.type !== 'NodeChildrenChanged' && (e.path === p.path || e.path.startsWith(`${p.path}/`)) : e.path === p.path
  const delivered = p.delivered
  const markers = delivered.filter((d) => d.e.type === 'None').map((d) => d.t)
  const rearms = world.rearmedAt.get(inst.owner) ?? []
  // Changes from a marker until the leader re-armed the watch are covered by that marker.
  // A re-attach may re-arm in several SetWatches packets (persistent watches come last): the window ends with the last one.
  const rearmEnd = (m: number): number => {
    const next = markers.find((x) => x > m) ?? Infinity
    const within = rearms.filter((r) => r >= m && r < next)
    return within.length === 0 ? Infinity : Math.max(...within)
  }
  const covered = (t: number): boolean => markers.some((m) => m >= t || (m <= t && t <= rearmEnd(m)))
  const expected = events.filter((e) => e.t >= p.submittedAt && (p.endedAt === undefined || e.t <= p.endedAt) && inScope(e))
  // Deliveries that answer no change of the watch's own: one-shot catch-up events right after a re-attach.
  const extra = (d: { t: number }): boolean => markers.some((m) => m <= d.t && d.t <= rearmEnd(m) + 100)
  // Per kind of change (type and path), deliveries answer changes in order, each on the
  // connection that was live then (no marker in between). Look for any such matching that leaves
  // only excusable changes unmatched: covered by a marker, or — for a watch that ended — after
  // the last change of that kind it got.
  const keys = new Set(expected.map((e) => `${e.type} ${e.path}`))
  for (const key of keys) {
    const es = expected.filter((e) => `${e.type} ${e.path}` === key)
    const ds = delivered.filter((d) => `${d.e.type} ${d.e.path}` === key)
    const fits = (e: TreeEvent, d: { t: number }): boolean => e.t <= d.t && !markers.some((m) => m > e.t && m < d.t)
    // reach[i][j]: the first i changes and the first j deliveries can be accounted for.
    const reach = Array.from({ length: es.length + 1 }, () => new Array<boolean>(ds.length + 1).fill(false))
    reach[0]![0] = true
    for (let i = 0; i <= es.length; i++) {
      for (let j = 0; j <= ds.length; j++) {
        if (!reach[i]![j]) continue
        if (j < ds.length && extra(ds[j]!)) reach[i]![j + 1] = true
        if (i < es.length && j < ds.length && fits(es[i]!, ds[j]!)) reach[i + 1]![j + 1] = true
        const e = es[i]
        if (e !== undefined && (e.t < p.registeredAt || covered(e.t) || (p.endedAt !== undefined && j === ds.length))) reach[i + 1]![j] = true
      }
    }
    if (!reach[es.length]![ds.length]) {
      const first = es.find((e) => !covered(e.t)) ?? es[0]!
      return fail(`missed ${key} (${es.length} changes, ${ds.length} delivered; the first not covered by a marker at ${Math.round(first.t - EPOCH)} ms)`)
    }
  }
  // (2) the queue: identity of event objects, overflow markers standing for dropped runs.
  let j = 0
  const read = p.received
  for (let r = 0; r < read.length; r++) {
    const item = read[r]!.e
    if (delivered[j]?.e === item) {
      j++
      continue
    }
    if (item.type !== 'None') return fail(`yielded ${item.type} ${item.path} out of delivery order`)
    const next = read[r + 1]?.e
    const resume = next === undefined ? delivered.length : delivered.findIndex((d, k) => k >= j && d.e === next)
    if (resume === -1 || resume === j) return fail('yielded a gap marker where nothing was dropped')
    j = resume
  }
  if (p.endedAt === undefined && j < delivered.length) fail(`${delivered.length - j} delivered events never yielded (${p.watch.pending} pending)`)
}

/** Writes the client saw succeed were applied; writes it was told never went out were not. */
function checkApplied(world: World, instances: Instance[]): void {
  for (const inst of instances) {
    for (const c of inst.calls) {
      if (c.value === undefined) continue
      const applied = world.applied.has(c.value)
      if (c.outcome === 'ok' && !applied) world.violations.add(`${inst.owner}: ${c.op} ${c.path} = ${c.value} succeeded but was never applied`)
      if ((c.outcome === 'OPERATIONTIMEOUT' || c.outcome === 'SESSIONEXPIRED') && applied) world.violations.add(`${inst.owner}: ${c.op} ${c.path} = ${c.value} failed with ${c.outcome} but was applied`)
    }
  }
}
