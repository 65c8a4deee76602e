import { EventEmitter } from 'node:events'
import type { Data, ZooKeeper } from '../zk-wire/index.js'
import { realEnv, type Env } from '../env.js'
import { checkInt, checkMargin, checkPath, checkWait, join, type WaitOptions } from './args.js'
import { Deadline } from './deadline.js'
import { RecipeError } from './errors.js'
import { QueueLock } from './queue-lock.js'
import { mutexRule } from './queue-rules.js'
import { HoldImpl, Tenure, type LossReason, type TenureOptions } from './tenure.js'
import { untilAnswered } from './until-answered.js'
import { createProtected, deleteSurely, isZk, retrying, sessionOver, type Created } from './znodes.js'

/** Options of {@link Semaphore}. */
export interface SemaphoreOptions extends TenureOptions {
  /** Data of this object's lease znodes (what `participants()` shows others). */
  data?: Data
  /** Clock, timers and randomness (default: the real ones). */
  env?: Env
}

/** One lease of a {@link Semaphore}. Return it with `release()` or by leaving an `await using` scope. */
export interface Lease extends AsyncDisposable {
  /** The lease znode. */
  readonly path: string
  /** The zxid that created the lease znode (orders leases; a fencing token for single-lease semaphores). */
  readonly token: bigint
  /** Fires if the lease is lost while held (reason: a `RecipeError` `'LOST'`). Never on a normal release. */
  readonly signal: AbortSignal
  /** Returns the lease (a no-op once lost or returned). */
  release(): Promise<void>
}

/** Events of {@link Semaphore}. */
export interface SemaphoreEvents {
  /** A lease was lost while held (before anyone else can have been granted it, for `'suspect'`). */
  lost: [reason: LossReason, error: RecipeError, lease: Lease]
}

type State = { kind: 'open' } | { kind: 'closing' | 'closed'; done: Promise<void> }

/**
 * A counting semaphore on Curator's `InterProcessSemaphoreV2` protocol: at
 * most `maxLeases` leases are held at once across every process using the
 * path. An acquirer takes the mutex `<path>/locks` (Curator's lock protocol),
 * creates `<path>/leases/_c_<uuid>-lease-<seq>` (protected, ephemeral,
 * sequential), waits until there are no more than `maxLeases` leases, and
 * releases the mutex. Every user of one path must agree on `maxLeases`.
 *
 * ```ts
 * const pool = new Semaphore(zk, '/semaphores/db', 3)
 * {
 *   await using lease = await pool.acquire({ timeout: 10_000 })
 *   await query({ signal: lease.signal })
 * }
 * await pool.close()
 * ```
 */
export class Semaphore extends EventEmitter<SemaphoreEvents> {
  #state: State = { kind: 'open' }
  readonly #closed = new AbortController()
  readonly #leases = new Set<HoldImpl>()
  readonly #pending = new Set<Promise<unknown>>()
  readonly #env: Env
  readonly #leasesPath: string
  readonly #locksPath: string

  /** @throws RecipeError `'BAD_ARGUMENT'` for an invalid path, `maxLeases` or options */
  constructor(
    private readonly zk: ZooKeeper,
    /** The semaphore's znode. */
    readonly path: string,
    /** How many leases may be held at once. */
    readonly maxLeases: number,
    private readonly options: SemaphoreOptions = {},
  ) {
    super()
    checkPath(path, 'semaphore')
    checkInt(maxLeases, 'semaphore: maxLeases', 1)
    checkMargin(options.margin, 'semaphore')
    this.#env = options.env ?? realEnv
    this.#leasesPath = join(path, 'leases')
    this.#locksPath = join(path, 'locks')
  }

