/**
 * Leader handover: how long from the holder of a global name going away until
 * the next candidate's function starts, with 3 candidates on a 3-server
 * ensemble. Three forms:
 *
 * - the global process exits (the candidate znode is deleted);
 * - the leader's node stops (its session is closed);
 * - the leader's OS process is killed with SIGKILL (ZooKeeper must expire the session).
 *
 * The floors, measured in the same run on the same servers (one plain client
 * on the holder's server, one on the successor's):
 * - for a stop, a session close reaching a watcher as NodeDeleted (one client
 *   closes its session holding an ephemeral znode, the other's watch fires);
 * - for an exit, a delete reaching a watcher as NodeDeleted.
 * Each round is traced on both sides (stop called, closeSession sent, its
 * reply; NodeDeleted heard by the successor, leadership taken, function
 * started), so the table says where the time beyond the floor goes.
 *
 * The peer, measured in the same run: kazoo's Election recipe (3 contenders,
 * the holder's client stops), by bench/kazoo_election.py with /usr/bin/python3,
 * with kazoo's own close floor.
 *
 * ZooKeeper expires sessions once per tick, so a crash is noticed between the
 * session timeout and one tick after it: TICK_MS sets the ensemble's tickTime.
 *
 *   npm run build && node dist/bench/election.js      (ROUNDS=50 CRASHES=10 SESSION_MS=2000 TICK_MS=500 KAZOO=1)
 */
import { execFile, fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Cluster, type ClusterOptions } from '../lib/cluster/index.js'
import { ZooKeeper } from '../lib/zk-wire/index.js'
import { benchServers, envInt, fmt, percentile, table } from './support.js'

const ROUNDS = envInt('ROUNDS', 50)
const CRASHES = envInt('CRASHES', 10)
const SESSION_MS = envInt('SESSION_MS', 2000)
const TICK_MS = envInt('TICK_MS', 500)
const KAZOO = process.env.KAZOO !== '0'
const PYTHON = '/usr/bin/python3'
const NAME = 'bench'
const CANDIDATE = fileURLToPath(new URL('../test/cluster/fixtures/candidate.js', import.meta.url))
const KAZOO_SCRIPT = fileURLToPath(new URL('../../bench/kazoo_election.py', import.meta.url))

/** One trace point of a round: when (performance.now()) and what. */
type Mark = 'stop' | 'closeSent' | 'closeDone' | 'heard' | 'leads' | 'runs'

interface Candidate {
  readonly cluster: Cluster
  /** performance.now() of this node's trace lines that matter for a handover. */
  readonly marks: Partial<Record<'heard' | 'leads', number>>
}

/** Candidates in this process; the start of each global function is announced to `nextStart`. */
class Candidates {
  readonly live: Candidate[] = []
  #waiting: { after: number; resolve: (value: { at: number; by: Candidate }) => void } | null = null

  constructor(private readonly options: ClusterOptions) {}

  async join(): Promise<Candidate> {
    const marks: Candidate['marks'] = {}
    const cluster = await Cluster.start({
      ...this.options,
      logTrace: line => {
        if (line.includes(': heard NodeDeleted on ')) marks.heard = performance.now()
        else if (line.includes(' leads (token ')) marks.leads = performance.now()
      },
    })
    const candidate: Candidate = { cluster, marks }
    await this.stand(candidate)
    this.live.push(candidate)
    return candidate
  }

  async stand(candidate: Candidate): Promise<void> {
    await candidate.cluster.registerCandidate(NAME, async (self, leadership) => {
      const at = performance.now()
      const waiting = this.#waiting
      if (waiting !== null && Number(leadership.token) > waiting.after) {
        this.#waiting = null
        waiting.resolve({ at, by: candidate })
      }
      await self.receive()
    })
  }

  leader(): Candidate | undefined {
    return this.live.find(c => c.cluster.leadership(NAME) !== null)
  }

