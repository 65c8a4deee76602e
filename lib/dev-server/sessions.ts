import { type Env, realEnv } from '../env.js'

/** A client session. It outlives connections: a client may re-attach it until it expires. */
export interface Session {
  readonly id: bigint
  readonly password: Buffer
  /** Negotiated timeout, milliseconds. */
  timeout: number
  /** When it expires unless touched (a multiple of the tick, as ZooKeeper rounds). */
  expiresAt: number
}

/** ZooKeeper's standalone server tags session ids with server id 1. */
const SERVER_ID = 1n

/**
 * Sessions and their expiry, as ZooKeeper's SessionTrackerImpl keeps them:
 * ids start from the clock (so ids from before a restart are not reused),
 * and expiry times are rounded up to the next tick.
 */
export class SessionTracker {
  private readonly sessions = new Map<bigint, Session>()
  private nextId: bigint

  constructor(
    private readonly tickTime: number,
    private readonly env: Pick<Env, 'now' | 'randomBytes'> = realEnv,
  ) {
    this.nextId = BigInt.asIntN(64, (BigInt.asUintN(64, BigInt(env.now()) << 24n) >> 8n) | (SERVER_ID << 56n))
  }

  get size(): number {
    return this.sessions.size
  }

  create(timeout: number): Session {
    const session = { id: this.nextId++, password: this.env.randomBytes(16), timeout, expiresAt: this.deadline(timeout) }
    this.sessions.set(session.id, session)
    return session
  }

  /** Puts back a session read from a snapshot; it gets a full timeout from now. */
  restore(id: bigint, password: Buffer, timeout: number): void {
    this.sessions.set(id, { id, password, timeout, expiresAt: this.deadline(timeout) })
  }

  get(id: bigint): Session | undefined {
    return this.sessions.get(id)
  }

  /** Pushes the expiry back (on every request); `timeout` replaces the negotiated one on re-attach. False if the session is gone. */
  touch(id: bigint, timeout?: number): boolean {
    const session = this.sessions.get(id)
    if (session === undefined) return false
    if (timeout !== undefined) session.timeout = timeout
    session.expiresAt = this.deadline(session.timeout)
    return true
  }

  remove(id: bigint): void {
    this.sessions.delete(id)
  }

  /** Removes and returns the sessions whose time is up. */
  takeExpired(now: number): Session[] {
    const out: Session[] = []
    for (const s of this.sessions.values()) if (s.expiresAt <= now) out.push(s)
    for (const s of out) this.sessions.delete(s.id)
    return out
  }

  all(): IterableIterator<Session> {
    return this.sessions.values()
  }

  private deadline(timeout: number): number {
    return (Math.floor((this.env.now() + timeout) / this.tickTime) + 1) * this.tickTime
  }
}
