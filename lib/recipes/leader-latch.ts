import { EventEmitter } from 'node:events'
import type { ZkState, ZooKeeper } from '../zk-wire/index.js'
import { realEnv, type Env } from '../env.js'
import { checkMargin, checkPath, checkWait, join, type WaitOptions } from './args.js'
import { Deadline, trigger } from './deadline.js'
import { RecipeError } from './errors.js'
import { TermImpl, type Term, type LeadershipEnd, type Participant } from './term.js'
import { mutexRule, sortChildren } from './queue-rules.js'
import { Tenure, type LossReason, type TenureOptions } from './tenure.js'
import { createProtected, deleteSurely, dropDataWatch, isSessionOver, isTransient, isZk, sessionOver, type Created } from './znodes.js'

/** Options of {@link LeaderLatch}. */
export interface LeaderLatchOptions extends TenureOptions {
  /** This participant's id, written to its znode (Curator's latch id). Default `''`. */
  id?: string
  /** Clock, timers and randomness (default: the real ones). */
  env?: Env
}

/** Events of {@link LeaderLatch}. */
export interface LeaderLatchEvents {
  /** This latch became the leader. */
  isLeader: [leadership: Term]
  /** This latch stopped being the leader (its `signal` has fired unless `reason` is `'stopped'` or `'relinquished'`). */
  notLeader: [reason: LeadershipEnd]
  /** The latch can go on no longer: its session ended (or a call failed for good). */
  ended: [error: Error]
}

type State =
  | { kind: 'latent' }
  | { kind: 'started'; node: Created | null; leadership: TermImpl | null; watched: string | null }
  | { kind: 'ended'; error: Error }
  | { kind: 'closing' | 'closed'; done: Promise<void> }

const RULE = mutexRule('latch-')

/**
 * Leader election on Curator's `LeaderLatch` protocol, on a plain client: each
 * participant creates `<path>/_c_<uuid>-latch-<seq>` (protected, ephemeral,
 * sequential, data = its id); the lowest sequence number leads; the others
 * each watch the one just before them. Interoperates with Curator's
 * LeaderLatch on the same path.
 *
 * Term is given up (`notLeader`, and the {@link Term} signal
 * fires) when the session may be expiring, before any other participant can
 * be elected; if the session turns out alive, the latch checks again and may
 * lead again. After the session expired the latch ends (`ended`): start a
 * new one on a new session.
 *
 * ```ts
 * const latch = new LeaderLatch(zk, '/election/jobs', { id: 'worker-1' })
 * await latch.start()
 * const leadership = await latch.await()
 * runJobs({ fence: leadership.token, signal: leadership.signal })
 * ```
 */
