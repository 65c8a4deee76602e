/**
 * The cluster world: the unchanged cluster layer (`Cluster`: its session
 * renewal, discovery cache, election candidacies and lease) on virtual envs,
 * against the simulated ensemble (test/sim/ensemble.ts) on the virtual clock.
 * Two to four cluster nodes each stand for one or two global names (shared,
 * so they compete), register and unregister processes under a few services,
 * look them up, and sometimes end a global process; faults are those of the
 * client world (a client link cut or stalled, a lost reply, a session
 * expired by silence, a server partitioned from the ZooKeeper leader, crashed or slow)
 * plus pauses of a cluster node (every timer and socket event of it waits)
 * and restarts (stop(), then a new node on the same host).
 *
 * Checked after every step (virtual instant):
 * - at most one live global process of a name holds a valid leadership (its
 *   candidacy leads and its lease holds, as `leadership.valid()` computes it);
 * - the fencing tokens of successive leaders of a name strictly increase;
 * - a discovery lookup (`getCapable`) issued after the watch event of a change
 *   reached the node answers the members as of that change or later (never an
 *   older list; only the node's own processes it withdrew may be missing);
 * - after `stop()`, no timer, socket or deferred call of the node, and no
 *   session or connection of it on the ensemble, is left.
 * At the end, every fault healed: each name someone stands for has a leader.
 */
import { Cluster } from '../../lib/cluster/cluster.js'
import { ClusterError } from '../../lib/cluster/errors.js'
import { Lead, type Leadership } from '../../lib/cluster/leadership.js'
import type { Env, EnvSocket } from '../../lib/env.js'
import type { ProcessId } from '../../lib/runtime/ids.js'
import { type WatchedEvent, type Watcher, ZooKeeper } from '../../lib/zk-wire/index.js'
import { type EnsembleConfig, SimEnsemble } from './ensemble.js'
import { type Fault, describeFault, drawFaults } from './faults.js'
import { Trace, Violations } from './model.js'
import { type Link, SimNetwork, type SimSocket } from './network.js'
import { Gate, gatedEnv, SimNet } from './runtime-net.js'
import { type Random, Scheduler, VirtualEnv, prng } from './scheduler.js'

/**
 * One fault of a cluster run: the client world's kinds (`target` a cluster
 * node for cut, stall, loseReply, expire; a server for partition, crash,
 * slow), `pause` (node `target` frozen for `ms`) and `restart` (node
 * `target` stopped, and started again `ms` later). Here `expire` cuts the
 * node off from every server until the ensemble expires its session (a
 * session timeout and three ticks): ZooKeeper never expires a live session
 * early, and the lease relies on that.
 */
export interface ClusterFault {
  at: number
  kind: Fault['kind'] | 'pause' | 'restart'
  target: number
  ms?: number
}

export interface ClusterRunOptions {
  seed: number
  faults?: ClusterFault[]
  /** Virtual length of the busy part. Default 60 s. */
  durationMs?: number
}

export interface ClusterRunResult {
  seed: number
  ok: boolean
  violations: string[]
  faults: ClusterFault[]
  trace: string[]
  stats: { steps: number; nodes: number; elections: number; stepDowns: number; lookups: number; checkedLookups: number; sessions: number; restarts: number }
}

const SERVERS = ['zk1', 'zk2', 'zk3']
const PORT = 4370
const COOKIE = '5f0c1e2d3b4a69788796a5b4c3d2e1f0'
const NAMES = ['g0', 'g1']
const SERVICES = ['s0', 's1', 's2']
const PREFIX = '/zkcloud'
const EVENT_TYPES: Record<string, number> = { NodeCreated: 1, NodeDeleted: 2, NodeDataChanged: 3, NodeChildrenChanged: 4 }

export function describeClusterFault(f: ClusterFault): string {
  if (f.kind === 'pause' || f.kind === 'restart') return `${f.kind}(node ${f.target}, ${f.ms} ms) at ${f.at} ms`
  return describeFault(f as Fault)
}

