import type { Data, WatchedEvent, ZooKeeper } from '../zk-wire/index.js'
import { realEnv, type Env } from '../env.js'
import { checkInt, checkPath, checkWait, join, type WaitOptions } from './args.js'
import { Deadline, trigger } from './deadline.js'
import { RecipeError } from './errors.js'
import { deleteSurely, isZk, retrying, uuid } from './znodes.js'

/** Options of the barriers. */
export interface BarrierOptions {
  /** Clock, timers and randomness (default: the real ones). */
  env?: Env
}

/** Removes this client's watches of `type` on `path` (ignoring failures: they fire or die with the session). */
async function dropWatch(zk: ZooKeeper, path: string, type: 'data' | 'children'): Promise<void> {
  await zk.removeWatches(path, type).catch(() => undefined)
}

/**
 * A barrier (Curator's `DistributedBarrier`, kazoo's `Barrier`): while the
 * znode `path` exists, `wait()` blocks; removing it lets every waiter through.
 *
 * ```ts
 * const gate = new Barrier(zk, '/barriers/deploy')
 * await gate.set()      // coordinator
 * await gate.wait()     // workers, until…
 * await gate.remove()   // …the coordinator opens it
 * ```
 */
export class Barrier {
  readonly #closed = new AbortController()
  readonly #waits = new Set<Promise<unknown>>()
  readonly #env: Env

  /** @throws RecipeError `'BAD_ARGUMENT'` for an invalid path */
  constructor(
    private readonly zk: ZooKeeper,
    readonly path: string,
    options: BarrierOptions = {},
  ) {
    checkPath(path, 'barrier')
    this.#env = options.env ?? realEnv
  }

  /** Raises the barrier (creates the znode and its missing parents). Raising a raised barrier is fine. */
  async set(): Promise<void> {
    this.#check()
    await retrying(() => this.zk.mkdirp(this.path))
  }

  /** Opens the barrier (deletes the znode). Opening an open barrier is fine. */
  async remove(): Promise<void> {
    this.#check()
    await deleteSurely(this.zk, this.path)
  }

  /** Whether the barrier is raised now. */
  async isSet(): Promise<boolean> {
    return (await this.zk.exists(this.path)) !== null
  }

