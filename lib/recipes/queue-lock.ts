import { EventEmitter } from 'node:events'
import type { Data, WatchedEvent, ZooKeeper } from '../zk-wire/index.js'
import { realEnv, type Env } from '../env.js'
import { checkMargin, checkPath, checkWait, join, type WaitOptions } from './args.js'
import { Deadline, trigger } from './deadline.js'
import { RecipeError } from './errors.js'
import { sortChildren, type QueueRule } from './queue-rules.js'
import { HoldImpl, Tenure, type LossReason, type TenureOptions } from './tenure.js'
import { createProtected, createProtectedAndList, deleteSurely, dropDataWatch, isZk, retrying, sessionOver, type Created } from './znodes.js'

/** Options of {@link Lock} (and of the locks of a {@link ReadWriteLock}). */
export interface LockOptions extends TenureOptions {
  /** Data of this object's candidate znodes (what `participants()` shows others). */
  data?: Data
  /** Clock, timers and randomness (default: the real ones). */
  env?: Env
}

/**
 * A held lock (or read/write lock). Release it with `release()` or by
 * leaving an `await using` scope.
 */
export interface Hold extends AsyncDisposable {
  /** The candidate znode that holds. */
  readonly path: string
  /**
   * Fencing token: the zxid that created the znode. Each later holder of the
   * same lock has a larger one, so a resource that remembers the largest
   * token it has seen can refuse a deposed holder's late writes.
   */
  readonly token: bigint
  /** Fires if the lock is lost while held (its reason: a `RecipeError` `'LOST'` saying why). Never on a normal release. */
  readonly signal: AbortSignal
  /** Releases the lock (a no-op once it was lost or released). */
  release(): Promise<void>
}

/** Events of the lock recipes. */
export interface LockEvents {
  /** The held lock was lost (before anyone else can have been granted it, for `'suspect'`). */
  lost: [reason: LossReason, error: RecipeError]
}

type State =
  | { kind: 'idle' }
  | { kind: 'acquiring'; done: Promise<unknown> }
  | { kind: 'held'; hold: HoldImpl }
  | { kind: 'closing'; done: Promise<void> }
  | { kind: 'closed'; done: Promise<void> }

/**
 * The protocol shared by Curator's lock recipes (`LockInternals`): a
 * protected ephemeral sequential candidate under the lock path, the children
 * sorted by sequence number, and a watch (set with `getData`, so none is left
 * on a vanished node) on the one candidate that stands in the way. `rule`
 * decides who holds. Not re-entrant: one object holds at most once.
 */
export class QueueLock extends EventEmitter<LockEvents> {
  #state: State = { kind: 'idle' }
  readonly #closed = new AbortController()
  readonly #env: Env
  readonly #data: Data | null

  /** @throws RecipeError `'BAD_ARGUMENT'` for an invalid path or options */
  constructor(
    protected readonly zk: ZooKeeper,
    /** The lock's znode; candidates are its children. */
    readonly path: string,
    private readonly rule: QueueRule,
    private readonly options: LockOptions = {},
    private readonly what = 'lock',
  ) {
    super()
    checkPath(path, what)
    checkMargin(options.margin, what)
    this.#env = options.env ?? realEnv
    this.#data = options.data ?? null
  }

  /** Whether this object holds the lock now. */
  get isHeld(): boolean {
    return this.#state.kind === 'held' && !this.#state.hold.tenure.lost
  }

  /** The current hold, if any. */
  get hold(): Hold | null {
    return this.#state.kind === 'held' ? this.#state.hold : null
  }