export class LeaderLatch extends EventEmitter<LeaderLatchEvents> {
  #state: State = { kind: 'latent' }
  #again = false
  #loop: Promise<void> | null = null
  readonly #waiters = new Set<() => void>()
  readonly #closed = new AbortController()
  readonly #env: Env
  readonly #id: string
  #placed = trigger<Error | null>()
  readonly #onState = (state: ZkState): void => {
    if (state === 'connected') this.#kick()
    else if (state === 'expired' || state === 'authFailed' || state === 'closed') this.#end(new RecipeError('LOST', `leader latch ${this.path}: the ZooKeeper session ${state === 'closed' ? 'was closed' : 'expired'}`))
  }

  /** @throws RecipeError `'BAD_ARGUMENT'` for an invalid path or options */
  constructor(
    private readonly zk: ZooKeeper,
    /** The election's znode; candidates are its children. */
    readonly path: string,
    private readonly options: LeaderLatchOptions = {},
  ) {
    super()
    checkPath(path, 'leader latch')
    if (options.id !== undefined && typeof options.id !== 'string') throw new RecipeError('BAD_ARGUMENT', 'leader latch: id must be a string')
    checkMargin(options.margin, 'leader latch')
    this.#env = options.env ?? realEnv
    this.#id = options.id ?? ''
  }

  /** This participant's id. */
  get id(): string {
    return this.#id
  }

  /** Whether this latch leads now. */
  get hasLeadership(): boolean {
    const s = this.#state
    return s.kind === 'started' && s.leadership !== null && !s.leadership.tenure.lost
  }

  /** The current leadership, or null. */
  get leadership(): Term | null {
    return this.hasLeadership ? (this.#state as { leadership: TermImpl }).leadership : null
  }

  /** Where the latch is: `'latent'` (not started), `'started'`, `'ended'` (session over), `'closing'`, `'closed'`. */
  get state(): State['kind'] {
    return this.#state.kind
  }

  /**
   * Joins the election; resolves once this participant's znode is in the
   * queue. Rejects with `'BUSY'` if started before, `'CLOSED'` after close.
   */
  async start(): Promise<void> {
    const s = this.#state
    if (s.kind === 'closing' || s.kind === 'closed') throw new RecipeError('CLOSED', `leader latch ${this.path}: closed`)
    if (s.kind !== 'latent') throw new RecipeError('BUSY', `leader latch ${this.path}: already started`)
    this.#state = { kind: 'started', node: null, leadership: null, watched: null }
    this.zk.on('state', this.#onState)
    if (sessionOver(this.zk)) this.#onState(this.zk.state)
    this.#kick()
    const error = await this.#placed.promise
    if (error) throw error
  }

  /**
   * Resolves with the leadership once this latch leads (at once if it does).
   * Rejects with `'TIMEOUT'`, `'ABORTED'`, `'CLOSED'`, or `'LOST'` if the
   * latch ended; with `'BUSY'` if it was not started.
   */
  async await(options?: WaitOptions): Promise<Term> {
    checkWait(options, `leader latch ${this.path}: await`)
    const deadline = new Deadline(this.#env, options, this.#closed.signal, `leader latch ${this.path}: await`)
    for (;;) {
      const s = this.#state
      if (s.kind === 'latent') throw new RecipeError('BUSY', `leader latch ${this.path}: await() before start()`)
      if (s.kind === 'ended') throw s.error
      if (s.kind !== 'started') throw new RecipeError('CLOSED', `leader latch ${this.path}: closed`)
      if (s.leadership !== null && !s.leadership.tenure.lost) return s.leadership
      deadline.check()
      const wake = trigger<void>()
      this.#waiters.add(wake.fire)
      try {
        await deadline.wait(wake.promise)
      } finally {
        this.#waiters.delete(wake.fire)
      }
    }
  }

  /**
   * Gives up leadership and stands again at the back of the queue
   * (`notLeader` with `'relinquished'`). A no-op when not leading.
   */
  async relinquish(): Promise<void> {
    const s = this.#state
    if (s.kind !== 'started' || s.leadership === null || s.node === null) return
    const node = s.node
    s.node = null
    this.#endLeadership(s, 'relinquished')
    await deleteSurely(this.zk, node.path)
    this.#kick()
  }

  /** Every participant in queue order (the first leads). */
  async participants(): Promise<Participant[]> {
    let children: string[]
    try {
      children = sortChildren(await this.zk.getChildren(this.path), RULE)
    } catch (error) {
      if (isZk(error, 'NONODE')) return []
      throw error
    }
    const found = await Promise.all(children.map(async (name, i) => {
      const path = join(this.path, name)
      try {
        return { id: (await this.zk.getData(path)).data.toString(), path, isLeader: i === 0 }
      } catch (error) {
        if (isZk(error, 'NONODE')) return null
        throw error
      }
    }))
    const present = found.filter((p): p is Participant => p !== null)
    return present.map((p, i) => ({ ...p, isLeader: i === 0 }))
  }

  /** The current leader, or null if nobody stands. */
  async leader(): Promise<Participant | null> {
    return (await this.participants())[0] ?? null
  }

  /**
   * Leaves the election: gives up leadership (`notLeader` with `'stopped'`),
   * deletes its znode and leaves no watch or timer behind; pending `await()`s
   * reject with `'CLOSED'`. A second call resolves when the first is done.
   */
  close(): Promise<void> {
    const s = this.#state
    if (s.kind === 'closing' || s.kind === 'closed') return s.done
    this.#closed.abort()
    const done = (async () => {
      this.zk.off('state', this.#onState)
      this.#placed.fire(new RecipeError('CLOSED', `leader latch ${this.path}: closed`))
      if (s.kind === 'started') {
        this.#endLeadership(s, 'stopped')
        await this.#loop
        if (s.watched !== null) await dropDataWatch(this.zk, s.watched)
        if (s.node !== null) await deleteSurely(this.zk, s.node.path)
      }
      this.#wakeAll()
    })()
    this.#state = { kind: 'closing', done }
    void done.then(() => (this.#state = { kind: 'closed', done }), () => undefined)
    return done
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  #wakeAll(): void {
    for (const wake of [...this.#waiters]) wake()
  }

  #kick(): void {
    this.#again = true
    this.#loop ??= this.#run().finally(() => (this.#loop = null))
  }

  async #run(): Promise<void> {
    while (this.#again) {
      this.#again = false
      const s = this.#state
      if (s.kind !== 'started') return
      try {
        await this.#pass(s)
      } catch (error) {
        if (isTransient(error)) continue // the reconnect kicks again as well
        if (isSessionOver(error)) this.#end(new RecipeError('LOST', `leader latch ${this.path}: the ZooKeeper session ended`, { cause: error }))
        else this.#end(error as Error)
        return
      }
    }
  }

  /** One look at the queue: create the znode if needed, then lead or watch the predecessor. */
  async #pass(s: Extract<State, { kind: 'started' }>): Promise<void> {
    if (s.node === null) {
      const node = await createProtected(this.zk, this.path, RULE.base, this.#id, 'ephemeral_sequential', this.#env)
      if (this.#state !== s) return void (await deleteSurely(this.zk, node.path))
      s.node = node
      this.#placed.fire(null)
      this.#watchOwn(s, node)
    }
    const node = s.node
    const children = await this.zk.getChildren(this.path)
    if (this.#state !== s || s.node !== node) return
    const sorted = sortChildren(children, RULE)
    const index = sorted.indexOf(node.name)
    if (index < 0) {
      s.node = null // deleted under us (the watch on it may not have fired yet): stand again
      this.#endLeadership(s, 'deleted')
      this.#kick()
      return
    }
    if (index === 0) {
      if (s.leadership === null) this.#lead(s, node)
      return
    }
    this.#endLeadership(s, 'deleted')
    const predecessor = join(this.path, sorted[index - 1]!)
    if (s.watched !== null && s.watched !== predecessor) await dropDataWatch(this.zk, s.watched)
    s.watched = predecessor
    try {
      await this.zk.getData(predecessor, {
        watch: (event) => {
          if (event.type === 'NodeDeleted' && this.#state === s && s.watched === predecessor) {
            s.watched = null
            this.#kick()
          }
        },
      })
    } catch (error) {
      if (!isZk(error, 'NONODE')) throw error
      s.watched = null
      this.#kick()
    }
  }

  /** Watches our own znode, so a deletion by someone else (or a relinquish) is noticed at once. */
  #watchOwn(s: Extract<State, { kind: 'started' }>, node: Created): void {
    const watch = (): void => {
      if (this.#state !== s || s.node !== node) return
      s.node = null
      this.#endLeadership(s, 'deleted')
      this.#kick()
    }
    this.zk.exists(node.path, { watch: (event) => event.type === 'NodeDeleted' && watch() }).then(
      (stat) => stat === null && watch(),
      () => undefined,
    )
  }

  #lead(s: Extract<State, { kind: 'started' }>, node: Created): void {
    const tenure = new Tenure(this.zk, this.#env, this.options.margin, (reason) => this.#lost(s, reason), `leadership of ${this.path}`)
    s.leadership = new TermImpl(node.path, node.stat.czxid, this.#env.now(), tenure)
    this.emit('isLeader', s.leadership)
    this.#wakeAll()
  }

  /** The tenure reported a loss: not leader; after a suspicion the reconnect (or the check) decides again. */
  #lost(s: Extract<State, { kind: 'started' }>, reason: LossReason): void {
    if (s.leadership === null) return
    s.leadership = null
    this.emit('notLeader', reason)
    // Look again: once the server answers, the session is alive (a suspicion was unfounded) or the latch ends.
    this.#kick()
  }

  #endLeadership(s: Extract<State, { kind: 'started' }>, reason: LeadershipEnd): void {
    const leadership = s.leadership
    if (leadership === null) return
    s.leadership = null
    if (reason === 'stopped' || reason === 'relinquished') leadership.tenure.end()
    else leadership.tenure.lose(reason)
    this.emit('notLeader', reason)
  }

  #end(error: Error): void {
    const s = this.#state
    if (s.kind !== 'started') return
    this.zk.off('state', this.#onState)
    this.#endLeadership(s, 'expired')
    this.#state = { kind: 'ended', error }
    this.#placed.fire(error)
    this.#wakeAll()
    this.emit('ended', error)
  }
}
