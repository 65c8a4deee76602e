import { op, type Data, type WatchedEvent, type ZooKeeper } from '../zk-wire/index.js'
import { realEnv, type Env } from '../env.js'
import { checkPath, checkWait, join, type WaitOptions } from './args.js'
import { Deadline } from './deadline.js'
import { RecipeError } from './errors.js'
import { untilAnswered } from './until-answered.js'
import { isZk, retrying } from './znodes.js'

/** Options of the queues. */
export interface QueueOptions {
  /** Clock, timers and randomness (default: the real ones). */
  env?: Env
}

const PREFIX = 'qn-'

/**
 * A durable FIFO queue on Curator's `SimpleDistributedQueue` layout: each item
 * is a persistent sequential znode `<path>/qn-<seq>` holding its bytes. A
 * consumer takes the lowest item by deleting it: the delete succeeds for
 * exactly one consumer, so under any number of concurrent consumers every item
 * is taken once. Delivery is at most once: an item taken by a consumer that
 * then crashes, or whose delete reply is lost, is gone — use
 * {@link LockingQueue} when that matters.
 *
 * ```ts
 * const jobs = new DistributedQueue(zk, '/queues/jobs')
 * await jobs.put(JSON.stringify({ id: 1 }))
 * const next = await jobs.take({ timeout: 5_000 })
 * ```
 */
export class DistributedQueue {
  readonly #closed = new AbortController()
  readonly #takes = new Set<Promise<unknown>>()
  readonly #env: Env

  /** @throws RecipeError `'BAD_ARGUMENT'` for an invalid path */
  constructor(
    private readonly zk: ZooKeeper,
    readonly path: string,
    options: QueueOptions = {},
  ) {
    checkPath(path, 'queue')
    this.#env = options.env ?? realEnv
  }

  /** Appends an item; resolves with its znode. */
  async put(data: Data): Promise<string> {
    this.#check()
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) throw new RecipeError('BAD_ARGUMENT', 'queue: an item must be a string or bytes')
    for (;;) {
      try {
        return await this.zk.create(join(this.path, PREFIX), data, { mode: 'persistent_sequential' })
      } catch (error) {
        if (!isZk(error, 'NONODE')) throw error
        await retrying(() => this.zk.mkdirp(this.path))
      }
    }
  }

  /** Appends every item, atomically (one `multi`). */
  async putAll(items: readonly Data[]): Promise<void> {
    this.#check()
    await retrying(() => this.zk.mkdirp(this.path))
    await this.zk.multi(items.map((item) => op.create(join(this.path, PREFIX), item, { mode: 'persistent_sequential' })))
  }

  /** Takes the first item, or resolves null if the queue is empty. */
  async poll(): Promise<Buffer | null> {
    this.#check()
    return this.#takeFirst(await this.#items())
  }

  /** Reads the first item without taking it (null if empty). */
  async peek(): Promise<Buffer | null> {
    for (const name of await this.#items()) {
      try {
        return (await this.zk.getData(join(this.path, name))).data
      } catch (error) {
        if (!isZk(error, 'NONODE')) throw error
      }
    }
    return null
  }

  /** How many items the queue holds now. */
  async size(): Promise<number> {
    return (await this.#items()).length
  }

  /** Takes the first item, waiting for one. Rejects with `'TIMEOUT'`, `'ABORTED'` or `'CLOSED'`. */
  take(options?: WaitOptions): Promise<Buffer> {
    this.#check()
    checkWait(options, `queue ${this.path}: take`)
    const run = this.#take(new Deadline(this.#env, options, this.#closed.signal, `queue ${this.path}: take`))
    this.#takes.add(run)
    void run.then(() => this.#takes.delete(run), () => this.#takes.delete(run))
    return run
  }

  /** Takes items forever (until closed), one at a time. */
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      try {
        yield await this.take()
      } catch (error) {
        if (error instanceof RecipeError && error.code === 'CLOSED') return
        throw error
      }
    }
  }

  /** Ends pending takes (`'CLOSED'`) and leaves no watch behind. The items stay. */
  async close(): Promise<void> {
    this.#closed.abort()
    await Promise.all([...this.#takes].map((t) => t.catch(() => undefined)))
  }

  #check(): void {
    if (this.#closed.signal.aborted) throw new RecipeError('CLOSED', `queue ${this.path}: closed`)
  }

  async #items(watch?: (event: WatchedEvent) => void): Promise<string[]> {
    try {
      const children = await retrying(() => this.zk.getChildren(this.path, watch ? { watch } : {}))
      return children.filter((c) => c.startsWith(PREFIX)).sort()
    } catch (error) {
      if (!isZk(error, 'NONODE')) throw error
      return []
    }
  }

  /** Deletes the first item it can (another consumer may win each one); null if none is left. */
  async #takeFirst(items: readonly string[]): Promise<Buffer | null> {
    for (const name of items) {
      const path = join(this.path, name)
      try {
        const { data, stat } = await this.zk.getData(path)
        await this.zk.delete(path, stat.version)
        return data
      } catch (error) {
        if (isZk(error, 'NONODE')) continue // taken by another consumer
        throw error
      }
    }
    return null
  }

  #take(deadline: Deadline): Promise<Buffer> {
    return untilAnswered(
      this.zk,
      [this.path],
      deadline,
      async (watch) => (await this.#takeFirst(await this.#items(watch))) ?? undefined,
      () => retrying(() => this.zk.mkdirp(this.path)),
    )
  }
}
