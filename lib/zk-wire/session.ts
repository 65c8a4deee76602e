import { EventEmitter } from 'node:events'
import { type Env, type EnvSocket, type Timer, realEnv } from '../env.js'
import { Call } from './call.js'
import { Connection, type ReplyRoutes } from './connection.js'
import { Code, ProtocolError, ZkError, codeName } from './errors.js'
import { type WatchedEvent, type ZkState, eventTypeName } from './events.js'
import { Fifo } from './fifo.js'
import { type FourLetterQuery, fourLetterWord } from './four-letter.js'
import { type ConnectString, type HostAddress, HostList } from './hosts.js'
import { JuteReader } from './jute.js'
import { logger } from './log.js'
import { type ConnectResponse, type Operation, type SetWatchesRequest, type WatcherEventRecord, Xid, ops, readConnectResponse, readReplyHeader } from './operations.js'
import type { ZooKeeperOptions } from './options.js'
import { toClientPath } from './paths.js'
import { DigestMd5 } from './sasl.js'
import { tlsConnectOptions } from './sockets.js'
import { WaitingCalls } from './waiting.js'
import { WatchRegistry, setWatchesPackets } from './watches.js'

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
const REPLY_HEADER_SIZE = 16
const MIN_TICK_MS = 10
/** A tick this much later than it was due ran after the process was busy (see `#tick`). */
const LATE_TICK_MS = 100
const FIRST_RW_PROBE_MS = 100
const MAX_RW_PROBE_MS = 10_000
const RW_PROBE_TIMEOUT_MS = 1000
const MAX_CLOSE_WAIT_MS = 2000

interface AuthWaiter {
  resolve(): void
  reject(e: Error): void
}

/** Looking for a read-write server while attached to a read-only one. */
interface Probe {
  timer: Timer | null
  queries: FourLetterQuery[]
  intervalMs: number
}

/**
 * The states of one session, each with the data and timers it owns. `lost`:
 * a session was attached before (the public state is `disconnected`, not `connecting`).
 */
type State =
  | { kind: 'backoff'; lost: boolean; address: HostAddress; timer: Timer }
  | { kind: 'dialing'; lost: boolean; address: HostAddress; socket: EnvSocket; timer: Timer }
  | { kind: 'handshake'; lost: boolean; address: HostAddress; wire: Connection; timer: Timer }
  | { kind: 'authenticating'; lost: boolean; address: HostAddress; wire: Connection; timer: Timer; readOnly: boolean; mechanism: DigestMd5 }
  | {
      kind: 'attached'
      lost: boolean
      address: HostAddress
      wire: Connection
      readOnly: boolean
      /** Wakes up to ping or to notice the read timeout. */
      timer: Timer | null
      /** When {@link timer} is due (the env's ms), to tell a tick that ran late. */
      due: number
      /** A late tick found the read timeout passed and gave the socket one more turn before deciding. */
      recheck: boolean
      /** Replies owed for auth packets on this connection, in order; `null` for re-sent ones. */
      auth: Fifo<AuthWaiter | null>
      /** SetWatches packets sent on this connection and not yet answered, in order. */
      rearming: Fifo<SetWatchesRequest>
      probe: Probe | null
    }
  | { kind: 'closing'; wire: Connection; timer: Timer; shown: ZkState; done: () => void }
  | { kind: 'expired'; error: ZkError }
  | { kind: 'authFailed'; error: ZkError }
  | { kind: 'closed' }

type WithWire = Extract<State, { wire: Connection }>

