/**
 * The cluster at scale: 10, 100 and 1,000 real `Cluster` nodes (each with its
 * own ZooKeeper session and listening port) spread over WORKERS OS processes,
 * on a 3-server ensemble on loopback. For each size:
 *
 * - start: the nodes join (memory per idle node, from each process's heap and RSS after GC);
 * - registrations: every node holds `getCapable` for 10 services, then every
 *   node registers one process under each (10 N registrations); time until
 *   every node sees every member. Two readers: nodes that ask again as soon as
 *   a watch tells them their list changed (`eager`), and nodes that ask only
 *   once the registrations are done (`lazy`). Requests are counted per node;
 * - fan-out: every node holds `getCapable('fan')`; CHANGES times one node
 *   registers a new member; time until each cache has dropped the stale list;
 *   then every other node asks again: requests per change (expect one read per
 *   node that asks, none for the others);
 * - handover herd: every node stands for one global name; the holder is
 *   killed (kill -9 of a one-node process, KILLS times) or stops (HANDOVERS
 *   times); requests and watch events each handover causes across the fleet;
 * - the server's own cost (`mntr`: watches, outstanding requests, latency; RSS).
 *
 * The tables are printed as Markdown; an SVG chart of the figures against the
 * number of nodes is written to SCALE_SVG (default docs/scale.svg), the raw
 * figures to SCALE_OUT (JSON). With SCALE_BEFORE (a JSON of an earlier run),
 * the chart also draws that run, dashed.
 *
 *   npm run build && flock /work/locks/bench.lock node dist/bench/scale.js
 *   env: SIZES=10,100,1000 WORKERS=4 CHANGES=20 HANDOVERS=10 KILLS=5 SESSION_MS=10000 TICK_MS=2000 GIVE_UP_S=120
 */
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { ClusterOptions } from '../lib/cluster/index.js'
import { startEnsemble, type Ensemble } from '../test/support/ensemble.js'
import { fourLetterWord } from '../test/support/four-letter.js'
import { chart, type Panel } from './chart.js'
import { rearm, type RearmResult } from './rearm.js'
import type { Command, WorkerConfig } from './scale-worker.js'
import { envInt, fmt, percentile, table } from './support.js'

const SIZES = (process.env.SIZES ?? '10,100,1000').split(',').map(Number)
const WORKERS = envInt('WORKERS', 4)
const SERVICES = 10
const CHANGES = envInt('CHANGES', 20)
const HANDOVERS = envInt('HANDOVERS', 10)
const KILLS = envInt('KILLS', 5)
const SESSION_MS = envInt('SESSION_MS', 10_000)
const GIVE_UP_MS = envInt('GIVE_UP_S', 120) * 1000
/** ZooKeeper's default tickTime, as a production ensemble runs (the test kit's 500 ms is for fast tests). */
const TICK_MS = envInt('TICK_MS', 2000)
const IDLE_MS = 5000
/** Which parts to run (all by default): lazy, fanout, handover, eager, rearm (the client at scale, bench/rearm.ts). */
const PHASES = new Set((process.env.PHASES ?? 'lazy,fanout,handover,eager,rearm').split(','))
const WORKER = fileURLToPath(new URL('./scale-worker.js', import.meta.url))
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const now = (): number => performance.timeOrigin + performance.now()
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/**
 * How the servers are set up, as an operator would for a fleet this size:
 * ZooKeeper's default tickTime of 2 s (sessions of 4–40 s; the kit's 500 ms
 * is for fast tests), a 1 GiB heap (the kit's 256 MiB is for tests), C2 compilation back on, no
 * cap on connections per address (all clients come from 127.0.0.1), and a
 * global outstanding-request limit of 10,000 (default 1,000: with 1,000
 * sessions each allowed a few requests in flight, throttling would kick in
 * on ordinary bursts).
 */
const SERVER = {
  jvmFlags: ['-Xms1g', '-Xmx1g', '-XX:TieredStopAtLevel=4'],
  extraConfig: { globalOutstandingLimit: '10000', maxClientCnxns: '0' },
}

/** One worker process and its pending commands. */
class Worker {
  #next = 0
  readonly #pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>()

