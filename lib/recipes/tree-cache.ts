import { EventEmitter } from 'node:events'
import type { PersistentWatch, Stat, WatchedEvent, ZooKeeper } from '../zk-wire/index.js'
import { checkPath, join } from './args.js'
import { RecipeError } from './errors.js'
import { Streams, type EventStream } from './event-stream.js'
import type { NodeData } from './node-cache.js'
import { isSessionOver, isTransient, isZk, retrying, sessionOver } from './znodes.js'

/**
 * A change of the cached tree. `'added'`, `'updated'` and `'removed'` carry
 * the node (for `'removed'`, as last seen); `'initialized'` comes once, after
 * the initial load has reported every node as `'added'`.
 */
export type TreeEvent =
  | { readonly type: 'added' | 'updated' | 'removed'; readonly node: NodeData }
  | { readonly type: 'initialized' }

/** How the cache learns of changes. */
export type TreeWatchMode = 'recursive' | 'perNode'

/** Options of {@link TreeCache}. */
export interface TreeCacheOptions {
  /**
   * `'auto'` (default): one persistent recursive watch (ZooKeeper 3.6+),
   * falling back to per-node watches when the server does not have them;
   * `'recursive'` or `'perNode'` to choose.
   */
  mode?: 'auto' | TreeWatchMode
  /** Requests in flight at once while loading (default 500). */
  concurrency?: number
}

/** Events of {@link TreeCache}. */
export interface TreeCacheEvents {
  event: [event: TreeEvent]
  /** The cache stopped following the tree: its session ended (or a read failed for good). */
  ended: [error: Error]
}

type State = { kind: 'latent' } | { kind: 'loading' } | { kind: 'started'; mode: TreeWatchMode } | { kind: 'ended'; error: Error } | { kind: 'closed' }

/** Newer: re-created (larger czxid) or changed since (larger mzxid). */
function newer(a: Stat, b: Stat): boolean {
  return a.czxid !== b.czxid ? a.czxid > b.czxid : a.mzxid > b.mzxid
}

/**
 * A subtree kept in memory (Curator's `CuratorCache`/`TreeCache`, kazoo's
 * `TreeCache`). With a server that has persistent recursive watches (3.6+),
 * the whole subtree is followed by ONE watch: each event's node is read again,
 * reads in flight together, applied in event order. Otherwise every node gets
 * a data and a child watch. After a reconnect the tree is read again and the
 * differences reported (persistent watches do not replay missed changes).
 *
 * ```ts
 * const cache = new TreeCache(zk, '/services')
 * const events = cache.events()
 * await cache.start()                    // every node 'added', then 'initialized'
 * for await (const e of events) console.log(e.type, e.type === 'initialized' ? '' : e.node.path)
 * ```
 */
export class TreeCache extends EventEmitter<TreeCacheEvents> {
  #state: State = { kind: 'latent' }
  readonly #nodes = new Map<string, NodeData>()
  readonly #kids = new Map<string, Set<string>>()
  readonly #streams = new Streams<TreeEvent>()
  #watch: PersistentWatch | null = null
  /** Events of the recursive watch, applied one after the other (their reads already in flight). */
  #applying: Promise<void> = Promise.resolve()
  #epoch = 0
  readonly #concurrency: number

