import type { Socket } from 'node:net'
import { type Timer, realEnv } from '../env.js'
import { Fifo } from '../zk-wire/fifo.js'
import { FrameDecoder } from '../zk-wire/framing.js'
import { JuteWriter } from '../zk-wire/jute.js'
import { logger } from '../zk-wire/log.js'
import { type Operation, Xid, writeConnectResponse, writeReplyHeader, writeWatcherEvent } from '../zk-wire/operations.js'
import { AuthInfo } from './auth-info.js'
import type { ClientConnection } from './connection.js'
import { type ConnectionView, isFourLetterWord } from './four-letter.js'
import type { Processor } from './processor.js'

const log = logger('zkcloud:dev-server')

/** Largest frame a client may send: ZooKeeper's default `jute.maxbuffer` (1 MiB − 1). */
export const MAX_FRAME_SIZE = 0xfffff
/** Output is handed to the socket at once past this size, else once per tick. */
const FLUSH_AT = 64 * 1024
/**
 * A client that leaves this much output unread is dropped. What counts is the
 * memory held — the socket's buffer and the frames waiting behind it, each
 * chunk copied to its exact size — so the cap bounds the server's memory too.
 */
export const MAX_UNREAD = 64 * 1024 * 1024
/** `KeeperState.SyncConnected`, the state of every node event. */
const SYNC_CONNECTED = 3

/** What a connection needs of the server it belongs to. */
export interface ConnectionHost {
  readonly processor: Processor
  packetsReceived: number
  packetsSent: number
  /** How long a connection may stay without a session (ZooKeeper's sessionless connection timeout). */
  readonly sessionlessTimeout: number
  fourLetter(word: string): string
  forget(conn: SocketConnection): void
}

/** What `cons` reports of a connection (its session id is the connection's own). */
export type ConnectionStats = Omit<ConnectionView, 'sessionId'>

type State =
  | { kind: 'new'; head: Buffer; deadline: Timer }
  | { kind: 'handshake'; deadline: Timer }
  | { kind: 'open' }
  | { kind: 'closing' }
  | { kind: 'closed' }

/**
 * One client socket (plain or TLS): the four-letter-word check, framing,
 * batched output and backpressure. Whatever goes wrong on it (bad frames,
 * oversize frames, a fault while handling a request, no handshake within the
 * sessionless timeout, too much unread output) closes this connection only.
 */
export class SocketConnection implements ClientConnection {
  sessionId = 0n
  readonly authInfo: AuthInfo
  readonly address: string
  readonly stats: ConnectionStats
  private state: State
  private readonly decoder = new FrameDecoder(MAX_FRAME_SIZE)
  /** Frames received and not yet handled. */
  private readonly inbox = new Fifo<Buffer>()
  private readonly out = new JuteWriter()
  /**
   * What waits for a client that does not read: watch events kept as (type,
   * path) with each path held once, and any other output as bytes. Events are
   * encoded only when the socket drains, so what is held stays far below what
   * is counted against {@link MAX_UNREAD} (the encoded size).
   */
  private readonly backlog = new Fifo<Buffer | { type: number; path: string }>()
  private backlogBytes = 0
  private readonly backlogPaths = new Map<string, string>()
  private flushQueued = false
  /** The socket refused more output: no requests are handled until it drains. */
  private paused = false

  constructor(
    private readonly socket: Socket,
    private readonly host: ConnectionHost,
  ) {
    this.address = (socket.remoteAddress ?? '').replace(/^::ffff:/, '')
    this.authInfo = new AuthInfo(this.address)
    const now = Date.now()
    this.stats = { remote: `${this.address}:${socket.remotePort ?? 0}`, received: 0, sent: 0, established: now, lastOp: null, lastCxid: 0, lastZxid: 0n, lastResponse: now, timeout: 0 }
    this.state = { kind: 'new', head: Buffer.alloc(0), deadline: this.deadline() }
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', () => this.destroy())
    socket.on('close', () => this.destroy())
    socket.on('drain', () => this.drained())
  }

  /** Closes the connection if it has no session by then, as ZooKeeper closes sessionless connections. */
  private deadline(): Timer {
    return realEnv
      .setTimer(this.host.sessionlessTimeout, () => {
        log('closing %s: no handshake within %d ms', this.address, this.host.sessionlessTimeout)
        this.destroy()
      })
      .unref()
  }

  /** The only place that changes `state`: leaving a state cancels its timer. */
  private enter(next: State): void {
    const prev = this.state
    if ('deadline' in prev && !('deadline' in next && next.deadline === prev.deadline)) prev.deadline.cancel()
    this.state = next
  }

  private onData(chunk: Buffer): void {
    try {
      const state = this.state
      if (state.kind === 'new') {
        const head = state.head.length === 0 ? chunk : Buffer.concat([state.head, chunk])
        if (head.length < 4) {
          state.head = head
          return
        }
        chunk = head
        const word = chunk.toString('latin1', 0, 4)
        if (isFourLetterWord(word)) {
          this.host.packetsReceived++
          this.stats.received++
          this.enter({ kind: 'closing' })
          this.socket.write(this.host.fourLetter(word))
          this.socket.destroySoon()
          return
        }
        this.enter({ kind: 'handshake', deadline: state.deadline })
      }
      this.decoder.push(chunk, (frame) => this.inbox.push(frame))
      this.work()
    } catch (err) {
      log('closing connection from %s: %s', this.address, (err as Error).message)
      this.destroy()
    }
  }