  /** Resolves with when (performance.now()) the function of the next leader after `previousToken` started, and on which candidate. */
  nextStart(previousToken: number): Promise<{ at: number; by: Candidate }> {
    return new Promise(resolve => (this.#waiting = { after: previousToken, resolve }))
  }
}

/** Plain clients on each server, to measure the floors on the same servers as a handover. */
class Floor {
  readonly close: number[] = []
  readonly delete: number[] = []
  private constructor(
    private readonly watchers: Map<string, ZooKeeper>,
    private readonly path: string,
  ) {}

  static async start(servers: string[], path: string): Promise<Floor> {
    const watchers = new Map<string, ZooKeeper>()
    for (const server of servers) watchers.set(server, await ZooKeeper.connect(server))
    return new Floor(watchers, path)
  }

  /** One client on `from` closes its session holding an ephemeral; the watch of the one on `to` hears NodeDeleted. */
  async closeSample(from: string, to: string): Promise<number> {
    const owner = await ZooKeeper.connect(from, { sessionTimeout: SESSION_MS })
    await owner.create(this.path, 'x', { mode: 'ephemeral' })
    const { heard } = await this.#watch(to)
    const start = performance.now()
    void owner.close()
    return (await heard) - start
  }

  /** One client on `from` deletes a znode; the watch of the one on `to` hears NodeDeleted. */
  async deleteSample(from: string, to: string): Promise<number> {
    const writer = this.watchers.get(from)!
    await writer.create(this.path, 'x', { mode: 'ephemeral' })
    const { heard } = await this.#watch(to)
    const start = performance.now()
    void writer.delete(this.path)
    return (await heard) - start
  }

  /** Sets a watch on the path from the client on `to`; resolves, once set, to when it fires. */
  async #watch(to: string): Promise<{ heard: Promise<number> }> {
    const watcher = this.watchers.get(to)!
    let fired!: (at: number) => void
    const heard = new Promise<number>(resolve => (fired = resolve))
    await watcher.exists(this.path, { watch: () => fired(performance.now()) })
    return { heard }
  }

  async stop(): Promise<void> {
    for (const zk of this.watchers.values()) await zk.close()
  }
}

/** The time marks of one traced handover (performance.now()). */
type Trace = Partial<Record<Mark, number>>

/** Handover after the leader's global process exits, or its node stops; each round traced, each followed by a floor sample on the same servers. */
async function graceful(candidates: Candidates, form: 'exit' | 'stop', floor: Floor): Promise<{ samples: number[]; traces: Trace[] }> {
  const samples: number[] = []
  const traces: Trace[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const leader = candidates.leader()!
    const leadership = leader.cluster.leadership(NAME)!
    const from = leader.cluster.zk.currentServer!
    for (const c of candidates.live) {
      delete c.marks.heard
      delete c.marks.leads
    }
    const trace: Trace = {}
    const zk = leader.cluster.zk
    const close = zk.close.bind(zk)
    zk.close = () => {
      // The first call writes closeSession; later ones (the session's own) wait for the same end.
      trace.closeSent ??= performance.now()
      return close().finally(() => (trace.closeDone ??= performance.now()))
    }
    const next = candidates.nextStart(Number(leadership.token))
    const t0 = performance.now()
    trace.stop = t0
    if (form === 'exit') leader.cluster.node.send(leadership.pid, 'exit')
    else void leader.cluster.stop()
    const { at, by } = await next
    trace.runs = at
    trace.heard = by.marks.heard
    trace.leads = by.marks.leads
    samples.push(at - t0)
    traces.push(trace)
    const to = by.cluster.zk.currentServer!
    if (form === 'exit') {
      await leader.cluster.node.exited(leadership.pid)
      await candidates.stand(leader)
      floor.delete.push(await floor.deleteSample(from, to))
    } else {
      await leader.cluster.stop()
      candidates.live.splice(candidates.live.indexOf(leader), 1)
      await candidates.join()
      floor.close.push(await floor.closeSample(from, to))
    }
  }
  return { samples, traces }
}

interface Child {
  readonly process: ChildProcess
  readonly elected: Array<{ token: number; at: number }>
}

function spawnCandidate(options: ClusterOptions): Promise<Child> {
  const child = fork(CANDIDATE, [JSON.stringify({ options, name: NAME })], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const record: Child = { process: child, elected: [] }
  return new Promise((resolve, reject) => {
    child.on('message', (message: { type: string; token?: number | string; at?: number }) => {
      if (message.type === 'elected') record.elected.push({ token: Number(message.token!), at: message.at! })
      if (message.type === 'ready') resolve(record)
    })
    child.once('exit', code => reject(new Error(`candidate exited with ${code}`)))
  })
}

/** Failover after kill -9 of the leader's process: until the next candidate's function starts. */
async function crashes(options: ClusterOptions): Promise<{ samples: number[]; negotiated: number }> {
  const children: Child[] = []
  const samples: number[] = []
  try {
    for (let i = 0; i < 3; i++) children.push(await spawnCandidate(options))
    const probe = await ZooKeeper.connect(options.zookeeper, { sessionTimeout: SESSION_MS })
    const negotiated = probe.negotiatedTimeout
    await probe.close()
    for (let round = 0; round < CRASHES; round++) {
      const latest = (): { child: Child; token: number; at: number } | undefined => {
        let best: { child: Child; token: number; at: number } | undefined
        for (const child of children) for (const e of child.elected) if (best === undefined || e.token > best.token) best = { child, ...e }
        return best
      }
      while (latest() === undefined) await new Promise(resolve => setTimeout(resolve, 5))
      const leader = latest()!
      // Let a ping or two go by, so the kill falls at a random point of the session's life.
      await new Promise(resolve => setTimeout(resolve, 200 + Math.random() * negotiated / 3))
      const killedAt = Date.now()
      leader.child.process.kill('SIGKILL')
      await once(leader.child.process, 'exit')
      children.splice(children.indexOf(leader.child), 1)
      while (latest() === undefined || latest()!.token === leader.token) await new Promise(resolve => setTimeout(resolve, 5))
      samples.push(latest()!.at - killedAt)
      children.push(await spawnCandidate(options))
    }
    return { samples, negotiated }
  } finally {
    for (const child of children) child.process.kill('SIGKILL')
  }
}

/** kazoo's Election, 3 contenders, `rounds` graceful handovers; null when kazoo is not installed. */
async function kazoo(connectString: string, rounds: number): Promise<{ handover: number[]; floor: number[] } | null> {
  if (!KAZOO || !existsSync(PYTHON)) return null
  try {
    const { stdout } = await promisify(execFile)(PYTHON, [KAZOO_SCRIPT, connectString, String(rounds)], { timeout: 300_000 })
    return JSON.parse(stdout.trim().split('\n').pop()!) as { handover: number[]; floor: number[] }
  } catch (error) {
    console.error(`kazoo peer skipped: ${(error as Error).message.split('\n')[0]}`)
    return null
  }
}

function summary(samples: number[]): { p50: number; p90: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b)
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1]! }
}

