import { EventEmitter } from 'node:events'
import { Code, ZkError, ZooKeeper, type ZkState, type ZooKeeperOptions } from '../zk-wire/index.js'
import { realEnv, type Clock, type Timer } from '../env.js'
import { ClusterError } from './errors.js'
import type { Log } from './log.js'
import { isClosed, isExpired, isZk, pause } from './znodes.js'

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

/** How a {@link Session} connects, and how long its callers wait. */
export interface SessionOptions {
  readonly connectString: string
  readonly client: ZooKeeperOptions
  /** How long `open` keeps trying before it fails. */
  readonly connectTimeout: number
  /** How long a `read` (or `usable`) waits for ZooKeeper before it rejects with a {@link ClusterError}. */
  readonly requestTimeout: number
  /** Wait for ZooKeeper however long it takes instead. */
  readonly wait: boolean
  readonly clock?: Clock
}

/** A promise with its settle functions. */
interface Deferred<T> {
  readonly promise: Promise<T>
  readonly resolve: (value: T) => void
  readonly reject: (error: Error) => void
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (error: Error) => void
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)))
  promise.catch(() => undefined)
  return { promise, resolve, reject }
}

/**
 * The machine's states, with what each owns: the client while it is the
 * session's (`connected`, `disconnected`); after an expiry the old client,
 * the promise callers of `client()` wait on, the backoff, the pending retry
 * and the client of the attempt under way (`renewing`); nothing once `closed`.
 */
type State =
  | { readonly kind: 'connected'; readonly zk: ZooKeeper }
  | { readonly kind: 'disconnected'; readonly zk: ZooKeeper }
  | { readonly kind: 'renewing'; readonly old: ZooKeeper; readonly renewed: Deferred<ZooKeeper>; retryMs: number; retry: Timer | null; attempt: ZooKeeper | null }
  | { readonly kind: 'closed'; readonly zk: ZooKeeper }

const FIRST_RETRY_MS = 250
const MAX_RETRY_MS = 5000
const FIRST_ATTEMPT_MS = 1000
const RETRY_READ_MS = 20

const NO_TIMER: Timer = { cancel: () => undefined, unref: () => NO_TIMER }

/**
 * A ZooKeeper session that outlives expiry: when the server expires it, a new
 * one is opened (with backoff, until it works or `close()`), and `'renewed'`
 * tells the recipes to put their znodes and watches back. One state value,
 * changed only by `#enter`. Written against the client's public API only.
 */
export class Session extends EventEmitter<SessionEvents> {
  #state: State
  #epoch = 1
  #connectionStart: number
  /** How long one attempt at a new session waits for it (as the attempt that opened the first). */
  readonly #attemptMs: number
  readonly #log: Log
  readonly #clock: Clock
  readonly #onState = (state: ZkState): void => this.#clientState(state)
  #closed = false
  /** The waits of `pause` and timers of `later`: `close` ends them at once. */
  readonly #onClose = new Set<() => void>()

  private constructor(
    zk: ZooKeeper,
    private readonly options: SessionOptions,
    log: Log,
    connectionStart: number,
    attemptMs: number,
  ) {
    super()
    this.#attemptMs = attemptMs
    this.#log = log
    this.#clock = options.clock ?? realEnv
    this.#connectionStart = connectionStart
    this.#state = { kind: 'connected', zk }
    zk.on('state', this.#onState)
  }

  /**
   * Opens a session, retrying with backoff while ZooKeeper cannot be reached
   * (each failed attempt is logged), for up to `connectTimeout`.
   * @throws Error saying which servers could not be reached, after `connectTimeout`
   */
  static async open(options: SessionOptions, log: Log): Promise<Session> {
    const { connectString, connectTimeout } = options
    const clock = options.clock ?? realEnv
    const deadline = clock.now() + connectTimeout
    let attemptMs = FIRST_ATTEMPT_MS
    let retryMs = FIRST_RETRY_MS
    for (let attempt = 1; ; attempt++) {
      const startedAt = clock.now()
      const attemptTimeout = Math.max(1, Math.min(attemptMs, deadline - clock.now()))
      try {
        const zk = await ZooKeeper.connect(connectString, { ...options.client, connectTimeout: attemptTimeout })
        return new Session(zk, options, log, startedAt, attemptTimeout)
      } catch (error) {
        if (!isZk(error, 'CONNECTIONLOSS')) throw error
        const left = deadline - clock.now()
        if (left <= 0) {
          throw new Error(`could not reach ZooKeeper at ${connectString} within ${connectTimeout} ms (${attempt} attempts): ${(error as Error).message}`, { cause: error })
        }
        const wait = Math.min(retryMs, left)
        log.error(`ZooKeeper at ${connectString} is unreachable (attempt ${attempt}: ${(error as Error).message}); retrying in ${wait} ms, giving up in ${Math.ceil(left / 1000)} s`)
        await pause(wait, clock)
        attemptMs = Math.min(attemptMs * 2, MAX_RETRY_MS)
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS)
      }
    }
  }

