import { type AddressInfo, type Server, type Socket, createServer } from 'node:net'
import { Fifo } from '../zk-wire/fifo.js'
import { FrameDecoder } from '../zk-wire/framing.js'
import { JuteWriter } from '../zk-wire/jute.js'
import { logger } from '../zk-wire/log.js'
import { type Operation, Xid, writeConnectResponse, writeReplyHeader, writeWatcherEvent } from '../zk-wire/operations.js'
import { AuthInfo } from './auth-info.js'
import type { ClientConnection } from './connection.js'
import { fourLetterAnswer, isFourLetterWord } from './four-letter.js'
import { Processor, type ProcessorOptions } from './processor.js'

const log = logger('zkcloud:dev-server')

/** Largest frame a client may send: ZooKeeper's default `jute.maxbuffer` (1 MiB − 1). */
export const MAX_FRAME_SIZE = 0xfffff
/** Output is written at once past this size, else once per tick. */
const FLUSH_AT = 64 * 1024
/** A client that leaves this much output unread is dropped. */
const MAX_UNREAD = 64 * 1024 * 1024
/** `KeeperState.SyncConnected`, the state of every node event. */
const SYNC_CONNECTED = 3

type ConnectionState = 'new' | 'handshake' | 'open' | 'closing' | 'closed'

/**
 * One client socket: the four-letter-word check, framing, batched output and
 * backpressure. Whatever goes wrong on it (bad frames, oversize frames, a
 * fault while handling a request) closes this connection only.
 */
class SocketConnection implements ClientConnection {
  sessionId = 0n
  readonly authInfo: AuthInfo
  readonly address: string
  private state: ConnectionState = 'new'
  /** The first bytes, until there are four to tell a four-letter word from a frame length. */
  private head: Buffer = Buffer.alloc(0)
  private readonly decoder = new FrameDecoder(MAX_FRAME_SIZE)
  /** Frames received and not yet handled. */
  private readonly inbox = new Fifo<Buffer>()
  private readonly out = new JuteWriter()
  private flushQueued = false
  private paused = false

  constructor(
    private readonly socket: Socket,
    private readonly server: ProtocolServer,
  ) {
    this.address = (socket.remoteAddress ?? '').replace(/^::ffff:/, '')
    this.authInfo = new AuthInfo(this.address)
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', () => this.destroy())
    socket.on('close', () => this.destroy())
  }

  private onData(chunk: Buffer): void {
    try {
      if (this.state === 'new') {
        this.head = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk])
        if (this.head.length < 4) return
        chunk = this.head
        this.head = Buffer.alloc(0)
        const word = chunk.toString('latin1', 0, 4)
        if (isFourLetterWord(word)) {
          this.state = 'closing'
          this.socket.write(this.server.fourLetter(word))
          this.socket.destroySoon()
          return
        }
        this.state = 'handshake'
      }
      this.decoder.push(chunk, (frame) => this.inbox.push(frame))
      this.work()
    } catch (err) {
      log('closing connection from %s: %s', this.address, (err as Error).message)
      this.destroy()
    }
  }

  /** Handles the frames received, until the client stops reading its replies (then on 'drain'). */
  private work(): void {
    while (!this.paused && this.inbox.length > 0) {
      const frame = this.inbox.shift()!
      this.server.packetsReceived++
      if (this.state === 'handshake') {
        this.state = 'open'
        this.server.processor.handshake(this, frame)
      } else if (this.state === 'open') {
        this.server.processor.request(this, frame)
      }
    }
  }

  reply<Res>(xid: number, zxid: bigint, err: number, op?: Operation<unknown, Res>, res?: Res): void {
    if (this.state !== 'open') return
    const mark = this.out.beginFrame()
    writeReplyHeader(this.out, { xid, zxid, err })
    op?.writeResponse(this.out, res as Res)
    this.out.endFrame(mark)
    this.queued()
  }

  notify(type: number, path: string): void {
    if (this.state !== 'open') return
    const mark = this.out.beginFrame()
    writeReplyHeader(this.out, { xid: Xid.notification, zxid: -1n, err: 0 })
    writeWatcherEvent(this.out, { type, state: SYNC_CONNECTED, path })
    this.out.endFrame(mark)
    this.queued()
  }

  accept(timeout: number, sessionId: bigint, password: Buffer, withReadOnly: boolean): void {
    const mark = this.out.beginFrame()
    writeConnectResponse(this.out, { protocolVersion: 0, timeout, sessionId, password, readOnly: false }, withReadOnly)
    this.out.endFrame(mark)
    this.queued()
  }

  private queued(): void {
    this.server.packetsSent++
    if (this.out.length >= FLUSH_AT) return this.flush()
    if (this.flushQueued) return
    this.flushQueued = true
    queueMicrotask(() => this.flush())
  }

  private flush(): void {
    this.flushQueued = false
    if (this.out.length === 0 || this.state === 'closed') return
    if (this.socket.write(this.out.take())) return
    if (this.socket.writableLength > MAX_UNREAD) {
      log('dropping %s: %d bytes of output unread', this.address, this.socket.writableLength)
      // Not from inside a watch trigger: the tables are being walked.
      queueMicrotask(() => this.destroy())
      return
    }
    if (this.paused) return
    // Handle no more requests from a client that does not read its replies.
    this.paused = true
    this.socket.pause()
    this.socket.once('drain', () => {
      this.paused = false
      this.socket.resume()
      this.work()
    })
  }

  end(): void {
    if (this.state === 'closing' || this.state === 'closed') return
    this.flush()
    this.state = 'closing'
    this.socket.destroySoon()
    this.server.processor.disconnected(this)
  }

  destroy(): void {
    if (this.state === 'closed') return
    const wasOpen = this.state !== 'closing'
    this.state = 'closed'
    this.socket.destroy()
    if (wasOpen) this.server.processor.disconnected(this)
    this.server.connections.delete(this)
  }
}

