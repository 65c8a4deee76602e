import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { Call } from './call.js'
import { Connection, type ConnectionHandler } from './connection.js'
import { Code, ZkError } from './errors.js'
import { type WatchedEvent, type ZkState, eventTypeName } from './events.js'
import { Fifo } from './fifo.js'
import { fourLetterWord } from './four-letter.js'
import { type ConnectString, type HostAddress, HostList } from './hosts.js'
import { logger } from './log.js'
import { type ConnectResponse, type Operation, type WatcherEventRecord, Xid, ops } from './operations.js'
import type { ZooKeeperOptions } from './options.js'
import { toClientPath } from './paths.js'
import { DigestMd5 } from './sasl.js'
import { openSocket } from './sockets.js'
import { WatchRegistry } from './watches.js'

const log = logger('zkcloud:wire')

/** The options a session runs with, defaults filled in. */
export type SessionOptions = Required<Pick<ZooKeeperOptions, 'sessionTimeout' | 'requestTimeout' | 'maxBufferSize' | 'canBeReadOnly' | 'captureStack'>> &
  ZooKeeperOptions

type Terminal = 'expired' | 'authFailed' | 'closed'

/** The code calls reject with once the session is in a terminal state. */
export const TERMINAL_CODES: Record<Terminal, number> = {
  expired: Code.SESSIONEXPIRED,
  authFailed: Code.AUTHFAILED,
  closed: Code.CLOSED,
}

const NO_PASSWORD = Buffer.alloc(16)
const SET_WATCHES_MAX_PATH_BYTES = 128 * 1024
const MAX_RW_PROBE_MS = 10_000

interface Waiting {
  call: Call<unknown>
  deadline: number
}

/**
 * The session state machine: the host list, one connection at a time,
 * re-attaching the session after connection loss, SASL and auth on each new
 * connection, watch re-arming, read-only mode, calls waiting for a connection,
 * and the terminal states (closed, expired, auth failed). The public
 * operations live in `ZooKeeper` (client.ts), which drives one Session.
 */
export class Session extends EventEmitter<{ state: [ZkState] }> {
  private readonly chroot: string
  private _state: ZkState = 'connecting'
  private readonly hosts: HostList
  private conn: Connection | null = null
  private _sessionId = 0n
  private _sessionPassword: Buffer = NO_PASSWORD
  private _negotiatedTimeout = 0
  private lastZxid = 0n
  private lastHeard = Date.now()
  private readonly waiting = new Fifo<Waiting>()
  private waitTimer: NodeJS.Timeout | null = null
  /** Every watch of this session (re-armed on each new connection). */
  readonly watches = new WatchRegistry()
  private readonly authInfo: Array<{ scheme: string; auth: Buffer }> = []
  /** Replies owed for auth packets on the current connection, in order; `null` for re-sent ones. */
  private authReplies = new Fifo<{ resolve: () => void; reject: (e: Error) => void } | null>()
  private retryTimer: NodeJS.Timeout | null = null
  private roProbe: NodeJS.Timeout | null = null
  /** A session got from a read-only server is not valid on read-write ones (the Java client's `seenRwServerBefore`). */
  private seenRwServer = false
  private connecting: Socket | null = null
  /** Bounds the current connection attempt (TCP, TLS and handshake). */
  private connectTimer: NodeJS.Timeout | null = null
  private closing: Promise<void> | null = null
  private readonly done: Promise<Error | void>
  private resolveDone!: (e: Error | void) => void

  constructor(
    target: ConnectString,
    private readonly options: SessionOptions,
  ) {
    super()
    this.chroot = target.chroot
    if (options.sessionId !== undefined) {
      this.seenRwServer = true
      this._sessionId = options.sessionId
      this._sessionPassword = options.sessionPassword ?? NO_PASSWORD
    }
    for (const [scheme, credentials] of options.auth ?? []) {
      this.authInfo.push({ scheme, auth: Buffer.from(credentials) })
    }
    this.hosts = new HostList(target.hosts, options.shuffle ?? true)
    this.done = new Promise((resolve) => (this.resolveDone = resolve))
    this.nextAttempt()
  }

  /** The current session state. */
  get state(): ZkState {
    return this._state
  }

  /** The session id (0n before the first connection). */
  get sessionId(): bigint {
    return this._sessionId
  }

