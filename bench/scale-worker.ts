/**
 * One OS process of the scale benchmark's fleet (see bench/scale.ts): it
 * hosts some real `Cluster` nodes (each with its own ZooKeeper session and
 * listening port) and runs the coordinator's commands on all of them at once,
 * answering over IPC. Every node's client is wrapped to count its requests
 * and watch events; times are absolute (`performance.timeOrigin + now()`), so
 * the coordinator can compare them across processes.
 *
 *   started by bench/scale.ts: fork(scale-worker.js, [JSON.stringify(WorkerConfig)], --expose-gc)
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Cluster, type ClusterOptions } from '../lib/cluster/index.js'
import { countRequests, type RequestCounter } from '../test/support/request-counter.js'

/** What a worker is started with. */
export interface WorkerConfig {
  readonly options: ClusterOptions
  /** Nodes started at once while growing the fleet. */
  readonly concurrency: number
}

/** A command from the coordinator; the answer is `{ id, result }` or `{ id, error }`. */
export type Command =
  | { op: 'grow'; count: number }
  | { op: 'memory' }
  | { op: 'count' }
  | { op: 'lookup'; services: string[] }
  | { op: 'register'; services: string[] }
  | { op: 'visible'; services: string[]; expect: number; giveUpMs: number }
  | { op: 'counters' }
  | { op: 'arm'; service: string }
  | { op: 'registerOne'; service: string }
  | { op: 'rawArm'; dir: string }
  | { op: 'rawCreate'; dir: string }
  | { op: 'rawFired' }
  | { op: 'mkdir'; path: string }
  | { op: 'evictions'; service: string; expect: number }
  | { op: 'reask'; service: string; every: number }
  | { op: 'stand'; name: string }
  | { op: 'holder'; name: string }
  | { op: 'stopHolder'; name: string }
  | { op: 'elected'; name: string; after: number }
  | { op: 'rejoin'; name: string }
  | { op: 'shrink' }
  | { op: 'history' }

interface Member {
  readonly cluster: Cluster
  /** One per ZooKeeper client the node has had (a new one after each session expiry). */
  readonly counters: RequestCounter[]
  /** When each watched path last fired (absolute ms), by path. */
  readonly fired: Map<string, number>
  /** Resolvers waiting for the next event on a path. */
  readonly waiting: Map<string, Array<() => void>>
  /** Leaderships this node took: token and absolute time its function started. */
  readonly elected: Array<{ name: string; token: number; at: number }>
}

const config = JSON.parse(process.argv[2]!) as WorkerConfig
/** What went wrong with the sessions since the last `counters`, and the worst event-loop delay (ms). */
const health = { disconnects: 0, renewals: 0, maxLagMs: 0 }
const lag = monitorEventLoopDelay({ resolution: 10 })
let lastCpu = process.cpuUsage()
lag.enable()
const members: Member[] = []
/** When each node's plain child watch fired, for the fan-out peer. */
const rawFired = new Map<Member, number>()
const now = (): number => performance.timeOrigin + performance.now()
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, Math.max(0, ms)).unref())
const servicesDir = `${config.options.prefix}/services`
const globalDir = `${config.options.prefix}/global/`

/** Every step-down of this process's nodes (for a failing run's report). */
const stepDowns: Array<{ name: string; token: number; reason: string; at: number }> = []

async function startMember(): Promise<Member> {
  const cluster = await Cluster.start({ ...config.options, logError: () => undefined })
  const fired = new Map<string, number>()
  const waiting = new Map<string, Array<() => void>>()
  const onEvent = (event: { path?: string | null }): void => {
    // A session event (expired, closed) reaches every watcher: wake every waiter.
    const paths = event.path == null ? [...waiting.keys()] : [event.path]
    if (event.path != null) fired.set(event.path, now())
    const resolvers = paths.flatMap(path => waiting.get(path) ?? [])
    for (const path of paths) waiting.delete(path)
    if (resolvers.length === 0) return
    // After the cache's own watcher has run (it is called right after this hook).
    queueMicrotask(() => {
      for (const resolve of resolvers) resolve()
    })
  }
  cluster.on('stepDown', (leadership: { name: string; token: number }, reason: string) => {
    stepDowns.push({ name: leadership.name, token: leadership.token, reason, at: now() })
  })
  // A renewed session has a new client: count that one too.
  const counting = { onEvent, area: (path: string) => (path.startsWith(globalDir) ? 'election' : 'other') }
  const counters = [countRequests(cluster.zk, counting)]
  // After an expiry the new client is in place once the session reports 'connected' again, before any read on it.
  let counted = cluster.zk
  cluster.on('connection', state => {
    if (state === 'disconnected') health.disconnects++
    if (state === 'connected' && cluster.zk !== counted) {
      counted = cluster.zk
      counters.push(countRequests(counted, counting))
    }
  })
  cluster.on('session', () => health.renewals++)
  const member: Member = { cluster, counters, fired, waiting, elected: [] }
  return member
}

