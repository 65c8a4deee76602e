/**
 * Leader handover: how long from the holder of a global name going away until
 * the next candidate's function starts, with 3 candidates on a 3-server
 * ensemble. Three forms:
 *
 * - the global process exits (the candidate znode is deleted);
 * - the leader's node stops (its session is closed);
 * - the leader's OS process is killed with SIGKILL (ZooKeeper must expire the session).
 *
 * The floor, measured in the same run on the same ensemble, is one quorum
 * write plus one read with the same client (setData then getData): the least
 * a handover costs is the leader's delete and the successor's read of the
 * candidates.
 *
 * ZooKeeper expires sessions once per tick, so a crash is noticed between the
 * session timeout and one tick after it: TICK_MS sets the ensemble's tickTime.
 *
 *   npm run build && node dist/bench/election.js      (ROUNDS=50 CRASHES=10 SESSION_MS=2000 TICK_MS=500)
 */
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { Cluster, type ClusterOptions } from '../lib/cluster/index.js'
import { ZooKeeper } from '../lib/zk-wire/index.js'
import { benchServers, envInt, fmt, percentile, table } from './support.js'

const ROUNDS = envInt('ROUNDS', 50)
const CRASHES = envInt('CRASHES', 10)
const SESSION_MS = envInt('SESSION_MS', 2000)
const TICK_MS = envInt('TICK_MS', 500)
const FLOOR_SAMPLES_PER_ROUND = 4
const NAME = 'bench'
const CANDIDATE = fileURLToPath(new URL('../test/cluster/fixtures/candidate.js', import.meta.url))

interface Candidate {
  readonly cluster: Cluster
}

/** Candidates in this process; the start of each global function is announced to `nextStart`. */
class Candidates {
  readonly live: Candidate[] = []
  #waiting: { after: number; resolve: (at: number) => void } | null = null

  constructor(private readonly options: ClusterOptions) {}

  async join(): Promise<Candidate> {
    const cluster = await Cluster.start(this.options)
    const candidate: Candidate = { cluster }
    await this.stand(candidate)
    this.live.push(candidate)
    return candidate
  }

  async stand(candidate: Candidate): Promise<void> {
    await candidate.cluster.registerCandidate(NAME, async (self, leadership) => {
      const at = performance.now()
      const waiting = this.#waiting
      if (waiting !== null && leadership.token > waiting.after) {
        this.#waiting = null
        waiting.resolve(at)
      }
      await self.receive()
    })
  }

  leader(): Candidate | undefined {
    return this.live.find(c => c.cluster.leadership(NAME) !== null)
  }

  /** Resolves with when (performance.now()) the function of the next leader after `previousToken` started. */
  nextStart(previousToken: number): Promise<number> {
    return new Promise(resolve => (this.#waiting = { after: previousToken, resolve }))
  }
}

async function floorSample(zk: ZooKeeper, path: string): Promise<number> {
  const t0 = performance.now()
  await zk.setData(path, 'x')
  await zk.getData(path)
  return performance.now() - t0
}

/** Handover after the leader's global process exits, or its node stops. */
async function graceful(candidates: Candidates, form: 'exit' | 'stop', floorZk: ZooKeeper, floorPath: string, floor: number[]): Promise<number[]> {
  const samples: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const leader = candidates.leader()!
    const leadership = leader.cluster.leadership(NAME)!
    const next = candidates.nextStart(leadership.token)
    const t0 = performance.now()
    if (form === 'exit') leader.cluster.node.send(leadership.pid, 'exit')
    else void leader.cluster.stop()
    samples.push((await next) - t0)
    if (form === 'exit') {
      await leader.cluster.node.exited(leadership.pid)
      await candidates.stand(leader)
    } else {
      await leader.cluster.stop()
      candidates.live.splice(candidates.live.indexOf(leader), 1)
      await candidates.join()
    }
    for (let i = 0; i < FLOOR_SAMPLES_PER_ROUND; i++) floor.push(await floorSample(floorZk, floorPath))
  }
  return samples
}

interface Child {
  readonly process: ChildProcess
  readonly elected: Array<{ token: number; at: number }>
}

function spawnCandidate(options: ClusterOptions): Promise<Child> {
  const child = fork(CANDIDATE, [JSON.stringify({ options, name: NAME })], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const record: Child = { process: child, elected: [] }
  return new Promise((resolve, reject) => {
    child.on('message', (message: { type: string; token?: number; at?: number }) => {
      if (message.type === 'elected') record.elected.push({ token: message.token!, at: message.at! })
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

function summary(samples: number[]): { p50: number; p90: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b)
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1]! }
}

async function main(): Promise<void> {
  const servers = await benchServers(3, { tickTime: TICK_MS })
  const prefix = `/bench-election-${process.pid}`
  const options: ClusterOptions = { zookeeper: servers.connectString, prefix, sessionTimeout: SESSION_MS, logError: () => undefined }
  const candidates = new Candidates(options)
  const floorZk = await ZooKeeper.connect(servers.connectString)
  try {
    const floorPath = `${prefix}-floor`
    await floorZk.create(floorPath, 'x')
    for (let i = 0; i < 3; i++) await candidates.join()
    for (let i = 0; i < 20; i++) await floorSample(floorZk, floorPath)
    const floor: number[] = []
    const exits = await graceful(candidates, 'exit', floorZk, floorPath, floor)
    const stops = await graceful(candidates, 'stop', floorZk, floorPath, floor)
    for (const c of candidates.live.splice(0)) await c.cluster.stop()
    const crash = await crashes(options)

    const f = summary(floor)
    const ratio = (value: number, of: number): string => `${(value / of).toFixed(2)}x`
    console.log(`\nGraceful handover, ${ROUNDS} rounds each, 3 candidates, 3-server ensemble (ms; floor = setData + getData with one client, ${floor.length} samples)\n`)
    const rows: Array<Array<string | number>> = []
    for (const [form, samples] of [['global process exits', exits], ['leader node stops (session closed)', stops]] as const) {
      const s = summary(samples)
      rows.push([form, fmt(s.p50), fmt(s.p90), fmt(s.p99), ratio(s.p50, f.p50), ratio(s.p99, f.p50), ratio(s.p99, f.p99)])
    }
    rows.push(['floor: one quorum write + one read', fmt(f.p50), fmt(f.p90), fmt(f.p99), '1.00x', ratio(f.p99, f.p50), '1.00x'])
    table(['handover', 'p50', 'p90', 'p99', 'p50 / floor p50', 'p99 / floor p50', 'p99 / floor p99'], rows)
    const c = summary(crash.samples)
    console.log(`\nCrash failover (kill -9 of the leader's process until the successor's function starts), ${CRASHES} kills, negotiated session timeout ${crash.negotiated} ms, tickTime ${TICK_MS} ms\n`)
    const within = crash.samples.filter(ms => ms <= crash.negotiated + 100).length
    table(['failover', 'p50', 'p90', 'max', 'target: timeout + 100 ms', 'kills within target'], [['kill -9', fmt(c.p50), fmt(c.p90), fmt(c.max), `${crash.negotiated + 100}`, `${within} / ${crash.samples.length}`]])
  } finally {
    for (const c of candidates.live) await c.cluster.stop()
    await floorZk.close()
    await servers.stop()
  }
}

await main()
