import { randomUUID } from 'node:crypto'
import type { ACL, Stat, WatchedEvent, ZooKeeper } from '../zk-wire/index.js'
import type { Node, Process, ProcessId } from '../runtime/index.js'
import { readGlobal } from './discovery.js'
import type { Log } from './log.js'
import { parseCandidate, sortCandidates, validateName, type Layout } from './paths.js'
import type { Session } from './session.js'
import { StepDownClock } from './step-down.js'
import { deleteIfExists, ensurePath, isClosed, isExpired, isTransient, isZk } from './znodes.js'

/**
 * What a global process knows about its leadership. `token` is the fencing
 * token: hand it to the resources the process writes to, and have them refuse
 * any token lower than the highest they have seen.
 */
export interface Leadership {
  /** The global name. */
  readonly name: string
  /** The global process (the one running the candidate's function). */
  readonly pid: ProcessId
  /**
   * The candidate znode's sequence number. Every later holder of this name
   * has a larger one, so it orders leaderships and fences a deposed leader.
   */
  readonly token: number
  /** The candidate znode (relative to the connect string's chroot). */
  readonly path: string
  /** The zxid that created the candidate znode: also increasing from one holder to the next. */
  readonly czxid: bigint
  /** The ZooKeeper session that owns the candidate znode. */
  readonly sessionId: bigint
  /** When this node was elected (ms since the epoch). */
  readonly since: number
}

/** The function of a global process, run on the node that wins the election. */
export type GlobalFunction = (self: Process, leadership: Leadership) => Promise<void> | void

/**
 * Why a global process stopped being one:
 * - `'exit'` — it ended by itself (returned, threw, or was killed);
 * - `'stop'` — the cluster stopped;
 * - `'suspect'` — nothing heard from ZooKeeper for so long that the session
 *   may be expiring: killed before anyone else can be elected;
 * - `'disconnect'` — disconnected, with `stepDownOnDisconnect`;
 * - `'expired'` — the session expired before the step-down clock fired;
 * - `'deleted'` — its candidate znode was deleted by someone else.
 *
 * After the last four the node stands again, at the back of the queue.
 */
export type StepDownReason = 'exit' | 'stop' | 'suspect' | 'disconnect' | 'expired' | 'deleted'

/**
 * Where a candidacy is: creating its znode (`standing`), in the queue
 * (`waiting`), holding the name (`leading`), stepped down and about to stand
 * again (`suspended`), or over (`withdrawn`).
 */
export type CandidacyState = 'standing' | 'waiting' | 'leading' | 'suspended' | 'withdrawn'

/** A candidate znode this node created. */
export interface CandidateZnode {
  readonly path: string
  readonly child: string
  readonly seq: number
  readonly czxid: bigint
  readonly sessionId: bigint
}

/** The parts of the client {@link createCandidate} uses (a test can make one lose replies). */
export type CandidateClient = Pick<ZooKeeper, 'create2' | 'getChildren' | 'exists' | 'sync' | 'sessionId' | 'create'>

function toZnode(path: string, stat: Stat, sessionId: bigint): CandidateZnode {
  const child = path.slice(path.lastIndexOf('/') + 1)
  const candidate = parseCandidate(child)
  if (candidate === null) throw new Error(`ZooKeeper created an unexpected candidate name ${path}`)
  return { path, child, seq: candidate.seq, czxid: stat.czxid, sessionId }
}

/**
 * Creates an ephemeral sequential candidate `<guid>-n_<seq>` in `dir`,
 * protected against lost replies: when the create fails with CONNECTIONLOSS
 * it may have been applied, so the candidates are searched (after a `sync`,
 * so the server has seen everything the old one did) for the guid before
 * anything is created again. Never two znodes for one call.
 */
export async function createCandidate(zk: CandidateClient, dir: string, data: Buffer, acl: readonly ACL[], log: Log): Promise<CandidateZnode> {
  const guid = randomUUID()
  for (;;) {
    try {
      const { path, stat } = await zk.create2(`${dir}/${guid}-n_`, data, { acl, mode: 'ephemeral_sequential' })
      return toZnode(path, stat, zk.sessionId)
    } catch (error) {
      if (isZk(error, 'NONODE')) {
        await ensurePath(zk, dir, acl, 'container')
        continue
      }
      if (!isZk(error, 'CONNECTIONLOSS')) throw error
    }
    log.trace(`election ${dir}: a create lost its reply; looking for ${guid}`)
    const found = await findCandidate(zk, dir, guid)
    if (found !== null) {
      log.trace(`election ${dir}: found ${found.child} again`)
      return found
    }
  }
}

