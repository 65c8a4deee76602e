import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { logger } from './log.js'
import { OPEN_ACL_UNSAFE } from './acl.js'
import { Connection, type ConnectionHandler, type PendingRequest } from './connection.js'
import { Code, ZkError, withCallerStack } from './errors.js'
import { type WatchedEvent, type Watcher, type ZkState, eventTypeName } from './events.js'
import { Fifo } from './fifo.js'
import { type HostAddress, HostList, parseConnectString } from './hosts.js'
import type { CreateOptions, Data, Op, OpResult } from './multi.js'
import {
  type AddWatchMode,
  type ConnectResponse,
  type CreateRequest,
  type Operation,
  type SubOp,
  type SubResult,
  type WatcherEventRecord,
  type WatcherType,
  AddWatchMode as AddWatchModes,
  CreateFlags,
  WatcherType as WatcherTypes,
  Xid,
  multiOps,
  ops,
} from './operations.js'
import { fourLetterWord } from './four-letter.js'
import { toClientPath, toServerPath, validatePath } from './paths.js'
import { DigestMd5, type SaslOptions } from './sasl.js'
import { openSocket } from './sockets.js'
import { PersistentWatch } from './persistent-watch.js'
import type { ACL, Stat } from './records.js'
import { WatchRegistry } from './watches.js'

const log = logger('zkcloud:wire')

/** TLS settings for ZooKeeper's `secureClientPort`. The server certificate is verified unless `rejectUnauthorized: false`. */
export interface TlsOptions {
  ca?: string | Buffer | Array<string | Buffer>
  cert?: string | Buffer
  key?: string | Buffer
  servername?: string
  rejectUnauthorized?: boolean
}

/** Options of {@link ZooKeeper.connect}. Times are milliseconds. */
export interface ZooKeeperOptions {
  /** Requested session timeout; the server clamps it to its min/max. Default 10 000. */
  sessionTimeout?: number
  /** How long `connect()` waits for the first session. Default: `sessionTimeout`. */
  connectTimeout?: number
  /** How long a call made while disconnected waits for a connection before it rejects. Default: `sessionTimeout`. */
  requestTimeout?: number
  /** Largest frame accepted from the server (jute.maxbuffer). Default 1 MiB + 4 KiB. */
  maxBufferSize?: number
  /** Accept a read-only server when the quorum is lost. Default false. */
  canBeReadOnly?: boolean
  /** Re-attach an existing session instead of creating one. */
  sessionId?: bigint
  sessionPassword?: Buffer
  /** Shuffle the host list (default true), as the Java client does. */
  shuffle?: boolean
  /** Credentials added on every connection, e.g. `[['digest', 'user:pw']]`. */
  auth?: Array<[scheme: string, credentials: string | Buffer]>
  /** Connect over TLS (to `secureClientPort`). */
  tls?: TlsOptions
  /** Authenticate with SASL DIGEST-MD5 on every connection. */
  sasl?: SaslOptions
  /**
   * Capture the full call stack at every call (~5 µs each) so errors point at
   * the caller even when it does not `await` the call. Default false: errors
   * carry the async stack of the awaiting caller, which costs nothing.
   */
  captureStack?: boolean
}

/** A node's data and metadata. A node whose data is null reads as an empty buffer. */
export interface DataAndStat {
  data: Buffer
  stat: Stat
}

export interface WatchOption {
  /** A one-shot watch: called at most once with the next change (or `expired`). */
  watch?: Watcher
}

type ClientHandle = ConnectionHandler

type Terminal = 'expired' | 'authFailed' | 'closed'

const TERMINAL_CODES: Record<Terminal, number> = {
  expired: Code.SESSIONEXPIRED,
  authFailed: Code.AUTHFAILED,
  closed: Code.CLOSED,
}

const EMPTY = Buffer.alloc(0)
const NO_PASSWORD = Buffer.alloc(16)
const MAX_TTL = 0xffffffffff
const SET_WATCHES_MAX_PATH_BYTES = 128 * 1024
const MAX_RW_PROBE_MS = 10_000

function toBytes(data: Data | null): Uint8Array | null {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data
}

/** A request on its way: encoded on a connection, or waiting for one. Settles its promise exactly once. */
class Call<Res> implements PendingRequest {
  xid = 0
  settled = false
  constructor(
    readonly op: Operation<any, any>,
    readonly req: unknown,
    readonly path: string | undefined,
    private readonly resolve: (value: Res) => void,
    private readonly reject: (error: Error) => void,
    private readonly origin: { stack?: string } | undefined,
    private readonly onReply: ((err: number, value: any) => Res) | undefined,
  ) {}

