import { EventEmitter } from 'node:events'
import type { Data, WatchedEvent, ZkState, ZooKeeper } from '../zk-wire/index.js'
import { realEnv, type Env } from '../env.js'
import { checkPath, nodeName } from './args.js'
import { RecipeError } from './errors.js'
import { createProtected, deleteSurely, isSessionOver, isTransient, isZk, retrying, sessionOver, type Created } from './znodes.js'

/** Options of {@link PersistentNode}. */
export interface PersistentNodeOptions {
  /** `'ephemeral'` (default) or `'ephemeral_sequential'` (protected name, Curator's `_c_<uuid>-` prefix). */
  mode?: 'ephemeral' | 'ephemeral_sequential'
  /**
   * After the session expired: `'newSession'` (default) opens a new session
   * with `zk.newSession()` — owned by this node, closed by `close()` — and
   * creates the node again there; `'end'` ends the node instead.
   */
  afterExpiry?: 'newSession' | 'end'
  /** Clock, timers and randomness (default: the real ones). */
  env?: Env
}

/** Events of {@link PersistentNode}. */
export interface PersistentNodeEvents {
  /** The node was created (first, or again after a deletion or an expiry), at `path`. */
  created: [path: string]
  /** A new session replaced the expired one (the node lives on it now). */
  session: [zk: ZooKeeper]
  /** The node can be kept no longer. */
  ended: [error: Error]
}

type State =
  | { kind: 'latent' }
  | { kind: 'running'; zk: ZooKeeper; node: Created | null }
  | { kind: 'ended'; error: Error }
  | { kind: 'closing' | 'closed'; done: Promise<void> }

/**
 * An ephemeral node that stays (Curator's `PersistentNode` in ephemeral
 * mode): created at `start()`, created again whenever it is deleted, and —
 * after its session expired — created again on a new session.
 *
 * ```ts
 * const presence = new PersistentNode(zk, '/workers/w1', JSON.stringify({ host }))
 * await presence.start()
 * ```
 */