  /**
   * Waits for the lock and resolves with the {@link Hold}. Rejects with a
   * `RecipeError` (`'TIMEOUT'`, `'ABORTED'`, `'CLOSED'`, `'BUSY'` if this
   * object already holds or is acquiring) or the `ZkError` that ended the
   * session; in every case its candidate znode is deleted first.
   */
  async acquire(options?: WaitOptions): Promise<Hold> {
    checkWait(options, `${this.what} ${this.path}: acquire`)
    const state = this.#state
    if (state.kind === 'closing' || state.kind === 'closed') throw new RecipeError('CLOSED', `${this.what} ${this.path}: closed`)
    if (state.kind !== 'idle') throw new RecipeError('BUSY', `${this.what} ${this.path}: this object already ${state.kind === 'held' ? 'holds the lock' : 'is acquiring it'} (locks are not re-entrant)`)
    const deadline = new Deadline(this.#env, options, this.#closed.signal, `${this.what} ${this.path}: acquire`)
    const run = (async (): Promise<Hold> => {
      const node = await this.#acquire(deadline)
      if (this.#closed.signal.aborted) {
        await deleteSurely(this.zk, node.path)
        throw new RecipeError('CLOSED', `${this.what} ${this.path}: closed`)
      }
      const tenure = new Tenure(this.zk, this.#env, this.options.margin, (reason, error) => this.#lost(hold, reason, error), `${this.what} ${this.path}`)
      const hold: HoldImpl = new HoldImpl(node, tenure, (h) => this.#release(h))
      this.#state = { kind: 'held', hold }
      return hold
    })()
    this.#state = { kind: 'acquiring', done: run.catch(() => undefined) }
    try {
      return await run
    } catch (error) {
      if (this.#state.kind === 'acquiring') this.#state = { kind: 'idle' }
      throw error
    }
  }

  /** One attempt without waiting: the hold, or null if someone else holds. */
  async tryAcquire(): Promise<Hold | null> {
    try {
      return await this.acquire({ timeout: 0 })
    } catch (error) {
      if (error instanceof RecipeError && error.code === 'TIMEOUT') return null
      throw error
    }
  }

  /** Releases the lock. Rejects with `RecipeError` `'NOT_HELD'` if this object does not hold it. */
  async release(): Promise<void> {
    const state = this.#state
    if (state.kind !== 'held') throw new RecipeError('NOT_HELD', `${this.what} ${this.path}: release() but this object does not hold the lock`)
    await state.hold.release()
  }

  /** Acquires, runs `fn` with the hold, and releases however `fn` ends. */
  async run<T>(fn: (hold: Hold) => Promise<T> | T, options?: WaitOptions): Promise<T> {
    const hold = await this.acquire(options)
    try {
      return await fn(hold)
    } finally {
      await hold.release()
    }
  }

  /** The candidate znodes, in queue order (the first holds). */
  async participants(): Promise<string[]> {
    try {
      return sortChildren(await this.zk.getChildren(this.path), this.rule).map((name) => join(this.path, name))
    } catch (error) {
      if (isZk(error, 'NONODE')) return []
      throw error
    }
  }

  /**
   * Releases the lock if held, ends a pending acquire (it rejects with
   * `'CLOSED'`), and leaves no znode, watch or timer behind. A second call
   * resolves when the first is done; any other call afterwards rejects with
   * `'CLOSED'`.
   */
  close(): Promise<void> {
    const state = this.#state
    if (state.kind === 'closing' || state.kind === 'closed') return state.done
    this.#closed.abort()
    const done: Promise<void> = (async () => {
      if (state.kind === 'acquiring') await state.done
      const now = this.#state
      if (now.kind === 'held') await now.hold.release()
    })()
    this.#state = { kind: 'closing', done }
    void done.then(() => (this.#state = { kind: 'closed', done }))
    return done
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  async #release(hold: HoldImpl): Promise<void> {
    hold.tenure.end()
    await deleteSurely(this.zk, hold.path)
    if (this.#state.kind === 'held' && this.#state.hold === hold) this.#state = { kind: 'idle' }
  }

  #lost(hold: HoldImpl, reason: LossReason, error: RecipeError): void {
    // The session may live on (a suspicion, a deleted node): take the znode away so the next candidate can go.
    void hold.release().catch(() => undefined)
    this.emit('lost', reason, error)
  }

  /** Creates the candidate, waits for its turn; on any failure deletes it (and the watch) before rejecting. */
  async #acquire(deadline: Deadline): Promise<Created> {
    deadline.check(false)
    let node: Created | null = null
    let watched: string | null = null
    try {
      const first = await createProtectedAndList(this.zk, this.path, this.rule.base, this.#data, 'ephemeral_sequential', this.#env, true)
      node = first.created
      let listed = first.children
      for (;;) {
        const children = listed ?? (await retrying(() => this.zk.getChildren(this.path)))
        listed = null
        const sorted = sortChildren(children, this.rule)
        if (!children.includes(node.name)) {
          // Deleted under us (the session lives on, or the calls above had failed): stand again.
          if (sessionOver(this.zk)) throw new RecipeError('LOST', `${this.what} ${this.path}: the session ended while acquiring`)
          node = await createProtected(this.zk, this.path, this.rule.base, this.#data, 'ephemeral_sequential', this.#env)
          continue
        }
        const decision = this.rule.decide(sorted, node.name)
        if (decision.holds) return node
        deadline.check()
        const wake = trigger<WatchedEvent>()
        watched = join(this.path, decision.watch)
        try {
          await retrying(() => this.zk.getData(watched!, { watch: wake.fire }))
        } catch (error) {
          if (isZk(error, 'NONODE')) continue
          throw error
        }
        const event = await deadline.wait(wake.promise)
        watched = null
        if (decision.next && event.type === 'NodeDeleted') {
          this.#verify(node)
          return node
        }
      }
    } catch (error) {
      if (watched !== null) await dropDataWatch(this.zk, watched)
      if (node !== null) await deleteSurely(this.zk, node.path)
      throw error
    }
  }

  /** After a hand-off on the deletion event alone: checks in the background that our znode is still there. */
  #verify(node: Created): void {
    this.zk.exists(node.path).then(
      (stat) => {
        const state = this.#state
        if (stat === null && state.kind === 'held' && state.hold.node === node) state.hold.tenure.lose('deleted')
      },
      () => undefined,
    )
  }
}
