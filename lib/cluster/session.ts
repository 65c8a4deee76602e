import { EventEmitter } from 'node:events'
import { Code, ZkError, ZooKeeper, type ZkState, type ZooKeeperOptions } from '../zk-wire/index.js'
import type { Log } from './log.js'
import { isExpired, isZk, pause } from './znodes.js'

/**
 * Where the cluster's ZooKeeper session is: `'connected'`, `'disconnected'`
 * (the client is looking for a server; the session may still live),
 * `'renewing'` (it expired; a new one is being opened), `'closed'`.
 */
export type SessionState = 'connected' | 'disconnected' | 'renewing' | 'closed'

/** Events of a {@link Session}. */
export interface SessionEvents {
  state: [state: SessionState]
  /** The session expired: its ephemeral nodes and watches are gone on the server. */
  expired: []
  /** A new session replaced the expired one; `zk` is its client. */
  renewed: [zk: ZooKeeper]
}

/** How a {@link Session} connects. */
export interface SessionOptions {
  readonly connectString: string
  readonly client: ZooKeeperOptions
  /** How long `open` keeps trying before it fails. */
  readonly connectTimeout: number
}

const FIRST_RETRY_MS = 250
const MAX_RETRY_MS = 5000
const FIRST_ATTEMPT_MS = 1000
const RETRY_READ_MS = 20

/**
 * A ZooKeeper session that outlives expiry: when the server expires it, a new
 * one is opened (with backoff, until it works or `close()`), and `'renewed'`
 * tells the recipes to put their znodes and watches back. Written against the
 * client's public API only.
 */
export class Session extends EventEmitter<SessionEvents> {
  #zk: ZooKeeper
  #state: SessionState = 'connected'
  #epoch = 1
  #renewal: Promise<ZooKeeper> | null = null
  readonly #closing = new AbortController()
  readonly #log: Log
  readonly #onState = (state: ZkState): void => this.#clientState(state)

  private constructor(zk: ZooKeeper, log: Log) {
    super()
    this.#log = log
    this.#zk = zk
    zk.on('state', this.#onState)
  }

  /**
   * Opens a session, retrying with backoff while ZooKeeper cannot be reached
   * (each failed attempt is logged), for up to `connectTimeout`.
   * @throws Error saying which servers could not be reached, after `connectTimeout`
   */
  static async open(options: SessionOptions, log: Log): Promise<Session> {
    const { connectString, connectTimeout } = options
    const deadline = Date.now() + connectTimeout
    let attemptMs = FIRST_ATTEMPT_MS
    let retryMs = FIRST_RETRY_MS
    for (let attempt = 1; ; attempt++) {
      try {
        const zk = await ZooKeeper.connect(connectString, { ...options.client, connectTimeout: Math.max(1, Math.min(attemptMs, deadline - Date.now())) })
        return new Session(zk, log)
      } catch (error) {
        if (!isZk(error, 'CONNECTIONLOSS')) throw error
        const left = deadline - Date.now()
        if (left <= 0) {
          throw new Error(`could not reach ZooKeeper at ${connectString} within ${connectTimeout} ms (${attempt} attempts): ${(error as Error).message}`, { cause: error })
        }
        const wait = Math.min(retryMs, left)
        log.error(`ZooKeeper at ${connectString} is unreachable (attempt ${attempt}: ${(error as Error).message}); retrying in ${wait} ms, giving up in ${Math.ceil(left / 1000)} s`)
        await pause(wait)
        attemptMs = Math.min(attemptMs * 2, MAX_RETRY_MS)
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS)
      }
    }
  }

  /** The current client (after an expiry, the expired one until the new session is open). */
  get zk(): ZooKeeper {
    return this.#zk
  }

  get state(): SessionState {
    return this.#state
  }

  /**
   * How many times the session has been (re)connected. While it is unchanged
   * the client has stayed on one connection, so watch events arrived in the
   * order of the changes (after a reconnect, re-armed watches may fire in any order).
   */
  get epoch(): number {
    return this.#epoch
  }

  /**
   * The client to use now. While a new session is being opened, waits for it.
   * @throws ZkError CLOSED once the session is closed
   */
  client(): Promise<ZooKeeper> {
    if (this.#state === 'closed') return Promise.reject(new ZkError(Code.CLOSED, { op: 'session' }))
    return this.#renewal ?? Promise.resolve(this.#zk)
  }

  /**
   * Runs a read on the current client, again after a lost connection or on
   * the new session after an expiry. Other errors (and OPERATIONTIMEOUT: no
   * connection within `requestTimeout`) reject.
   */
  async read<T>(read: (zk: ZooKeeper) => Promise<T>): Promise<T> {
    for (;;) {
      const zk = await this.client()
      try {
        return await read(zk)
      } catch (error) {
        if (isExpired(error)) continue
        if (!isZk(error, 'CONNECTIONLOSS')) throw error
        await pause(RETRY_READ_MS, this.#closing.signal)
      }
    }
  }

  /** Closes the session (its ephemeral nodes vanish at once) and stops any renewal. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return
    this.#setState('closed')
    this.#closing.abort()
    this.#zk.off('state', this.#onState)
    await this.#zk.close()
  }

  #setState(state: SessionState): void {
    if (this.#state === state) return
    this.#state = state
    if (state === 'connected') this.#epoch++
    this.emit('state', state)
  }

  #clientState(state: ZkState): void {
    switch (state) {
      case 'connected':
      case 'connectedReadOnly':
        this.#setState('connected')
        return
      case 'disconnected':
        this.#setState('disconnected')
        return
      case 'expired':
      case 'authFailed':
        this.#log.error(`ZooKeeper session 0x${this.#zk.sessionId.toString(16)} ${state === 'expired' ? 'expired' : 'failed authentication'}; opening a new one`)
        this.#renewal = this.#renew()
        this.#renewal.catch(() => undefined)
        this.#setState('renewing')
        this.emit('expired')
        return
      default:
    }
  }

  async #renew(): Promise<ZooKeeper> {
    const old = this.#zk
    old.off('state', this.#onState)
    let retryMs = FIRST_RETRY_MS
    while (!this.#closing.signal.aborted) {
      try {
        const zk = await old.newSession()
        if (this.#closing.signal.aborted) {
          await zk.close()
          break
        }
        this.#zk = zk
        zk.on('state', this.#onState)
        this.#renewal = null
        this.#log.trace(`new ZooKeeper session 0x${zk.sessionId.toString(16)}`)
        this.#setState('connected')
        this.emit('renewed', zk)
        return zk
      } catch (error) {
        this.#log.error(`could not open a new ZooKeeper session; retrying in ${retryMs} ms`, error as Error)
        await pause(retryMs, this.#closing.signal)
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS)
      }
    }
    throw new ZkError(Code.CLOSED, { op: 'session' })
  }
}