async function findCandidate(zk: CandidateClient, dir: string, guid: string): Promise<CandidateZnode | null> {
  for (;;) {
    try {
      await zk.sync(dir)
      const child = (await zk.getChildren(dir)).find(name => parseCandidate(name)?.guid === guid)
      if (child === undefined) return null
      const stat = await zk.exists(`${dir}/${child}`)
      if (stat === null || stat.ephemeralOwner !== zk.sessionId) return null
      return toZnode(`${dir}/${child}`, stat, zk.sessionId)
    } catch (error) {
      if (isZk(error, 'NONODE')) return null
      if (!isZk(error, 'CONNECTIONLOSS')) throw error
    }
  }
}

/** What a candidacy needs from its election. */
interface Context {
  readonly node: Node
  readonly session: Session
  readonly layout: Layout
  readonly acl: readonly ACL[]
  readonly log: Log
  readonly clock: StepDownClock
  elected(leadership: Leadership): void
  steppedDown(leadership: Leadership, reason: StepDownReason): void
  withdrawn(candidacy: Candidacy): void
}

/** The process standing for the name: it waits until elected, then runs the candidate's function. */
interface Stage {
  readonly pid: ProcessId
  readonly elect: (leadership: Leadership) => void
}

const FIRST_RETRY_MS = 50
const MAX_RETRY_MS = 30_000

/**
 * One node's candidacy for one global name (Curator's LeaderLatch): a
 * protected ephemeral sequential znode, a watch on its predecessor only, and
 * a staged process that runs the function once the znode is the lowest. One
 * loop at a time drives it (`kick()` asks for another pass).
 */
class Candidacy {
  #state: CandidacyState = 'standing'
  #stage: Stage | null = null
  /** The pid of the latest staged process (kept after it ends). */
  #pid: ProcessId | null = null
  #znode: CandidateZnode | null = null
  #leadership: Leadership | null = null
  /** Set while the candidate just before ours is the holder, as seen on connection `epoch`. */
  #holderAhead: { path: string; epoch: number } | null = null
  #kicked = false
  #running = false
  #retryMs = FIRST_RETRY_MS
  #retry: NodeJS.Timeout | null = null
  #settlePlaced: { resolve: () => void; reject: (error: Error) => void } | null
  /** Settles when the candidacy first reaches the queue (or fails to). */
  readonly placed: Promise<void>

  constructor(
    readonly name: string,
    public fn: GlobalFunction,
    private readonly context: Context,
  ) {
    let settle!: { resolve: () => void; reject: (error: Error) => void }
    this.placed = new Promise((resolve, reject) => (settle = { resolve, reject }))
    this.placed.catch(() => undefined)
    this.#settlePlaced = settle
  }

  get state(): CandidacyState {
    return this.#state
  }

  get leadership(): Leadership | null {
    return this.#leadership
  }

  /** The latest staged process of this candidacy (set once it has stood). */
  get pid(): ProcessId | null {
    return this.#pid
  }