  /** The session password, needed with `sessionId` to re-attach the session from another client. */
  get sessionPassword(): Buffer {
    return this._sessionPassword
  }

  /** The session timeout the server granted, in milliseconds. */
  get negotiatedTimeout(): number {
    return this._negotiatedTimeout
  }

  /**
   * When the client last heard from a server of this session (ms since the
   * epoch): replies, notifications or pings. While disconnected it stops
   * advancing, so `Date.now() - lastHeardAt` bounds how long the server may
   * already have been counting down the session timeout — what a leader must
   * watch to step down before its session can have expired.
   */
  get lastHeardAt(): number {
    return this.conn?.isOpen ? this.conn.lastRecv : this.lastHeard
  }

  /** The server the client is attached to now, or null. */
  get currentServer(): string | null {
    const s = this.conn?.isOpen ? this.conn.socket : null
    return s ? `${s.remoteAddress}:${s.remotePort}` : null
  }

  /** Resolves when the session is connected (read-write or read-only); rejects on a terminal state or after `timeoutMs`. */
  whenConnected(timeoutMs = this.options.sessionTimeout): Promise<void> {
    if (this._state === 'connected' || this._state === 'connectedReadOnly') return Promise.resolve()
    const terminal = this.terminalError('connect')
    if (terminal) return Promise.reject(terminal)
    return new Promise((resolve, reject) => {
      const onState = (s: ZkState): void => {
        if (s === 'connected' || s === 'connectedReadOnly') finish()
        else if (s === 'expired' || s === 'authFailed' || s === 'closed') finish(this.terminalError('connect') ?? undefined)
      }
      const timer = setTimeout(
        () => finish(new ZkError(Code.CONNECTIONLOSS, { op: 'connect', message: `no session within ${timeoutMs} ms` })),
        timeoutMs,
      )
      const finish = (err?: Error): void => {
        clearTimeout(timer)
        this.off('state', onState)
        if (err) reject(err)
        else resolve()
      }
      this.on('state', onState)
    })
  }

  /** Resolves when the client reaches a terminal state: to the error for expiry or auth failure, to undefined for `close()`. Never rejects. */
  closed(): Promise<Error | void> {
    return this.done
  }

  private setState(next: ZkState): void {
    if (this._state === next) return
    log('state %s -> %s (session 0x%s)', this._state, next, this._sessionId.toString(16))
    this._state = next
    this.emit('state', next)
  }

  private isTerminal(): boolean {
    return this._state === 'expired' || this._state === 'authFailed' || this._state === 'closed'
  }

  /** The error for calls made in a terminal state, or null while the session lives. */
  terminalError(op: string, path?: string): ZkError | null {
    if (!this.isTerminal()) return null
    const opts: { op: string; path?: string } = { op }
    if (path !== undefined) opts.path = path
    return new ZkError(TERMINAL_CODES[this._state as Terminal], opts)
  }