/** A run of a cluster node: a restart is a new run of the same host. */
interface NodeRun {
  readonly index: number
  readonly owner: string
  readonly env: VirtualEnv
  readonly gate: Gate
  readonly net: SimNet
  cluster: Cluster | null
  state: 'starting' | 'up' | 'stopping' | 'stopped'
  /** The names it stands for now (the workload ends a global process: it stands no more until it registers again). */
  readonly standing: Set<string>
  /** Its live processes registered under services. */
  readonly members: Map<string, { pid: ProcessId; services: Set<string> }>
  /** Pids it withdrew (killed or unregistered): its own lookups may leave them out before ZooKeeper does. */
  readonly withdrawn: Set<string>
  /** Ends the global process of a name it leads (the function returns). */
  readonly release: Map<string, () => void>
  sessionId: bigint
  leftovers?: string
  /** Cut off from every ZooKeeper server until then (the `expire` fault): its links hold their bytes. */
  isolatedUntil: number
  /** Links held by that isolation. */
  readonly held: Link[]
}

/** A watch notification the leader sent (by owner, path and type), and whether a delivery was matched to it. */
interface Notice {
  readonly zxid: bigint
  readonly order: number
  matched: boolean
}

class ClusterWorld {
  readonly scheduler = new Scheduler()
  readonly start = this.scheduler.now
  readonly violations = new Violations(() => this.scheduler.now, this.start)
  readonly trace = new Trace(() => this.scheduler.now, this.start)
  readonly net: SimNetwork
  readonly ensemble: SimEnsemble
  readonly config: EnsembleConfig
  readonly sessionTimeout: number
  readonly rand: Random
  readonly runs: NodeRun[] = []
  readonly current: NodeRun[] = []
  readonly byEnv = new Map<Env, NodeRun>()
  /** Orders records made at one virtual instant. */
  order = 0
  readonly notices = new Map<string, Notice[]>()
  /** Per owner and path: the zxid of the newest change whose notification reached the owner. */
  readonly seen = new Map<string, bigint>()
  readonly delivered = new WeakSet<WatchedEvent>()
  /** Each service directory's members after each change: zxid and sorted child names. */
  readonly history = new Map<string, Array<{ zxid: bigint; members: string[] }>>()
  readonly lastToken = new Map<string, number>()
  readonly stats: ClusterRunResult['stats']
  private runCount = 0

  constructor(
    readonly seed: number,
    nodes: number,
  ) {
    const setup = prng(seed, 301)
    this.rand = prng(seed, 302)
    this.net = new SimNetwork(this.scheduler, prng(seed, 303))
    const tickTime = [200, 500, 1000][Math.floor(setup() * 3)]!
    this.config = { tickTime, syncLimit: 5, minSessionTimeout: 2 * tickTime, maxSessionTimeout: 20 * tickTime }
    this.sessionTimeout = Math.max(this.config.minSessionTimeout, [2000, 4000, 6000, 10_000][Math.floor(setup() * 4)]!)
    const serverEnv = new VirtualEnv(this.scheduler, 'ensemble', prng(seed, 304), this.net)
    this.ensemble = new SimEnsemble(this.scheduler, this.net, this.config, serverEnv, prng(seed, 305), SERVERS)
    this.ensemble.onNotify = (owner, type, path) => {
      const key = `${owner}|${path}|${type}`
      let list = this.notices.get(key)
      if (list === undefined) this.notices.set(key, (list = []))
      list.push({ zxid: this.ensemble.processor.zxid, order: ++this.order, matched: false })
    }
    this.stats = { steps: 0, nodes, elections: 0, stepDowns: 0, lookups: 0, checkedLookups: 0, sessions: 0, restarts: 0 }
    this.watchTree()
  }