/** Median of each step of the traced rounds: where the time went. */
function breakdown(traces: Trace[], form: 'exit' | 'stop'): Array<Array<string | number>> {
  const steps: Array<[string, Mark, Mark]> =
    form === 'stop'
      ? [
          ['holder: stop() until closeSession is sent', 'stop', 'closeSent'],
          ['closeSession sent until the successor hears NodeDeleted', 'closeSent', 'heard'],
          ['  (closeSession sent until its reply reaches the holder)', 'closeSent', 'closeDone'],
          ['successor: NodeDeleted heard until it takes the lead', 'heard', 'leads'],
          ['successor: lead taken until its function runs', 'leads', 'runs'],
          ['total: stop() until the function runs', 'stop', 'runs'],
        ]
      : [
          ['exit sent until the successor hears NodeDeleted', 'stop', 'heard'],
          ['successor: NodeDeleted heard until it takes the lead', 'heard', 'leads'],
          ['successor: lead taken until its function runs', 'leads', 'runs'],
          ['total: exit until the function runs', 'stop', 'runs'],
        ]
  return steps.map(([label, from, to]) => {
    const values = traces.filter(t => t[from] !== undefined && t[to] !== undefined).map(t => t[to]! - t[from]!)
    const s = summary(values)
    return [label, fmt(s.p50), fmt(s.p90), fmt(s.max), `${values.length}/${traces.length}`]
  })
}

