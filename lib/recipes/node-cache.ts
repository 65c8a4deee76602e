import { EventEmitter } from 'node:events'
import type { Stat, WatchedEvent, ZooKeeper } from '../zk-wire/index.js'
import { checkPath } from './args.js'
import { RecipeError } from './errors.js'
import { Streams, type EventStream } from './event-stream.js'
import { isSessionOver, isTransient, isZk, sessionOver } from './znodes.js'

/** A node's data and Stat as a cache saw it; null while the node does not exist. */
export interface NodeData {
  readonly path: string
  readonly data: Buffer
  readonly stat: Stat
}

/** Events of the single-node caches. */
export interface WatchingCacheEvents<T> {
  /** The cached value changed (also once after `start()`). */
  change: [value: T]
  /** The cache stopped following changes: its session ended. */
  ended: [error: Error]
}

type State<T> = { kind: 'latent' } | { kind: 'started'; value: T } | { kind: 'ended'; error: Error } | { kind: 'closed' }

/**
 * Shared machinery of {@link NodeCache} and {@link ChildrenCache}: read with a
 * one-shot watch, read again (and set the watch again) on every event,
 * report each new value.
 */
abstract class WatchingCache<T> extends EventEmitter<WatchingCacheEvents<T>> {
  #state: State<T> = { kind: 'latent' }
  #generation = 0
  readonly #streams = new Streams<T>()

  constructor(
    protected readonly zk: ZooKeeper,
    readonly path: string,
    private readonly what: string,
  ) {
    super()
    checkPath(path, what, true)
  }

  /** Reads the current value, setting a watch that calls `watch`. */
  protected abstract read(watch: (event: WatchedEvent) => void): Promise<T>
  /** Whether two values differ (so a change is reported). */
  protected abstract differ(a: T, b: T): boolean
  /** The watch kinds this cache sets, for `close()` to remove. */
  protected abstract readonly watchKinds: ReadonlyArray<'data' | 'children'>

  /** The value as last read (after `start()`). */
  get current(): T {
    const s = this.#state
    if (s.kind === 'started') return s.value
    if (s.kind === 'ended') throw s.error
    if (s.kind === 'closed') throw new RecipeError('CLOSED', `${this.what} ${this.path}: closed`)
    throw new RecipeError('BUSY', `${this.what} ${this.path}: not started`)
  }

  /** Reads the value and starts following it. */
  async start(): Promise<void> {
    if (this.#state.kind === 'closed') throw new RecipeError('CLOSED', `${this.what} ${this.path}: closed`)
    if (this.#state.kind !== 'latent') throw new RecipeError('BUSY', `${this.what} ${this.path}: already started`)
    const generation = ++this.#generation
    const value = await this.read((event) => this.#changed(event, generation))
    this.#state = { kind: 'started', value }
    this.emit('change', value)
    this.#streams.push(value)
  }

  /** The values from now on (each new one after a change), as an async iterable; ends on close. */
  values(): EventStream<T> {
    return this.#streams.open()
  }

  /** Stops following the value and removes its watches. A second call is fine. */
  async close(): Promise<void> {
    if (this.#state.kind === 'closed') return
    const watching = this.#state.kind === 'started'
    this.#state = { kind: 'closed' }
    this.#generation++
    this.#streams.end()
    if (watching && !sessionOver(this.zk)) {
      for (const kind of this.watchKinds) await this.zk.removeWatches(this.path, kind).catch(() => undefined)
    }
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  #changed(event: WatchedEvent, generation: number): void {
    if (generation !== this.#generation || this.#state.kind !== 'started') return
    if (event.type === 'None') {
      if (sessionOver(this.zk)) this.#end(new RecipeError('LOST', `${this.what} ${this.path}: the ZooKeeper session ended`))
      return
    }
    // Only one outstanding read: a newer event makes an older reply stale.
    const next = ++this.#generation
    this.#reread(next)
  }

  #reread(generation: number): void {
    this.read((event) => this.#changed(event, generation)).then(
      (value) => {
        const s = this.#state
        if (generation !== this.#generation || s.kind !== 'started') return
        if (!this.differ(s.value, value)) return
        s.value = value
        this.emit('change', value)
        this.#streams.push(value)
      },
      (error: unknown) => {
        if (generation !== this.#generation) return
        if (isTransient(error)) return void this.#reread(generation)
        this.#end(isSessionOver(error) ? new RecipeError('LOST', `${this.what} ${this.path}: the ZooKeeper session ended`, { cause: error }) : (error as Error))
      },
    )
  }

  #end(error: Error): void {
    if (this.#state.kind !== 'started') return
    this.#state = { kind: 'ended', error }
    this.#streams.end(error)
    this.emit('ended', error)
  }
}

/**
 * One node's data, kept current (Curator's `NodeCache`, kazoo's `DataWatch`):
 * read again on every change, creation and deletion; `current` is null while
 * the node does not exist. `values()` iterates the new values.
 *
 * ```ts
 * const config = new NodeCache(zk, '/config/feature-flags')
 * await config.start()
 * for await (const node of config.values()) apply(node?.data)
 * ```
 */
export class NodeCache extends WatchingCache<NodeData | null> {
  protected readonly watchKinds = ['data'] as const

  /** @throws RecipeError `'BAD_ARGUMENT'` for an invalid path */
  constructor(zk: ZooKeeper, path: string) {
    super(zk, path, 'node cache')
  }

  protected async read(watch: (event: WatchedEvent) => void): Promise<NodeData | null> {
    for (;;) {
      try {
        const { data, stat } = await this.zk.getData(this.path, { watch })
        return { path: this.path, data, stat }
      } catch (error) {
        if (!isZk(error, 'NONODE')) throw error
      }
      // Gone: watch for its creation (an exists watch is set even when it is missing).
      if ((await this.zk.exists(this.path, { watch })) === null) return null
    }
  }

  protected differ(a: NodeData | null, b: NodeData | null): boolean {
    if (a === null || b === null) return a !== b
    return a.stat.mzxid !== b.stat.mzxid || a.stat.czxid !== b.stat.czxid
  }
}

/**
 * One node's children, kept current (kazoo's `ChildrenWatch`; the names part
 * of Curator's `PathChildrenCache`): read again on every change; `current` is
 * the sorted names, `[]` while the node does not exist.
 */
export class ChildrenCache extends WatchingCache<readonly string[]> {
  protected readonly watchKinds = ['children', 'data'] as const

  /** @throws RecipeError `'BAD_ARGUMENT'` for an invalid path */
  constructor(zk: ZooKeeper, path: string) {
    super(zk, path, 'children cache')
  }

  protected async read(watch: (event: WatchedEvent) => void): Promise<readonly string[]> {
    for (;;) {
      try {
        return (await this.zk.getChildren(this.path, { watch })).sort()
      } catch (error) {
        if (!isZk(error, 'NONODE')) throw error
      }
      if ((await this.zk.exists(this.path, { watch })) === null) return []
    }
  }

  protected differ(a: readonly string[], b: readonly string[]): boolean {
    return a.length !== b.length || a.some((name, i) => name !== b[i])
  }
}