  private constructor(readonly process: ChildProcess) {
    process.on('message', (message: { id?: number; result?: unknown; error?: string }) => {
      if (message.id === undefined) return
      const pending = this.#pending.get(message.id)
      this.#pending.delete(message.id)
      if (message.error !== undefined) pending?.reject(new Error(message.error))
      else pending?.resolve(message.result)
    })
    process.once('exit', (code, signal) => {
      for (const p of this.#pending.values()) p.reject(new Error(`worker ${process.pid} exited (${signal ?? code})`))
      this.#pending.clear()
    })
  }

  static async start(config: WorkerConfig): Promise<Worker> {
    const child = fork(WORKER, [JSON.stringify(config)], { execArgv: ['--expose-gc', '--max-old-space-size=4096', ...(process.env.WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean)], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    await once(child, 'message')
    const worker = new Worker(child)
    started.add(worker)
    return worker
  }

  send<T = any>(command: Command): Promise<T> {
    const id = this.#next++
    if (!this.process.connected) return Promise.reject(new Error(`worker ${this.process.pid} is gone (${command.op})`))
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.process.send({ id, command })
    })
  }

  /** Lets the worker exit by itself (it stops its nodes), killing it after 10 s. */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return
    const exited = once(this.process, 'exit')
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 10_000)
    if (this.process.connected) this.process.disconnect()
    else this.process.kill('SIGKILL')
    await exited
    clearTimeout(timer)
  }

  async kill(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return
    const exited = once(this.process, 'exit')
    this.process.kill('SIGKILL')
    await exited
  }
}

type Counts = {
  requests: number
  events: number
  byMethod: Record<string, number>
  election: { requests: number; events: number }
  disconnects: number
  renewals: number
  maxLagMs: number
  cpuS: number
}
const sumCounts = (all: Counts[]): Counts => {
  const byMethod: Record<string, number> = {}
  for (const c of all) for (const [k, v] of Object.entries(c.byMethod)) byMethod[k] = (byMethod[k] ?? 0) + v
  const sum = (f: (c: Counts) => number): number => all.reduce((s, c) => s + f(c), 0)
  return {
    requests: sum(c => c.requests),
    events: sum(c => c.events),
    byMethod,
    election: { requests: sum(c => c.election.requests), events: sum(c => c.election.events) },
    disconnects: sum(c => c.disconnects),
    renewals: sum(c => c.renewals),
    maxLagMs: Math.max(...all.map(c => c.maxLagMs)),
    cpuS: sum(c => c.cpuS),
  }
}

/** `mntr` of every server, sampled while a size runs: the peaks and the last values. */
class ServerWatch {
  readonly peak = { outstanding: 0, watches: 0, maxLatency: 0, connections: 0 }
  #timer: NodeJS.Timeout | null = null

  constructor(private readonly ensemble: Ensemble) {}

  async sample(): Promise<{ watches: number; connections: number; outstanding: number; znodes: number; rssMb: number; avgLatency: number }> {
    const all = await Promise.all(this.ensemble.servers.map(async s => parseMntr(await fourLetterWord(s.host, s.clientPort, 'mntr', 5000).catch(() => ''))))
    const sum = (key: string): number => all.reduce((total, m) => total + (m.get(key) ?? 0), 0)
    const watches = sum('zk_watch_count')
    const connections = sum('zk_num_alive_connections')
    const outstanding = Math.max(...all.map(m => m.get('zk_outstanding_requests') ?? 0))
    this.peak.watches = Math.max(this.peak.watches, watches)
    this.peak.connections = Math.max(this.peak.connections, connections)
    this.peak.outstanding = Math.max(this.peak.outstanding, outstanding)
    this.peak.maxLatency = Math.max(this.peak.maxLatency, ...all.map(m => m.get('zk_max_latency') ?? 0))
    const rssMb = this.ensemble.servers.reduce((total, s) => total + rssOf(s.pid), 0) / 1024
    return { watches, connections, outstanding, znodes: Math.max(...all.map(m => m.get('zk_znode_count') ?? 0)), rssMb, avgLatency: Math.max(...all.map(m => m.get('zk_avg_latency') ?? 0)) }
  }

