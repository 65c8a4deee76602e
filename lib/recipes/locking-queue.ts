import { op, type Data, type ZooKeeper } from '../zk-wire/index.js'
import { realEnv, type Env } from '../env.js'
import { checkInt, checkPath, checkWait, join, type WaitOptions } from './args.js'
import { Deadline } from './deadline.js'
import { RecipeError } from './errors.js'
import type { QueueOptions } from './queue.js'
import { untilAnswered } from './until-answered.js'
import { deleteSurely, isTransient, isZk, retrying, uuid } from './znodes.js'

/** An item taken from a {@link LockingQueue}: `ack()` when done with it, or `release()` to give it back. */
export interface QueueItem {
  /** The item's bytes. */
  readonly data: Buffer
  /** The entry znode. */
  readonly path: string
  /** Removes the item for good (with its lock, in one `multi`). Rejects with `'LOST'` if the lock was lost meanwhile. */
  ack(): Promise<void>
  /** Gives the item back to the queue (deletes the lock only). */
  release(): Promise<void>
}

/**
 * A queue that survives a consumer crash without losing an item, on kazoo's
 * `LockingQueue` layout: items are `<path>/entries/entry-<priority>-<seq>`;
 * a consumer locks one with an ephemeral `<path>/taken/<entry name>` (its
 * data: the consumer's id) and removes entry and lock together in one `multi`
 * when it acks. If the consumer dies first, its session — and the lock — go,
 * and the item is taken again by another consumer. Lower priorities go first.
 *
 * ```ts
 * const jobs = new LockingQueue(zk, '/queues/jobs')
 * await jobs.put('resize photo 7')
 * const item = await jobs.take()
 * await handle(item.data)
 * await item.ack()
 * ```
 */
export class LockingQueue {
  readonly #closed = new AbortController()
  readonly #pending = new Set<Promise<unknown>>()
  readonly #held = new Set<ItemImpl>()
  readonly #env: Env
  readonly #id: string
  readonly #entries: string
  readonly #taken: string

  /** @throws RecipeError `'BAD_ARGUMENT'` for an invalid path */
  constructor(
    private readonly zk: ZooKeeper,
    readonly path: string,
    options: QueueOptions = {},
  ) {
    checkPath(path, 'locking queue')
    this.#env = options.env ?? realEnv
    this.#id = uuid(this.#env)
    this.#entries = join(path, 'entries')
    this.#taken = join(path, 'taken')
  }

