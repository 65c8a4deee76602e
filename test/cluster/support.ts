import { Cluster, type ClusterOptions, type Leadership, type StepDownReason } from '../../lib/cluster/index.js'
import type { Test } from 'uvu'
import type { Node, ProcessId } from '../../lib/runtime/index.js'
import { startEnsemble, type Ensemble } from '../support/ensemble.js'
import { waitFor } from '../support/wait.js'
import { ensembleSuite } from '../support/zookeeper.js'

/** A started cluster node with the trace and error lines it logged. */
export interface TestCluster {
  readonly cluster: Cluster
  readonly traces: string[]
  readonly errors: string[]
}

/**
 * Cluster nodes for one test on one prefix, all stopped by `stopAll()` (call
 * it in `finally` or an `after.each` hook) even when the test fails.
 */
export class ClusterPool {
  readonly #started = new Set<Cluster>()

  constructor(private readonly defaults: ClusterOptions) {}

  /** Starts a cluster node with the pool's options and `options` on top. */
  async start(options: Partial<ClusterOptions> = {}): Promise<TestCluster> {
    const traces: string[] = []
    const errors: string[] = []
    const cluster = await Cluster.start({
      sessionTimeout: 6000,
      // The test kit's servers tick every 500 ms.
      tickTime: 500,
      ...this.defaults,
      ...options,
      logTrace: line => traces.push(line),
      logError: line => errors.push(line),
    })
    this.#started.add(cluster)
    return { cluster, traces, errors }
  }

  /** Starts `count` nodes. */
  async startMany(count: number, options: Partial<ClusterOptions> = {}): Promise<TestCluster[]> {
    const started: TestCluster[] = []
    for (let i = 0; i < count; i++) started.push(await this.start(options))
    return started
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#started].map(cluster => cluster.stop()))
    this.#started.clear()
  }
}

/** A process that keeps what it receives, to await from the test. */
export interface Collector {
  readonly pid: ProcessId
  readonly received: unknown[]
  /** The next message not yet taken, waiting up to `timeoutMs`. */
  next(timeoutMs?: number): Promise<unknown>
}

/** Spawns a {@link Collector} on `node`. */
export function collector(node: Node): Collector {
  const received: unknown[] = []
  let taken = 0
  const pid = node.spawn(async self => {
    for (;;) received.push(await self.receive())
  })
  return {
    pid,
    received,
    async next(timeoutMs = 10_000) {
      await waitFor('a message', () => received.length > taken, { timeoutMs, intervalMs: 5 })
      return received[taken++]
    },
  }
}

/** One leadership as this node saw it: from `elected` to `stepDown`. */
export interface Interval {
  readonly node: string
  readonly token: number
  readonly start: number
  end: number | null
  reason: StepDownReason | null
}

/** Records every leadership interval of `name` on `cluster` into `into`. */
export function recordLeadership(cluster: Cluster, name: string, into: Interval[]): void {
  const open = new Map<number, Interval>()
  cluster.on('elected', (leadership: Leadership) => {
    if (leadership.name !== name) return
    const interval: Interval = { node: cluster.id.key, token: leadership.token, start: performance.now(), end: null, reason: null }
    open.set(leadership.token, interval)
    into.push(interval)
  })
  cluster.on('stepDown', (leadership: Leadership, reason: StepDownReason) => {
    const interval = open.get(leadership.token)
    if (leadership.name !== name || interval === undefined) return
    interval.end = performance.now()
    interval.reason = reason
    open.delete(leadership.token)
  })
}

/** Makes server 1 of a 3-server ensemble a follower (fresh ensembles usually elect the highest id). */
export async function serverOneFollows(ensemble: Ensemble): Promise<void> {
  const one = ensemble.servers[0]!
  if ((await one.mode()) !== 'leader') return
  await one.kill()
  await ensemble.waitReady()
  await one.start()
  await ensemble.waitReady()
}

/** Counts the trace lines matching `pattern`. */
export function count(traces: readonly string[], pattern: RegExp): number {
  return traces.filter(line => pattern.test(line)).length
}

/** Equality of pid lists, for assertions. */
export function keys(pids: readonly { key: string }[]): string[] {
  return pids.map(pid => pid.key)
}

/**
 * Registers `cases` on a suite of their own that runs against a 3-server ensemble started
 * for it (and stopped after it), and runs that suite: the same cases as on the shared
 * single server, on a quorum.
 */
export function onEnsemble<T extends { connectString: string }>(name: string, cases: (test: Test<T>) => void): void {
  const quorum = ensembleSuite<T & { ensemble: Ensemble }>(name)
  quorum.before(async ctx => {
    ctx.ensemble = await startEnsemble({ size: 3 })
    ctx.connectString = ctx.ensemble.connectString
  })
  quorum.after(async ctx => {
    await ctx.ensemble?.stop()
  })
  cases(quorum as unknown as Test<T>)
  quorum.run()
}