  complete(err: number, value: unknown): void {
    if (this.settled) return
    this.settled = true
    if (this.onReply !== undefined) {
      try {
        this.resolve(this.onReply(err, value))
      } catch (e) {
        this.reject(typeof e === 'number' ? this.error(e) : (e as Error))
      }
    } else if (err === 0) {
      this.resolve(value as Res)
    } else {
      this.reject(this.error(err))
    }
  }

  fail(code: number, cause?: Error): void {
    if (this.settled) return
    this.settled = true
    this.reject(this.error(code, cause))
  }

  error(code: number, cause?: Error): ZkError {
    const message = cause !== undefined && code === Code.CONNECTIONLOSS ? `connection lost: ${cause.message}` : undefined
    const opts: { op: string; path?: string; message?: string; cause?: unknown } = { op: this.op.name, cause }
    if (this.path !== undefined) opts.path = this.path
    if (message !== undefined) opts.message = message
    return withCallerStack(new ZkError(code, opts), this.origin)
  }
}

interface Waiting {
  call: Call<unknown>
  deadline: number
}

/**
 * A ZooKeeper session. Create one with {@link ZooKeeper.connect}. All
 * operations return promises; paths are relative to the chroot of the connect
 * string. The session survives connection loss (the client moves to another
 * server and re-attaches it); it ends with `close()`, expiry or auth failure.
 *
 * Events: `'state'` with the new {@link ZkState}.
 */
export class ZooKeeper extends EventEmitter<{ state: [ZkState] }> {
  private _state: ZkState = 'connecting'
  private readonly hosts: HostList
  private readonly chroot: string
  private readonly options: Required<Pick<ZooKeeperOptions, 'sessionTimeout' | 'requestTimeout' | 'maxBufferSize' | 'canBeReadOnly' | 'captureStack'>> &
    ZooKeeperOptions
  private conn: Connection | null = null
  private _sessionId = 0n
  private _sessionPassword: Buffer = NO_PASSWORD
  private _negotiatedTimeout = 0
  private lastZxid = 0n
  private lastHeard = Date.now()
  private readonly waiting = new Fifo<Waiting>()
  private waitTimer: NodeJS.Timeout | null = null
  private readonly watches = new WatchRegistry()
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

  /** Starts connecting at once; prefer {@link ZooKeeper.connect}, which also waits for the session. */
  constructor(
    private readonly connectString: string,
    options: ZooKeeperOptions = {},
  ) {
    super()
    const parsed = parseConnectString(connectString)
    this.chroot = parsed.chroot
    const sessionTimeout = options.sessionTimeout ?? 10_000
    this.options = {
      ...options,
      sessionTimeout,
      requestTimeout: options.requestTimeout ?? sessionTimeout,
      maxBufferSize: options.maxBufferSize ?? 1024 * 1024 + 4096,
      canBeReadOnly: options.canBeReadOnly ?? false,
      captureStack: options.captureStack ?? false,
    }
    if (options.sessionId !== undefined) {
      this.seenRwServer = true
      this._sessionId = options.sessionId
      this._sessionPassword = options.sessionPassword ?? NO_PASSWORD
    }
    for (const [scheme, credentials] of options.auth ?? []) {
      this.authInfo.push({ scheme, auth: Buffer.from(credentials) })
    }
    this.hosts = new HostList(parsed.hosts, options.shuffle ?? true)
    this.done = new Promise((resolve) => (this.resolveDone = resolve))
    this.nextAttempt()
  }