  /** Handles the frames received, until the client stops reading its replies (then again on 'drain'). */
  private work(): void {
    while (!this.paused && this.inbox.length > 0) {
      const frame = this.inbox.shift()!
      this.host.packetsReceived++
      this.stats.received++
      const state = this.state
      if (state.kind === 'handshake') {
        this.enter({ kind: 'open' })
        this.host.processor.handshake(this, frame)
      } else if (state.kind === 'open') {
        if (frame.length >= 8) {
          this.stats.lastCxid = frame.readInt32BE(0)
          this.stats.lastOp = frame.readInt32BE(4)
        }
        this.host.processor.request(this, frame)
      }
    }
  }

  reply<Res>(xid: number, zxid: bigint, err: number, op?: Operation<unknown, Res>, res?: Res): void {
    if (this.state.kind !== 'open') return
    // Behind events already waiting: queue it after them, in order.
    if (this.paused && this.backlog.length > 0) this.flush()
    const mark = this.out.beginFrame()
    writeReplyHeader(this.out, { xid, zxid, err })
    op?.writeResponse(this.out, res as Res)
    this.out.endFrame(mark)
    if (zxid > 0n) this.stats.lastZxid = zxid
    this.stats.lastResponse = Date.now()
    this.queued()
  }

  notify(type: number, path: string): void {
    if (this.state.kind !== 'open') return
    if (this.paused) {
      let held = this.backlogPaths.get(path)
      if (held === undefined) this.backlogPaths.set(path, (held = path))
      this.backlog.push({ type, path: held })
      this.host.packetsSent++
      this.stats.sent++
      return this.grew(32 + Buffer.byteLength(path))
    }
    const mark = this.out.beginFrame()
    writeReplyHeader(this.out, { xid: Xid.notification, zxid: -1n, err: 0 })
    writeWatcherEvent(this.out, { type, state: SYNC_CONNECTED, path })
    this.out.endFrame(mark)
    this.queued()
  }

  accept(timeout: number, sessionId: bigint, password: Buffer, withReadOnly: boolean): void {
    this.stats.timeout = timeout
    const mark = this.out.beginFrame()
    writeConnectResponse(this.out, { protocolVersion: 0, timeout, sessionId, password, readOnly: false }, withReadOnly)
    this.out.endFrame(mark)
    this.queued()
  }

  private queued(): void {
    this.host.packetsSent++
    this.stats.sent++
    if (this.out.length >= FLUSH_AT) return this.flush()
    if (this.flushQueued) return
    this.flushQueued = true
    queueMicrotask(() => this.flush())
  }

  /** Bytes written and not yet read by the client, as far as this process holds them. */
  get unread(): number {
    return this.socket.writableLength + this.backlogBytes + this.out.length
  }

  private flush(): void {
    this.flushQueued = false
    if (this.out.length === 0 || this.state.kind === 'closed') return
    let chunk = this.out.take()
    if (this.paused) {
      // A chunk may be a view of a buffer up to twice its size: keep only its bytes.
      if (chunk.byteLength < chunk.buffer.byteLength) chunk = Buffer.from(chunk)
      this.backlog.push(chunk)
      return this.grew(chunk.length)
    }
    if (!this.socket.write(chunk)) {
      // Handle no more requests from a client that does not read its replies; keep its output here until it drains.
      this.paused = true
      this.socket.pause()
    }
  }

  /** Counts `bytes` more held for a client that does not read, and drops it past MAX_UNREAD. */
  private grew(bytes: number): void {
    this.backlogBytes += bytes
    if (this.unread <= MAX_UNREAD || this.state.kind === 'closed') return
    log('dropping %s: %d bytes of output unread', this.address, this.unread)
    this.clearBacklog()
    // Not from inside a watch trigger: the tables are being walked.
    queueMicrotask(() => this.destroy())
  }

  private clearBacklog(): void {
    while (this.backlog.length > 0) this.backlog.shift()
    this.backlogPaths.clear()
    this.backlogBytes = 0
  }

  /** The client read again: send what waited, encoding events as it goes, until the socket pushes back. */
  private drained(): void {
    if (!this.paused || this.state.kind === 'closed') return
    while (this.backlog.length > 0) {
      const item = this.backlog.shift()!
      if (Buffer.isBuffer(item)) {
        this.backlogBytes -= item.length
        if (!this.socket.write(item)) return
        continue
      }
      this.backlogBytes -= 32 + Buffer.byteLength(item.path)
      const mark = this.out.beginFrame()
      writeReplyHeader(this.out, { xid: Xid.notification, zxid: -1n, err: 0 })
      writeWatcherEvent(this.out, { type: item.type, state: SYNC_CONNECTED, path: item.path })
      this.out.endFrame(mark)
      if (this.out.length >= FLUSH_AT && !this.socket.write(this.out.take())) return
    }
    this.backlogPaths.clear()
    this.paused = false
    if (this.out.length > 0 && !this.socket.write(this.out.take())) {
      this.paused = true
      return
    }
    this.socket.resume()
    this.work()
  }

  end(): void {
    if (this.state.kind === 'closing' || this.state.kind === 'closed') return
    this.flush()
    this.enter({ kind: 'closing' })
    this.socket.destroySoon()
    this.host.processor.disconnected(this)
  }

  destroy(): void {
    if (this.state.kind === 'closed') return
    const wasOpen = this.state.kind !== 'closing'
    this.enter({ kind: 'closed' })
    this.clearBacklog()
    this.socket.destroy()
    if (wasOpen) this.host.processor.disconnected(this)
    this.host.forget(this)
  }

  /** Where it stands, for `cons` and `dump`: `new` and `handshake` have no session yet. */
  get phase(): State['kind'] {
    return this.state.kind
  }
}
