import { type PersistentWatch, type WatchedEvent, ZooKeeper, type ZkState, op } from '../../lib/zk-wire/index.js'
import type { CallRecord, OneShotRecord, Trace, Violations } from './model.js'
import { type Random, type Scheduler, VirtualEnv, prng } from './scheduler.js'
import type { SimEnsemble } from './ensemble.js'
import type { SimNetwork } from './network.js'

/** What every client driver shares. */
export interface World {
  seed: number
  scheduler: Scheduler
  ensemble: SimEnsemble
  net: SimNetwork
  violations: Violations
  trace: Trace
  /** Workload decisions. */
  rand: Random
  nextId(): number
  /** Values the leader applied (create/setData data), with how many times. */
  applied: Map<string, number>
  /** When the leader processed each SetWatches, per client owner. */
  rearmedAt: Map<string, number[]>
  clientCount: number
  sessionTimeout: number
  /** Client 0 watches this many paths of ~10 KB each (over 1 MiB of watched paths: SetWatches must be split). */
  longWatches: number
}

/** A persistent watch the workload holds, and what its iterator yielded. */
export interface PersistentRecord {
  id: number
  owner: string
  path: string
  recursive: boolean
  /** When addWatch was called, and when it succeeded (the server set the watch in between). */
  submittedAt: number
  registeredAt: number
  watch: PersistentWatch
  maxQueued: number
  slow: boolean
  /** What the iterator yielded, when it was read. */
  received: Array<{ t: number; e: WatchedEvent }>
  /** What the session handed the watch (a spy on `push`), when: reconnect markers included, overflow markers not. */
  delivered: Array<{ t: number; e: WatchedEvent }>
  /** Closed by the workload, or ended by the session: when, and with what. */
  endedAt?: number
  endError?: string
}

const KEYS = 4

/** The events a persistent watch holds that nobody has read yet (its private queue, for the checker only). */
function queuedEvents(watch: PersistentWatch): WatchedEvent[] {
  const queue = (watch as unknown as { queue: { items: Array<WatchedEvent | undefined>; head: number } }).queue
  return queue.items.slice(queue.head) as WatchedEvent[]
}
/** The clients' largest accepted frame: a node bigger than this cannot be read (the connection drops instead). */
const MAX_BUFFER = 64 * 1024
const BIG = 80 * 1024
const MAX_IN_FLIGHT = 6

/** One session of a client slot: a `ZooKeeper` on its own virtual env. */
export class Instance {
  readonly env: VirtualEnv
  readonly zk: ZooKeeper
  readonly calls: CallRecord[] = []
  readonly oneShots: OneShotRecord[] = []
  readonly persistents: PersistentRecord[] = []
  /**
   * Paths with a persistent watch set or being set. ZooKeeper 3.8 keeps one
   * watch mode per path and connection: a one-shot read there turns the
   * persistent watch into a one-shot one (ZOOKEEPER-4466), so the workload
   * does not mix them on one path.
   */
  readonly persistentPaths = new Set<string>()
  readonly states: Array<{ t: number; s: ZkState }> = []
  inFlight = 0
  lastSettled = 0
  closing = false

  constructor(
    readonly world: World,
    readonly owner: string,
  ) {
    this.env = new VirtualEnv(world.scheduler, owner, prng(world.seed, hash(owner)), world.net, prng(world.seed, hash(owner) + 1))
    this.zk = new ZooKeeper(world.ensemble.connectString, { env: this.env, sessionTimeout: world.sessionTimeout, maxBufferSize: MAX_BUFFER })
    this.zk.on('state', (s) => {
      const last = this.states.at(-1)?.s
      if (last === 'expired' || last === 'closed' || last === 'authFailed') world.violations.add(`${owner}: state ${s} after terminal ${last}`)
      this.states.push({ t: world.scheduler.now, s })
      world.trace.add(`${owner} ${s}${s === 'connected' ? ` on ${this.zk.currentServer}` : ''}`)
    })
  }

  get terminal(): boolean {
    const s = this.zk.state
    return s === 'expired' || s === 'closed' || s === 'authFailed'
  }

  /** Records a call and checks it settles once, in submission order. */
  track<T>(opName: string, path: string, promise: Promise<T>, value?: string, onOk?: (v: T) => void, onErr?: (e: Error) => void): void {
    const w = this.world
    const rec: CallRecord = { id: w.nextId(), owner: this.owner, op: opName, path, submittedAt: w.scheduler.now }
    if (value !== undefined) rec.value = value
    this.calls.push(rec)
    this.inFlight++
    const settle = (outcome: string): void => {
      if (rec.outcome !== undefined) w.violations.add(`${this.owner}: call #${rec.id} ${opName} ${path} settled twice`)
      rec.outcome = outcome
      rec.settledAt = w.scheduler.now
      this.inFlight--
      if (opName === 'closeWatch') return // not a request of its own: it ends the iterator, then maybe removes the server's watch
      if (rec.id < this.lastSettled) w.violations.add(`${this.owner}: call #${rec.id} ${opName} ${path} settled after #${this.lastSettled} (FIFO order broken)`)
      this.lastSettled = Math.max(this.lastSettled, rec.id)
    }
    promise.then(
      (v) => {
        settle('ok')
        onOk?.(v)
      },
      (e: Error) => {
        settle(e.name)
        onErr?.(e)
      },
    )
  }
}

