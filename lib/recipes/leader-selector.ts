import { EventEmitter } from 'node:events'
import type { ZooKeeper } from '../zk-wire/index.js'
import { realEnv, type Env } from '../env.js'
import { checkMargin, checkPath, join } from './args.js'
import { RecipeError } from './errors.js'
import type { Term, LeadershipEnd, Participant } from './term.js'
import { Lock } from './lock.js'
import type { TenureOptions } from './tenure.js'
import { trigger } from './deadline.js'
import { isSessionOver, isZk, sessionOver } from './znodes.js'
import { sortChildren, mutexRule } from './queue-rules.js'

/** The leader's work: runs while this participant leads; leadership ends when it returns. */
export type LeaderFunction = (leadership: Term) => Promise<void> | void

/** Options of {@link LeaderSelector}. */
export interface LeaderSelectorOptions extends TenureOptions {
  /** This participant's id, written to its znode. Default `''`. */
  id?: string
  /** Stand again each time the leader function returns (default true); otherwise call `requeue()`. */
  autoRequeue?: boolean
  /** Clock, timers and randomness (default: the real ones). */
  env?: Env
}

/** Events of {@link LeaderSelector}. */
export interface LeaderSelectorEvents {
  isLeader: [leadership: Term]
  notLeader: [reason: LeadershipEnd]
  /** The leader function threw (leadership ends as if it had returned). */
  error: [error: unknown]
  /** The selector can go on no longer (its session ended). */
  ended: [error: Error]
}

type State = { kind: 'latent' } | { kind: 'started' } | { kind: 'ended'; error: Error } | { kind: 'closing' | 'closed'; done: Promise<void> }

/**
 * Leader election that runs a function while leading (Curator's
 * `LeaderSelector`, kazoo's `Election`): each turn acquires a {@link Lock}
 * on `path` (so it interoperates with Curator's LeaderSelector, which is a
 * mutex on the same path), runs the leader function with a
 * {@link Term}, and releases when the function returns — then stands
 * again at the back of the queue (`autoRequeue`). The leadership's `signal`
 * fires when it is lost (session suspect/expired, znode deleted) or
 * interrupted: the function should stop when it does.
 *
 * ```ts
 * const selector = new LeaderSelector(zk, '/election/reports', async ({ token, signal }) => {
 *   await produceReport({ fence: token, signal })
 * })
 * selector.start()
 * ```
 */
export class LeaderSelector extends EventEmitter<LeaderSelectorEvents> {
  #state: State = { kind: 'latent' }
  #lock: Lock | null = null
  #current: { leadership: Term; interrupt: AbortController } | null = null
  #requeue = trigger<void>()
  #loop: Promise<void> | null = null
  readonly #closed = new AbortController()
  readonly #env: Env

  /** @throws RecipeError `'BAD_ARGUMENT'` for an invalid path, function or options */
  constructor(
    private readonly zk: ZooKeeper,
    readonly path: string,
    private readonly fn: LeaderFunction,
    private readonly options: LeaderSelectorOptions = {},
  ) {
    super()
    checkPath(path, 'leader selector')
    if (typeof fn !== 'function') throw new RecipeError('BAD_ARGUMENT', 'leader selector: the leader function must be a function')
    if (options.id !== undefined && typeof options.id !== 'string') throw new RecipeError('BAD_ARGUMENT', 'leader selector: id must be a string')
    this.#env = options.env ?? realEnv
    checkMargin(options.margin, 'leader selector')
  }

  /** Whether the leader function runs here now. */
  get hasLeadership(): boolean {
    return this.#current !== null && !this.#current.leadership.signal.aborted
  }

  /** Where the selector is: `'latent'`, `'started'`, `'ended'` (session over), `'closing'`, `'closed'`. */
  get state(): State['kind'] {
    return this.#state.kind
  }