/**
 * One ZooKeeper session as a state machine: the host list, one connection at
 * a time, re-attaching after connection loss, SASL and credentials on each new
 * connection, watch re-arming, read-only mode, calls waiting for a connection,
 * and the terminal states. Every transition goes through `enter`:
 *
 * ```
 * (start)        → dialing | backoff            hosts.next(): after a failed round, a backoff delay
 * backoff        → dialing                      timer
 * dialing        → handshake                    socket ready (ConnectRequest sent)
 * handshake      → authenticating | attached    connect response (authenticating with `sasl`)
 * handshake      → expired                      the server says the session is gone
 * authenticating → attached                    SASL done; credentials, SetWatches, waiting calls sent
 * authenticating → authFailed                  SASL refused
 * attached       → authFailed                  an auth packet refused
 * attached       → closing                     close(): closeSession sent
 * closing        → closed                      its reply, connection loss or timeout
 * dialing | handshake | authenticating | attached
 *                → dialing | backoff            connection lost, bad bytes, timeout, read-only server
 *                                               refusing the session, read-write server found
 * any but closing and terminal → closed        close() while not attached
 * ```
 *
 * Time, timers, randomness and sockets come from `options.env`, so the
 * simulator (`test/sim/`) runs this very code on a virtual clock.
 */
export class Session extends EventEmitter<{ state: [ZkState] }> {
  readonly #env: Env
  readonly #chroot: string
  readonly #hosts: HostList
  #state: State = { kind: 'closed' }
  #shown: ZkState = 'connecting'
  #sessionId = 0n
  #password: Buffer = NO_PASSWORD
  #negotiatedTimeout = 0
  #lastZxid = 0n
  #lastHeard: number
  /** A session got from a read-only server is not valid on read-write ones (the Java client's `seenRwServerBefore`). */
  #seenRwServer = false
  readonly #waiting: WaitingCalls
  readonly #authInfo: Array<{ scheme: string; auth: Buffer }> = []
  readonly #done: Promise<Error | void>
  #resolveDone!: (e: Error | void) => void
  /** Every watch of this session (re-armed on each new connection). */
  readonly watches = new WatchRegistry()

  constructor(
    target: ConnectString,
    private readonly options: SessionOptions,
  ) {
    super()
    this.#env = options.env ?? realEnv
    this.#chroot = target.chroot
    this.#lastHeard = this.#env.now()
    if (options.sessionId !== undefined) {
      this.#seenRwServer = true
      this.#sessionId = options.sessionId
      this.#password = options.sessionPassword ?? NO_PASSWORD
    }
    for (const [scheme, credentials] of options.auth ?? []) this.#remember(scheme, Buffer.from(credentials))
    this.#hosts = new HostList(target.hosts, options.shuffle ?? true, () => this.#env.random())
    this.#waiting = new WaitingCalls(this.#env, options.requestTimeout)
    this.#done = new Promise((resolve) => (this.#resolveDone = resolve))
    this.#retry(false)
  }

  /** The current session state. */
  get state(): ZkState {
    return this.#shown
  }

  /** The session id (0n before the first connection). */
  get sessionId(): bigint {
    return this.#sessionId
  }

  /** The session password, needed with `sessionId` to re-attach the session from another client. */
  get sessionPassword(): Buffer {
    return this.#password
  }

  /** The session timeout the server granted, in milliseconds. */
  get negotiatedTimeout(): number {
    return this.#negotiatedTimeout
  }

  /**
   * When the client last heard from a server of this session (the env's
   * clock, ms since the epoch): replies, notifications or pings. While
   * disconnected it stops advancing.
   */
  get lastHeardAt(): number {
    const s = this.#state
    return s.kind === 'attached' || s.kind === 'closing' ? s.wire.lastRecv : this.#lastHeard
  }

  /** The server the client is attached to now, or null. */
  get currentServer(): string | null {
    const s = this.#state
    return s.kind === 'attached' ? `${s.wire.socket.remoteAddress}:${s.wire.socket.remotePort}` : null
  }