  /** Records the members of every service directory after each change of the leader's tree. */
  private watchTree(): void {
    const tree = this.ensemble.processor.tree
    const servicesDir = `${PREFIX}/services/`
    const note = (path: string, zxid: bigint): void => {
      const dir = path.slice(0, path.lastIndexOf('/'))
      const target = path.startsWith(servicesDir) && dir.length > servicesDir.length ? dir : path.startsWith(servicesDir) ? path : null
      if (target === null) return
      let list = this.history.get(target)
      if (list === undefined) this.history.set(target, (list = [{ zxid: 0n, members: [] }]))
      list.push({ zxid, members: [...(tree.get(target)?.children ?? [])].sort() })
    }
    const create = tree.createNode.bind(tree)
    tree.createNode = (node, zxid, time) => {
      const stat = create(node, zxid, time)
      note(node.path, zxid)
      return stat
    }
    const remove = tree.deleteNode.bind(tree)
    tree.deleteNode = (path, zxid) => {
      remove(path, zxid)
      note(path, zxid)
    }
  }

  /** A client of `owner` was handed a watch event: match it to the oldest notification for it not yet matched. */
  delivery(run: NodeRun, path: string, event: WatchedEvent): void {
    const type = EVENT_TYPES[event.type]
    if (type === undefined || this.delivered.has(event)) return
    this.delivered.add(event)
    const list = this.notices.get(`${run.owner}|${path}|${type}`)
    const notice = list?.find((n) => !n.matched)
    if (notice === undefined) return this.violations.add(`${run.owner}: a ${event.type} event on ${path} that the ensemble never sent`)
    notice.matched = true
    const key = `${run.owner}|${path}`
    if ((this.seen.get(key) ?? -1n) < notice.zxid) this.seen.set(key, notice.zxid)
  }

  /** Starts a run of node `index` (a new incarnation after a restart). */
  async startRun(index: number): Promise<NodeRun> {
    const n = ++this.runCount
    const host = `n${index + 1}`
    const owner = `${host}.${n}`
    const env = new VirtualEnv(this.scheduler, owner, prng(this.seed, 400 + n), this.net, prng(this.seed, 700 + n))
    const gate = new Gate(this.scheduler)
    const net = new SimNet(host, this.net, gate, { blocked: () => false })
    const genv = gatedSocketsEnv(env, gate, (socket) => {
      if (this.scheduler.now >= run.isolatedUntil) return
      socket.link.stall()
      run.held.push(socket.link)
    })
    const run: NodeRun = { index, owner, env, gate, net, cluster: null, state: 'starting', standing: new Set(), members: new Map(), withdrawn: new Set(), release: new Map(), sessionId: 0n, isolatedUntil: -Infinity, held: [] }
    this.byEnv.set(genv, run)
    this.runs.push(run)
    this.current[index] = run
    const cluster = await Cluster.start({
      zookeeper: this.ensemble.connectString,
      env: genv,
      host,
      port: PORT,
      cookie: COOKIE,
      prefix: PREFIX,
      sessionTimeout: this.sessionTimeout,
      tickTime: this.config.tickTime,
      connectTimeout: 4 * this.config.maxSessionTimeout,
      logError: (line, error) => this.trace.add(`${owner} problem: ${line}${error ? ` (${error.message})` : ''}`),
      node: { net },
    })
    run.cluster = cluster
    run.state = 'up'
    run.sessionId = cluster.zk.sessionId
    this.stats.sessions++
    this.trace.add(`${owner} started, session 0x${run.sessionId.toString(16)}`)
    cluster.on('elected', (lead) => this.elected(run, lead))
    cluster.on('stepDown', (lead, reason) => {
      this.stats.stepDowns++
      run.release.delete(lead.name)
      this.trace.add(`${owner} steps down from ${lead.name} (token ${lead.token}): ${reason}`)
    })
    cluster.on('session', (id) => {
      run.sessionId = id
      this.stats.sessions++
      this.trace.add(`${owner} new session 0x${id.toString(16)}`)
    })
    cluster.on('connection', (state) => this.trace.add(`${owner} ${state}`))
    return run
  }

  private elected(run: NodeRun, lead: Leadership): void {
    this.stats.elections++
    this.trace.add(`${run.owner} elected for ${lead.name} (token ${lead.token}, ${lead.path})`)
    const last = this.lastToken.get(lead.name)
    if (last !== undefined && lead.token <= last) this.violations.add(`${run.owner} elected for ${lead.name} with fencing token ${lead.token}, not above its predecessor's ${last}`)
    this.lastToken.set(lead.name, Math.max(lead.token, last ?? -Infinity))
    this.checkLeaders()
  }