  /** The current client (after an expiry, the expired one until the new session is open). */
  get zk(): ZooKeeper {
    const state = this.#state
    return state.kind === 'renewing' ? state.old : state.zk
  }

  get state(): SessionState {
    return this.#state.kind
  }

  /**
   * Resolves after `ms`, or at once when the session is closed, so no retry
   * wait outlives `close()`. (One list of waits that `close()` ends, not a
   * listener each on an abort signal: a node whose ten lookups all back off
   * at once must not trip Node's "possible EventTarget memory leak" warning.)
   */
  pause(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve()
    return new Promise(resolve => {
      const wake = (): void => {
        timer.cancel()
        this.#onClose.delete(wake)
        resolve()
      }
      const timer = this.#clock.setTimer(ms, wake)
      this.#onClose.add(wake)
    })
  }

  /**
   * Runs `fn` after `ms` unless cancelled or the session is closed first: a
   * retry scheduled this way never outlives `close()`, even one of a
   * candidacy that the election no longer holds (withdrawn, still deleting
   * its znode). Does not keep the process alive.
   */
  later(ms: number, fn: () => void): Timer {
    if (this.#closed) return NO_TIMER
    const end = (): void => {
      timer.cancel()
      this.#onClose.delete(end)
    }
    const timer = this.#clock
      .setTimer(ms, () => {
        this.#onClose.delete(end)
        fn()
      })
      .unref()
    this.#onClose.add(end)
    const handle: Timer = { cancel: end, unref: () => handle }
    return handle
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
   * A time (this session's clock) no later than when the current connection's
   * handshake went out: when the session was opened, last lost its connection,
   * or expired. Creating a session, or moving it to another server, touches it
   * on the ZooKeeper leader itself — evidence for the leader's lease.
   */
  get connectionStart(): number {
    return this.#connectionStart
  }

  /**
   * The client to use now. While a new session is being opened, waits for it.
   * @throws ZkError CLOSED once the session is closed
   */
  client(): Promise<ZooKeeper> {
    const state = this.#state
    switch (state.kind) {
      case 'closed':
        return Promise.reject(new ZkError(Code.CLOSED, { op: 'session' }))
      case 'renewing':
        return state.renewed.promise
      default:
        return Promise.resolve(state.zk)
    }
  }

  /**
   * Runs a read on the current client, again after a lost connection or on
   * the new session after an expiry, for up to `requestTimeout` (unless
   * `wait`): then it rejects with a {@link ClusterError} — `UNREACHABLE`
   * while disconnected, `EXPIRED` while a new session cannot be opened,
   * `STOPPED` once closed. Other errors reject as they are.
   */
  async read<T>(read: (zk: ZooKeeper) => Promise<T>): Promise<T> {
    const deadline = this.options.wait ? Infinity : this.#clock.now() + this.options.requestTimeout
    for (;;) {
      const zk = await this.usable(deadline)
      try {
        return await read(zk)
      } catch (error) {
        if (isExpired(error)) continue
        if (isClosed(error)) throw this.unavailable(error)
        const lost = isZk(error, 'CONNECTIONLOSS')
        if (!lost && !isZk(error, 'OPERATIONTIMEOUT')) throw error
        if (this.#clock.now() >= deadline) throw this.unavailable(error)
        if (lost) await this.pause(RETRY_READ_MS)
      }
    }
  }

  /**
   * The client, once the session is usable (at once unless a new session is
   * being opened); rejects with a {@link ClusterError} at `deadline` (ms,
   * the clock's time) or when the session closes.
   */
  usable(deadline: number): Promise<ZooKeeper> {
    const state = this.#state
    if (state.kind === 'closed') return Promise.reject(this.unavailable())
    if (state.kind !== 'renewing') return Promise.resolve(state.zk)
    if (deadline === Infinity) return state.renewed.promise.catch(error => Promise.reject(this.unavailable(error)))
    return new Promise((resolve, reject) => {
      const timer = this.#clock.setTimer(Math.max(0, deadline - this.#clock.now()), () => reject(this.unavailable()))
      state.renewed.promise.then(
        zk => {
          timer.cancel()
          resolve(zk)
        },
        error => {
          timer.cancel()
          reject(this.unavailable(error))
        },
      )
    })
  }

  /** The {@link ClusterError} for a call that gives up now. */
  unavailable(cause?: unknown): ClusterError {
    const options = cause === undefined ? undefined : { cause }
    const within = `within ${this.options.requestTimeout} ms`
    switch (this.#state.kind) {
      case 'closed':
        return new ClusterError('STOPPED', 'the cluster is stopped: its ZooKeeper session is closed', options)
      case 'renewing':
        return new ClusterError('EXPIRED', `the ZooKeeper session expired and no new one could be opened ${within}`, options)
      default:
        return new ClusterError('UNREACHABLE', `ZooKeeper at ${this.options.connectString} did not answer ${within}`, options)
    }
  }

  /** Closes the session (its ephemeral nodes vanish at once) and stops any renewal. */
  async close(): Promise<void> {
    const state = this.#state
    if (state.kind === 'closed') return
    const zk = state.kind === 'renewing' ? state.old : state.zk
    const attempt = state.kind === 'renewing' ? state.attempt : null
    this.#enter({ kind: 'closed', zk })
    await Promise.all([zk.close(), attempt?.close()])
  }

  /**
   * The only place that assigns the state: leaves the old one (a renewal's
   * retry is cancelled; on a close its attempt under way is closed too and
   * its waiters hear of it; a client that stops
   * being the session's is no longer listened to), enters the next, and tells.
   */
  #enter(next: State): void {
    const old = this.#state
    if (old.kind === 'renewing') {
      old.retry?.cancel()
      if (next.kind === 'closed') {
        void old.attempt?.close()
        old.renewed.reject(new ZkError(Code.CLOSED, { op: 'session' }))
      }
    }
    const before = old.kind === 'renewing' ? old.old : old.zk
    const after = next.kind === 'renewing' ? null : next.zk
    if (before !== after) before.off('state', this.#onState)
    this.#state = next
    if (next.kind === 'closed') {
      this.#closed = true
      for (const end of [...this.#onClose]) end()
    }
    if (next.kind === 'disconnected' || next.kind === 'renewing') this.#connectionStart = this.#clock.now()
    if (next.kind === 'connected' && (old.kind !== 'connected' || before !== after)) this.#epoch++
    if (old.kind !== next.kind) this.emit('state', next.kind)
  }

  #clientState(state: ZkState): void {
    const current = this.#state
    if (current.kind !== 'connected' && current.kind !== 'disconnected') return
    switch (state) {
      case 'connected':
      case 'connectedReadOnly':
        this.#enter({ kind: 'connected', zk: current.zk })
        return
      case 'disconnected':
        this.#enter({ kind: 'disconnected', zk: current.zk })
        return
      case 'expired':
      case 'authFailed': {
        this.#log.error(`ZooKeeper session 0x${current.zk.sessionId.toString(16)} ${state === 'expired' ? 'expired' : 'failed authentication'}; opening a new one`)
        const renewing: State = { kind: 'renewing', old: current.zk, renewed: deferred(), retryMs: FIRST_RETRY_MS, retry: null, attempt: null }
        this.#enter(renewing)
        this.emit('expired')
        void this.#renew(renewing)
        return
      }
      default:
    }
  }

  /**
   * One attempt at a new session (a new client, as `newSession()` makes it,
   * held by the state so that a close ends it); on failure the next is
   * scheduled with backoff.
   */
  async #renew(state: State & { kind: 'renewing' }): Promise<void> {
    const zk = new ZooKeeper(this.options.connectString, { ...this.options.client, connectTimeout: this.#attemptMs })
    state.attempt = zk
    try {
      await zk.whenConnected(this.#attemptMs)
    } catch (error) {
      state.attempt = null
      await zk.close()
      if (this.#state !== state) return
      this.#log.error(`could not open a new ZooKeeper session; retrying in ${state.retryMs} ms`, error as Error)
      state.retry = this.#clock.setTimer(state.retryMs, () => void this.#renew(state))
      state.retryMs = Math.min(state.retryMs * 2, MAX_RETRY_MS)
      return
    }
    state.attempt = null
    if (this.#state !== state) {
      await zk.close()
      return
    }
    zk.on('state', this.#onState)
    this.#enter({ kind: 'connected', zk })
    this.#log.trace(`new ZooKeeper session 0x${zk.sessionId.toString(16)}`)
    state.renewed.resolve(zk)
    this.emit('renewed', zk)
  }
}