  start(): void {
    const tick = (): void => {
      this.#timer = setTimeout(() => void this.sample().finally(tick), 250)
    }
    tick()
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  async resetLatency(): Promise<void> {
    await Promise.all(this.ensemble.servers.map(s => fourLetterWord(s.host, s.clientPort, 'srst', 5000).catch(() => '')))
    this.peak.maxLatency = 0
    this.peak.outstanding = 0
  }
}

function parseMntr(text: string): Map<string, number> {
  const map = new Map<string, number>()
  for (const line of text.split('\n')) {
    const [key, value] = line.split('\t')
    if (key && value !== undefined && Number.isFinite(Number(value))) map.set(key, Number(value))
  }
  return map
}

/** CPU seconds (user + system) the servers of `ensemble` have used so far. */
function cpuSeconds(ensemble: Ensemble): number {
  let ticks = 0
  for (const s of ensemble.servers) {
    try {
      const fields = readFileSync(`/proc/${s.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // not running
    }
  }
  return ticks / 100
}

/** Resident memory of a process in KiB, 0 if unknown. */
function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
  } catch {
    return 0
  }
}

/** The figures of one registration storm. */
interface Storm {
  visibleS: number
  registerS: number
  requestsPerNode: number
  readsPerNode: number
  eventsPerNode: number
  byMethod: Record<string, number>
  /** Lookups that failed (a timeout while the machine was saturated) and were asked again. */
  failedLookups: number
  /** (node, service) pairs that still saw fewer than N members when the benchmark gave up (GIVE_UP_S). */
  shortLookups: number
  /** Connections lost and sessions expired (and renewed) during the storm, and the worst event-loop delay of a fleet process (ms). */
  disconnects: number
  renewals: number
  maxLagMs: number
  /** CPU seconds used by the fleet's processes and by the 3 servers during the storm. */
  fleetCpuS: number
  serverCpuS: number
}

/** Handovers of one kind: time, and per handover the election's requests and watch events across the fleet (plus every other event). */
interface Handover {
  p50: number
  max: number
  requests: number
  events: number
  maxRequests: number
  maxEvents: number
  otherEvents: number
}

/** The figures of one fleet size. */
interface SizeResult {
  nodes: number
  startS: number
  primeMs: number
  idleNodeKb: number
  idleNodeHeapKb: number
  cachedServiceKb: number
  eager: Storm | null
  lazy: Storm | null
  fanout: null | { rawLastP50: number; rawLastP99: number; rawAllP50: number; rawAllP99: number; lastP50: number; lastP99: number; lastMax: number; allP50: number; allP99: number; requestsPerChange: number; askersPerChange: number; eventsPerChange: number; missed: number }
  handover: null | {
    graceful: Handover
    kill: Handover
    /** Requests per second the whole fleet sends while it stands for one name and nothing happens. */
    standingRequestsPerS: number
    standingByMethod: Record<string, number>
  }
  server: { watchesIdle: number; watchesCached: number; peakOutstanding: number; peakMaxLatency: number; rssMb: number; znodes: number }
}

async function measureSize(ensemble: Ensemble, n: number): Promise<SizeResult> {
  const prefix = `/scale-${n}-${process.pid}`
  // Calls wait for ZooKeeper rather than fail after requestTimeout: on a saturated machine a node is slow, not gone.
  const options: ClusterOptions = { zookeeper: ensemble.connectString, prefix, sessionTimeout: SESSION_MS, tickTime: TICK_MS, connectTimeout: 120_000, waitForZooKeeper: true }
  const config: WorkerConfig = { options, concurrency: 10 }
  const server = new ServerWatch(ensemble)
  const singles: Worker[] = []
  const workers: Worker[] = []
  /** The workers still running (kill -9 takes the one-node ones away). */
  const all = (): Worker[] => [...singles, ...workers].filter(w => w.process.connected)
  const everyone = <T>(command: Command, on: Worker[] = all()): Promise<T[]> => Promise.all(on.map(w => w.send<T>(command)))
  try {
    const kills = n >= 10 ? Math.min(KILLS, Math.floor(n / 2)) : 0
    for (let i = 0; i < kills; i++) singles.push(await Worker.start(config))
    for (let i = 0; i < WORKERS; i++) workers.push(await Worker.start(config))
    const before = await everyone<{ rss: number; heapUsed: number }>({ op: 'memory' }, workers)
    server.start()

    // Start: singles one node each, the rest spread evenly.
    const t0 = now()
    await everyone({ op: 'grow', count: 1 }, singles)
    const rest = n - kills
    await Promise.all(workers.map((w, i) => w.send({ op: 'grow', count: Math.floor(rest / WORKERS) + (i < rest % WORKERS ? 1 : 0) })))
    const startS = (now() - t0) / 1000
    const idle = await everyone<{ rss: number; heapUsed: number }>({ op: 'memory' }, workers)
    const fleetNodes = rest
    const idleNodeKb = idle.reduce((s, m, i) => s + m.rss - before[i]!.rss, 0) / fleetNodes / 1024
    const idleNodeHeapKb = idle.reduce((s, m, i) => s + m.heapUsed - before[i]!.heapUsed, 0) / fleetNodes / 1024
    const watchesIdle = (await server.sample()).watches
    console.error(`[scale] ${n} nodes started in ${startS.toFixed(1)} s`)

    // Registrations, lazy readers: every node holds the 10 lists, nobody asks again until the registrations are done.
    const lazyServices = Array.from({ length: SERVICES }, (_, i) => `lazy${i}`)
    const tp = now()
    await everyone({ op: 'lookup', services: lazyServices })
    const primeMs = now() - tp
    const heldEmpty = await everyone<{ heapUsed: number }>({ op: 'memory' }, workers)
    await everyone({ op: 'counters' })
    const lazy = PHASES.has('lazy') ? await registrations(everyone, lazyServices, false, ensemble) : null
    const cached = await everyone<{ heapUsed: number }>({ op: 'memory' }, workers)
    const cachedServiceKb = cached.reduce((s, m, i) => s + m.heapUsed - heldEmpty[i]!.heapUsed, 0) / (fleetNodes * SERVICES) / 1024
    const watchesCached = (await server.sample()).watches
    console.error(`[scale] ${n}: lazy registrations visible in ${lazy?.visibleS.toFixed(2)} s (${JSON.stringify(lazy)})`)

    const fanout = PHASES.has('fanout') ? await fanOut(all(), everyone, n, prefix) : null
    console.error(`[scale] ${n}: fan-out p99 ${fmt(fanout?.lastP99 ?? NaN)} ms`)
    await server.resetLatency()
    const handover = PHASES.has('handover') ? await handovers(singles, workers, everyone) : null

    // Registrations, eager readers: ask again on every watch event until all are seen. Last: it may overload the fleet.
    const eagerServices = Array.from({ length: SERVICES }, (_, i) => `eager${i}`)
    await everyone({ op: 'lookup', services: eagerServices })
    await everyone({ op: 'counters' })
    const eager = PHASES.has('eager') ? await registrations(everyone, eagerServices, true, ensemble) : null
    console.error(`[scale] ${n}: eager registrations visible in ${eager?.visibleS.toFixed(2)} s (${JSON.stringify(eager)})`)
    const last = await server.sample()
    return {
      nodes: n,
      startS,
      primeMs,
      idleNodeKb,
      idleNodeHeapKb,
      cachedServiceKb,
      eager,
      lazy,
      fanout,
      handover,
      server: { watchesIdle, watchesCached, peakOutstanding: server.peak.outstanding, peakMaxLatency: server.peak.maxLatency, rssMb: last.rssMb, znodes: last.znodes },
    }
  } catch (error) {
    console.error(`[scale] ${n} nodes failed:`, error)
    throw error
  } finally {
    server.stop()
    await Promise.allSettled(all().map(w => w.send({ op: 'shrink' })))
    await Promise.all([...singles, ...workers].map(w => w.stop()))
  }
}

type Everyone = <T>(command: Command, on?: Worker[]) => Promise<T[]>

async function registrations(everyone: Everyone, services: string[], eager: boolean, ensemble: Ensemble): Promise<Storm> {
  // Every node registers, so every node must end up seeing every node that is still up.
  const n = (await everyone<number>({ op: 'count' })).reduce((a, b) => a + b, 0)
  const serverCpu0 = cpuSeconds(ensemble)
  let visibleAt: Promise<Array<{ end: number }>> | null = null
  if (eager) {
    visibleAt = everyone<{ end: number }>({ op: 'visible', services, expect: n, giveUpMs: GIVE_UP_MS })
    visibleAt.catch(() => undefined)
  }
  const registered = await everyone<{ start: number; end: number }>({ op: 'register', services })
  if (!eager) visibleAt = everyone<{ end: number }>({ op: 'visible', services, expect: n, giveUpMs: GIVE_UP_MS })
  const seen = (await visibleAt!) as Array<{ end: number; failures: number; short: number }>
  const start = Math.min(...registered.map(r => r.start))
  const counts = sumCounts(await everyone<Counts>({ op: 'counters' }))
  const reads = (counts.byMethod.getChildren ?? 0) + (counts.byMethod.exists ?? 0) + (counts.byMethod.getData ?? 0)
  return {
    visibleS: (Math.max(...seen.map(s => s.end)) - start) / 1000,
    registerS: (Math.max(...registered.map(r => r.end)) - start) / 1000,
    requestsPerNode: counts.requests / n,
    readsPerNode: reads / n,
    eventsPerNode: counts.events / n,
    byMethod: counts.byMethod,
    failedLookups: seen.reduce((sum, s) => sum + s.failures, 0),
    shortLookups: seen.reduce((sum, s) => sum + s.short, 0),
    disconnects: counts.disconnects,
    renewals: counts.renewals,
    maxLagMs: counts.maxLagMs,
    fleetCpuS: counts.cpuS,
    serverCpuS: cpuSeconds(ensemble) - serverCpu0,
  }
}

async function fanOut(workers: Worker[], everyone: Everyone, n: number, prefix: string): Promise<SizeResult['fanout']> {
  const service = 'fan'
  const rawDir = `${prefix}-raw`
  await workers[0]!.send({ op: 'mkdir', path: rawDir })
  const rawLast: number[] = []
  const rawEach: number[] = []
  const last: number[] = []
  const each: number[] = []
  let requests = 0
  let askers = 0
  let events = 0
  let missed = 0
  for (let change = 0; change < CHANGES; change++) {
    await everyone({ op: 'arm', service })
    await everyone({ op: 'counters' })
    const writer = workers[change % workers.length]!
    const { start } = await writer.send<{ start: number }>({ op: 'registerOne', service })
    const answers = await everyone<{ times: number[]; missing: unknown[] }>({ op: 'evictions', service, expect: 0 })
    const lost = answers.flatMap(a => a.missing)
    if (lost.length > 0) {
      missed += lost.length
      console.error(`[scale] fan-out change ${change}: ${lost.length} of ${n} caches never dropped the stale list: ${JSON.stringify(lost)}`)
    }
    const latencies = answers.flatMap(a => a.times).map(e => e - start).sort((a, b) => a - b)
    each.push(...latencies)
    last.push(latencies[latencies.length - 1]!)
    // The peer, interleaved: the same sessions, a plain child watch each, one create.
    await everyone({ op: 'rawArm', dir: rawDir })
    const raw = await writer.send<{ start: number }>({ op: 'rawCreate', dir: rawDir })
    const fired = await everyone<{ times: number[]; missing: number }>({ op: 'rawFired' })
    const rawLatencies = fired.flatMap(f => f.times).map(t => t - raw.start).sort((a, b) => a - b)
    rawLast.push(rawLatencies[rawLatencies.length - 1]!)
    rawEach.push(...rawLatencies)
    // Every other node asks again; the others leave their entry empty.
    const asked = await everyone<{ askers: number }>({ op: 'reask', service, every: 2 })
    await sleep(50)
    const counts = sumCounts(await everyone<Counts>({ op: 'counters' }))
    askers += asked.reduce((s, a) => s + a.askers, 0)
    requests += counts.requests
    events += counts.events
  }
  last.sort((a, b) => a - b)
  each.sort((a, b) => a - b)
  rawLast.sort((a, b) => a - b)
  rawEach.sort((a, b) => a - b)
  return {
    rawLastP50: percentile(rawLast, 50),
    rawLastP99: percentile(rawLast, 99),
    rawAllP50: percentile(rawEach, 50),
    rawAllP99: percentile(rawEach, 99),
    lastP50: percentile(last, 50),
    lastP99: percentile(last, 99),
    lastMax: last[last.length - 1]!,
    allP50: percentile(each, 50),
    allP99: percentile(each, 99),
    requestsPerChange: requests / CHANGES,
    askersPerChange: askers / CHANGES,
    eventsPerChange: events / CHANGES,
    missed,
  }
}

async function handovers(singles: Worker[], workers: Worker[], everyone: Everyone): Promise<SizeResult['handover']> {
  const name = 'herd'
  // The one-node processes stand first, so they hold the name first and kill -9 takes one node.
  for (const w of singles) await w.send({ op: 'stand', name })
  for (const w of workers) await w.send({ op: 'stand', name })
  const fleet = [...singles, ...workers]
  const holderToken = async (): Promise<{ worker: Worker; token: number }> => {
    for (;;) {
      const holders = await everyone<{ token: number } | null>({ op: 'holder', name }, fleet)
      const i = holders.findIndex(h => h !== null)
      if (i >= 0) return { worker: fleet[i]!, token: holders[i]!.token }
      await sleep(20)
    }
  }
  const electedAfter = async (token: number): Promise<number> => {
    const deadline = now() + 60_000
    for (;;) {
      if (now() > deadline) throw new Error(`nobody was elected after token ${token} within 60 s`)
      const found = (await everyone<{ at: number } | null>({ op: 'elected', name, after: token }, fleet)).find(e => e !== null)
      if (found) return found.at
      await sleep(5)
    }
  }
  type Round = { ms: number; requests: number; events: number; otherEvents: number }
  // The fleet standing still: what N candidates cost ZooKeeper per second with nothing happening (pings are not counted).
  await everyone({ op: 'counters' }, fleet)
  const idleFrom = now()
  await sleep(IDLE_MS)
  const idle = sumCounts(await everyone<Counts>({ op: 'counters' }, fleet))
  const standingRequestsPerS = idle.requests / ((now() - idleFrom) / 1000)
  const kill: Round[] = []
  for (const [round, single] of singles.entries()) {
    const { worker, token } = await holderToken()
    if (worker !== single) {
      const who = singles.includes(worker) ? `one-node process ${singles.indexOf(worker)}` : `fleet process ${workers.indexOf(worker)}`
      const history = await Promise.all(singles.slice(round).map(w => w.send<unknown>({ op: 'history' })))
      throw new Error(`kill round ${round}: the one-node processes should hold the name first, but ${who} holds it (token ${token}); their elections and step-downs: ${JSON.stringify(history)}`)
    }
    await everyone({ op: 'counters' }, fleet)
    const start = now()
    await single.kill()
    fleet.splice(fleet.indexOf(single), 1)
    const at = await electedAfter(token)
    await sleep(300)
    const counts = sumCounts(await everyone<Counts>({ op: 'counters' }, fleet))
    kill.push({ ms: at - start, requests: counts.election.requests, events: counts.election.events, otherEvents: counts.events - counts.election.events })
  }
  const graceful: Round[] = []
  for (let round = 0; round < HANDOVERS; round++) {
    const { worker } = await holderToken()
    await everyone({ op: 'counters' }, fleet)
    const stopped = await worker.send<{ token: number; start: number }>({ op: 'stopHolder', name })
    const at = await electedAfter(stopped.token)
    await sleep(300)
    const counts = sumCounts(await everyone<Counts>({ op: 'counters' }, fleet))
    graceful.push({ ms: at - stopped.start, requests: counts.election.requests, events: counts.election.events, otherEvents: counts.events - counts.election.events })
    await worker.send({ op: 'rejoin', name })
  }
  const sum = (rows: Round[]): Handover => {
    const ms = rows.map(r => r.ms).sort((a, b) => a - b)
    return {
      p50: percentile(ms, 50),
      max: ms[ms.length - 1] ?? NaN,
      requests: rows.reduce((s, r) => s + r.requests, 0) / rows.length,
      events: rows.reduce((s, r) => s + r.events, 0) / rows.length,
      maxRequests: Math.max(...rows.map(r => r.requests)),
      maxEvents: Math.max(...rows.map(r => r.events)),
      otherEvents: rows.reduce((s, r) => s + r.otherEvents, 0) / rows.length,
    }
  }
  void workers
  return { graceful: sum(graceful), kill: sum(kill), standingRequestsPerS, standingByMethod: idle.byMethod }
}

function visible(storm: Storm): string {
  return storm.shortLookups === 0 ? fmt(storm.visibleS) : `not within ${GIVE_UP_MS / 1000} s (${storm.shortLookups} lookups short)`
}

function report(results: SizeResult[]): void {
  const cols = results.map(r => `${r.nodes.toLocaleString('en-US')} nodes`)
  const row = (label: string, f: (r: SizeResult) => string | number): Array<string | number> => [
    label,
    ...results.map(r => {
      try {
        return f(r)
      } catch {
        return '–'
      }
    }),
  ]
  console.log(`\nScale: ${WORKERS} fleet processes (+1 one-node process per kill), 3-server ensemble on loopback, ${SERVICES} services, session timeout ${SESSION_MS} ms\n`)
  table(['figure', ...cols], [
    row('nodes started (s)', r => fmt(r.startS)),
    row(`first lookup of ${SERVICES} services on every node (ms)`, r => fmt(r.primeMs)),
    row(`${SERVICES} N registrations, eager readers: visible everywhere (s)`, r => visible(r.eager!)),
    row('  register calls done (s)', r => fmt(r.eager!.registerS)),
    row('  requests per node (reads)', r => `${fmt(r.eager!.requestsPerNode)} (${fmt(r.eager!.readsPerNode)})`),
    row('  watch events per node', r => fmt(r.eager!.eventsPerNode)),
    row('  lookups failed and retried / connections lost / sessions expired', r => `${r.eager!.failedLookups} / ${r.eager!.disconnects} / ${r.eager!.renewals}`),
    row('  worst event-loop delay in a fleet process (ms)', r => fmt(r.eager!.maxLagMs)),
    row('  CPU seconds: fleet / servers', r => `${fmt(r.eager!.fleetCpuS)} / ${fmt(r.eager!.serverCpuS)}`),
    row(`${SERVICES} N registrations, lazy readers: visible everywhere (s)`, r => visible(r.lazy!)),
    row('  register calls done (s)', r => fmt(r.lazy!.registerS)),
    row('  requests per node (reads)', r => `${fmt(r.lazy!.requestsPerNode)} (${fmt(r.lazy!.readsPerNode)})`),
    row('  watch events per node', r => fmt(r.lazy!.eventsPerNode)),
    row('  lookups failed and retried / connections lost / sessions expired', r => `${r.lazy!.failedLookups} / ${r.lazy!.disconnects} / ${r.lazy!.renewals}`),
    row('  worst event-loop delay in a fleet process (ms)', r => fmt(r.lazy!.maxLagMs)),
    row('  CPU seconds: fleet / servers', r => `${fmt(r.lazy!.fleetCpuS)} / ${fmt(r.lazy!.serverCpuS)}`),
    row(`fan-out: last cache dropped the stale list, p50 / p99 / max over ${CHANGES} changes (ms)`, r => `${fmt(r.fanout!.lastP50)} / ${fmt(r.fanout!.lastP99)} / ${fmt(r.fanout!.lastMax)}`),
    row('  every cache: p50 / p99 (ms)', r => `${fmt(r.fanout!.allP50)} / ${fmt(r.fanout!.allP99)}`),
    row('  peer, same sessions: plain child watch, last / every p99 (ms)', r => `${fmt(r.fanout!.rawLastP99)} / ${fmt(r.fanout!.rawAllP99)}`),
    row('  p99 ratio, last cache / last plain watch', r => `${(r.fanout!.lastP99 / r.fanout!.rawLastP99).toFixed(2)}x`),
    row('  requests per change (nodes that asked again)', r => `${fmt(r.fanout!.requestsPerChange)} (${fmt(r.fanout!.askersPerChange)})`),
    row('  watch events per change', r => fmt(r.fanout!.eventsPerChange)),
    row('  caches that never dropped the stale list (30 s)', r => r.fanout!.missed),
    row('every node stands for one name, nothing happens: requests per second, fleet-wide', r => fmt(r.handover!.standingRequestsPerS)),
    row(`handover, holder stops: p50 / max (ms), ${HANDOVERS} rounds`, r => `${fmt(r.handover!.graceful.p50)} / ${fmt(r.handover!.graceful.max)}`),
    row('  election requests / watch events per handover, fleet-wide (max)', r => `${fmt(r.handover!.graceful.requests)} / ${fmt(r.handover!.graceful.events)} (${r.handover!.graceful.maxRequests} / ${r.handover!.graceful.maxEvents})`),
    row('  cache evictions (the holder\'s registrations leaving)', r => fmt(r.handover!.graceful.otherEvents)),
    row(`handover, holder kill -9: p50 / max (ms)`, r => `${fmt(r.handover!.kill.p50)} / ${fmt(r.handover!.kill.max)}`),
    row('  election requests / watch events per handover, fleet-wide (max)', r => `${fmt(r.handover!.kill.requests)} / ${fmt(r.handover!.kill.events)} (${r.handover!.kill.maxRequests} / ${r.handover!.kill.maxEvents})`),
    row('  cache evictions (the holder\'s registrations leaving)', r => fmt(r.handover!.kill.otherEvents)),
    row('memory per idle node: RSS / JS heap (KiB)', r => `${fmt(r.idleNodeKb)} / ${fmt(r.idleNodeHeapKb)}`),
    row('JS heap per cached service of N members (KiB)', r => fmt(r.cachedServiceKb)),
    row('server: watches, idle / with every service cached (all servers)', r => `${fmt(r.server.watchesIdle)} / ${fmt(r.server.watchesCached)}`),
    row('server: peak outstanding requests / max latency (ms)', r => `${r.server.peakOutstanding} / ${r.server.peakMaxLatency}`),
    row('server: znodes / RSS of the 3 JVMs (MiB)', r => `${fmt(r.server.znodes)} / ${fmt(r.server.rssMb)}`),
  ])
}

function draw(results: SizeResult[], before: SizeResult[] | null): string {
  const xs = results.map(r => r.nodes)
  const safe = (f: (r: SizeResult) => number) => (r: SizeResult): number => {
    try {
      return f(r)
    } catch {
      return NaN
    }
  }
  const series = (unsafe: (r: SizeResult) => number): Panel['series'] => {
    const f = safe(unsafe)
    return [
    { label: 'this run', points: results.map(r => [r.nodes, f(r)] as const) },
    ...(before === null ? [] : [{ label: 'before', dashed: true, points: before.filter(r => xs.includes(r.nodes)).map(r => [r.nodes, f(r)] as const) }]),
    ]
  }
  const panels: Panel[] = [
    { title: '10 N registrations visible (eager)', unit: 's', series: series(r => r.eager!.visibleS), logY: true },
    { title: 'reads per node, eager', unit: 'reads', series: series(r => r.eager!.readsPerNode), logY: true },
    { title: 'fan-out, last cache, p99', unit: 'ms', series: series(r => r.fanout!.lastP99), target: 50 },
    { title: 'requests per handover (fleet)', unit: 'requests', series: series(r => r.handover!.graceful.requests) },
    { title: 'memory per idle node (RSS)', unit: 'KiB', series: series(r => r.idleNodeKb) },
    { title: 'server watches, services cached', unit: 'watches', series: series(r => r.server.watchesCached), logY: true },
  ]
  return chart('zkcloud cluster at scale (3-server ZooKeeper ensemble, loopback)', panels, xs)
}

/** Every worker started, so a Ctrl-C or SIGTERM of the benchmark takes them along. */
const started = new Set<Worker>()
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const w of started) w.process.kill('SIGKILL')
    process.exit(1)
  })
}

async function main(): Promise<void> {
  const ensemble = await startEnsemble({ size: 3, tickTime: TICK_MS, maxSessionTimeout: 60_000, ...SERVER })
  const results: SizeResult[] = []
  let rearmed: RearmResult | null = null
  try {
    for (const n of SIZES) results.push(await measureSize(ensemble, n))
    if (PHASES.has('rearm')) rearmed = await rearm(ensemble)
  } finally {
    await ensemble.stop()
  }
  report(results)
  if (rearmed !== null) {
    const r = rearmed
    console.log(`\nThe client at scale: one client, ${r.oneShot.toLocaleString('en-US')} one-shot and ${r.persistent.toLocaleString('en-US')} persistent watches (${(r.setWatchesBytes / 2 ** 20).toFixed(2)} MiB of paths), its server killed, every path changed while it is away\n`)
    table(['figure', 'value'], [
      ['kill until the client is attached to another server (ms)', fmt(r.reattachMs)],
      ['attached until every one-shot watch has fired (ms)', fmt(r.oneShotFiredMs)],
      ['one-shot watches lost / fired twice', `${r.lost} / ${r.firedTwice}`],
      ['a change to every persistent path after the re-attach, until all heard it (ms)', fmt(r.persistentMs)],
      ['persistent watches that missed it', r.persistentLost],
    ])
  }
  const out = process.env.SCALE_OUT ?? 'scale-results.json'
  writeFileSync(out, JSON.stringify({ results, rearm: rearmed }, null, 2))
  const earlier = process.env.SCALE_BEFORE ? (JSON.parse(readFileSync(process.env.SCALE_BEFORE, 'utf8')) as { results: SizeResult[] } | SizeResult[]) : null
  const before = earlier === null ? null : Array.isArray(earlier) ? earlier : earlier.results
  const svg = process.env.SCALE_SVG ?? `${ROOT}/docs/scale.svg`
  writeFileSync(svg, draw(results, before))
  console.error(`[scale] figures in ${out}, chart in ${svg}`)
}

await main()