  /** At most one live node holds a valid leadership of each name. */
  checkLeaders(): void {
    for (const name of NAMES) {
      const holders: string[] = []
      for (const run of this.runs) {
        if (run.cluster === null || run.state === 'stopped') continue
        const lead = run.cluster.leadership(name)
        if (lead instanceof Lead && lead.lost === null && (lead as unknown as { leaseValid(): boolean }).leaseValid()) holders.push(`${run.owner} (token ${lead.token}${run.gate.state === 'frozen' ? ', paused' : ''})`)
      }
      if (holders.length > 1) this.violations.add(`${name} is held validly by ${holders.join(' and ')} at once`)
    }
  }

  /** Checks a lookup's answer against the members the service had since the newest change the node had heard of when it asked. */
  checkLookup(run: NodeRun, service: string, since: bigint, answer: readonly ProcessId[]): void {
    this.stats.checkedLookups++
    const dir = `${PREFIX}/services/${service}`
    const history = this.history.get(dir) ?? [{ zxid: 0n, members: [] }]
    let from = 0
    for (let i = 0; i < history.length; i++) if (history[i]!.zxid <= since) from = i
    const got = answer.map((p) => p.key).sort()
    const fits = history.slice(from).some(({ members }) => got.every((k) => members.includes(k)) && members.every((k) => got.includes(k) || run.withdrawn.has(k)))
    if (!fits) {
      const states = history.slice(Math.max(0, from - 1)).map((h) => `${h.zxid}:[${h.members.join(' ')}]`).join(', ')
      this.violations.add(`${run.owner}: getCapable(${service}) answered [${got.join(' ')}] although it had heard of the change at zxid ${since}; members since: ${states}`)
    }
  }
}

/** A gated env whose client sockets also report through the gate (a paused node hears nothing until it thaws). */
function gatedSocketsEnv(env: VirtualEnv, gate: Gate, opened: (socket: SimSocket) => void): Env {
  const base = gatedEnv(env, gate)
  return {
    ...base,
    connect: (host, port, options): EnvSocket => {
      const socket = env.connect(host, port, options) as SimSocket
      opened(socket)
      return {
        get remoteAddress() {
          return socket.remoteAddress
        },
        get remotePort() {
          return socket.remotePort
        },
        attach: (events) =>
          socket.attach({
            ready: () => gate.run(() => events.ready()),
            data: (chunk) => gate.run(() => events.data(chunk)),
            error: (error) => gate.run(() => events.error(error)),
            close: () => gate.run(() => events.close()),
          }),
        write: (chunk) => socket.write(chunk),
        destroy: () => socket.destroy(),
      }
    },
  }
}

type WatchRead = (this: ZooKeeper, path: string, options?: { watch?: Watcher }) => Promise<unknown>

/**
 * Spies on the watches every client of the world sets (getData, exists,
 * getChildren): a delivered event is recorded before the watcher runs. One
 * wrapper per client and watcher, so the client's watcher sets behave as before.
 */
function spyOnWatches(world: ClusterWorld): () => void {
  const proto = ZooKeeper.prototype as unknown as Record<string, WatchRead>
  const wrappers = new WeakMap<ZooKeeper, WeakMap<Watcher, Map<string, Watcher>>>()
  const originals: Array<[string, WatchRead]> = []
  for (const name of ['getData', 'exists', 'getChildren']) {
    const original = proto[name]!
    originals.push([name, original])
    proto[name] = function (this: ZooKeeper, path: string, options?: { watch?: Watcher }) {
      const watch = options?.watch
      const run = world.byEnv.get((this as unknown as { options: { env?: Env } }).options.env!)
      if (watch === undefined || run === undefined) return original.call(this, path, options)
      let byWatcher = wrappers.get(this)
      if (byWatcher === undefined) wrappers.set(this, (byWatcher = new WeakMap()))
      let byPath = byWatcher.get(watch)
      if (byPath === undefined) byWatcher.set(watch, (byPath = new Map()))
      let wrapped = byPath.get(path)
      if (wrapped === undefined) {
        wrapped = (event: WatchedEvent) => {
          world.delivery(run, event.path ?? path, event)
          watch(event)
        }
        byPath.set(path, wrapped)
      }
      return original.call(this, path, { ...options, watch: wrapped })
    }
  }
  return () => {
    for (const [name, original] of originals) proto[name] = original
  }
}