  /** Resolves when the session is connected (read-write or read-only); rejects on a terminal state or after `timeoutMs`. */
  whenConnected(timeoutMs = this.options.sessionTimeout): Promise<void> {
    if (this.isConnected()) return Promise.resolve()
    const ended = this.#endError('connect')
    if (ended) return Promise.reject(ended)
    return new Promise((resolve, reject) => {
      const onState = (): void => {
        if (this.isConnected()) finish()
        else {
          const err = this.#endError('connect')
          if (err) finish(err)
        }
      }
      const timer = this.#env.setTimer(timeoutMs, () =>
        finish(new ZkError(Code.CONNECTIONLOSS, { op: 'connect', message: `no session within ${timeoutMs} ms` })),
      )
      const finish = (err?: Error): void => {
        timer.cancel()
        this.off('state', onState)
        if (err) reject(err)
        else resolve()
      }
      this.on('state', onState)
    })
  }

  /** Resolves when the client reaches a terminal state: to the error for expiry or auth failure, to undefined for `close()`. Never rejects. */
  closed(): Promise<Error | void> {
    return this.#done
  }

  /** True while calls go out at once (connected, read-write or read-only). */
  isConnected(): boolean {
    return this.#state.kind === 'attached'
  }

  /** The error for calls made in a terminal state (or while closing), or null while the session lives. */
  terminalError(op: string, path?: string): ZkError | null {
    const kind = this.#state.kind
    if (kind !== 'closing' && kind !== 'expired' && kind !== 'authFailed' && kind !== 'closed') return null
    const opts: { op: string; path?: string } = { op }
    if (path !== undefined) opts.path = path
    return new ZkError(TERMINAL_CODES[kind === 'closing' ? 'closed' : kind], opts)
  }

  /** Why `whenConnected` fails now: the error that ended the session (its message says why), or null. */
  #endError(op: string): ZkError | null {
    const s = this.#state
    if (s.kind === 'expired' || s.kind === 'authFailed') return new ZkError(s.error.code, { op, message: s.error.message, cause: s.error })
    return this.terminalError(op)
  }

  // ---------------------------------------------------------------- transitions

  /** The only place that assigns the state: leaves the current one (its timers, sockets and waiters), enters `next`. */
  #enter(next: State, reason?: Error): void {
    const prev = this.#state
    this.#leave(prev, next, reason ?? new Error(`${prev.kind} -> ${next.kind}`))
    this.#state = next
    const shown = shownState(next)
    const changed = shown !== this.#shown
    if (changed) log('state %s -> %s (%s, session 0x%s)', this.#shown, shown, next.kind, this.#sessionId.toString(16))
    this.#shown = shown
    // Entry actions before anyone hears of the state, so nothing can overtake credentials, SetWatches or waiting calls.
    if (next.kind === 'attached') this.#attached(next)
    else if (changed && (next.kind === 'expired' || next.kind === 'authFailed' || next.kind === 'closed')) this.#ended(next)
    if (changed && this.#state === next) this.emit('state', shown)
  }

  #leave(prev: State, next: State, reason: Error): void {
    if ('timer' in prev) prev.timer?.cancel()
    const wire = 'wire' in prev ? prev.wire : null
    if (wire !== null) {
      this.#lastZxid = wire.lastZxid > this.#lastZxid ? wire.lastZxid : this.#lastZxid
      if (prev.kind === 'attached' || prev.kind === 'closing') this.#lastHeard = wire.lastRecv
      if (!('wire' in next && next.wire === wire)) wire.close(failCode(next), reason)
    }
    if (prev.kind === 'dialing' && !('wire' in next && next.wire.socket === prev.socket)) prev.socket.destroy()
    if (prev.kind === 'attached') {
      const error = new ZkError(failCode(next), { op: 'addAuth' })
      for (const waiter of prev.auth.drain()) waiter?.reject(error)
      if (prev.probe !== null) stopProbe(prev.probe)
    }
  }

  /** Entered a terminal state: fails every waiting call and tells every watcher. */
  #ended(s: Extract<State, { kind: Terminal }>): void {
    const error = s.kind === 'closed' ? undefined : s.error
    this.#waiting.failAll(TERMINAL_CODES[s.kind])
    this.watches.expire({ type: 'None', state: s.kind, path: null }, error)
    this.#resolveDone(error)
  }

  /** Moves on to the next host: at once, or after a backoff once every host has failed in a row. */
  #retry(lost: boolean, reason?: Error): void {
    const { address, delayMs } = this.#hosts.next()
    if (delayMs === 0) return this.#dial(address, lost, reason)
    log('all %d hosts failed; retrying in %d ms', this.#hosts.size, delayMs)
    const timer = this.#env.setTimer(delayMs, () => this.#dial(address, lost))
    this.#enter({ kind: 'backoff', lost, address, timer }, reason)
  }

  #dial(address: HostAddress, lost: boolean, reason?: Error): void {
    const tls = this.options.tls
    const socket = this.#env.connect(address.host, address.port, tls === undefined ? {} : { tls: tlsConnectOptions(address, tls) })
    // One attempt (TCP, TLS and handshake) gets its share of the session timeout.
    const timeoutMs = Math.max(1000, Math.floor(this.options.sessionTimeout / this.#hosts.size))
    const deadline = this.#env.now() + timeoutMs
    const timer = this.#env.setTimer(timeoutMs, () => this.#lose(socket, new Error(`no connection within ${timeoutMs} ms`)))
    const s: State = { kind: 'dialing', lost, address, socket, timer }
    this.#enter(s, reason)
    let wire: Connection | null = null
    socket.attach({
      ready: () => {
        if (this.#state !== s) return
        wire = new Connection(socket, this.#env, this.options.maxBufferSize, (frame) => this.#onFrame(wire!, frame), this.#lastZxid)
        const left = Math.max(0, deadline - this.#env.now())
        const handshake: State = { kind: 'handshake', lost, address, wire, timer: this.#env.setTimer(left, () => this.#lose(socket, new Error(`no connection within ${timeoutMs} ms`))) }
        this.#enter(handshake)
        wire.sendConnect({
          protocolVersion: 0,
          lastZxidSeen: this.#lastZxid,
          timeout: this.options.sessionTimeout,
          sessionId: this.#seenRwServer ? this.#sessionId : 0n,
          password: this.#seenRwServer ? this.#password : NO_PASSWORD,
          readOnly: this.options.canBeReadOnly,
        })
      },
      data: (chunk) => {
        if (wire === null || socketOf(this.#state) !== socket) return
        // Heard now, however long the frames wait in a busy process's inbox.
        wire.heard()
        const read = wire
        this.#handle(() => {
          if (socketOf(this.#state) !== socket) return
          try {
            read.receive(chunk)
          } catch (err) {
            this.#lose(socket, err as Error)
          }
        })
      },
      // After the chunks that came before (a reply, then the close).
      error: (err) => this.#handle(() => this.#lose(socket, err)),
      close: () => this.#handle(() => this.#lose(socket, new Error('connection closed by the server'))),
    })
  }

  /** Socket work, through the env's inbox (see {@link Env.inbox}): at once, or after the timers when this process is busy. */
  #handle(work: () => void): void {
    const inbox = this.#env.inbox
    if (inbox === undefined) work()
    else inbox.run(work)
  }

  /** The connection on `socket` is gone (or useless): try the next host, if it is still the current one. */
  #lose(socket: EnvSocket, reason: Error): void {
    const s = this.#state
    if (socketOf(s) !== socket) return
    if (s.kind === 'closing') return s.done()
    if (!('lost' in s)) return
    const { address } = s
    log('%s %s:%d: %s', s.kind === 'attached' ? 'disconnected from' : 'connecting to', address.host, address.port, reason.message)
    this.#retry(s.kind === 'attached' || s.lost, reason)
  }

  #onFrame(wire: Connection, frame: Buffer): void {
    const s = this.#state
    if (!('wire' in s) || s.wire !== wire) return
    if (s.kind === 'handshake') return this.#onConnectResponse(s, frame)
    wire.reply(frame, this.#routes)
  }

  #onConnectResponse(s: Extract<State, { kind: 'handshake' }>, frame: Buffer): void {
    const r = new JuteReader(frame)
    if (frame.length === REPLY_HEADER_SIZE) {
      // A server that cannot create the session answers with a bare reply header (e.g. NOTREADONLY).
      throw new ProtocolError(`the server refused the session: ${codeName(readReplyHeader(r).err)}`)
    }
    const resp: ConnectResponse = readConnectResponse(r)
    if (resp.timeout <= 0) {
      // A read-only server does not know the sessions of the quorum it lost: its "expired" says nothing about ours.
      if (resp.readOnly && this.#seenRwServer) return this.#lose(s.wire.socket, new Error('a read-only server cannot re-attach this session'))
      const error = new ZkError(Code.SESSIONEXPIRED, { message: `session 0x${this.#sessionId.toString(16)} expired` })
      return this.#enter({ kind: 'expired', error })
    }
    const resumed = this.#sessionId !== 0n && this.#sessionId === resp.sessionId
    this.#sessionId = resp.sessionId
    this.#password = resp.password
    this.#negotiatedTimeout = resp.timeout
    if (!resp.readOnly) this.#seenRwServer = true
    this.#hosts.connected()
    const { address, lost, wire } = s
    log('%s session 0x%s on %s:%d (timeout %d ms%s)', resumed ? 'resumed' : 'new', resp.sessionId.toString(16), address.host, address.port, resp.timeout, resp.readOnly ? ', read-only' : '')
    const sasl = this.options.sasl
    if (sasl === undefined) return this.#enter(this.#attachedState(s, resp.readOnly))
    const auth: State = {
      kind: 'authenticating',
      lost,
      address,
      wire,
      readOnly: resp.readOnly,
      mechanism: new DigestMd5(sasl, this.#env.randomBytes(24).toString('base64')),
      timer: this.#env.setTimer(readTimeoutOf(resp.timeout), () => this.#lose(wire.socket, new Error('no SASL answer within the read timeout'))),
    }
    this.#enter(auth)
    this.#saslStep(auth, Buffer.alloc(0))
  }

  /** Answers the server's SASL token (an empty one starts the exchange); the reply takes the next step. */
  #saslStep(s: Extract<State, { kind: 'authenticating' }>, challenge: Buffer): void {
    let token: Buffer
    try {
      token = s.mechanism.step(challenge)
    } catch (err) {
      const error = new ZkError(Code.AUTHFAILED, { op: 'sasl', message: `SASL authentication failed: ${(err as Error).message}`, cause: err })
      return this.#enter({ kind: 'authFailed', error })
    }
    if (s.mechanism.complete) return this.#enter(this.#attachedState(s, s.readOnly))
    const onReply = (err: number, reply: Buffer | null): void => {
      if (this.#state !== s) return
      if (err !== 0) {
        const error = new ZkError(Code.AUTHFAILED, { op: 'sasl', message: `SASL authentication failed: ${codeName(err)}` })
        return this.#enter({ kind: 'authFailed', error })
      }
      this.#saslStep(s, reply ?? Buffer.alloc(0))
    }
    s.wire.send(new Call<void>(ops.sasl, { token }, undefined, () => undefined, () => undefined, undefined, onReply), { token })
  }

  #attachedState(s: Extract<State, { kind: 'handshake' | 'authenticating' }>, readOnly: boolean): State {
    return {
      kind: 'attached',
      lost: s.lost,
      address: s.address,
      wire: s.wire,
      readOnly,
      timer: null,
      due: 0,
      recheck: false,
      auth: new Fifo(),
      rearming: new Fifo(),
      probe: null,
    }
  }

  /** Just attached: re-send credentials and watches, let the waiting calls through, start pinging. */
  #attached(s: Extract<State, { kind: 'attached' }>): void {
    const { wire } = s
    for (const a of this.#authInfo) {
      wire.sendAuth(a.scheme, a.auth)
      s.auth.push(null)
    }
    this.#rearm(s)
    if (s.lost) this.watches.resync({ type: 'None', state: this.#shown, path: null })
    if (this.#state !== s) return
    this.#waiting.flush((call) => wire.send(call, call.req))
    s.due = this.#env.now()
    this.#tick(s)
    if (s.readOnly) s.probe = this.#probe(s, { timer: null, queries: [], intervalMs: FIRST_RW_PROBE_MS })
  }

  /** Pings after a third of the session timeout without sending; drops the connection after two thirds without hearing anything (as the Java client). */
  #tick(s: Extract<State, { kind: 'attached' }>): void {
    if (this.#state !== s) return
    const { wire } = s
    const now = this.#env.now()
    const readTimeout = readTimeoutOf(this.#negotiatedTimeout)
    const pingInterval = this.#negotiatedTimeout / 3
    // Ping first: after a busy spell the server has not heard from this session for as long.
    if (now - wire.lastSend >= pingInterval) wire.ping()
    if (now - wire.lastRecv > readTimeout) {
      // A tick that runs late means this process was busy (a long task, a pause): the server's
      // bytes may be waiting in the socket, unread. Silence is judged only after the socket has
      // had one turn to deliver them, as the Java client reads before it judges.
      if (!s.recheck && now - s.due > LATE_TICK_MS) {
        s.recheck = true
        s.due = now + MIN_TICK_MS
        s.timer = this.#env.setTimer(MIN_TICK_MS, () => this.#tick(s)).unref()
        return
      }
      return this.#lose(wire.socket, new Error(`no reply from the server for ${now - wire.lastRecv} ms (read timeout ${Math.round(readTimeout)} ms)`))
    }
    s.recheck = false
    const wake = Math.min(wire.lastRecv + readTimeout + 1, wire.lastSend + pingInterval)
    const delay = Math.max(MIN_TICK_MS, wake - now)
    s.due = now + delay
    s.timer = this.#env.setTimer(delay, () => this.#tick(s)).unref()
  }

  /** Re-sets every watch, split into packets below the server's size limit. */
  #rearm(s: Extract<State, { kind: 'attached' }>): void {
    const req = this.watches.toSetWatches(this.#chroot, this.#lastZxid)
    if (req === null) return
    for (const { op, req: packet } of setWatchesPackets(req)) {
      s.wire.sendSpecial(Xid.setWatches, op, packet)
      s.rearming.push(packet)
    }
  }

  /**
   * While attached to a read-only server, probes the other servers (the `isro`
   * four-letter word, as the Java client does) with a growing interval; when
   * one answers read-write, drops the read-only connection and moves there.
   */
  #probe(s: Extract<State, { kind: 'attached' }>, probe: Probe): Probe {
    probe.timer = this.#env.setTimer(probe.intervalMs, () => {
      probe.timer = null
      const current = `${s.wire.socket.remoteAddress}:${s.wire.socket.remotePort}`
      const others = this.#hosts.all().filter((h) => `${h.host}:${h.port}` !== current)
      probe.queries = others.map((h) => fourLetterWord(this.#env, h, 'isro', RW_PROBE_TIMEOUT_MS, this.options.tls))
      void Promise.all(probe.queries.map((q, i) => q.answer.then((a) => (a === 'rw' ? others[i]! : null), () => null))).then((answers) => {
        if (this.#state !== s || s.probe !== probe) return
        probe.queries = []
        const rw = answers.find((h) => h !== null)
        log('read-only: probed %d other servers for a read-write one: %s', others.length, rw ? `${rw.host}:${rw.port}` : 'none')
        if (rw) {
          this.#hosts.prefer(rw)
          return this.#lose(s.wire.socket, new Error(`moving to the read-write server ${rw.host}:${rw.port}`))
        }
        probe.intervalMs = Math.min(probe.intervalMs * 2, MAX_RW_PROBE_MS)
        this.#probe(s, probe)
      })
    }).unref()
    return probe
  }

  readonly #routes: ReplyRoutes = {
    notification: (ev: WatcherEventRecord) => {
      const type = eventTypeName(ev.type)
      if (type === undefined || type === 'None') return
      const event: WatchedEvent = { type, state: this.#shown, path: toClientPath(this.#chroot, ev.path) }
      this.watches.deliver(event)
    },
    authReply: (err: number) => {
      const s = this.#state
      if (s.kind !== 'attached') return
      const waiter = s.auth.shift()
      if (err === 0) return waiter?.resolve()
      const error = new ZkError(err, { op: 'addAuth' })
      waiter?.reject(error)
      if (err === Code.AUTHFAILED) this.#enter({ kind: 'authFailed', error })
    },
    setWatchesReply: (err: number) => {
      const s = this.#state
      if (s.kind !== 'attached') return
      const packet = s.rearming.shift()
      if (err === 0 || packet === undefined) return
      // The server refused to re-arm these watches: they are gone, so their watchers hear it.
      const count = packet.data.length + packet.exist.length + packet.child.length + packet.persistent.length + packet.persistentRecursive.length
      const error = new ZkError(err, { op: 'setWatches', message: `the server refused to re-arm ${count} watches: ${codeName(err)}` })
      log('%s', error.message)
      this.watches.dropRearm(this.#chroot, packet, this.#shown, error)
    },
  }

  // ---------------------------------------------------------------- public calls

  /**
   * Ends the session on the server (its ephemeral nodes go at once) and
   * releases every socket and timer. Safe to call twice or while reconnecting.
   */
  close(): Promise<void> {
    const s = this.#state
    if (s.kind === 'closing') return this.#done.then(() => undefined)
    if (s.kind === 'expired' || s.kind === 'authFailed' || s.kind === 'closed') return Promise.resolve()
    if (s.kind !== 'attached') {
      this.#enter({ kind: 'closed' })
      return Promise.resolve()
    }
    const done = (): void => {
      if (this.#state === closing) this.#enter({ kind: 'closed' })
    }
    const closing: State = {
      kind: 'closing',
      wire: s.wire,
      shown: this.#shown,
      done,
      timer: this.#env.setTimer(Math.min(this.options.requestTimeout, MAX_CLOSE_WAIT_MS), done),
    }
    this.#enter(closing)
    s.wire.send(new Call<void>(ops.closeSession, undefined, undefined, done, done, undefined, undefined), undefined)
    // On the wire when close() returns: the cluster counts on it (see Cluster.stop).
    s.wire.flush()
    return this.#done.then(() => undefined)
  }

  /**
   * Adds credentials: sent now if connected, and again on every new connection.
   * Resolves when the server accepts them (or at once while disconnected).
   */
  addAuth(scheme: string, auth: Buffer): Promise<void> {
    this.#remember(scheme, auth)
    const s = this.#state
    if (s.kind !== 'attached') return Promise.resolve()
    return new Promise((resolve, reject) => {
      s.wire.sendAuth(scheme, auth)
      s.auth.push({ resolve, reject })
    })
  }

  /** Keeps credentials once (the Java client's set of AuthData): re-sent once per reconnect however often added. */
  #remember(scheme: string, auth: Buffer): void {
    if (!this.#authInfo.some((a) => a.scheme === scheme && a.auth.equals(auth))) this.#authInfo.push({ scheme, auth })
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
      const s = this.#state
      switch (s.kind) {
        case 'attached':
          return s.wire.send(call, req)
        case 'closing':
        case 'closed':
          return call.fail(Code.CLOSED)
        case 'expired':
        case 'authFailed':
          return call.fail(TERMINAL_CODES[s.kind])
        default:
          this.#waiting.push(call as Call<unknown>)
      }
    })
  }
}

/** The state applications see for a machine state. */
function shownState(s: State): ZkState {
  switch (s.kind) {
    case 'attached':
      return s.readOnly ? 'connectedReadOnly' : 'connected'
    case 'closing':
      return s.shown
    case 'expired':
    case 'authFailed':
    case 'closed':
      return s.kind
    default:
      return s.lost ? 'disconnected' : 'connecting'
  }
}

/** What requests still pending on a connection fail with when the session moves to `next`. */
function failCode(next: State): number {
  switch (next.kind) {
    case 'expired':
    case 'authFailed':
    case 'closed':
      return TERMINAL_CODES[next.kind]
    default:
      return Code.CONNECTIONLOSS
  }
}

function socketOf(s: State): EnvSocket | null {
  if (s.kind === 'dialing') return s.socket
  return 'wire' in s ? (s as WithWire).wire.socket : null
}

function stopProbe(probe: Probe): void {
  probe.timer?.cancel()
  for (const q of probe.queries) q.cancel()
  probe.queries = []
}

/** The read timeout for a negotiated session timeout: two thirds of it, as the Java client. */
function readTimeoutOf(negotiatedTimeout: number): number {
  return (negotiatedTimeout * 2) / 3
}

