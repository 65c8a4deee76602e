import type { ZooKeeper } from '../zk-wire/index.js'
import { realEnv, type Env } from '../env.js'
import { checkPath, join } from './args.js'
import { RecipeError } from './errors.js'
import type { EventStream } from './event-stream.js'
import { ChildrenCache } from './node-cache.js'
import { PersistentNode } from './persistent-node.js'
import { isZk } from './znodes.js'

/** Options of {@link Party}. */
export interface PartyOptions {
  /** Clock, timers and randomness (default: the real ones). */
  env?: Env
}

/**
 * Group membership on kazoo's `Party` layout: each member is an ephemeral
 * `<path>/<uuid hex>__party__` holding its id; `members()` lists the ids.
 * Membership is kept by a {@link PersistentNode}: re-created if deleted, and
 * after an expiry on a new session. `changes()` iterates the member lists.
 *
 * ```ts
 * const workers = new Party(zk, '/parties/workers', 'w1')
 * await workers.join()
 * console.log(await workers.members())   // ['w1', 'w2', …]
 * ```
 */
export class Party {
  #member: PersistentNode | null = null
  #cache: ChildrenCache | null = null
  #closed = false
  readonly #name: string

  /** @throws RecipeError `'BAD_ARGUMENT'` for an invalid path or id */
  constructor(
    private readonly zk: ZooKeeper,
    readonly path: string,
    readonly id: string,
    options: PartyOptions = {},
  ) {
    checkPath(path, 'party')
    if (typeof id !== 'string') throw new RecipeError('BAD_ARGUMENT', 'party: id must be a string')
    this.#name = (options.env ?? realEnv).randomBytes(16).toString('hex') + '__party__'
  }

  /** Whether this member has joined (and not left). */
  get isMember(): boolean {
    return this.#member !== null
  }

  /** Joins the party (a no-op if joined). */
  async join(): Promise<void> {
    if (this.#closed) throw new RecipeError('CLOSED', `party ${this.path}: closed`)
    if (this.#member !== null) return
    const member = new PersistentNode(this.zk, join(this.path, this.#name), this.id)
    this.#member = member
    try {
      await member.start()
    } catch (error) {
      this.#member = null
      await member.close()
      throw error
    }
  }

  /** Leaves the party (a no-op if not joined). */
  async leave(): Promise<void> {
    const member = this.#member
    this.#member = null
    await member?.close()
  }

  /** The ids of the members now (unordered, as kazoo's `Party`). */
  async members(): Promise<string[]> {
    let children: string[]
    try {
      children = await this.zk.getChildren(this.path)
    } catch (error) {
      if (isZk(error, 'NONODE')) return []
      throw error
    }
    const ids = await Promise.all(children.map((c) => this.zk.getData(join(this.path, c)).then((r) => r.data.toString(), () => null)))
    return ids.filter((id): id is string => id !== null)
  }

  /** The member znodes' names from now on, each time they change (starts following them on first call). */
  async changes(): Promise<EventStream<readonly string[]>> {
    if (this.#closed) throw new RecipeError('CLOSED', `party ${this.path}: closed`)
    if (this.#cache === null) {
      this.#cache = new ChildrenCache(this.zk, this.path)
      const stream = this.#cache.values()
      await this.#cache.start()
      return stream
    }
    return this.#cache.values()
  }

  /** Leaves and stops following changes. A second call is fine. */
  async close(): Promise<void> {
    this.#closed = true
    await this.leave()
    await this.#cache?.close()
  }
}