async function stand(m: Member, name: string): Promise<void> {
  await m.cluster.registerCandidate(name, async (self, leadership) => {
    m.elected.push({ name, token: leadership.token, at: now() })
    await self.receive()
  })
}

function nextEvent(member: Member, path: string): Promise<void> {
  return new Promise(resolve => {
    let list = member.waiting.get(path)
    if (list === undefined) member.waiting.set(path, (list = []))
    list.push(resolve)
  })
}

/** Runs `fn` on every item, `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      await fn(items[i]!, i)
    }
  })
  await Promise.all(lanes)
}

function totals(): { requests: number; events: number; byMethod: Record<string, number>; election: { requests: number; events: number } } {
  let requests = 0
  let events = 0
  const byMethod: Record<string, number> = {}
  const election = { requests: 0, events: 0 }
  for (const counter of members.flatMap(m => m.counters)) {
    requests += counter.requests
    events += counter.events
    for (const [k, v] of counter.byMethod) byMethod[k] = (byMethod[k] ?? 0) + v
    const e = counter.byArea.get('election')
    election.requests += e?.requests ?? 0
    election.events += e?.events ?? 0
  }
  return { requests, events, byMethod, election }
}

function memory(): { rss: number; heapUsed: number; external: number; arrayBuffers: number } {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.()
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage()
  return { rss, heapUsed, external, arrayBuffers }
}

async function run(command: Command): Promise<unknown> {
  switch (command.op) {
    case 'grow': {
      const t0 = now()
      const started: Member[] = []
      await pool(Array.from({ length: command.count }), config.concurrency, async () => void started.push(await startMember()))
      members.push(...started)
      return { ms: now() - t0, count: members.length }
    }
    case 'memory':
      return memory()
    case 'count':
      return members.length
    case 'lookup': {
      const t0 = now()
      await Promise.all(members.map(m => Promise.all(command.services.map(s => m.cluster.getCapable(s)))))
      return { ms: now() - t0 }
    }
    case 'register': {
      const t0 = now()
      await Promise.all(
        members.map(async m => {
          const pid = m.cluster.node.spawn(async self => void (await self.receive()))
          await Promise.all(command.services.map(s => m.cluster.register(s, pid)))
        }),
      )
      return { start: t0, end: now() }
    }
    case 'visible': {
      // Every node asks for every service until it sees `expect` members: it
      // asks again as soon as its cache is told the list changed (a watch fired).
      let failures = 0
      let short = 0
      const giveUpAt = now() + command.giveUpMs
      let left = members.length * command.services.length
      const progress = setInterval(() => console.error(`[scale-worker ${process.pid}] ${left} lookups still short of ${command.expect}; ${JSON.stringify({ ...health, maxLagMs: lag.max / 1e6 })}`), 15_000)
      await Promise.all(
        members.flatMap(m =>
          command.services.map(async s => {
            const path = `${servicesDir}/${s}`
            while (now() < giveUpAt) {
              const changed = nextEvent(m, path)
              try {
                if ((await m.cluster.getCapable(s)).length >= command.expect) return void left--
              } catch {
                failures++
                await new Promise(resolve => setTimeout(resolve, 50))
                continue
              }
              await Promise.race([changed, sleep(giveUpAt - now())])
            }
            short++
          }),
        ),
      )
      clearInterval(progress)
      return { end: now(), failures, short }
    }
    case 'counters': {
      const cpu = process.cpuUsage(lastCpu)
      lastCpu = process.cpuUsage()
      const result = { ...totals(), ...health, maxLagMs: lag.max / 1e6, cpuS: (cpu.user + cpu.system) / 1e6 }
      for (const m of members) for (const counter of m.counters) counter.reset()
      Object.assign(health, { disconnects: 0, renewals: 0 })
      lag.reset()
      return result
    }
    case 'arm': {
      await Promise.all(members.map(m => m.cluster.getCapable(command.service)))
      for (const m of members) m.fired.delete(`${servicesDir}/${command.service}`)
      return { count: members.length }
    }
    case 'registerOne': {
      const m = members[0]!
      const pid = m.cluster.node.spawn(async self => void (await self.receive()))
      const t0 = now()
      await m.cluster.register(command.service, pid)
      return { start: t0, end: now() }
    }
    case 'mkdir':
      await members[0]!.cluster.zk.create(command.path)
      return null
    case 'rawArm': {
      // The peer of fan-out: the same sessions, a plain child watch on a plain directory.
      rawFired.clear()
      await Promise.all(members.map(m => m.cluster.zk.getChildren(command.dir, { watch: () => void rawFired.set(m, now()) })))
      return { count: members.length }
    }
    case 'rawCreate': {
      const t0 = now()
      await members[0]!.cluster.zk.create(`${command.dir}/c`, null, { mode: 'ephemeral_sequential' })
      return { start: t0 }
    }
    case 'rawFired': {
      const deadline = now() + 30_000
      while (rawFired.size < members.length && now() < deadline) await sleep(2)
      return { times: [...rawFired.values()], missing: members.length - rawFired.size }
    }
    case 'evictions': {
      const path = `${servicesDir}/${command.service}`
      const deadline = now() + 30_000
      while (members.some(m => !m.fired.has(path)) && now() < deadline) await new Promise(resolve => setTimeout(resolve, 2))
      const times = members.flatMap(m => m.fired.get(path) ?? [])
      const missing = members
        .filter(m => !m.fired.has(path))
        .map(m => ({ node: m.cluster.id.key, zk: m.cluster.zk.state, session: `0x${m.cluster.zk.sessionId.toString(16)}`, clients: m.counters.length, server: m.cluster.zk.currentServer }))
      return { times, missing }
    }
    case 'reask': {
      // Every `every`-th node asks again; the others do not.
      const askers = members.filter((_, i) => i % command.every === 0)
      await Promise.all(askers.map(m => m.cluster.getCapable(command.service)))
      return { askers: askers.length }
    }
    case 'stand': {
      for (const m of members) await stand(m, command.name)
      return { count: members.length }
    }
    case 'holder': {
      const m = members.find(x => x.cluster.leadership(command.name) !== null)
      return m === undefined ? null : { token: m.cluster.leadership(command.name)!.token }
    }
    case 'stopHolder': {
      const m = members.find(x => x.cluster.leadership(command.name) !== null)
      if (m === undefined) return null
      const token = m.cluster.leadership(command.name)!.token
      const t0 = now()
      await m.cluster.stop()
      members.splice(members.indexOf(m), 1)
      return { token, start: t0 }
    }
    case 'rejoin': {
      // A new node takes the stopped one's place, at the back of the queue.
      const m = await startMember()
      members.push(m)
      await stand(m, command.name)
      return { count: members.length }
    }
    case 'history': {
      return { elected: members.flatMap(m => m.elected), stepDowns }
    }
    case 'elected': {
      for (const m of members) for (const e of m.elected) if (e.name === command.name && e.token > command.after) return e
      return null
    }
    case 'shrink': {
      await pool(members.splice(0), 50, async m => void (await m.cluster.stop()))
      return { count: 0 }
    }
  }
}

process.on('message', (message: { id: number; command: Command }) => {
  run(message.command).then(
    result => process.send!({ id: message.id, result }),
    (error: Error) => process.send!({ id: message.id, error: error.stack ?? error.message }),
  )
})
process.on('disconnect', () => {
  setTimeout(() => process.exit(0), 5000).unref()
  void Promise.allSettled(members.map(m => m.cluster.stop())).then(() => process.exit(0))
})
process.send!({ ready: true })