  /** Asks the loop for another pass. */
  kick(): void {
    this.#kicked = true
    if (this.#retry !== null) clearTimeout(this.#retry)
    this.#retry = null
    if (!this.#running) void this.#run()
  }

  /** Kills the global process (if leading), which stands again afterwards. */
  stepDown(reason: StepDownReason): void {
    if (this.#state !== 'leading') return
    this.#state = 'suspended'
    this.#endLeadership(reason)
    this.kick()
  }

  /** Ends the candidacy for good, killing its process; `stop` leaves the znode to the closing session. */
  withdraw(how: 'delete' | 'stop'): void {
    if (this.#state === 'withdrawn') return
    const leading = this.#state === 'leading'
    this.#state = 'withdrawn'
    if (leading) this.#endLeadership(how === 'stop' ? 'stop' : 'exit')
    else this.#killStage('withdrawn')
    this.#settlePlaced?.reject(new Error(`the candidacy for ${JSON.stringify(this.name)} was withdrawn`))
    this.#settlePlaced = null
    this.context.withdrawn(this)
    if (how === 'stop') {
      this.#znode = null
      if (this.#retry !== null) clearTimeout(this.#retry)
      this.#retry = null
    } else {
      this.kick()
    }
  }

  #endLeadership(reason: StepDownReason): void {
    const leadership = this.#leadership
    this.#leadership = null
    this.#killStage(reason === 'exit' ? 'normal' : `stepDown: ${reason}`)
    if (leadership !== null) this.context.steppedDown(leadership, reason)
  }

  #killStage(reason: string): void {
    const stage = this.#stage
    this.#stage = null
    if (stage !== null && reason !== 'normal') this.context.node.kill(stage.pid, reason)
  }

  async #run(): Promise<void> {
    this.#running = true
    while (this.#kicked) {
      this.#kicked = false
      try {
        await this.#step()
        this.#retryMs = FIRST_RETRY_MS
      } catch (error) {
        this.#failed(error as Error)
      }
    }
    this.#running = false
  }

  #failed(error: Error): void {
    if (isClosed(error) || isExpired(error)) return
    const { log } = this.context
    if (!isTransient(error)) {
      log.error(`election ${this.name}: ${this.#state}`, error)
      const settle = this.#settlePlaced
      if (settle !== null) {
        this.#settlePlaced = null
        this.withdraw('delete')
        settle.reject(error)
        return
      }
    }
    this.#retry = setTimeout(() => this.kick(), this.#retryMs)
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS)
  }