  /** Appends an item with `priority` 0..999 (default 100; lower goes first). */
  async put(data: Data, priority = 100): Promise<string> {
    this.#check()
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) throw new RecipeError('BAD_ARGUMENT', 'locking queue: an item must be a string or bytes')
    checkInt(priority, 'locking queue: priority', 0, 999)
    await this.#ensure()
    return this.zk.create(join(this.#entries, `entry-${String(priority).padStart(3, '0')}-`), data, { mode: 'persistent_sequential' })
  }

  /** Appends every item, atomically. */
  async putAll(items: readonly Data[], priority = 100): Promise<void> {
    this.#check()
    checkInt(priority, 'locking queue: priority', 0, 999)
    await this.#ensure()
    await this.zk.multi(items.map((item) => op.create(join(this.#entries, `entry-${String(priority).padStart(3, '0')}-`), item, { mode: 'persistent_sequential' })))
  }

  /** Items not yet acked (locked ones included). */
  async size(): Promise<number> {
    try {
      return (await this.zk.getChildren(this.#entries)).length
    } catch (error) {
      if (isZk(error, 'NONODE')) return 0
      throw error
    }
  }

  /**
   * Locks the first item nobody holds and resolves with it, waiting for one.
   * Rejects with `'TIMEOUT'`, `'ABORTED'` or `'CLOSED'`.
   */
  take(options?: WaitOptions): Promise<QueueItem> {
    this.#check()
    checkWait(options, `locking queue ${this.path}: take`)
    const run = this.#take(new Deadline(this.#env, options, this.#closed.signal, `locking queue ${this.path}: take`))
    this.#pending.add(run)
    void run.then(() => this.#pending.delete(run), () => this.#pending.delete(run))
    return run
  }

  /** Ends pending takes, gives back every item taken and not acked, and leaves no watch behind. */
  async close(): Promise<void> {
    this.#closed.abort()
    await Promise.all([...this.#pending].map((t) => t.catch(() => undefined)))
    await Promise.all([...this.#held].map((item) => item.release().catch(() => undefined)))
  }

  #check(): void {
    if (this.#closed.signal.aborted) throw new RecipeError('CLOSED', `locking queue ${this.path}: closed`)
  }

  async #ensure(): Promise<void> {
    await retrying(() => this.zk.mkdirp(this.#entries))
    await retrying(() => this.zk.mkdirp(this.#taken))
  }

  async #take(deadline: Deadline): Promise<QueueItem> {
    await this.#ensure()
    return untilAnswered(this.zk, [this.#entries, this.#taken], deadline, async (watch) => {
      const options = watch === undefined ? {} : { watch }
      const [entries, taken] = await Promise.all([retrying(() => this.zk.getChildren(this.#entries, options)), retrying(() => this.zk.getChildren(this.#taken, options))])
      const locked = new Set(taken)
      for (const name of entries.filter((e) => !locked.has(e)).sort()) {
        const item = await this.#lock(name)
        if (item !== null) return item
      }
      return undefined
    })
  }

  /** Locks one entry; null if another consumer locked it first or it is gone. */
  async #lock(name: string): Promise<ItemImpl | null> {
    const lockPath = join(this.#taken, name)
    for (;;) {
      try {
        await this.zk.create(lockPath, this.#id, { mode: 'ephemeral' })
        break
      } catch (error) {
        if (isZk(error, 'NODEEXISTS')) {
          // Ours, if the create's reply was lost; another consumer's otherwise.
          const owner = await this.zk.getData(lockPath).then((r) => r.data.toString(), () => null)
          if (owner === this.#id) break
          return null
        }
        if (!isTransient(error)) throw error
      }
    }
    try {
      const { data } = await retrying(() => this.zk.getData(join(this.#entries, name)))
      const item = new ItemImpl(this.zk, join(this.#entries, name), lockPath, data, this.#id, (i) => this.#held.delete(i))
      this.#held.add(item)
      return item
    } catch (error) {
      await deleteSurely(this.zk, lockPath) // acked by someone in between
      if (isZk(error, 'NONODE')) return null
      throw error
    }
  }
}

class ItemImpl implements QueueItem {
  #done: Promise<void> | null = null

  constructor(
    private readonly zk: ZooKeeper,
    readonly path: string,
    private readonly lockPath: string,
    readonly data: Buffer,
    private readonly id: string,
    private readonly forget: (item: ItemImpl) => void,
  ) {}

  ack(): Promise<void> {
    this.#done ??= this.#finish(async () => {
      const { stat, data } = await retrying(() => this.zk.getData(this.lockPath)).catch((error: unknown) => {
        if (isZk(error, 'NONODE')) throw new RecipeError('LOST', `queue item ${this.path}: its lock is gone (session expired?); another consumer may take it`)
        throw error
      })
      if (data.toString() !== this.id) throw new RecipeError('LOST', `queue item ${this.path}: locked by another consumer now`)
      for (;;) {
        try {
          await this.zk.multi([op.delete(this.path), op.delete(this.lockPath, stat.version)])
          return
        } catch (error) {
          if (!isTransient(error)) throw error
          // The multi may have been applied: if the entry is gone with our lock, it was.
          if ((await retrying(() => this.zk.exists(this.path))) === null) return
        }
      }
    })
    return this.#done
  }

  release(): Promise<void> {
    this.#done ??= this.#finish(() => deleteSurely(this.zk, this.lockPath))
    return this.#done
  }

  async #finish(fn: () => Promise<void>): Promise<void> {
    try {
      await fn()
    } finally {
      this.forget(this)
    }
  }
}