/** Options of {@link ProtocolServer}. */
export interface ProtocolServerOptions extends Omit<ProcessorOptions, 'changed'> {
  /** How often empty containers and expired TTL nodes are deleted, milliseconds. */
  containerCheckInterval: number
  /** Called after anything a snapshot holds has changed. */
  changed?: () => void
}

/** The TCP side of the dev server: accepts connections, hands their frames to the processor, runs the timers. */
export class ProtocolServer {
  readonly processor: Processor
  readonly connections = new Set<SocketConnection>()
  packetsReceived = 0
  packetsSent = 0
  private readonly net: Server
  private expiryTimer: NodeJS.Timeout | null = null
  private readonly reaper: NodeJS.Timeout

  constructor(private readonly options: ProtocolServerOptions) {
    this.processor = new Processor({ ...options, changed: options.changed ?? (() => undefined) })
    this.net = createServer((socket) => this.connections.add(new SocketConnection(socket, this)))
    this.reaper = setInterval(() => this.processor.reap(Date.now()), options.containerCheckInterval)
    this.reaper.unref()
    this.scheduleExpiry()
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.net.once('error', reject)
      this.net.listen(port, host, () => {
        this.net.off('error', reject)
        resolve(this.net.address() as AddressInfo)
      })
    })
  }

  /** Sessions expire on tick boundaries, as ZooKeeper's expiry queue works. */
  private scheduleExpiry(): void {
    const tick = this.options.tickTime
    this.expiryTimer = setTimeout(() => {
      this.processor.expireSessions(Date.now())
      this.scheduleExpiry()
    }, tick - (Date.now() % tick))
    this.expiryTimer.unref()
  }

  fourLetter(word: string): string {
    const counts = this.processor.tree.counts()
    return fourLetterAnswer(word, {
      zxid: this.processor.zxid,
      connections: this.connections.size,
      packetsReceived: this.packetsReceived,
      packetsSent: this.packetsSent,
      nodes: counts.nodes,
      watches: counts.watches,
      ephemerals: counts.ephemerals,
      dataSize: counts.dataSize,
      sessions: this.processor.sessions.size,
    })
  }

  /** Stops listening, drops every connection (sessions are kept, as a server restart keeps them) and stops the timers. */
  async close(): Promise<void> {
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer)
    this.expiryTimer = null
    clearInterval(this.reaper)
    const closed = new Promise<void>((resolve) => this.net.close(() => resolve()))
    for (const conn of [...this.connections]) conn.destroy()
    await closed
  }
}