/**
 * The workload of one client slot: a random stream of creates, sets,
 * deletes, multis, reads with one-shot watches, persistent watches and syncs
 * on its own keys (`/c<i>/k<j>`) and reads of the others'. When its session
 * expires it starts a new one, as an application does.
 */
export class ClientDriver {
  instances: Instance[] = []
  private stopped = false

  constructor(
    private readonly world: World,
    readonly index: number,
  ) {}

  get current(): Instance | undefined {
    return this.instances.at(-1)
  }

  start(): void {
    this.spawn()
    this.schedule()
    if (this.index === 0 && this.world.longWatches > 0) this.world.scheduler.at(500, () => this.watchLongPaths())
  }

  /** Over 1 MiB of watched paths: existence watches on long paths, whose nodes this client creates one by one later. */
  private watchLongPaths(): void {
    const inst = this.current
    if (inst === undefined || inst.terminal) return
    const paths = Array.from({ length: this.world.longWatches }, (_, i) => `/c0/L${i}-${'x'.repeat(10_000)}`)
    for (const path of paths) this.oneShot(inst, 'exists', path)
    let i = 0
    const next = (): void => {
      if (this.stopped || i >= paths.length) return
      const path = paths[i++]!
      const now = this.current
      if (now !== undefined && !now.terminal) now.track('create', path, now.zk.create(path, `${now.owner}#${this.world.nextId()}`))
      this.world.scheduler.at(Math.round(this.world.rand() * 1500), next)
    }
    this.world.scheduler.at(30_000, next)
  }

  /** Stops issuing calls. */
  stop(): void {
    this.stopped = true
  }

  private spawn(): void {
    const inst = new Instance(this.world, `c${this.index}.${this.instances.length}`)
    this.instances.push(inst)
    void inst.zk.closed().then(() => {
      if (this.stopped || inst.closing) return
      // Expired: carry on with a new session, as an application would.
      this.world.scheduler.at(200, () => {
        if (!this.stopped) this.spawn()
      })
    })
  }