  /** The leases this object holds now. */
  get leases(): readonly Lease[] {
    return [...this.#leases].filter((l) => !l.tenure.lost)
  }

  /**
   * Waits for a lease. Rejects with a `RecipeError` (`'TIMEOUT'`, `'ABORTED'`,
   * `'CLOSED'`) or the `ZkError` that ended the session, after deleting
   * whatever it had created.
   */
  acquire(options?: WaitOptions): Promise<Lease> {
    return this.#track(async () => (await this.#acquireMany(1, options))[0]!)
  }

  /** Waits for `count` leases: all of them, or none (those taken are returned on failure). */
  acquireMany(count: number, options?: WaitOptions): Promise<Lease[]> {
    return this.#track(async () => {
      checkInt(count, 'semaphore: count', 1, this.maxLeases)
      return this.#acquireMany(count, options)
    })
  }

  /** One attempt without waiting for leases to be returned: a lease, or null if none is free. */
  async tryAcquire(): Promise<Lease | null> {
    try {
      return await this.acquire({ timeout: 0 })
    } catch (error) {
      if (error instanceof RecipeError && error.code === 'TIMEOUT') return null
      throw error
    }
  }

  /** The lease znodes held now, by every process. */
  async participants(): Promise<string[]> {
    try {
      return (await this.zk.getChildren(this.#leasesPath)).sort().map((name) => join(this.#leasesPath, name))
    } catch (error) {
      if (isZk(error, 'NONODE')) return []
      throw error
    }
  }

  /**
   * Returns every lease this object holds, ends pending acquires (they
   * reject with `'CLOSED'`) and leaves no znode, watch or timer behind. A
   * second call resolves when the first is done.
   */
  close(): Promise<void> {
    if (this.#state.kind !== 'open') return this.#state.done
    this.#closed.abort()
    const done = (async () => {
      await Promise.all([...this.#pending].map((p) => p.catch(() => undefined)))
      await Promise.all([...this.#leases].map((l) => l.release()))
    })()
    this.#state = { kind: 'closing', done }
    void done.then(() => (this.#state = { kind: 'closed', done }), () => undefined)
    return done
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  #track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#state.kind !== 'open') return Promise.reject(new RecipeError('CLOSED', `semaphore ${this.path}: closed`))
    const run = fn()
    this.#pending.add(run)
    void run.then(
      () => this.#pending.delete(run),
      () => this.#pending.delete(run),
    )
    return run
  }

  async #acquireMany(count: number, options: WaitOptions | undefined): Promise<HoldImpl[]> {
    checkWait(options, `semaphore ${this.path}: acquire`)
    const deadline = new Deadline(this.#env, options, this.#closed.signal, `semaphore ${this.path}: acquire`)
    deadline.check(false)
    const taken: HoldImpl[] = []
    try {
      for (let i = 0; i < count; i++) taken.push(await this.#acquireOne(deadline, options))
      return taken
    } catch (error) {
      await Promise.all(taken.map((l) => l.release()))
      throw error
    }
  }

  async #acquireOne(deadline: Deadline, options: WaitOptions | undefined): Promise<HoldImpl> {
    const mutex = new QueueLock(this.zk, this.#locksPath, mutexRule('lock-'), { env: this.#env }, 'semaphore lock')
    const hold = await mutex.acquire({ timeout: deadline.remaining(), signal: anySignal(options?.signal, this.#closed.signal) }).catch((error: unknown) => {
      throw deadline.reason(false) ?? error
    })
    let node: Created | null = null
    try {
      for (;;) {
        node = await createProtected(this.zk, this.#leasesPath, 'lease-', this.options.data ?? null, 'ephemeral_sequential', this.#env)
        if (await this.#waitForRoom(node, deadline)) break
        node = null // deleted under us: stand again (Curator's RETRY_DUE_TO_MISSING_NODE)
      }
      const created = node
      const tenure = new Tenure(this.zk, this.#env, this.options.margin, (reason, error) => this.#lost(lease, reason, error), `lease ${created.path}`)
      const lease: HoldImpl = new HoldImpl(created, tenure, (l) => this.#release(l))
      this.#leases.add(lease)
      if (this.#closed.signal.aborted) {
        await lease.release()
        throw new RecipeError('CLOSED', `semaphore ${this.path}: closed`)
      }
      return lease
    } catch (error) {
      if (node !== null) await deleteSurely(this.zk, node.path)
      throw error
    } finally {
      await hold.release()
      await mutex.close()
    }
  }

  /** Waits (holding the mutex) until there is room for `node`; false if `node` vanished. */
  #waitForRoom(node: Created, deadline: Deadline): Promise<boolean> {
    return untilAnswered(this.zk, [this.#leasesPath], deadline, async (watch) => {
      const children = await retrying(() => this.zk.getChildren(this.#leasesPath, watch === undefined ? {} : { watch }))
      if (!children.includes(node.name)) {
        if (sessionOver(this.zk)) throw new RecipeError('LOST', `semaphore ${this.path}: the session ended while acquiring`)
        return false
      }
      return children.length <= this.maxLeases ? true : undefined
    })
  }

  async #release(lease: HoldImpl): Promise<void> {
    lease.tenure.end()
    await deleteSurely(this.zk, lease.path)
    this.#leases.delete(lease)
  }

  #lost(lease: HoldImpl, reason: LossReason, error: RecipeError): void {
    void lease.release().catch(() => undefined)
    this.emit('lost', reason, error, lease)
  }
}

/** A signal that aborts when any of `signals` does. */
function anySignal(...signals: Array<AbortSignal | undefined>): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined)
  return present.length === 1 ? present[0]! : AbortSignal.any(present)
}