  /**
   * Connects to an ensemble and resolves once a session is established.
   * `connectString` is `host:port,host:port[/chroot]`.
   */
  static async connect(connectString: string, options: ZooKeeperOptions = {}): Promise<ZooKeeper> {
    const zk = new ZooKeeper(connectString, options)
    try {
      await zk.whenConnected(options.connectTimeout ?? zk.options.sessionTimeout)
    } catch (err) {
      await zk.close()
      throw err
    }
    return zk
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

  /** The chroot of the connect string (`''` if none). */
  get chrootPath(): string {
    return this.chroot
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

  // ---------------------------------------------------------------- session

  private setState(next: ZkState): void {
    if (this._state === next) return
    log('state %s -> %s (session 0x%s)', this._state, next, this._sessionId.toString(16))
    this._state = next
    this.emit('state', next)
  }

  private isTerminal(): boolean {
    return this._state === 'expired' || this._state === 'authFailed' || this._state === 'closed'
  }

  private terminalError(op: string, path?: string): ZkError | null {
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

  private handlerFor(conn: () => Connection): ClientHandle {
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

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /**
   * A new client with the same connect string and options but a fresh
   * session: what an application does after `expired` (this client never
   * starts a new session by itself, so nothing it held is silently lost).
   * Watches and ephemeral nodes of the old session are not carried over.
   */
  newSession(): Promise<ZooKeeper> {
    const { sessionId: _id, sessionPassword: _pw, ...options } = this.options
    return ZooKeeper.connect(this.connectString, options)
  }

  // ---------------------------------------------------------------- calls

  private submit<Req, Res>(op: Operation<Req, any>, req: Req, path: string | undefined, onReply?: (err: number, value: any) => Res): Promise<Res> {
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

  private serverPath(path: string, op: string, sequential = false): string {
    validatePath(path, op, sequential)
    return toServerPath(this.chroot, path)
  }

  private clientPath(path: string): string {
    return toClientPath(this.chroot, path)
  }

  private createRequest(path: string, data: Data | null, options: CreateOptions, op: string): CreateRequest {
    const mode = options.mode ?? 'persistent'
    const flags = CreateFlags[mode]
    if (flags === undefined) throw new ZkError(Code.BADARGUMENTS, { op, path, message: `unknown create mode "${String(mode)}"` })
    const withTtl = mode === 'persistent_with_ttl' || mode === 'persistent_sequential_with_ttl'
    if (withTtl && !(Number.isInteger(options.ttl) && options.ttl! > 0 && options.ttl! <= MAX_TTL)) {
      throw new ZkError(Code.BADARGUMENTS, { op, path, message: `mode ${mode} needs a ttl in 1..${MAX_TTL} ms` })
    }
    if (!withTtl && options.ttl !== undefined) {
      throw new ZkError(Code.BADARGUMENTS, { op, path, message: `ttl is only allowed with the *_with_ttl modes` })
    }
    const sequential = mode.includes('sequential')
    const acl = options.acl ?? OPEN_ACL_UNSAFE
    if (!Array.isArray(acl) || acl.length === 0) throw new ZkError(Code.INVALIDACL, { op, path, message: 'an ACL list must not be empty' })
    const req: CreateRequest = { path: this.serverPath(path, op, sequential), data: toBytes(data), acl, flags }
    if (withTtl) req.ttl = BigInt(options.ttl!)
    return req
  }

  /**
   * Runs a public call. Its errors get the caller's stack: this async frame is
   * what the caller awaits, so V8's async stack trace names the caller's line at
   * no cost on success (capturing a stack per call costs ~5 µs; `captureStack`
   * does that instead, for callers that do not await).
   */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof ZkError && !this.options.captureStack) {
        const origin: { stack?: string } = {}
        Error.captureStackTrace(origin, this.guard)
        withCallerStack(err, origin)
      }
      throw err
    }
  }

  /**
   * Creates a node and resolves with its path (for sequential modes, with the
   * number the server appended). `data` may be null.
   */
  create(path: string, data: Data | null = null, options: CreateOptions = {}): Promise<string> {
    return this.guard(() => {
      const req = this.createRequest(path, data, options, 'create')
      if (req.flags === CreateFlags.container || req.ttl !== undefined) {
        return this.create2(path, data, options).then((r) => r.path)
      }
      return this.submit(ops.create, req, path, (err, created: string) => {
        if (err !== 0) throw err
        return this.clientPath(created)
      })
    })
  }

  /** Creates a node and resolves with its path and Stat. */
  create2(path: string, data: Data | null = null, options: CreateOptions = {}): Promise<{ path: string; stat: Stat }> {
    return this.guard(() => {
      const req = this.createRequest(path, data, options, 'create2')
      const op = req.flags === CreateFlags.container ? ops.createContainer : req.ttl !== undefined ? ops.createTTL : ops.create2
      return this.submit(op, req, path, (err, r: { path: string; stat: Stat }) => {
        if (err !== 0) throw err
        return { path: this.clientPath(r.path), stat: r.stat }
      })
    })
  }

  /** Deletes a node; `version` -1 (default) matches any. */
  delete(path: string, version = -1): Promise<void> {
    return this.guard(() => this.submit(ops.delete, { path: this.serverPath(path, 'delete'), version }, path))
  }

  /**
   * The node's Stat, or null if it does not exist. A `watch` is set either
   * way: it fires on creation, change or deletion.
   */
  exists(path: string, options: WatchOption = {}): Promise<Stat | null> {
    return this.guard(() => {
      const watch = options.watch
      return this.submit(ops.exists, { path: this.serverPath(path, 'exists'), watch: watch !== undefined }, path, (err, stat: Stat) => {
        if (err === 0) {
          if (watch) this.watches.add('data', path, watch)
          return stat
        }
        if (err === Code.NONODE) {
          if (watch) this.watches.add('exist', path, watch)
          return null
        }
        throw err
      })
    })
  }

  /** The node's data and Stat. A `watch` fires on change or deletion. */
  getData(path: string, options: WatchOption = {}): Promise<DataAndStat> {
    return this.guard(() => {
      const watch = options.watch
      return this.submit(ops.getData, { path: this.serverPath(path, 'getData'), watch: watch !== undefined }, path, (err, r: { data: Buffer | null; stat: Stat }) => {
        if (err !== 0) throw err
        if (watch) this.watches.add('data', path, watch)
        return { data: r.data ?? EMPTY, stat: r.stat }
      })
    })
  }

  /** Replaces the node's data if its version matches (`-1`, the default, matches any). */
  setData(path: string, data: Data | null, version = -1): Promise<Stat> {
    return this.guard(() => this.submit(ops.setData, { path: this.serverPath(path, 'setData'), data: toBytes(data), version }, path))
  }

  /**
   * The names of the node's children (unsorted, as the server keeps them).
   * With `stat: true`, resolves to `{ children, stat }`. A `watch` fires when
   * a child is added or removed, or the node is deleted.
   */
  getChildren(path: string, options?: WatchOption & { stat?: false }): Promise<string[]>
  getChildren(path: string, options: WatchOption & { stat: true }): Promise<{ children: string[]; stat: Stat }>
  getChildren(path: string, options: WatchOption & { stat?: boolean } = {}): Promise<string[] | { children: string[]; stat: Stat }> {
    return this.guard(() => {
      const watch = options.watch
      const req = { path: this.serverPath(path, 'getChildren'), watch: watch !== undefined }
      const register = <T>(err: number, value: T): T => {
        if (err !== 0) throw err
        if (watch) this.watches.add('child', path, watch)
        return value
      }
      return options.stat ? this.submit(ops.getChildren2, req, path, register) : this.submit(ops.getChildren, req, path, register)
    })
  }

  /** Waits until the server this client is attached to has caught up with the leader on `path`. */
  sync(path: string): Promise<void> {
    return this.guard(() => this.submit(ops.sync, { path: this.serverPath(path, 'sync') }, path, (err) => {
      if (err !== 0) throw err
    }))
  }

  /** The node's ACL and Stat. */
  getACL(path: string): Promise<{ acl: ACL[]; stat: Stat }> {
    return this.guard(() => this.submit(ops.getACL, { path: this.serverPath(path, 'getACL') }, path))
  }

  /** Replaces the node's ACL if its ACL version (`aversion`) matches (`-1` matches any). */
  setACL(path: string, acl: readonly ACL[], version = -1): Promise<Stat> {
    return this.guard(() => {
      if (!Array.isArray(acl) || acl.length === 0) throw new ZkError(Code.INVALIDACL, { op: 'setACL', path, message: 'an ACL list must not be empty' })
      return this.submit(ops.setACL, { path: this.serverPath(path, 'setACL'), acl, version }, path)
    })
  }

  /**
   * Adds credentials to the session (e.g. `addAuth('digest', 'user:pw')`);
   * they are sent again on every reconnect. Wrong credentials reject with
   * AUTHFAILED and end the session (state `authFailed`), as ZooKeeper closes it.
   */
  addAuth(scheme: string, credentials: string | Buffer): Promise<void> {
    const terminal = this.terminalError('addAuth')
    if (terminal) return Promise.reject(terminal)
    if (typeof scheme !== 'string' || scheme === '') return Promise.reject(new ZkError(Code.BADARGUMENTS, { op: 'addAuth', message: 'empty scheme' }))
    const auth = Buffer.from(credentials)
    this.authInfo.push({ scheme, auth })
    const conn = this.conn
    if (!conn?.isOpen) return Promise.resolve()
    return new Promise((resolve, reject) => {
      conn.sendAuth(scheme, auth)
      this.authReplies.push({ resolve, reject })
    })
  }

  /** Paths of the ephemeral nodes this session owns under `prefix` (default: all). */
  getEphemerals(prefix = '/'): Promise<string[]> {
    return this.guard(() =>
      this.submit(ops.getEphemerals, { path: this.serverPath(prefix, 'getEphemerals') }, prefix, (err, paths: string[]) => {
        if (err !== 0) throw err
        const inside = this.chroot === '' ? paths : paths.filter((p) => p === this.chroot || p.startsWith(this.chroot + '/'))
        return inside.map((p) => this.clientPath(p))
      }),
    )
  }

  /** The number of descendants of `path` (not counting itself). */
  getAllChildrenNumber(path: string): Promise<number> {
    return this.guard(() => this.submit(ops.getAllChildrenNumber, { path: this.serverPath(path, 'getAllChildrenNumber') }, path))
  }

  /**
   * Sets a persistent watch on `path` (`'persistent'`: every event on the node
   * itself, children changes included; `'persistentRecursive'`: creations,
   * changes and deletions anywhere below it). Resolves, once the server holds
   * the watch, to an async iterable of events; `close()` removes it. The watch
   * survives reconnects; the iterator throws SESSIONEXPIRED if the session ends.
   */
  addWatch(path: string, mode: AddWatchMode): Promise<PersistentWatch> {
    return this.guard(() => {
      const type = AddWatchModes[mode]
      if (type === undefined) throw new ZkError(Code.BADARGUMENTS, { op: 'addWatch', path, message: `unknown watch mode "${String(mode)}"` })
      const recursive = mode === 'persistentRecursive'
      return this.submit(ops.addWatch, { path: this.serverPath(path, 'addWatch'), type }, path, (err) => {
        if (err !== 0) throw err
        const watch: PersistentWatch = new PersistentWatch(path, mode, () => this.unwatch(path, recursive, watch))
        this.watches.addPersistent(path, recursive, watch)
        return watch
      })
    })
  }

  private async unwatch(path: string, recursive: boolean, sink: PersistentWatch): Promise<void> {
    this.watches.removePersistent(path, recursive, sink)
    if (this.watches.hasPersistent(path, recursive) || !this.conn?.isOpen) return
    const serverPath = toServerPath(this.chroot, path)
    // Any failure leaves nothing behind on the server: watches belong to the connection, and
    // the next one only gets those the registry still holds (SetWatches), or none at all.
    const remove = (type: number): Promise<number> =>
      this.submit(ops.removeWatches, { path: serverPath, type }, path, (err) => err).catch(() => Code.OK)
    const err = await remove(recursive ? WatcherTypes.persistentRecursive : WatcherTypes.persistent)
    if (err !== Code.MARSHALLINGERROR && err !== Code.BADARGUMENTS && err !== Code.UNIMPLEMENTED) return
    // Servers before 3.9 cannot remove one persistent watch: remove all of this
    // session's watches on the path, then set again the ones still wanted here.
    await remove(WatcherTypes.any)
    await this.rearm(path, serverPath)
  }

  /** Sets again on the server every watch the registry still holds for `path`. */
  private async rearm(path: string, serverPath: string): Promise<void> {
    const held = this.watches.kindsOn(path)
    const ignore = (): undefined => undefined
    const calls: Promise<unknown>[] = []
    if (held.persistent) calls.push(this.submit(ops.addWatch, { path: serverPath, type: AddWatchModes.persistent }, path, ignore))
    if (held.persistentRecursive) calls.push(this.submit(ops.addWatch, { path: serverPath, type: AddWatchModes.persistentRecursive }, path, ignore))
    if (held.data || held.exist) calls.push(this.submit(ops.exists, { path: serverPath, watch: true }, path, ignore))
    if (held.child) calls.push(this.submit(ops.getChildren, { path: serverPath, watch: true }, path, ignore))
    await Promise.all(calls.map((c) => c.catch(ignore)))
  }

  /**
   * Removes every watch of `type` on `path`, here and on the server. One-shot
   * watchers hear `DataWatchRemoved`/`ChildWatchRemoved`; persistent watches end.
   * Rejects with NOWATCHER if the server holds no such watch.
   */
  removeWatches(path: string, type: WatcherType): Promise<void> {
    return this.guard(() => {
      const code = WatcherTypes[type]
      if (code === undefined) throw new ZkError(Code.BADARGUMENTS, { op: 'removeWatches', path, message: `unknown watcher type "${String(type)}"` })
      return this.submit(ops.removeWatches, { path: this.serverPath(path, 'removeWatches'), type: code }, path, (err) => {
        if (err !== 0) throw err
        if (type === 'persistent' || type === 'any') this.watches.endPersistent(path, false)
        if (type === 'persistentRecursive' || type === 'any') this.watches.endPersistent(path, true)
        if (type === 'data' || type === 'children' || type === 'any') this.watches.removeOneShot(path, type)
      })
    })
  }

  /** Resolves if the server holds a watch of `type` on `path` for this session; rejects with NOWATCHER otherwise. */
  checkWatches(path: string, type: WatcherType): Promise<void> {
    return this.guard(() => {
      const code = WatcherTypes[type]
      if (code === undefined) throw new ZkError(Code.BADARGUMENTS, { op: 'checkWatches', path, message: `unknown watcher type "${String(type)}"` })
      return this.submit(ops.checkWatches, { path: this.serverPath(path, 'checkWatches'), type: code }, path, (err) => {
        if (err !== 0) throw err
      })
    })
  }

  private subOps(list: readonly Op[], name: string, allowed: readonly Op['type'][]): SubOp[] {
    if (!Array.isArray(list)) throw new ZkError(Code.BADARGUMENTS, { op: name, message: 'expected an array of operations' })
    return list.map((o): SubOp => {
      if (!allowed.includes(o?.type)) throw new ZkError(Code.BADARGUMENTS, { op: name, message: `${String(o?.type)} is not allowed in ${name}` })
      switch (o.type) {
        case 'create':
          return { type: 'create', req: this.createRequest(o.path, o.data, o.options, name) }
        case 'delete':
        case 'check':
          return { type: o.type, req: { path: this.serverPath(o.path, name), version: o.version } }
        case 'setData':
          return { type: 'setData', req: { path: this.serverPath(o.path, name), data: toBytes(o.data), version: o.version } }
        case 'getData':
        case 'getChildren':
          return { type: o.type, req: { path: this.serverPath(o.path, name) } }
        default:
          throw new ZkError(Code.BADARGUMENTS, { op: name, message: 'unknown operation' })
      }
    })
  }

  private toResult(r: SubResult, origin: Op | undefined): OpResult {
    switch (r.type) {
      case 'create':
        return { type: 'create', path: this.clientPath(r.path), stat: r.stat }
      case 'getData':
        return { type: 'getData', data: r.data ?? EMPTY, stat: r.stat }
      case 'error':
        return { type: 'error', error: new ZkError(r.err, { op: origin?.type ?? 'multi', path: origin?.path }) }
      default:
        return r
    }
  }

  /**
   * Runs create/delete/setData/check operations atomically: all apply or
   * none. Resolves with one result per operation. If one fails, rejects with
   * that operation's {@link ZkError} (its `path` is the failing operation's),
   * whose `results` hold every operation's outcome.
   */
  multi(list: readonly Op[]): Promise<OpResult[]> {
    return this.guard(() => {
      const subs = this.subOps(list, 'multi', ['create', 'delete', 'setData', 'check'])
      return this.submit(multiOps.multi, subs, undefined, (err, raw: SubResult[] | undefined) => {
        if (raw === undefined) throw err === 0 ? Code.MARSHALLINGERROR : err
        const results = raw.map((r, i) => this.toResult(r, list[i]))
        const failed = results.findIndex((r) => r.type === 'error' && r.error.code !== 0 && r.error.code !== Code.RUNTIMEINCONSISTENCY)
        if (failed === -1 && err === 0) return results
        const first = results[failed]
        const cause = first?.type === 'error' ? first.error : new ZkError(err, { op: 'multi' })
        const error = new ZkError(cause.code, { op: 'multi', path: cause.path })
        error.results = results
        throw error
      })
    })
  }

  /** Runs getData/getChildren operations in one round trip; each fails or succeeds on its own. */
  multiRead(list: readonly Op[]): Promise<OpResult[]> {
    return this.guard(() => {
      const subs = this.subOps(list, 'multiRead', ['getData', 'getChildren'])
      return this.submit(multiOps.multiRead, subs, undefined, (err, raw: SubResult[] | undefined) => {
        if (err !== 0 || raw === undefined) throw err === 0 ? Code.MARSHALLINGERROR : err
        return raw.map((r, i) => this.toResult(r, list[i]))
      })
    })
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