  private schedule(): void {
    const w = this.world
    w.scheduler.at(Math.round(-Math.log(1 - w.rand()) * 400), () => {
      if (this.stopped) return
      const inst = this.current
      if (inst !== undefined && !inst.terminal && inst.inFlight < MAX_IN_FLIGHT) this.issue(inst)
      this.schedule()
    })
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.world.rand() * items.length)]!
  }

  private issue(inst: Instance): void {
    const w = this.world
    const zk = inst.zk
    const own = `/c${this.index}/k${Math.floor(w.rand() * KEYS)}`
    const any = `/c${Math.floor(w.rand() * w.clientCount)}/k${Math.floor(w.rand() * KEYS)}`
    const value = (): string => `${inst.owner}#${w.nextId()}`
    const r = w.rand()
    if (r < 0.2) {
      const v = value()
      inst.track('setData', own, zk.setData(own, v), v)
    } else if (r < 0.3) {
      const v = value()
      inst.track('create', own, zk.create(own, v), v)
    } else if (r < 0.36) {
      const v = value()
      inst.track('create', own, zk.create(own, v, { mode: 'ephemeral' }), v)
    } else if (r < 0.44) {
      inst.track('delete', own, zk.delete(own))
    } else if (r < 0.5) {
      const a = value()
      const b = `${a}b`
      const other = `/c${this.index}/k${Math.floor(w.rand() * KEYS)}`
      if (other === own) return
      const ops = w.rand() < 0.5 ? [op.setData(own, a), op.setData(other, b)] : [op.create(own, a), op.setData(other, b)]
      inst.track('multi', `${own}+${other}`, zk.multi(ops), a)
    } else if (r < 0.62) {
      this.oneShot(inst, 'getData', any)
    } else if (r < 0.74) {
      this.oneShot(inst, 'exists', any)
    } else if (r < 0.8) {
      this.oneShot(inst, 'getChildren', `/c${Math.floor(w.rand() * w.clientCount)}`)
    } else if (r < 0.84) {
      this.addPersistent(inst)
    } else if (r < 0.86) {
      const live = inst.persistents.filter((p) => p.endedAt === undefined)
      if (live.length > 0) {
        const p = this.pick(live)
        p.endedAt = w.scheduler.now
        inst.track('closeWatch', p.path, p.watch.close())
      }
    } else if (r < 0.885) {
      inst.track('sync', '/', zk.sync('/'))
    } else if (r < 0.89) {
      const big = `/c${this.index}/big`
      const v = value()
      inst.track('create', big, zk.create(big, v.padEnd(BIG, '.')), v.padEnd(BIG, '.'))
    } else if (r < 0.895) {
      const big = `/c${Math.floor(w.rand() * w.clientCount)}/big`
      inst.track('getData', big, zk.getData(big), undefined, (res) => {
        if (res.data.length > MAX_BUFFER) w.violations.add(`${inst.owner}: read ${big} of ${res.data.length} bytes, above maxBufferSize ${MAX_BUFFER}`)
      })
    } else {
      inst.track('getData', any, zk.getData(any))
    }
  }

  /** A read that sets a one-shot watch; the watch is recorded once the read succeeded. */
  private oneShot(inst: Instance, kind: 'getData' | 'exists' | 'getChildren', path: string): void {
    // ZooKeeper keeps one watch mode per path and connection: a one-shot read would turn this client's persistent watch there into a one-shot one.
    if (inst.persistentPaths.has(path)) return
    const w = this.world
    const rec: OneShotRecord = { id: w.nextId(), owner: inst.owner, kind: kind === 'getChildren' ? 'child' : kind === 'getData' ? 'data' : 'exist', path, submittedAt: w.scheduler.now, fired: [] }
    inst.oneShots.push(rec)
    // The watcher may fire before the read's own continuation runs (its reply and the event
    // came in one read of the socket, as TCP may coalesce them): only a read that failed must
    // never see its watcher fire, before or after it settled.
    let failed = false
    const failedFired = (): void => w.violations.add(`${inst.owner}: the watcher of a failed ${kind} ${path} fired (${rec.fired[0]!.type})`)
    const onErr = (): void => {
      failed = true
      if (rec.fired.length > 0) failedFired()
    }
    const watch = (e: WatchedEvent): void => {
      rec.fired.push(e)
      if (failed) failedFired()
      if (rec.fired.length === 2) w.violations.add(`${inst.owner}: one-shot ${rec.kind} watch on ${path} fired twice (${rec.fired.map((f) => f.type).join(', ')})`)
    }
    if (kind === 'getData') {
      inst.track('getData', path, inst.zk.getData(path, { watch }), undefined, (r) => (rec.observed = `m${r.stat.mzxid}`), onErr)
    } else if (kind === 'exists') {
      inst.track(
        'exists',
        path,
        inst.zk.exists(path, { watch }),
        undefined,
        (stat) => {
          rec.observed = stat === null ? 'absent' : `m${stat.mzxid}`
          if (stat !== null) rec.kind = 'data'
        },
        onErr,
      )
    } else {
      inst.track('getChildren', path, inst.zk.getChildren(path, { watch, stat: true }), undefined, (r) => (rec.observed = `p${r.stat.pzxid}`), onErr)
    }
  }

  private addPersistent(inst: Instance): void {
    const w = this.world
    if (inst.persistents.filter((p) => p.endedAt === undefined).length >= 2) return
    const recursive = w.rand() < 0.6
    const path = recursive ? `/c${Math.floor(w.rand() * w.clientCount)}` : `/c${Math.floor(w.rand() * w.clientCount)}/k${Math.floor(w.rand() * KEYS)}`
    if (inst.oneShots.some((o) => o.path === path && o.fired.length === 0)) return
    if (inst.persistentPaths.has(path)) return
    const slow = w.rand() < 0.3
    const maxQueued = slow ? 3 : 10_000
    inst.persistentPaths.add(path)
    const submittedAt = w.scheduler.now
    const release = (): void => void inst.persistentPaths.delete(path)
    inst.track('addWatch', path, inst.zk.addWatch(path, recursive ? 'persistentRecursive' : 'persistent', { maxQueued }), undefined, (watch) => {
      const rec: PersistentRecord = { id: w.nextId(), owner: inst.owner, path, recursive, submittedAt, registeredAt: w.scheduler.now, watch, maxQueued, slow, received: [], delivered: [] }
      // Events may have reached the watch before this continuation ran (in the same read of the socket as the reply).
      for (const e of queuedEvents(watch)) rec.delivered.push({ t: w.scheduler.now, e })
      const push = watch.push.bind(watch)
      watch.push = (e) => {
        if (rec.endedAt === undefined) rec.delivered.push({ t: w.scheduler.now, e })
        push(e)
      }
      inst.persistents.push(rec)
      void this.read(inst, rec).then(release)
    }, release)
  }

  /** Reads a persistent watch: at once, or one event a second for slow readers (whose queue then overflows). */
  private async read(inst: Instance, rec: PersistentRecord): Promise<void> {
    const w = this.world
    for (;;) {
      let next: IteratorResult<WatchedEvent>
      try {
        next = await rec.watch.next()
      } catch (err) {
        rec.endedAt ??= w.scheduler.now
        rec.endError = (err as Error).name
        return
      }
      if (next.done) {
        rec.endedAt ??= w.scheduler.now
        return
      }
      rec.received.push({ t: w.scheduler.now, e: next.value })
      if (rec.slow && !this.stopped) await new Promise<void>((r) => w.scheduler.at(1000, r))
    }
  }
}

function hash(s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0
  return h
}
