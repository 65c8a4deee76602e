import type { ACL } from '../zk-wire/index.js'
import type { Log } from './log.js'
import type { Session } from './session.js'
import { createEphemeral, deleteIfExists, isClosed, isExpired, isTransient } from './znodes.js'

interface Entry {
  wanted: boolean
  data: Buffer
  /** The session on which the znode is known to exist; 0n for none. */
  on: bigint
  /** The loop bringing ZooKeeper in line with `wanted`, while one runs. */
  syncing: Promise<void> | null
}

const FIRST_RETRY_MS = 50
const MAX_RETRY_MS = 2000

/**
 * The ephemeral znodes this node wants to exist — its own entry under
 * `nodes/` and its service members — kept in line with ZooKeeper across
 * connection loss and session expiry. Each path has at most one loop at a
 * time making ZooKeeper match what is wanted now, so a removal that races a
 * creation still ends with the znode gone.
 */
export class Ephemerals {
  readonly #entries = new Map<string, Entry>()

  constructor(
    private readonly session: Session,
    private readonly acl: readonly ACL[],
    private readonly log: Log,
  ) {}

  /**
   * Wants `path` to exist with `data`; resolves once it does on the current
   * session (parent directories are created as needed).
   * @throws ZkError if ZooKeeper refuses it (NOAUTH, …); it is then no longer wanted
   */
  add(path: string, data: Buffer): Promise<void> {
    let entry = this.#entries.get(path)
    if (entry === undefined) this.#entries.set(path, (entry = { wanted: true, data, on: 0n, syncing: null }))
    entry.wanted = true
    entry.data = data
    return this.#sync(path, entry)
  }

  /** No longer wants `path`; resolves once it is deleted (or gone with its session). */
  remove(path: string): Promise<void> {
    const entry = this.#entries.get(path)
    if (entry === undefined) return Promise.resolve()
    entry.wanted = false
    return this.#sync(path, entry)
  }

  /** A new session replaced an expired one: creates every wanted znode again. Resolves when all exist. */
  async restore(): Promise<void> {
    const results = await Promise.allSettled([...this.#entries].map(([path, entry]) => this.#sync(path, entry)))
    for (const result of results) if (result.status === 'rejected' && !isClosed(result.reason)) this.log.error('could not advertise again after the new session', result.reason as Error)
  }

  #sync(path: string, entry: Entry): Promise<void> {
    entry.syncing ??= this.#loop(path, entry).finally(() => {
      entry.syncing = null
      if (!entry.wanted && this.#entries.get(path) === entry) this.#entries.delete(path)
    })
    return entry.syncing
  }

  async #loop(path: string, entry: Entry): Promise<void> {
    let retryMs = FIRST_RETRY_MS
    for (;;) {
      try {
        const zk = await this.session.client()
        const present = entry.on === zk.sessionId
        if (entry.wanted === present) return
        if (entry.wanted) {
          await createEphemeral(zk, path, entry.data, this.acl)
          entry.on = zk.sessionId
          this.log.trace(`advertised ${path}`)
        } else {
          await deleteIfExists(zk, path)
          entry.on = 0n
          this.log.trace(`withdrew ${path}`)
        }
        retryMs = FIRST_RETRY_MS
      } catch (error) {
        if (isExpired(error)) continue
        // A closed session took every znode with it: only a creation has failed.
        if (isClosed(error) && !entry.wanted) return
        if (!isTransient(error)) {
          entry.wanted = false
          throw error
        }
        await this.session.pause(retryMs)
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS)
      }
    }
  }
}
