import type { ACL, WatchedEvent } from '../zk-wire/index.js'
import type { Node, ProcessId } from '../runtime/index.js'
import { realEnv, type Env, type Timer } from '../env.js'
import { createCandidate, type CandidateZnode } from './candidate-znode.js'
import type { Lease } from './lease.js'
import { guardProcess, Lead, type GlobalFunction, type Leadership, type StepDownReason } from './leadership.js'
import type { Log } from './log.js'
import { sortCandidates, type Layout } from './paths.js'
import type { Session } from './session.js'
import { deleteIfExists, isClosed, isExpired, isTransient, isZk } from './znodes.js'

/** What a candidacy needs from its election. */
export interface CandidacyContext {
  readonly node: Node
  readonly session: Session
  readonly layout: Layout
  readonly acl: readonly ACL[]
  readonly log: Log
  readonly lease: Lease
  /** Steps every leader of this node down: the lease ran out. */
  readonly leaseRanOut: () => void
  /** Time, timers and randomness; default `realEnv`. */
  readonly env?: Env
  elected(leadership: Leadership): void
  steppedDown(leadership: Leadership, reason: StepDownReason): void
  withdrawn(candidacy: Candidacy): void
  /** The candidacy changed state (see {@link Candidacy.mayLeadSoon}). */
  transitioned(): void
}

/** The process standing for the name: it waits until elected, then runs the candidate's function. */
interface Stage {
  readonly pid: ProcessId
  readonly elect: (lead: Lead) => void
  /** Set once the process has ended (by itself or killed). */
  ended: boolean
}

/** The candidate just before ours is the holder, as seen on connection `epoch`. */
interface HolderAhead {
  readonly path: string
  readonly epoch: number
}

/**
 * Where a candidacy is, with what that state owns:
 * - `standing` — its staged process runs; its znode is being created (or was,
 *   by an earlier pass on the same session: never a second one);
 * - `waiting` — in the queue, watching its predecessor (and whether that one
 *   is known to hold the name);
 * - `leading` — its staged process runs the function, with `lead`;
 * - `suspended` — stepped down: its znode is deleted, then it stands again;
 * - `withdrawn` — over: its znode is deleted (or left to the closing session).
 */
export type CandidacyState =
  | { readonly kind: 'standing'; readonly stage: Stage; readonly znode: CandidateZnode | null }
  | {
      readonly kind: 'waiting'
      readonly stage: Stage
      readonly znode: CandidateZnode
      readonly holderAhead: HolderAhead | null
      /** First or second behind the holder when it last looked (or not placed yet): keeps the lease warm. */
      readonly near: boolean
    }
  | { readonly kind: 'leading'; readonly stage: Stage; readonly znode: CandidateZnode; readonly lead: Lead }
  | { readonly kind: 'suspended'; readonly znode: CandidateZnode | null }
  | { readonly kind: 'withdrawn'; readonly znode: CandidateZnode | null; readonly how: 'delete' | 'stop' }

const FIRST_RETRY_MS = 50
const MAX_RETRY_MS = 30_000

/**
 * One node's candidacy for one global name (Curator's LeaderLatch): a
 * protected ephemeral sequential znode, a watch on its predecessor only, and
 * a staged process that runs the function once the znode is the lowest. One
 * loop at a time drives it (`kick()` asks for another pass); `#enter` is the
 * only place that changes its state.
 */
export class Candidacy {
  #state: CandidacyState
  /** The pid of the latest staged process (kept after it ends). */
  #pid: ProcessId
  #kicked = false
  #running = false
  #retryMs = FIRST_RETRY_MS
  /** The loop's backoff after a failed pass; a kick cancels it. */
  #retry: Timer | null = null
  /** The watch on our own znode could not be set again (a lost connection): try until it is. */
  #rearm: Timer | null = null
  #settlePlaced: { resolve: () => void; reject: (error: Error) => void } | null
  readonly #clock: Env
  /** Settles when the candidacy first reaches the queue (or fails to). */
  readonly placed: Promise<void>