  #step(): Promise<void> {
    switch (this.#state) {
      case 'standing':
        return this.#stand()
      case 'waiting':
        return this.#check()
      case 'suspended':
      case 'withdrawn':
        return this.#giveUpZnode()
      case 'leading':
        return Promise.resolve()
    }
  }

  async #stand(): Promise<void> {
    const { session, layout, acl, log } = this.context
    const zk = await session.client()
    const stage = this.#stage ?? this.#spawnStage()
    let znode = this.#znode
    // After a failure below, the znode made by an earlier pass is still ours: never make a second one.
    if (znode === null || znode.sessionId !== zk.sessionId) {
      znode = await createCandidate(zk, layout.candidates(this.name), stage.pid.encode(), acl, log)
      this.#znode = znode
      log.trace(`election ${this.name}: standing as ${znode.child}`)
    }
    try {
      await zk.getData(znode.path, { watch: this.#onOwnZnode })
    } catch (error) {
      if (!isZk(error, 'NONODE')) throw error
      return this.#standAgain(`${znode.child} is gone`)
    }
    if (this.#state === 'standing') this.#state = 'waiting'
    this.#kicked = true
  }

  async #check(): Promise<void> {
    const { session, layout, log } = this.context
    const zk = await session.client()
    const znode = this.#znode
    if (znode === null || znode.sessionId !== zk.sessionId) return this.#standAgain('its session is gone')
    const dir = layout.candidates(this.name)
    const candidates = sortCandidates(await zk.getChildren(dir))
    if (this.#state !== 'waiting' || this.#znode !== znode) return
    const at = candidates.findIndex(candidate => candidate.child === znode.child)
    if (at < 0) return this.#standAgain(`${znode.child} is gone`)
    if (at === 0) return this.#lead(znode)
    const predecessor = `${dir}/${candidates[at - 1]!.child}`
    const epoch = session.epoch
    let announced: boolean
    try {
      announced = (await zk.getData(predecessor, { watch: this.#onPredecessor })).stat.version > 0
    } catch (error) {
      if (!isZk(error, 'NONODE')) throw error
      this.#kicked = true
      return
    }
    if ((at === 1 || announced) && this.#state === 'waiting' && this.#znode === znode) this.#holderAhead = { path: predecessor, epoch }
    log.trace(`election ${this.name}: ${znode.child} watches ${candidates[at - 1]!.child}`)
    this.#placed()
  }

  #standAgain(why: string): void {
    this.context.log.trace(`election ${this.name}: standing again (${why})`)
    this.#znode = null
    if (this.#state === 'waiting') this.#state = 'standing'
    this.#kicked = true
  }

  #lead(znode: CandidateZnode): void {
    const { clock, log } = this.context
    const stage = this.#stage
    if (stage === null) return
    if (clock.suspect()) {
      this.#state = 'suspended'
      this.#kicked = true
      return
    }
    const leadership: Leadership = Object.freeze({
      name: this.name,
      pid: stage.pid,
      token: znode.seq,
      path: znode.path,
      czxid: znode.czxid,
      sessionId: znode.sessionId,
      since: Date.now(),
    })
    this.#state = 'leading'
    this.#leadership = leadership
    log.trace(`election ${this.name}: ${znode.child} leads (token ${znode.seq})`)
    this.#placed()
    this.context.elected(leadership)
    stage.elect(leadership)
    // Tell the successor it is next in line (see #onPredecessor): off the handover's path.
    this.context.session.zk.setData(znode.path, stage.pid.encode(), 0).catch(() => undefined)
  }

  /** Deletes the znode of a suspended or withdrawn candidacy (if its session still holds it), then stands again if suspended. */
  async #giveUpZnode(): Promise<void> {
    const znode = this.#znode
    if (znode !== null) {
      const zk = await this.context.session.client()
      if (znode.sessionId === zk.sessionId) await deleteIfExists(zk, znode.path)
      if (this.#znode === znode) this.#znode = null
    }
    if (this.#state === 'suspended') {
      this.#state = 'standing'
      this.#kicked = true
    }
  }

  #placed(): void {
    this.#settlePlaced?.resolve()
    this.#settlePlaced = null
  }

  /**
   * The candidate before ours changed: it was deleted, or it announced that it
   * holds the name (a new holder rewrites its znode's data, so its version
   * becomes 1). Usually this means reading the candidates again. But when the
   * deleted one was the holder (it was first, or had announced itself) and the
   * connection has not changed since, ours is the lowest now without a read:
   * sequence numbers only grow, so no candidate can have come in between, and
   * ours still exists — events arrive in the order of the changes, and its
   * deletion would have come first (see `#onOwnZnode`). This saves the
   * successor a round trip on every handover.
   */
  readonly #onPredecessor = (event: WatchedEvent): void => {
    if (event.type === 'None') return
    const { log, session } = this.context
    log.trace(`election ${this.name}: heard ${event.type} on ${event.path}`)
    const ahead = this.#holderAhead
    this.#holderAhead = null
    const znode = this.#znode
    const lowest = event.type === 'NodeDeleted' && ahead?.path === event.path && ahead.epoch === session.epoch
    if (lowest && this.#state === 'waiting' && znode !== null && znode.sessionId === session.zk.sessionId) {
      log.trace(`election ${this.name}: the holder before ${znode.child} is gone`)
      this.#lead(znode)
    } else {
      this.kick()
    }
  }

  /** Our own candidate znode changed: deleted by someone else, or its data rewritten. */
  readonly #onOwnZnode = (event: WatchedEvent): void => {
    const znode = this.#znode
    if (event.type === 'None' || znode === null || event.path !== znode.path) return
    if (event.type === 'NodeDeleted') return this.#ownZnodeGone(znode)
    this.context.session.zk.getData(znode.path, { watch: this.#onOwnZnode }).catch(error => {
      if (isZk(error, 'NONODE') && this.#znode === znode) this.#ownZnodeGone(znode)
    })
  }

  #ownZnodeGone(znode: CandidateZnode): void {
    this.#holderAhead = null
    if (this.#state === 'leading') {
      this.context.log.error(`election ${this.name}: ${znode.path} was deleted by someone else; stepping down`)
      this.stepDown('deleted')
    } else if (this.#state === 'waiting') {
      this.kick()
    }
  }

  #spawnStage(): Stage {
    const { node } = this.context
    let elect!: (leadership: Leadership) => void
    const elected = new Promise<Leadership>(resolve => (elect = resolve))
    const pid = node.spawn(async self => {
      const leadership = await untilAborted(elected, self.signal)
      if (leadership !== undefined) await this.fn(self, leadership)
    })
    const stage: Stage = { pid, elect }
    this.#stage = stage
    this.#pid = pid
    node.monitor(pid, () => this.#stageEnded(stage))
    return stage
  }

  /** The staged (or global) process ended by itself: the candidacy is over. */
  #stageEnded(stage: Stage): void {
    if (this.#stage !== stage) return
    this.context.log.trace(`election ${this.name}: ${stage.pid} ended`)
    this.withdraw('delete')
  }
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined)
  return new Promise(resolve => {
    const onAbort = (): void => resolve(undefined)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(value => {
      signal.removeEventListener('abort', onAbort)
      resolve(value)
    })
  })
}