function pick<T>(rand: Random, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!
}

/** Draws the seed's faults: the client world's, then a few pauses and restarts of cluster nodes. */
export function drawClusterFaults(seed: number, nodes: number, sessionTimeout: number, durationMs: number): ClusterFault[] {
  const rand = prng(seed, 306)
  const faults: ClusterFault[] = drawFaults(prng(seed, 307), { clients: nodes, servers: SERVERS.length, sessionTimeout, durationMs })
  const extra = Math.floor(rand() * 4)
  for (let i = 0; i < extra; i++) {
    const at = Math.round(1000 + rand() * (durationMs * 0.8 - 1000))
    if (rand() < 0.65) faults.push({ at, kind: 'pause', target: Math.floor(rand() * nodes), ms: Math.round(100 + rand() * sessionTimeout * 2) })
    else faults.push({ at, kind: 'restart', target: Math.floor(rand() * nodes), ms: Math.round(200 + rand() * 3000) })
  }
  return faults.sort((a, b) => a.at - b.at)
}

/** Runs one seed of the cluster world. */
export async function runClusterSeed(options: ClusterRunOptions): Promise<ClusterRunResult> {
  const { seed } = options
  const durationMs = options.durationMs ?? 40_000
  const nodes = 2 + Math.floor(prng(seed, 300)() * 3)
  const world = new ClusterWorld(seed, nodes)
  const { scheduler, violations, trace, ensemble, config } = world
  const faults = options.faults ?? drawClusterFaults(seed, nodes, world.sessionTimeout, durationMs)
  const names = Array.from({ length: nodes }, () => (world.rand() < 0.5 ? [pick(world.rand, NAMES)] : [...NAMES]))
  trace.add(`seed ${seed}: ${nodes} cluster nodes (standing for ${names.map((n) => n.join('+')).join(', ')}), session ${world.sessionTimeout} ms, tick ${config.tickTime} ms`)
  const unspy = spyOnWatches(world)
  let busy = true
  try {
    const stand = (run: NodeRun, name: string): void => {
      const cluster = run.cluster
      if (cluster === null || run.state !== 'up' || run.standing.has(name)) return
      run.standing.add(name)
      cluster
        .registerCandidate(name, (_self, lead) => new Promise<void>((resolve) => run.release.set(lead.name, resolve)))
        .catch((error: Error) => {
          trace.add(`${run.owner} registerCandidate ${name}: ${error.name} ${error.message}`)
          if (!(error instanceof ClusterError)) run.standing.delete(name)
        })
    }
    const launch = (index: number, delay: number): void => {
      scheduler.at(delay, () => {
        if (!busy) return
        world.startRun(index).then(
          (run) => {
            for (const name of names[index]!) stand(run, name)
            workload(run)
          },
          (error: Error) => {
            trace.add(`n${index + 1} could not start: ${error.message}`)
            launch(index, 1000)
          },
        )
      })
    }
    const workload = (run: NodeRun): void => {
      scheduler.at(Math.round(-Math.log(1 - world.rand()) * 500), () => {
        if (!busy || run.state !== 'up') return
        if (!run.gate.holding) act(world, run, names[run.index]!, stand)
        workload(run)
      })
    }
    for (let i = 0; i < nodes; i++) launch(i, Math.round(world.rand() * 300))
    for (const f of faults) scheduler.at(f.at, () => applyFault(world, f, (index, ms) => launch(index, ms)))

    let prunedAt = 0
    const afterEach = (): void => {
      world.checkLeaders()
      if (scheduler.now - prunedAt > 200) {
        prunedAt = scheduler.now
        world.net.prune()
        for (const run of world.runs) run.net.prune()
      }
    }
    await scheduler.run(world.start + durationMs, afterEach, () => violations.count > 0)

    // The quiet end: no more faults or workload; everything heals, every name someone stands for gets a leader.
    busy = false
    for (const l of world.net.links) {
      l.resume()
      l.extraLatency = 0
    }
    ensemble.healAll()
    for (const run of world.runs) {
      run.gate.thaw()
      run.isolatedUntil = -Infinity
      run.held.length = 0
    }
    trace.add('healed: quiet end')
    const up = (): NodeRun[] => world.current.filter((r) => r !== undefined && r.state === 'up')
    const wanted = (): string[] => NAMES.filter((name) => up().some((r) => r.standing.has(name)))
    const led = (name: string): boolean => up().some((r) => r.cluster?.leadership(name)?.valid() === true)
    const settleMs = 6 * config.maxSessionTimeout + 35_000
    if (violations.count === 0) {
      await scheduler.runUntil(() => up().length === world.current.length && wanted().every(led), scheduler.now + settleMs, afterEach)
      for (const name of wanted()) if (!led(name)) violations.add(`${name} has no leader ${settleMs} ms after every fault healed (standing: ${up().filter((r) => r.standing.has(name)).map((r) => `${r.owner} ${r.cluster?.zk.state}`).join(', ')})`)
    }

    // Stop every node: nothing of it is left, here or on the ensemble.
    const live = up()
    let stopped = 0
    for (const run of live) void stopRun(world, run).then(() => stopped++)
    scheduler.at(0, () => undefined)
    await scheduler.runUntil(() => stopped === live.length, scheduler.now + 15_000, afterEach)
    for (const run of live) {
      if (run.state !== 'stopped') violations.add(`${run.owner}: stop() did not resolve within 15 s`)
      else if (run.leftovers !== undefined) violations.add(`${run.owner}: after stop() ${run.leftovers} were left`)
    }
    await scheduler.run(scheduler.now + config.tickTime + 100)
    for (const run of live) if (ensemble.connOf(run.owner) !== undefined) violations.add(`${run.owner}: a connection of it is still open on the ensemble after stop()`)
    // A session closed while disconnected cannot tell the ensemble: it expires there, a session timeout later.
    await scheduler.run(scheduler.now + world.sessionTimeout + 2 * config.tickTime)
    for (const run of world.runs) {
      if (ensemble.processor.sessions.get(run.sessionId) !== undefined) violations.add(`${run.owner}: its session 0x${run.sessionId.toString(16)} still lives on the ensemble a session timeout after stop()`)
    }
    const left = [...(ensemble.processor.tree.get(`${PREFIX}/nodes`)?.children ?? [])]
    if (left.length > 0) violations.add(`nodes still advertised after every node stopped: ${left.join(', ')}`)
  } finally {
    unspy()
  }
  world.stats.steps = scheduler.steps
  return { seed, ok: violations.count === 0, violations: violations.list, faults, trace: trace.tail(), stats: world.stats }
}