async function main(): Promise<void> {
  const servers = await benchServers(3, { tickTime: TICK_MS })
  const prefix = `/bench-election-${process.pid}`
  const options: ClusterOptions = { zookeeper: servers.connectString, prefix, sessionTimeout: SESSION_MS, tickTime: TICK_MS, logError: () => undefined }
  const candidates = new Candidates(options)
  const floor = await Floor.start(servers.connectString.split(','), `${prefix}-floor`)
  try {
    for (let i = 0; i < 3; i++) await candidates.join()
    for (let i = 0; i < 10; i++) await floor.closeSample(servers.connectString.split(',')[0]!, servers.connectString.split(',')[1]!)
    floor.close.length = 0
    const exits = await graceful(candidates, 'exit', floor)
    const stops = await graceful(candidates, 'stop', floor)
    for (const c of candidates.live.splice(0)) await c.cluster.stop()
    const peer = await kazoo(servers.connectString, ROUNDS)
    const crash = await crashes(options)

    const fc = summary(floor.close)
    const fd = summary(floor.delete)
    const ratio = (value: number, of: number): string => `${(value / of).toFixed(2)}x`
    console.log(`\nGraceful handover, ${ROUNDS} rounds each, 3 candidates in one process, 3-server ensemble (ms). Floors on the same two servers as each round: a session close (or a delete) reaching a watcher as NodeDeleted, plain client, ${floor.close.length} + ${floor.delete.length} samples\n`)
    const rows: Array<Array<string | number>> = []
    const s = summary(stops.samples)
    const e = summary(exits.samples)
    rows.push(['leader node stops (session closed)', fmt(s.p50), fmt(s.p90), fmt(s.p99), ratio(s.p50, fc.p50), ratio(s.p99, fc.p50)])
    rows.push(['floor: session close → NodeDeleted at a watcher', fmt(fc.p50), fmt(fc.p90), fmt(fc.p99), '1.00x', ratio(fc.p99, fc.p50)])
    if (peer !== null) {
      const k = summary(peer.handover)
      const kf = summary(peer.floor)
      rows.push(["peer: kazoo's Election, holder's client stops", fmt(k.p50), fmt(k.p90), fmt(k.p99), ratio(k.p50, fc.p50), ratio(k.p99, fc.p50)])
      rows.push(["  kazoo's own floor (session close → NodeDeleted)", fmt(kf.p50), fmt(kf.p90), fmt(kf.p99), ratio(kf.p50, fc.p50), ratio(kf.p99, fc.p50)])
    }
    rows.push(['global process exits (znode deleted)', fmt(e.p50), fmt(e.p90), fmt(e.p99), ratio(e.p50, fd.p50), ratio(e.p99, fd.p50)])
    rows.push(['floor: delete → NodeDeleted at a watcher', fmt(fd.p50), fmt(fd.p90), fmt(fd.p99), '1.00x', ratio(fd.p99, fd.p50)])
    table(['handover', 'p50', 'p90', 'p99', 'p50 / its floor p50', 'p99 / its floor p50'], rows)
    if (peer !== null) console.log(`\nzkcloud p50 / kazoo p50 (node stops): ${ratio(s.p50, summary(peer.handover).p50)}`)
    console.log('\nWhere the time goes, node stops (ms, over the traced rounds)\n')
    table(['step', 'p50', 'p90', 'max', 'rounds'], breakdown(stops.traces, 'stop'))
    console.log('\nWhere the time goes, global process exits (ms)\n')
    table(['step', 'p50', 'p90', 'max', 'rounds'], breakdown(exits.traces, 'exit'))
    const c = summary(crash.samples)
    console.log(`\nCrash failover (kill -9 of the leader's process until the successor's function starts), ${CRASHES} kills, negotiated session timeout ${crash.negotiated} ms, tickTime ${TICK_MS} ms\n`)
    const within = crash.samples.filter(ms => ms <= crash.negotiated + 100).length
    table(['failover', 'p50', 'p90', 'max', 'target: timeout + 100 ms', 'kills within target'], [['kill -9', fmt(c.p50), fmt(c.p90), fmt(c.max), `${crash.negotiated + 100}`, `${within} / ${crash.samples.length}`]])
  } finally {
    for (const c of candidates.live) await c.cluster.stop()
    await floor.stop()
    await servers.stop()
  }
}

await main()