  private nextAttempt(): void {
    if (this.isTerminal() || this.closing) return
    const { address, delayMs } = this.hosts.next()
    if (delayMs === 0) {
      this.attempt(address)
      return
    }
    log('all %d hosts failed; retrying in %d ms', this.hosts.size, delayMs)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      this.attempt(address)
    }, delayMs)
  }

  private attempt(address: HostAddress): void {
    if (this.isTerminal() || this.closing) return
    const timeoutMs = Math.max(1000, Math.floor(this.options.sessionTimeout / this.hosts.size))
    const { socket, ready } = openSocket(address, this.options.tls)
    this.connecting = socket
    const fail = (reason: Error): void => {
      if (this.connecting !== socket) return
      this.connecting = null
      clearTimeout(timer)
      socket.destroy()
      log('connecting to %s:%d failed: %s', address.host, address.port, reason.message)
      this.nextAttempt()
    }
    const timer = setTimeout(() => fail(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs)
    this.connectTimer = timer
    socket.once('error', fail)
    socket.once(ready, () => {
      socket.off('error', fail)
      const conn: Connection = new Connection(socket, this.handlerFor(() => conn), { maxBufferSize: this.options.maxBufferSize })
      conn.lastZxid = this.lastZxid
      conn
        .handshake({
          protocolVersion: 0,
          lastZxidSeen: this.lastZxid,
          timeout: this.options.sessionTimeout,
          sessionId: this.seenRwServer ? this._sessionId : 0n,
          password: this.seenRwServer ? this._sessionPassword : NO_PASSWORD,
          readOnly: this.options.canBeReadOnly,
        })
        .then(
          (resp) => {
            if (this.connecting !== socket) return conn.close(Code.CLOSED, new Error('superseded'))
            this.connecting = null
            clearTimeout(timer)
            this.attach(conn, resp, address)
          },
          (err: Error) => fail(err),
        )
    })
  }

  private handlerFor(conn: () => Connection): ConnectionHandler {
    return {
      notification: (ev) => this.onNotification(ev),
      authReply: (err) => this.onAuthReply(err),
      setWatchesReply: (err) => {
        if (err !== 0) log('SetWatches failed: %s', new ZkError(err).message)
      },
      closed: (reason) => this.onConnectionClosed(conn(), reason),
    }
  }

  private attach(conn: Connection, resp: ConnectResponse, address: HostAddress): void {
    if (resp.timeout <= 0) {
      if (resp.readOnly && this.seenRwServer) {
        // A read-only server does not know the sessions of the quorum it lost: its
        // "expired" says nothing about ours. Keep looking for a read-write server.
        conn.close(Code.CONNECTIONLOSS, new Error('a read-only server cannot re-attach this session'))
        return
      }
      conn.close(Code.SESSIONEXPIRED, new Error('session expired'))
      this.expire()
      return
    }
    const resumed = this._sessionId !== 0n && this._sessionId === resp.sessionId
    this._sessionId = resp.sessionId
    this._sessionPassword = resp.password
    this._negotiatedTimeout = resp.timeout
    if (!resp.readOnly) this.seenRwServer = true
    this.hosts.connected()
    this.conn = conn
    conn.open(resp.timeout)
    log('%s session 0x%s on %s:%d (timeout %d ms%s)', resumed ? 'resumed' : 'new', resp.sessionId.toString(16), address.host, address.port, resp.timeout, resp.readOnly ? ', read-only' : '')
    const sasl = this.options.sasl
    if (sasl === undefined) {
      this.ready(conn, resp.readOnly)
      return
    }
    authenticate(new DigestMd5(sasl), (token) => this.onConnection(conn, ops.sasl, { token })).then(
      () => this.ready(conn, resp.readOnly),
      (err: Error) => {
        if (this.conn !== conn) return
        if (err instanceof ZkError && err.code === Code.CONNECTIONLOSS) return
        this.finish('authFailed', new ZkError(Code.AUTHFAILED, { op: 'sasl', message: `SASL authentication failed: ${err.message}`, cause: err }))
      },
    )
  }

  /** Sends a request on a connection that is not yet in use for calls (during the SASL exchange). */
  private onConnection<Req, Res>(conn: Connection, op: Operation<Req, Res>, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => conn.send(new Call<Res>(op, req, undefined, resolve, reject, undefined, undefined), req))
  }

  /** The connection is authenticated: re-send credentials and watches, then let calls through. */
  private ready(conn: Connection, readOnly: boolean): void {
    if (this.conn !== conn || this.isTerminal()) return
    this.authReplies = new Fifo()
    for (const a of this.authInfo) {
      conn.sendAuth(a.scheme, a.auth)
      this.authReplies.push(null)
    }
    this.resetWatches(conn)
    const reconnected = this._state === 'disconnected'
    this.setState(readOnly ? 'connectedReadOnly' : 'connected')
    if (reconnected) this.watches.resync({ type: 'None', state: this._state, path: null })
    this.flushWaiting(conn)
    if (readOnly) this.seekReadWriteServer(conn)
  }

  /**
   * While attached to a read-only server, probes the other servers (the `isro`
   * four-letter word, as the Java client does) with a growing interval; when
   * one answers read-write, drops the read-only connection and moves there.
   */
  private seekReadWriteServer(conn: Connection): void {
    let intervalMs = 100
    const probe = async (): Promise<void> => {
      this.roProbe = null
      if (this.conn !== conn || !conn.isOpen) return
      const current = `${conn.socket.remoteAddress}:${conn.socket.remotePort}`
      const others = this.hosts.all().filter((h) => `${h.host}:${h.port}` !== current)
      const answers = await Promise.all(others.map((h) => fourLetterWord(h, 'isro', 1000, this.options.tls).then((a) => (a === 'rw' ? h : null), () => null)))
      const rw = answers.find((h) => h !== null)
      log('read-only: probed %d other servers for a read-write one: %s', others.length, rw ? `${rw.host}:${rw.port}` : 'none')
      if (this.conn !== conn || !conn.isOpen) return
      if (rw) {
        log('read-write server found at %s:%d; leaving read-only mode', rw.host, rw.port)
        this.hosts.prefer(rw)
        conn.close(Code.CONNECTIONLOSS, new Error('moving to a read-write server'))
        return
      }
      intervalMs = Math.min(intervalMs * 2, MAX_RW_PROBE_MS)
      this.roProbe = setTimeout(() => void probe(), intervalMs)
      this.roProbe.unref()
    }
    this.roProbe = setTimeout(() => void probe(), intervalMs)
    this.roProbe.unref()
  }

  /** Re-sets every watch after a reconnect, split into packets below the server's size limit. */
  private resetWatches(conn: Connection): void {
    const req = this.watches.toSetWatches(this.chroot, this.lastZxid)
    if (req === null) return
    const lists = ['data', 'exist', 'child', 'persistent', 'persistentRecursive'] as const
    let packet = { relativeZxid: req.relativeZxid, data: [], exist: [], child: [], persistent: [], persistentRecursive: [] } as typeof req
    let bytes = 0
    for (const list of lists) {
      for (const path of req[list]) {
        if (bytes > 0 && bytes + path.length > SET_WATCHES_MAX_PATH_BYTES) {
          conn.sendSpecial(Xid.setWatches, ops.setWatches2, packet)
          packet = { relativeZxid: req.relativeZxid, data: [], exist: [], child: [], persistent: [], persistentRecursive: [] }
          bytes = 0
        }
        packet[list].push(path)
        bytes += path.length
      }
    }
    conn.sendSpecial(Xid.setWatches, ops.setWatches2, packet)
  }

  private onConnectionClosed(conn: Connection, reason: Error): void {
    this.lastZxid = conn.lastZxid > this.lastZxid ? conn.lastZxid : this.lastZxid
    if (this.conn === conn) this.lastHeard = conn.lastRecv
    if (this.conn !== conn) return
    this.conn = null
    if (this.roProbe) clearTimeout(this.roProbe)
    this.roProbe = null
    for (const waiter of this.authReplies.drain()) waiter?.reject(new ZkError(Code.CONNECTIONLOSS, { op: 'addAuth' }))
    if (this.isTerminal() || this.closing) return
    log('disconnected: %s', reason.message)
    this.setState('disconnected')
    this.nextAttempt()
  }

  private onNotification(ev: WatcherEventRecord): void {
    const type = eventTypeName(ev.type)
    if (type === undefined || type === 'None') return
    const event: WatchedEvent = { type, state: this._state, path: toClientPath(this.chroot, ev.path) }
    this.watches.deliver(event)
  }

  private onAuthReply(err: number): void {
    const waiter = this.authReplies.shift()
    if (err === 0) {
      waiter?.resolve()
      return
    }
    const error = new ZkError(err, { op: 'addAuth' })
    waiter?.reject(error)
    if (err === Code.AUTHFAILED) this.finish('authFailed', error)
  }

  private expire(): void {
    this.finish('expired', new ZkError(Code.SESSIONEXPIRED, { message: `session 0x${this._sessionId.toString(16)} expired` }))
  }

  /** Enters a terminal state: fails everything pending and tells every watcher. */
  private finish(state: Terminal, error: ZkError): void {
    if (this.isTerminal()) return
    this._state = state
    if (this.retryTimer) clearTimeout(this.retryTimer)
    if (this.roProbe) clearTimeout(this.roProbe)
    this.retryTimer = null
    this.roProbe = null
    this.connecting?.destroy()
    this.connecting = null
    if (this.connectTimer) clearTimeout(this.connectTimer)
    this.connectTimer = null
    const conn = this.conn
    this.conn = null
    conn?.close(TERMINAL_CODES[state], error)
    for (const w of this.waiting.drain()) w.call.fail(TERMINAL_CODES[state])
    if (this.waitTimer) clearTimeout(this.waitTimer)
    this.waitTimer = null
    for (const waiter of this.authReplies.drain()) waiter?.reject(error)
    this.watches.expire({ type: 'None', state, path: null }, state === 'closed' ? undefined : error)
    log('state -> %s (session 0x%s)', state, this._sessionId.toString(16))
    this.emit('state', state)
    this.resolveDone(state === 'closed' ? undefined : error)
  }

  /**
   * Ends the session on the server (its ephemeral nodes go at once) and
   * releases every socket and timer. Safe to call twice or while reconnecting.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing
    if (this.isTerminal()) return Promise.resolve()
    this.closing = (async () => {
      const conn = this.conn
      if (conn?.isOpen) {
        const bye = new Promise<void>((resolve) => {
          conn.send(new Call<void>(ops.closeSession, undefined, undefined, resolve, () => resolve(), undefined, undefined), undefined)
        })
        let timer: NodeJS.Timeout | undefined
        await Promise.race([bye, new Promise<void>((r) => (timer = setTimeout(r, Math.min(this.options.requestTimeout, 2000))))])
        clearTimeout(timer)
      }
      this.finish('closed', new ZkError(Code.CLOSED))
    })()
    return this.closing
  }


  /**
   * Adds credentials: sent now if connected, and again on every new connection.
   * Resolves when the server accepts them (or at once while disconnected).
   */
  addAuth(scheme: string, auth: Buffer): Promise<void> {
    this.authInfo.push({ scheme, auth })
    const conn = this.conn
    if (!conn?.isOpen || !this.isConnected()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      conn.sendAuth(scheme, auth)
      this.authReplies.push({ resolve, reject })
    })
  }

  /** True while calls go out at once (connected, read-write or read-only). */
  isConnected(): boolean {
    return this._state === 'connected' || this._state === 'connectedReadOnly'
  }

  /** Sends a request now, or queues it until the session is connected (up to requestTimeout). */
  submit<Req, Res>(op: Operation<Req, any>, req: Req, path: string | undefined, onReply?: (err: number, value: any) => Res): Promise<Res> {
    let origin: { stack?: string } | undefined
    if (this.options.captureStack) {
      origin = {}
      Error.captureStackTrace(origin, this.submit)
    }
    return new Promise<Res>((resolve, reject) => {
      const call = new Call<Res>(op, req, path, resolve, reject, origin, onReply)
      if (this.closing) return call.fail(Code.CLOSED)
      if (this.isTerminal()) return call.fail(TERMINAL_CODES[this._state as Terminal])
      const conn = this.conn
      if (conn?.isOpen && (this._state === 'connected' || this._state === 'connectedReadOnly')) conn.send(call, req)
      else this.enqueue(call as Call<unknown>)
    })
  }

  private enqueue(call: Call<unknown>): void {
    this.waiting.push({ call, deadline: Date.now() + this.options.requestTimeout })
    if (this.waitTimer === null) this.armWaitTimer()
  }

  private armWaitTimer(): void {
    const head = this.waiting.peek()
    if (head === undefined) return
    this.waitTimer = setTimeout(() => {
      this.waitTimer = null
      const now = Date.now()
      for (let w = this.waiting.peek(); w !== undefined && w.deadline <= now; w = this.waiting.peek()) {
        this.waiting.shift()
        w.call.fail(Code.OPERATIONTIMEOUT)
      }
      this.armWaitTimer()
    }, Math.max(0, head.deadline - Date.now()))
    this.waitTimer.unref()
  }

  private flushWaiting(conn: Connection): void {
    if (this.waitTimer) clearTimeout(this.waitTimer)
    this.waitTimer = null
    for (const w of this.waiting.drain()) {
      if (!w.call.settled) conn.send(w.call, w.call.req)
    }
  }
}

/** Runs a SASL exchange: the mechanism answers each server token until it is complete. */
async function authenticate(mechanism: DigestMd5, send: (token: Buffer) => Promise<Buffer | null>): Promise<void> {
  let token = mechanism.step(Buffer.alloc(0))
  while (!mechanism.complete) {
    const reply = await send(token)
    token = mechanism.step(reply ?? Buffer.alloc(0))
  }
}