  constructor(
    readonly name: string,
    public fn: GlobalFunction,
    private readonly context: CandidacyContext,
  ) {
    this.#clock = context.env ?? realEnv
    let settle!: { resolve: () => void; reject: (error: Error) => void }
    this.placed = new Promise((resolve, reject) => (settle = { resolve, reject }))
    this.placed.catch(() => undefined)
    this.#settlePlaced = settle
    const stage = this.#spawnStage()
    this.#pid = stage.pid
    this.#state = { kind: 'standing', stage, znode: null }
  }

  get state(): CandidacyState['kind'] {
    return this.#state.kind
  }

  /**
   * Whether this candidacy may lead soon, and so needs fresh lease evidence
   * all the time: it leads, it is standing (its first look at the queue may
   * find it first), or it waits right behind the holder or one further back.
   * The second in line is kept warm too so that two handovers in a row (a
   * rolling restart, a holder and its successor stopped together) find a
   * successor whose syncs have been regular long enough to lead at once (see
   * `Lease.ready`); one further back becomes next in line before it can lead
   * (or asks for syncs then). Three candidates renew, whatever their number.
   */
  get mayLeadSoon(): boolean {
    const state = this.#state
    return state.kind === 'waiting' ? state.holderAhead !== null || state.near : state.kind === 'leading' || state.kind === 'standing'
  }

  get leadership(): Leadership | null {
    return this.#state.kind === 'leading' ? this.#state.lead : null
  }

  /** The latest staged process of this candidacy. */
  get pid(): ProcessId {
    return this.#pid
  }

  /** Asks the loop for another pass. */
  kick(): void {
    this.#kicked = true
    this.#retry?.cancel()
    this.#retry = null
    if (!this.#running) void this.#run()
  }

  /** Kills the global process (if leading), which stands again afterwards. */
  stepDown(reason: StepDownReason): void {
    const state = this.#state
    if (state.kind !== 'leading') return
    this.#enter({ kind: 'suspended', znode: state.znode }, reason)
    this.kick()
  }

  /** Ends the candidacy for good, killing its process; `stop` leaves the znode to the closing session. */
  withdraw(how: 'delete' | 'stop'): void {
    const state = this.#state
    if (state.kind === 'withdrawn') return
    this.#enter({ kind: 'withdrawn', znode: how === 'stop' ? null : state.znode, how }, how === 'stop' ? 'stop' : 'exit')
    if (how === 'delete') this.kick()
  }

  /**
   * The only place that assigns the state. Leaving a state ends what it
   * owned and the next one does not: the leadership (its signal aborts, the
   * election hears of the step-down), the staged process (killed unless it
   * ended by itself), the watch retry; `placed` settles when withdrawn or leading.
   */
  #enter(next: CandidacyState, why: StepDownReason = 'exit'): void {
    const old = this.#state
    this.#state = next
    if (old.kind === 'leading' && next.kind !== 'leading') {
      old.lead.end(why)
      this.#killStage(old.stage, why === 'exit' ? 'normal' : `stepDown: ${why}`)
      this.context.steppedDown(old.lead, why)
    } else if ('stage' in old && !('stage' in next && next.stage === old.stage)) {
      this.#killStage(old.stage, 'withdrawn')
    }
    if (next.kind === 'withdrawn' || next.kind === 'suspended') {
      this.#rearm?.cancel()
      this.#rearm = null
    }
    if (next.kind === 'withdrawn') {
      if (next.how === 'stop') {
        this.#retry?.cancel()
        this.#retry = null
      }
      this.#settlePlaced?.reject(new Error(`the candidacy for ${JSON.stringify(this.name)} was withdrawn`))
      this.#settlePlaced = null
      this.context.withdrawn(this)
    } else if (next.kind === 'leading') {
      this.#placed()
    }
    this.context.transitioned()
  }