/** What {@link Elections} reports to the cluster. */
export interface ElectionEvents {
  elected(leadership: Leadership): void
  steppedDown(leadership: Leadership, reason: StepDownReason): void
}

/** Options of {@link Elections}. */
export interface ElectionOptions {
  readonly node: Node
  readonly session: Session
  readonly layout: Layout
  readonly acl: readonly ACL[]
  readonly log: Log
  readonly stepDownMargin: number | undefined
  readonly stepDownOnDisconnect: boolean
  readonly events: ElectionEvents
}

/**
 * This node's candidacies, one per global name, and the step-down clock that
 * guards the ones leading.
 */
export class Elections {
  readonly #candidacies = new Map<string, Candidacy>()
  readonly #clock: StepDownClock
  readonly #context: Context

  constructor(private readonly options: ElectionOptions) {
    const { node, session, layout, acl, log, events } = options
    this.#clock = new StepDownClock(() => session.zk, options.stepDownMargin, () => this.#stepDownAll('suspect'))
    this.#context = {
      node,
      session,
      layout,
      acl,
      log,
      clock: this.#clock,
      elected: leadership => {
        this.#clock.arm()
        events.elected(leadership)
      },
      steppedDown: (leadership, reason) => {
        if (![...this.#candidacies.values()].some(c => c.state === 'leading')) this.#clock.disarm()
        log.trace(`election ${leadership.name}: stepped down (${reason})`)
        events.steppedDown(leadership, reason)
      },
      withdrawn: candidacy => {
        if (this.#candidacies.get(candidacy.name) === candidacy) this.#candidacies.delete(candidacy.name)
      },
    }
  }

  /**
   * Stands for the global `name` with `fn` (replacing the function of a
   * candidacy this node already has for it: no second znode, no new process).
   * Resolves, once in the queue, to the pid of the current holder.
   */
  async registerCandidate(name: string, fn: GlobalFunction): Promise<ProcessId> {
    validateName('global name', name)
    if (typeof fn !== 'function') throw new TypeError('registerCandidate needs a function to run as the global process')
    let candidacy = this.#candidacies.get(name)
    if (candidacy === undefined) {
      candidacy = new Candidacy(name, fn, this.#context)
      this.#candidacies.set(name, candidacy)
      candidacy.kick()
    } else {
      candidacy.fn = fn
    }
    await candidacy.placed
    const own = candidacy.state === 'leading' ? candidacy.pid : null
    if (own !== null) return own
    const holder = await this.options.session.read(zk => readGlobal(zk, this.options.layout, name))
    return holder ?? candidacy.pid!
  }

  /** The leadership this node holds for `name`, or null. */
  leadership(name: string): Leadership | null {
    return this.#candidacies.get(name)?.leadership ?? null
  }

  /** The session expired: leaders step down at once (if the clock has not already). */
  sessionExpired(): void {
    this.#stepDownAll('expired')
  }

  /** A session is usable again (reconnected or renewed): every candidacy checks where it stands. */
  sessionBack(): void {
    for (const candidacy of this.#candidacies.values()) candidacy.kick()
  }

  /** The client lost its connection: with `stepDownOnDisconnect`, leaders step down now. */
  disconnected(): void {
    if (this.options.stepDownOnDisconnect) this.#stepDownAll('disconnect')
  }

  /** The cluster is stopping: kills every global and staged process; the closing session removes the znodes. */
  stop(): void {
    this.#clock.disarm()
    for (const candidacy of [...this.#candidacies.values()]) candidacy.withdraw('stop')
    this.#candidacies.clear()
  }

  #stepDownAll(reason: StepDownReason): void {
    for (const candidacy of [...this.#candidacies.values()]) candidacy.stepDown(reason)
  }
}