  /** @throws RecipeError `'BAD_ARGUMENT'` for an invalid path or options */
  constructor(
    private readonly zk: ZooKeeper,
    readonly path: string,
    private readonly options: TreeCacheOptions = {},
  ) {
    super()
    checkPath(path, 'tree cache', true)
    const mode = options.mode ?? 'auto'
    if (!['auto', 'recursive', 'perNode'].includes(mode)) throw new RecipeError('BAD_ARGUMENT', `tree cache: mode must be 'auto', 'recursive' or 'perNode', not ${String(mode)}`)
    this.#concurrency = options.concurrency ?? 500
    if (!(Number.isInteger(this.#concurrency) && this.#concurrency > 0)) throw new RecipeError('BAD_ARGUMENT', `tree cache: concurrency must be a positive integer, not ${String(options.concurrency)}`)
  }

  /** How changes are followed (after `start()`). */
  get watchMode(): TreeWatchMode | null {
    return this.#state.kind === 'started' ? this.#state.mode : null
  }

  /** How many nodes are cached (the root included, while it exists). */
  get size(): number {
    return this.#nodes.size
  }

  /** A cached node, or undefined. */
  get(path: string): NodeData | undefined {
    return this.#nodes.get(path)
  }

  /** The cached children's names of `path` (sorted), or undefined if it is not cached. */
  children(path: string): string[] | undefined {
    const kids = this.#kids.get(path)
    return kids === undefined ? undefined : [...kids].sort()
  }

  /** Every cached node. */
  entries(): IterableIterator<[string, NodeData]> {
    return this.#nodes.entries()
  }

  /** The events from now on (subscribe before `start()` to get the initial load). Ends on close. */
  events(): EventStream<TreeEvent> {
    return this.#streams.open()
  }

  /** Sets the watch, loads the subtree (every node `'added'`), then `'initialized'`. */
  async start(): Promise<void> {
    if (this.#state.kind === 'closed') throw new RecipeError('CLOSED', `tree cache ${this.path}: closed`)
    if (this.#state.kind !== 'latent') throw new RecipeError('BUSY', `tree cache ${this.path}: already started`)
    this.#state = { kind: 'loading' }
    let mode: TreeWatchMode = this.options.mode === 'perNode' ? 'perNode' : 'recursive'
    if (mode === 'recursive') {
      try {
        this.#watch = await this.zk.addWatch(this.path, 'persistentRecursive')
      } catch (error) {
        const unsupported = isZk(error, 'UNIMPLEMENTED') || isZk(error, 'MARSHALLINGERROR') || isZk(error, 'BADARGUMENTS')
        if (!unsupported || this.options.mode === 'recursive') throw error
        mode = 'perNode'
      }
    }
    if (this.#watch) void this.#follow(this.#watch)
    await this.#load(mode === 'perNode')
    if (this.#state.kind !== 'loading') return
    this.#state = { kind: 'started', mode }
    this.#emit({ type: 'initialized' })
  }

  /** Stops following the tree and removes its watches. A second call is fine. */
  async close(): Promise<void> {
    if (this.#state.kind === 'closed') return
    const perNode = this.#state.kind === 'started' && this.#state.mode === 'perNode'
    this.#state = { kind: 'closed' }
    this.#epoch++
    this.#streams.end()
    await this.#watch?.close()
    if (perNode && !sessionOver(this.zk)) {
      await Promise.all([...this.#nodes.keys()].flatMap((p) => [this.zk.removeWatches(p, 'data').catch(() => undefined), this.zk.removeWatches(p, 'children').catch(() => undefined)]))
    }
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  #live(): boolean {
    return this.#state.kind === 'loading' || this.#state.kind === 'started'
  }

  #emit(event: TreeEvent): void {
    this.emit('event', event)
    this.#streams.push(event)
  }

  #end(error: unknown): void {
    if (!this.#live()) return
    const err = isSessionOver(error) ? new RecipeError('LOST', `tree cache ${this.path}: the ZooKeeper session ended`, { cause: error }) : (error as Error)
    this.#state = { kind: 'ended', error: err }
    this.#epoch++
    this.#streams.end(err)
    this.emit('ended', err)
  }

  /** Puts a read node in the cache and reports it, if it is new or newer. */
  #put(node: NodeData): void {
    const old = this.#nodes.get(node.path)
    if (old !== undefined && !newer(node.stat, old.stat)) return
    this.#nodes.set(node.path, node)
    if (node.path !== this.path) {
      const parent = node.path.slice(0, node.path.lastIndexOf('/')) || '/'
      let kids = this.#kids.get(parent)
      if (kids === undefined) this.#kids.set(parent, (kids = new Set()))
      kids.add(node.path.slice(node.path.lastIndexOf('/') + 1))
    }
    if (!this.#kids.has(node.path)) this.#kids.set(node.path, new Set())
    this.#emit({ type: old === undefined ? 'added' : 'updated', node })
  }

  /** Removes `path` and its cached descendants (deepest first), reporting each. */
  #remove(path: string): void {
    if (!this.#nodes.has(path)) return
    const order: string[] = []
    const stack = [path]
    while (stack.length > 0) {
      const p = stack.pop()!
      order.push(p)
      for (const kid of this.#kids.get(p) ?? []) stack.push(join(p, kid))
    }
    for (const p of order.reverse()) {
      const node = this.#nodes.get(p)
      this.#nodes.delete(p)
      this.#kids.delete(p)
      if (node !== undefined) this.#emit({ type: 'removed', node })
    }
    if (path !== this.path) this.#kids.get(path.slice(0, path.lastIndexOf('/')) || '/')?.delete(path.slice(path.lastIndexOf('/') + 1))
  }

  /** Reads the whole subtree (`concurrency` reads in flight; `watch`: per-node watches), reporting new and changed nodes and removing what is gone. */
  async #load(watch: boolean): Promise<void> {
    const epoch = this.#epoch
    const seen = new Set<string>()
    const queue = [this.path]
    await new Promise<void>((resolve, reject) => {
      let inFlight = 0
      let stopped = false
      const pump = (): void => {
        if (stopped) return
        if (epoch !== this.#epoch || (queue.length === 0 && inFlight === 0)) {
          stopped = true
          return resolve()
        }
        while (queue.length > 0 && inFlight < this.#concurrency) {
          const path = queue.pop()!
          inFlight++
          this.#readNode(path, watch).then(
            (r) => {
              inFlight--
              if (r !== null && epoch === this.#epoch) {
                seen.add(r.node.path)
                this.#put(r.node)
                for (const kid of r.children) queue.push(join(r.node.path, kid))
              }
              pump()
            },
            (error: unknown) => {
              stopped = true
              reject(error)
            },
          )
        }
      }
      pump()
    })
    for (const p of [...this.#nodes.keys()]) if (!seen.has(p) && epoch === this.#epoch) this.#remove(p)
  }

  /** A node and its children's names (null if it is gone), with per-node watches if asked. */
  async #readNode(path: string, watch: boolean): Promise<{ node: NodeData; children: string[] } | null> {
    const dataWatch = watch ? { watch: (e: WatchedEvent) => this.#perNodeEvent(e) } : {}
    const childWatch = watch ? { watch: (e: WatchedEvent) => this.#perNodeEvent(e) } : {}
    try {
      const [{ data, stat }, children] = await Promise.all([retrying(() => this.zk.getData(path, dataWatch)), retrying(() => this.zk.getChildren(path, childWatch))])
      return { node: { path, data, stat }, children }
    } catch (error) {
      if (isZk(error, 'NONODE')) {
        // Gone (or not there yet): with per-node watches, the root waits for its creation.
        if (watch && path === this.path) await retrying(() => this.zk.exists(path, dataWatch))
        return null
      }
      this.#end(error)
      throw error
    }
  }

  /** The recursive watch: each event's read starts at once; results apply in event order. */
  async #follow(watch: PersistentWatch): Promise<void> {
    try {
      for await (const event of watch) {
        if (!this.#live()) return
        if (event.type === 'None') {
          // Re-attached: changes made meanwhile are not replayed. Read everything again.
          this.#chain(async () => this.#load(false))
          continue
        }
        const path = event.path!
        if (event.type === 'NodeDeleted') {
          this.#chain(async () => this.#remove(path))
          continue
        }
        const read = this.#readData(path)
        this.#chain(async () => {
          const node = await read
          if (node !== null) this.#put(node)
        })
      }
    } catch (error) {
      this.#end(error)
    }
  }

  #chain(step: () => Promise<void>): void {
    const epoch = this.#epoch
    this.#applying = this.#applying.then(async () => {
      if (epoch !== this.#epoch || !this.#live()) return
      try {
        await step()
      } catch (error) {
        this.#end(error)
      }
    })
  }

  async #readData(path: string): Promise<NodeData | null> {
    for (;;) {
      try {
        const { data, stat } = await this.zk.getData(path)
        return { path, data, stat }
      } catch (error) {
        if (isZk(error, 'NONODE')) return null
        if (!isTransient(error)) throw error
      }
    }
  }

  /** Per-node watches: read the node (and any new children) again, setting the watches again. */
  #perNodeEvent(event: WatchedEvent): void {
    if (!this.#live() || event.path === null) {
      if (event.type === 'None' && sessionOver(this.zk)) this.#end(new RecipeError('LOST', `tree cache ${this.path}: the ZooKeeper session ended`))
      return
    }
    const path = event.path
    const epoch = this.#epoch
    this.#chain(async () => {
      if (event.type === 'NodeDeleted') return this.#remove(path)
      const read = await this.#readNode(path, true)
      if (epoch !== this.#epoch) return
      if (read === null) return this.#remove(path)
      this.#put(read.node)
      const known = this.#kids.get(path) ?? new Set()
      const fresh = read.children.filter((kid) => !this.#nodes.has(join(path, kid)))
      for (const kid of known) if (!read.children.includes(kid)) this.#remove(join(path, kid))
      // New children: load their subtrees with watches.
      let level = fresh.map((kid) => join(path, kid))
      while (level.length > 0 && epoch === this.#epoch) {
        const results = await Promise.all(level.map((p) => this.#readNode(p, true)))
        level = []
        for (const r of results) {
          if (r === null) continue
          this.#put(r.node)
          for (const kid of r.children) if (!this.#nodes.has(join(r.node.path, kid))) level.push(join(r.node.path, kid))
        }
      }
    })
  }
}