  /** Joins the election. Throws `'BUSY'` if started before, `'CLOSED'` after close. */
  start(): void {
    if (this.#state.kind === 'closing' || this.#state.kind === 'closed') throw new RecipeError('CLOSED', `leader selector ${this.path}: closed`)
    if (this.#state.kind !== 'latent') throw new RecipeError('BUSY', `leader selector ${this.path}: already started`)
    this.#state = { kind: 'started' }
    this.#loop = this.#run()
  }

  /** With `autoRequeue: false`: stand again after the leader function returned. */
  requeue(): void {
    this.#requeue.fire()
  }

  /** Fires the current leadership's signal (reason: `'relinquished'`), asking the leader function to return. */
  interruptLeadership(): void {
    this.#current?.interrupt.abort(new RecipeError('LOST', `leadership of ${this.path} interrupted`))
  }

  /** Every participant in queue order (the first leads). */
  async participants(): Promise<Participant[]> {
    let children: string[]
    try {
      children = sortChildren(await this.zk.getChildren(this.path), mutexRule('lock-'))
    } catch (error) {
      if (isZk(error, 'NONODE')) return []
      throw error
    }
    const found = await Promise.all(children.map(async (name) => {
      const path = join(this.path, name)
      return this.zk.getData(path).then((r) => ({ id: r.data.toString(), path }), () => null)
    }))
    return found.filter((p) => p !== null).map((p, i) => ({ ...p!, isLeader: i === 0 }))
  }

  /**
   * Leaves the election: interrupts a running leader function, waits for it
   * to return, releases the lock and leaves nothing behind. A second call
   * resolves when the first is done.
   */
  close(): Promise<void> {
    const s = this.#state
    if (s.kind === 'closing' || s.kind === 'closed') return s.done
    this.#closed.abort()
    this.#current?.interrupt.abort(new RecipeError('LOST', `leader selector ${this.path}: closed`))
    this.#requeue.fire()
    const done = (async () => {
      await this.#lock?.close()
      await this.#loop
    })()
    this.#state = { kind: 'closing', done }
    void done.then(() => (this.#state = { kind: 'closed', done }), () => undefined)
    return done
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  async #run(): Promise<void> {
    while (this.#state.kind === 'started') {
      const lock = new Lock(this.zk, this.path, { data: this.options.id ?? '', env: this.#env, margin: this.options.margin })
      this.#lock = lock
      let hold
      try {
        hold = await lock.acquire({ signal: this.#closed.signal })
      } catch (error) {
        await lock.close()
        if (this.#closed.signal.aborted) return
        if (isSessionOver(error) || (error instanceof RecipeError && error.code === 'LOST')) return this.#end(error as Error)
        this.#report(error)
        continue
      }
      const interrupt = new AbortController()
      const leadership: Term = { path: hold.path, token: hold.token, since: this.#env.now(), signal: AbortSignal.any([hold.signal, interrupt.signal]) }
      this.#current = { leadership, interrupt }
      this.emit('isLeader', leadership)
      try {
        await this.fn(leadership)
      } catch (error) {
        this.#report(error)
      }
      this.#current = null
      const reason = hold.signal.aborted ? ((hold.signal.reason as { reason?: LeadershipEnd }).reason ?? 'expired') : interrupt.signal.aborted ? 'relinquished' : 'stopped'
      await hold.release().catch(() => undefined)
      await lock.close()
      this.emit('notLeader', reason)
      if (this.options.autoRequeue === false && this.#state.kind === 'started') {
        await this.#requeue.promise
        this.#requeue = trigger<void>()
      }
      if (sessionOver(this.zk)) return this.#end(new RecipeError('LOST', `leader selector ${this.path}: the ZooKeeper session ended`))
    }
  }

  #report(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error)
    else process.emitWarning(`leader selector ${this.path}: ${String(error)}`)
  }

  #end(error: Error): void {
    if (this.#state.kind !== 'started') return
    this.#state = { kind: 'ended', error }
    this.emit('ended', error)
  }
}