/** Stops a node's cluster; records what it left behind. */
async function stopRun(world: ClusterWorld, run: NodeRun): Promise<void> {
  if (run.cluster === null || run.state !== 'up') return
  run.state = 'stopping'
  run.standing.clear()
  run.gate.thaw()
  await run.cluster.stop()
  run.state = 'stopped'
  // Calls still pending when stop() began settle (rejected) right after it, at the same instant: look once they have.
  await new Promise<void>((resolve) => world.scheduler.at(0, resolve))
  const timers = run.env.liveTimers.size
  const sockets = run.env.openSockets + run.net.openSockets
  const defers = run.net.defers.size
  if (timers + sockets + defers > 0) run.leftovers = `${timers} timers, ${sockets} sockets, ${defers} deferred calls`
  world.trace.add(`${run.owner} stopped`)
}

/** One step of a node's workload. */
function act(world: ClusterWorld, run: NodeRun, names: readonly string[], stand: (run: NodeRun, name: string) => void): void {
  const cluster = run.cluster!
  const { rand, trace } = world
  const service = pick(rand, SERVICES)
  const members = [...run.members.values()]
  const r = rand()
  const quiet = (what: string) => (error: Error) => trace.add(`${run.owner} ${what}: ${error.name} ${error.message}`)
  if (r < 0.18) {
    if (members.length >= 4) return
    const pid = cluster.node.spawn(async (self) => {
      for (;;) await self.receive()
    })
    run.members.set(pid.key, { pid, services: new Set([service]) })
    cluster.register(service, pid).catch(quiet(`register ${service}`))
  } else if (r < 0.26) {
    const m = members[0]
    if (m === undefined || m.services.has(service)) return
    m.services.add(service)
    cluster.register(service, m.pid).catch(quiet(`register ${service}`))
  } else if (r < 0.32) {
    if (members.length === 0) return
    const m = pick(rand, members)
    run.members.delete(m.pid.key)
    run.withdrawn.add(m.pid.key)
    cluster.node.kill(m.pid, 'killed')
  } else if (r < 0.38) {
    const m = members.find((x) => x.services.has(service))
    if (m === undefined) return
    m.services.delete(service)
    run.withdrawn.add(m.pid.key)
    cluster.unregister(service, m.pid).catch(quiet(`unregister ${service}`))
  } else if (r < 0.75) {
    world.stats.lookups++
    const since = world.seen.get(`${run.owner}|${PREFIX}/services/${service}`) ?? 0n
    cluster.getCapable(service).then((answer) => world.checkLookup(run, service, since, answer), quiet(`getCapable ${service}`))
  } else if (r < 0.85) {
    cluster.whereisGlobal(pick(rand, NAMES)).catch(quiet('whereisGlobal'))
  } else if (r < 0.92) {
    const held = [...run.release.entries()]
    if (held.length === 0) return
    const [name, release] = pick(rand, held)
    run.release.delete(name)
    run.standing.delete(name)
    trace.add(`${run.owner} ends its global process ${name}`)
    release()
  } else {
    for (const name of names) stand(run, name)
  }
}