  #placed(): void {
    this.#settlePlaced?.resolve()
    this.#settlePlaced = null
  }

  #killStage(stage: Stage, reason: string): void {
    if (!stage.ended && reason !== 'normal') this.context.node.kill(stage.pid, reason)
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
    if (!isTransient(error)) {
      this.context.log.error(`election ${this.name}: ${this.#state.kind}`, error)
      const settle = this.#settlePlaced
      if (settle !== null) {
        this.#settlePlaced = null
        this.withdraw('delete')
        settle.reject(error)
        return
      }
    }
    if (this.#state.kind === 'withdrawn' && this.#state.how === 'stop') return
    this.#retry = this.context.session.later(this.#retryMs, () => this.kick())
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS)
  }

  #step(): Promise<void> {
    const state = this.#state
    switch (state.kind) {
      case 'standing':
        return this.#stand(state)
      case 'waiting':
        return this.#check(state)
      case 'suspended':
      case 'withdrawn':
        return this.#giveUpZnode(state)
      case 'leading':
        return Promise.resolve()
    }
  }

  async #stand(state: CandidacyState & { kind: 'standing' }): Promise<void> {
    const { session, layout, acl, log } = this.context
    const zk = await session.client()
    let znode = state.znode
    // After a failure below, the znode made by an earlier pass is still ours: never make a second one.
    if (znode === null || znode.sessionId !== zk.sessionId) {
      znode = await createCandidate(zk, layout.candidates(this.name), state.stage.pid.encode(), acl, log, this.#clock)
      if (this.#state !== state) return this.#orphan(znode)
      this.#enter({ ...state, znode })
      log.trace(`election ${this.name}: standing as ${znode.child}`)
    }
    try {
      await zk.getData(znode.path, { watch: this.#onOwnZnode })
    } catch (error) {
      if (!isZk(error, 'NONODE')) throw error
      return this.#standAgain(`${znode.child} is gone`)
    }
    const now = this.#state
    if (now.kind === 'standing' && now.znode === znode) this.#enter({ kind: 'waiting', stage: now.stage, znode, holderAhead: null, near: true })
    this.#kicked = true
  }

  /** A znode created for a state that is gone meanwhile (stepped down, withdrawn): the loop deletes it. */
  #orphan(znode: CandidateZnode): void {
    const state = this.#state
    if ((state.kind === 'suspended' || state.kind === 'withdrawn') && state.znode === null) this.#enter({ ...state, znode })
    this.#kicked = true
  }

  async #check(state: CandidacyState & { kind: 'waiting' }): Promise<void> {
    const { session, layout, log } = this.context
    const zk = await session.client()
    const { znode } = state
    if (znode.sessionId !== zk.sessionId) return this.#standAgain('its session is gone')
    const dir = layout.candidates(this.name)
    const candidates = sortCandidates(await zk.getChildren(dir))
    if (this.#state !== state) return
    const at = candidates.findIndex(candidate => candidate.child === znode.child)
    if (at < 0) return this.#standAgain(`${znode.child} is gone`)
    if (at === 0) return this.#lead(state)
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
    const now = this.#state
    if (now.kind === 'waiting' && now.znode === znode) this.#enter({ ...now, holderAhead: at === 1 || announced ? { path: predecessor, epoch } : null, near: at <= 2 })
    log.trace(`election ${this.name}: ${znode.child} watches ${candidates[at - 1]!.child}`)
    this.#placed()
  }

  #standAgain(why: string): void {
    this.context.log.trace(`election ${this.name}: standing again (${why})`)
    const state = this.#state
    if (state.kind === 'waiting' || state.kind === 'standing') this.#enter({ kind: 'standing', stage: state.stage, znode: null })
    this.#kicked = true
  }

  #lead(state: CandidacyState & { kind: 'waiting' }): void {
    const { lease, log, session } = this.context
    const { znode, stage } = state
    if (!lease.ready()) {
      // First in line, but no fresh evidence that the session lives (just reconnected, a node
      // that was cold, or ZooKeeper is slow): keep the place and look again when a sync comes back.
      log.trace(`election ${this.name}: ${znode.child} is first but its lease is not ready; waiting for a sync`)
      lease.whenRenewed(() => this.kick())
      return
    }
    const lead = new Lead(
      { name: this.name, pid: stage.pid, token: Number(znode.czxid), seq: znode.seq, path: znode.path, czxid: znode.czxid, sessionId: znode.sessionId, since: this.#clock.now() },
      () => lease.valid(),
      this.context.leaseRanOut,
    )
    this.#enter({ kind: 'leading', stage, znode, lead })
    log.trace(`election ${this.name}: ${znode.child} leads (token ${znode.czxid})`)
    this.context.elected(lead)
    stage.elect(lead)
    // Tell the successor it is next in line (see #onPredecessor): off the handover's path, after
    // the function has started (written now, its socket write would come first).
    session.later(0, () => {
      if (this.#state.kind === 'leading' && this.#state.znode === znode) session.zk.setData(znode.path, stage.pid.encode(), 0).catch(() => undefined)
    })
  }

  /** Deletes the znode of a suspended or withdrawn candidacy (if its session still holds it), then stands again if suspended. */
  async #giveUpZnode(state: CandidacyState & { kind: 'suspended' | 'withdrawn' }): Promise<void> {
    const { znode } = state
    if (znode !== null) {
      const zk = await this.context.session.client()
      if (znode.sessionId === zk.sessionId) await deleteIfExists(zk, znode.path)
    }
    const now = this.#state
    if (now !== state) {
      this.#kicked = true
      return
    }
    if (now.kind === 'suspended') {
      const stage = this.#spawnStage()
      this.#pid = stage.pid
      this.#enter({ kind: 'standing', stage, znode: null })
      this.#kicked = true
    } else {
      this.#enter({ ...now, znode: null })
    }
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
    const state = this.#state
    if (state.kind !== 'waiting') return this.kick()
    const ahead = state.holderAhead
    this.#enter({ ...state, holderAhead: null })
    const lowest = event.type === 'NodeDeleted' && ahead?.path === event.path && ahead.epoch === session.epoch
    if (lowest && state.znode.sessionId === session.zk.sessionId) {
      log.trace(`election ${this.name}: the holder before ${state.znode.child} is gone`)
      this.#lead({ ...state, holderAhead: null })
    } else {
      this.kick()
    }
  }

  /** Our own candidate znode changed: deleted by someone else, or its data rewritten (then the watch is set again). */
  readonly #onOwnZnode = (event: WatchedEvent): void => {
    const state = this.#state
    if (event.type === 'None' || !('znode' in state) || state.znode === null || event.path !== state.znode.path) return
    if (event.type === 'NodeDeleted') return this.#ownZnodeGone(state.znode)
    this.#watchOwnZnode(state.znode, FIRST_RETRY_MS)
  }

  /**
   * Sets the watch on our own znode again. Until it is set the candidacy
   * cannot hear that someone else deleted it, so a failure is retried (with
   * backoff) for as long as the znode is ours: a NONODE then means it is gone.
   */
  #watchOwnZnode(znode: CandidateZnode, retryMs: number): void {
    this.#rearm?.cancel()
    this.#rearm = null
    const mine = (): boolean => {
      const state = this.#state
      return 'znode' in state && state.znode === znode && state.kind !== 'suspended' && state.kind !== 'withdrawn'
    }
    this.context.session.zk.getData(znode.path, { watch: this.#onOwnZnode }).catch(error => {
      if (!mine()) return
      if (isZk(error, 'NONODE')) return this.#ownZnodeGone(znode)
      if (isClosed(error) || isExpired(error)) return
      this.context.log.trace(`election ${this.name}: could not watch ${znode.child} again (${(error as Error).message}); retrying in ${retryMs} ms`)
      this.#rearm = this.#clock.setTimer(retryMs, () => {
        this.#rearm = null
        if (mine()) this.#watchOwnZnode(znode, Math.min(retryMs * 2, MAX_RETRY_MS))
      }).unref()
    })
  }

  #ownZnodeGone(znode: CandidateZnode): void {
    const state = this.#state
    if (state.kind === 'leading' && state.znode === znode) {
      this.context.log.error(`election ${this.name}: ${znode.path} was deleted by someone else; stepping down`)
      this.stepDown('deleted')
    } else if (state.kind === 'waiting' && state.znode === znode) {
      this.#enter({ ...state, holderAhead: null })
      this.kick()
    }
  }

  #spawnStage(): Stage {
    const { node } = this.context
    let elect!: (lead: Lead) => void
    const elected = new Promise<Lead>(resolve => (elect = resolve))
    const pid = node.spawn(async self => {
      const lead = await untilAborted(elected, self.signal)
      if (lead !== undefined) await this.fn(guardProcess(self, lead), lead)
    })
    const stage: Stage = { pid, elect, ended: false }
    node.monitor(pid, () => {
      stage.ended = true
      this.#stageEnded(stage)
    })
    return stage
  }

  /** The staged (or global) process ended by itself: the candidacy is over. */
  #stageEnded(stage: Stage): void {
    const state = this.#state
    if (!('stage' in state) || state.stage !== stage) return
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