export class PersistentNode extends EventEmitter<PersistentNodeEvents> {
  #state: State = { kind: 'latent' }
  #data: Data | null
  #again = false
  #loop: Promise<void> | null = null
  readonly #owned = new Set<ZooKeeper>()
  readonly #env: Env
  #placed: { resolve: () => void; reject: (e: Error) => void } | null = null
  readonly #onState = (state: ZkState): void => {
    if (state === 'connected') this.#kick()
    else if (state === 'expired' || state === 'authFailed') this.#kick()
    else if (state === 'closed') this.#end(new RecipeError('LOST', `persistent node ${this.path}: the ZooKeeper client was closed`))
  }

  /** @throws RecipeError `'BAD_ARGUMENT'` for an invalid path or options */
  constructor(
    private readonly zk: ZooKeeper,
    readonly path: string,
    data: Data | null = null,
    private readonly options: PersistentNodeOptions = {},
  ) {
    super()
    checkPath(path, 'persistent node')
    const mode = options.mode ?? 'ephemeral'
    if (mode !== 'ephemeral' && mode !== 'ephemeral_sequential') throw new RecipeError('BAD_ARGUMENT', `persistent node: mode must be 'ephemeral' or 'ephemeral_sequential', not ${String(mode)}`)
    const after = options.afterExpiry ?? 'newSession'
    if (after !== 'newSession' && after !== 'end') throw new RecipeError('BAD_ARGUMENT', `persistent node: afterExpiry must be 'newSession' or 'end', not ${String(after)}`)
    this.#data = data
    this.#env = options.env ?? realEnv
  }

  /** The node's actual path (with the sequence number), while it exists. */
  get actualPath(): string | null {
    return this.#state.kind === 'running' ? (this.#state.node?.path ?? null) : null
  }

  /** The client the node lives on now (a new one after an expiry). */
  get client(): ZooKeeper {
    return this.#state.kind === 'running' ? this.#state.zk : this.zk
  }

  /** Creates the node; resolves once it exists. */
  start(): Promise<void> {
    if (this.#state.kind === 'closing' || this.#state.kind === 'closed') return Promise.reject(new RecipeError('CLOSED', `persistent node ${this.path}: closed`))
    if (this.#state.kind !== 'latent') return Promise.reject(new RecipeError('BUSY', `persistent node ${this.path}: already started`))
    this.#state = { kind: 'running', zk: this.zk, node: null }
    this.zk.on('state', this.#onState)
    const placed = new Promise<void>((resolve, reject) => (this.#placed = { resolve, reject }))
    this.#kick()
    return placed
  }

  /** Replaces the node's data (kept for re-creations too). */
  async setData(data: Data | null): Promise<void> {
    this.#data = data
    const s = this.#state
    if (s.kind === 'running' && s.node !== null) await retrying(() => s.zk.setData(s.node!.path, data)).catch((error: unknown) => {
      if (!isZk(error, 'NONODE')) throw error
    })
  }

  /** Deletes the node, stops re-creating it, and closes a session it opened. A second call resolves when the first is done. */
  close(): Promise<void> {
    const s = this.#state
    if (s.kind === 'closing' || s.kind === 'closed') return s.done
    const done = (async () => {
      this.#placed?.reject(new RecipeError('CLOSED', `persistent node ${this.path}: closed`))
      if (s.kind === 'running') {
        s.zk.off('state', this.#onState)
        await this.#loop
        if (s.node !== null) await deleteSurely(s.zk, s.node.path)
        if (!sessionOver(s.zk)) await s.zk.removeWatches(s.node?.path ?? this.path, 'data').catch(() => undefined)
      }
      await Promise.all([...this.#owned].map((zk) => zk.close()))
    })()
    this.#state = { kind: 'closing', done }
    void done.then(() => (this.#state = { kind: 'closed', done }), () => undefined)
    return done
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  #kick(): void {
    this.#again = true
    this.#loop ??= this.#run().finally(() => (this.#loop = null))
  }

  async #run(): Promise<void> {
    while (this.#again) {
      this.#again = false
      const s = this.#state
      if (s.kind !== 'running') return
      try {
        if (sessionOver(s.zk)) await this.#renew(s)
        else await this.#ensure(s)
      } catch (error) {
        // Connection trouble (a reconnect also kicks), or the session ended meanwhile: go again.
        if (isTransient(error) || isSessionOver(error)) {
          this.#again = true
          continue
        }
        this.#end(error as Error)
        return
      }
    }
  }

  /** Creates the node if it is missing, and watches it. */
  async #ensure(s: Extract<State, { kind: 'running' }>): Promise<void> {
    const zk = s.zk
    if (s.node !== null) {
      const stat = await zk.exists(s.node.path, { watch: (e) => this.#watched(s, e) })
      if (stat !== null && stat.ephemeralOwner === zk.sessionId) return
      s.node = null
    }
    let node: Created
    if (this.options.mode === 'ephemeral_sequential') {
      const dir = this.path.slice(0, this.path.lastIndexOf('/')) || '/'
      node = await createProtected(zk, dir, nodeName(this.path), this.#data, 'ephemeral_sequential', this.#env)
    } else {
      try {
        const { path, stat } = await zk.create2(this.path, this.#data, { mode: 'ephemeral' })
        node = { path, name: nodeName(path), stat }
      } catch (error) {
        if (isZk(error, 'NONODE')) {
          await retrying(() => zk.mkdirp(this.path.slice(0, this.path.lastIndexOf('/')) || '/', { mode: 'container' }))
          return this.#kick()
        }
        if (!isZk(error, 'NODEEXISTS')) throw error
        const stat = await zk.exists(this.path, { watch: (e) => this.#watched(s, e) })
        if (stat === null) return this.#kick()
        if (stat.ephemeralOwner !== zk.sessionId) return // someone else's: the watch re-creates ours once it goes
        node = { path: this.path, name: nodeName(this.path), stat } // ours, from a create whose reply was lost
      }
    }
    if (this.#state !== s) return void (await deleteSurely(zk, node.path))
    s.node = node
    await zk.exists(node.path, { watch: (e) => this.#watched(s, e) })
    this.emit('created', node.path)
    this.#placed?.resolve()
    this.#placed = null
  }

  #watched(s: Extract<State, { kind: 'running' }>, event: WatchedEvent): void {
    if (this.#state !== s) return
    if (event.type === 'NodeDeleted' || event.type === 'None') this.#kick()
  }

  /** The session expired: a new one, and the node on it (or the end). */
  async #renew(s: Extract<State, { kind: 'running' }>): Promise<void> {
    if (this.options.afterExpiry === 'end') return this.#end(new RecipeError('LOST', `persistent node ${this.path}: the ZooKeeper session expired`))
    s.zk.off('state', this.#onState)
    const old = s.zk
    const zk = await old.newSession()
    if (this.#state !== s) return void (await zk.close())
    this.#owned.add(zk)
    if (this.#owned.has(old)) {
      this.#owned.delete(old)
      await old.close()
    }
    s.zk = zk
    s.node = null
    zk.on('state', this.#onState)
    this.emit('session', zk)
    await this.#ensure(s)
  }

  #end(error: Error): void {
    const s = this.#state
    if (s.kind !== 'running') return
    s.zk.off('state', this.#onState)
    this.#state = { kind: 'ended', error }
    this.#placed?.reject(error)
    this.emit('ended', error)
  }
}