function applyFault(world: ClusterWorld, f: ClusterFault, relaunch: (index: number, ms: number) => void): void {
  const { ensemble, scheduler, trace } = world
  trace.add(`fault: ${describeClusterFault(f)}`)
  const run = world.current[f.target]
  const conn = (): ReturnType<typeof ensemble.connOf> => (run === undefined ? undefined : ensemble.connOf(run.owner))
  switch (f.kind) {
    case 'cut':
      return conn()?.link.cut()
    case 'stall': {
      const l = conn()?.link
      l?.stall()
      scheduler.at(f.ms!, () => l?.resume())
      return
    }
    case 'loseReply': {
      const c = conn()
      if (c) c.loseNextReply = true
      return
    }
    case 'expire': {
      // ZooKeeper expires a session only after its timeout without a word from it (a forced expiry
      // would break the lease's premise): the node is cut off from every server until that happens.
      if (run?.state !== 'up') return
      const ms = world.sessionTimeout + 3 * world.config.tickTime
      run.isolatedUntil = scheduler.now + ms
      const l = conn()?.link
      if (l !== undefined) {
        l.stall()
        run.held.push(l)
      }
      scheduler.at(ms, () => {
        for (const held of run.held.splice(0)) held.resume()
      })
      return
    }
    case 'pause': {
      if (run?.state !== 'up') return
      run.gate.freeze()
      scheduler.at(f.ms!, () => run.gate.thaw())
      return
    }
    case 'restart': {
      if (run?.state !== 'up' || run.gate.holding) return
      world.stats.restarts++
      void stopRun(world, run).then(() => {
        if (run.leftovers !== undefined) world.violations.add(`${run.owner}: after stop() ${run.leftovers} were left`)
        relaunch(f.target, f.ms!)
      })
      return
    }
    case 'partition':
    case 'crash':
    case 'slow':
      return ensemble.serverFault(f.kind, f.target, f.ms!)
  }
}