  /** Resolves once the barrier is open (at once if it is). Rejects with `'TIMEOUT'`, `'ABORTED'` or `'CLOSED'`. */
  wait(options?: WaitOptions): Promise<void> {
    this.#check()
    checkWait(options, `barrier ${this.path}: wait`)
    const run = this.#wait(new Deadline(this.#env, options, this.#closed.signal, `barrier ${this.path}: wait`))
    this.#waits.add(run)
    void run.then(() => this.#waits.delete(run), () => this.#waits.delete(run))
    return run
  }

  /** Ends pending waits (`'CLOSED'`), leaving no watch behind. The barrier znode stays as it is. */
  async close(): Promise<void> {
    this.#closed.abort()
    await Promise.all([...this.#waits].map((w) => w.catch(() => undefined)))
  }

  #check(): void {
    if (this.#closed.signal.aborted) throw new RecipeError('CLOSED', `barrier ${this.path}: closed`)
  }

  async #wait(deadline: Deadline): Promise<void> {
    for (;;) {
      const wake = trigger<WatchedEvent>()
      const stat = await retrying(() => this.zk.exists(this.path, { watch: wake.fire }))
      if (stat === null) {
        await dropWatch(this.zk, this.path, 'data') // an exists watch on a missing node
        return
      }
      try {
        await deadline.wait(wake.promise)
      } catch (error) {
        await dropWatch(this.zk, this.path, 'data')
        throw error
      }
    }
  }
}

/** Options of {@link DoubleBarrier}. */
export interface DoubleBarrierOptions extends BarrierOptions {
  /** Data of this member's znode. */
  data?: Data
}

type DoubleState = 'outside' | 'entering' | 'inside' | 'leaving' | 'closed'

/**
 * A double barrier on Curator's `DistributedDoubleBarrier` protocol: `enter()`
 * blocks until `memberCount` members have entered (each an ephemeral
 * `<path>/<uuid>`; the last to arrive creates `<path>/ready`), `leave()`
 * blocks until every member has left.
 *
 * ```ts
 * const phase = new DoubleBarrier(zk, '/barriers/phase-1', 3)
 * await phase.enter()
 * await compute()
 * await phase.leave()
 * ```
 */
export class DoubleBarrier {
  #state: DoubleState = 'outside'
  readonly #closed = new AbortController()
  readonly #env: Env
  readonly #name: string
  readonly #ours: string
  readonly #ready: string
  #pending: Promise<unknown> = Promise.resolve()

  /** @throws RecipeError `'BAD_ARGUMENT'` for an invalid path or count */
  constructor(
    private readonly zk: ZooKeeper,
    readonly path: string,
    readonly memberCount: number,
    private readonly options: DoubleBarrierOptions = {},
  ) {
    checkPath(path, 'double barrier')
    checkInt(memberCount, 'double barrier: memberCount', 1)
    this.#env = options.env ?? realEnv
    this.#name = uuid(this.#env)
    this.#ours = join(path, this.#name)
    this.#ready = join(path, 'ready')
  }

  /** `'outside'`, `'entering'`, `'inside'`, `'leaving'` or `'closed'`. */
  get state(): DoubleState {
    return this.#state
  }

  /**
   * Enters and waits for the others. On `'TIMEOUT'`/`'ABORTED'`/`'CLOSED'`
   * this member's znode is deleted again. Rejects with `'BUSY'` unless outside.
   */
  enter(options?: WaitOptions): Promise<void> {
    return this.#step('outside', 'entering', 'inside', options, 'enter', (d) => this.#enter(d))
  }

  /** Leaves and waits until every member has left. Rejects with `'BUSY'` unless inside. */
  leave(options?: WaitOptions): Promise<void> {
    return this.#step('inside', 'leaving', 'outside', options, 'leave', (d) => this.#leave(d))
  }

  /** Deletes this member's znode if present and ends a pending enter/leave. A second call is fine. */
  async close(): Promise<void> {
    this.#closed.abort()
    await this.#pending.catch(() => undefined)
    if (this.#state !== 'closed') await deleteSurely(this.zk, this.#ours)
    this.#state = 'closed'
  }

  #step(from: DoubleState, during: DoubleState, to: DoubleState, options: WaitOptions | undefined, what: string, fn: (d: Deadline) => Promise<void>): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new RecipeError('CLOSED', `double barrier ${this.path}: closed`))
    if (this.#state !== from) return Promise.reject(new RecipeError('BUSY', `double barrier ${this.path}: ${what}() while ${this.#state}`))
    try {
      checkWait(options, `double barrier ${this.path}: ${what}`)
    } catch (error) {
      return Promise.reject(error)
    }
    this.#state = during
    const run = fn(new Deadline(this.#env, options, this.#closed.signal, `double barrier ${this.path}: ${what}`)).then(
      () => {
        if (this.#state === during) this.#state = to
      },
      async (error: unknown) => {
        if (this.#state === during) this.#state = from === 'outside' ? 'outside' : 'inside'
        throw error
      },
    )
    this.#pending = run
    return run
  }

  async #enter(deadline: Deadline): Promise<void> {
    let readyWatch = trigger<WatchedEvent>()
    const readyExists = (await retrying(() => this.zk.exists(this.#ready, { watch: readyWatch.fire }))) !== null
    try {
      await this.#createOurs()
      if (readyExists) return
      for (;;) {
        const children = await retrying(() => this.zk.getChildren(this.path))
        if (children.filter((c) => c !== 'ready').length >= this.memberCount || children.includes('ready')) {
          try {
            await this.zk.create(this.#ready)
          } catch (error) {
            if (!isZk(error, 'NODEEXISTS')) throw error
          }
          return
        }
        const event = await deadline.wait(readyWatch.promise)
        if (event.type === 'NodeCreated') return
        readyWatch = trigger<WatchedEvent>()
        if ((await retrying(() => this.zk.exists(this.#ready, { watch: readyWatch.fire }))) !== null) return
      }
    } catch (error) {
      await deleteSurely(this.zk, this.#ours)
      throw error
    } finally {
      await dropWatch(this.zk, this.#ready, 'data')
    }
  }

  async #createOurs(): Promise<void> {
    for (;;) {
      try {
        await this.zk.create(this.#ours, this.options.data ?? null, { mode: 'ephemeral' })
        return
      } catch (error) {
        if (isZk(error, 'NODEEXISTS')) return // a create whose reply was lost: the uuid is ours
        if (isZk(error, 'NONODE')) await retrying(() => this.zk.mkdirp(this.path, { mode: 'container' }))
        else if (!(isZk(error, 'CONNECTIONLOSS') || isZk(error, 'OPERATIONTIMEOUT'))) throw error
      }
    }
  }

  async #leave(deadline: Deadline): Promise<void> {
    let oursExists = true
    let watched: string | null = null
    try {
      for (;;) {
        let children: string[]
        try {
          children = (await retrying(() => this.zk.getChildren(this.path))).filter((c) => c !== 'ready').sort()
        } catch (error) {
          if (!isZk(error, 'NONODE')) throw error
          children = []
        }
        if (children.length === 0) break
        const index = children.indexOf(this.#name)
        if (index < 0 && oursExists) throw new RecipeError('LOST', `double barrier ${this.path}: this member's znode is gone (session expired?)`)
        if (children.length === 1) {
          if (oursExists) await deleteSurely(this.zk, this.#ours)
          break
        }
        // The lowest member waits for the highest; every other deletes itself and waits for the lowest.
        const wake = trigger<WatchedEvent>()
        watched = join(this.path, index === 0 ? children[children.length - 1]! : children[0]!)
        if (index !== 0 && oursExists) {
          await deleteSurely(this.zk, this.#ours)
          oursExists = false
        }
        const stat = await retrying(() => this.zk.exists(watched!, { watch: wake.fire }))
        if (stat !== null) await deadline.wait(wake.promise)
        await dropWatch(this.zk, watched, 'data')
        watched = null
      }
      await deleteSurely(this.zk, this.#ready)
    } finally {
      if (watched !== null) await dropWatch(this.zk, watched, 'data')
    }
  }
}
