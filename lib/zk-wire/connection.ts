import type { Socket } from 'node:net'
import { logger } from './log.js'
import { Code, ProtocolError, codeName } from './errors.js'
import { Fifo } from './fifo.js'
import { FrameDecoder } from './framing.js'
import { JuteReader, JuteWriter } from './jute.js'
import {
  type ConnectRequest,
  type ConnectResponse,
  type Operation,
  type WatcherEventRecord,
  OpCode,
  Xid,
  readConnectResponse,
  readReplyHeader,
  readWatcherEvent,
  writeAuthPacket,
  writeConnectRequest,
} from './operations.js'

const log = logger('zkcloud:wire')

/** A request written to the socket and waiting for its reply. Settled exactly once. */
export interface PendingRequest {
  xid: number
  readonly op: Operation<any, any>
  /** The reply arrived: `err` from its header, `value` decoded when err is 0 (or for multi). */
  complete(err: number, value: unknown, zxid: bigint): void
  /** The connection ended before the reply. */
  fail(code: number, cause: Error): void
}

/** What a connection tells its owner. */
export interface ConnectionHandler {
  notification(event: WatcherEventRecord): void
  /** Reply to an auth packet, in the order they were sent. */
  authReply(err: number): void
  /** Reply to SetWatches2. */
  setWatchesReply(err: number): void
  /** The connection is gone; called once, after every pending request was failed. */
  closed(reason: Error): void
}

export interface ConnectionOptions {
  maxBufferSize: number
}

type ConnectionState = 'handshake' | 'open' | 'closed'

const TICK_MIN_MS = 10
const REPLY_HEADER_SIZE = 16

/**
 * One socket to one server: framing, the handshake, xid allocation, the FIFO
 * of pending requests, pings and the read timeout. It knows nothing of
 * sessions, reconnects or watches; the client owns those.
 */
export class Connection {
  private state: ConnectionState = 'handshake'
  private readonly decoder: FrameDecoder
  private readonly out = new JuteWriter()
  private flushScheduled = false
  private readonly pending = new Fifo<PendingRequest>()
  private handshakeReply: { resolve: (r: ConnectResponse) => void; reject: (e: Error) => void } | null = null
  private ticker: NodeJS.Timeout | null = null
  /** When bytes last arrived from the server (ms since the epoch). */
  lastRecv = Date.now()
  private lastSend = Date.now()
  private readTimeout = 0
  private pingInterval = 0
  private xid = 0
  /** zxid of the newest reply seen (normal replies only, as the Java client does). */
  lastZxid = 0n

  constructor(
    readonly socket: Socket,
    private readonly handler: ConnectionHandler,
    options: ConnectionOptions,
  ) {
    this.decoder = new FrameDecoder(options.maxBufferSize)
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', (err) => this.close(Code.CONNECTIONLOSS, err))
    socket.on('close', () => this.close(Code.CONNECTIONLOSS, new Error('socket closed by peer')))
    socket.on('end', () => this.close(Code.CONNECTIONLOSS, new Error('server ended the connection')))
  }

  get isOpen(): boolean {
    return this.state === 'open' && this.ticker !== null
  }

  /** Sends the ConnectRequest and resolves with the server's reply (the first frame). */
  handshake(req: ConnectRequest): Promise<ConnectResponse> {
    return new Promise((resolve, reject) => {
      this.handshakeReply = { resolve, reject }
      const mark = this.out.beginFrame()
      writeConnectRequest(this.out, req)
      this.out.endFrame(mark)
      this.flush()
    })
  }

  /**
   * Starts pings and the read timeout for a negotiated session timeout, as the
   * Java client does: read timeout 2/3 of it, a ping after 1/3 of it idle.
   */
  open(negotiatedTimeout: number, readTimeout = (negotiatedTimeout * 2) / 3): void {
    if (this.state === 'closed') return
    this.readTimeout = readTimeout
    this.pingInterval = negotiatedTimeout / 3
    const tick = Math.max(TICK_MIN_MS, Math.min(this.pingInterval, this.readTimeout) / 8)
    this.ticker = setInterval(() => this.onTick(), tick)
    this.ticker.unref()
  }

  /** Writes a request; its reply settles `p`. The xid is assigned here. */
  send<Req>(p: PendingRequest, req: Req): void {
    if (this.state === 'closed') {
      p.fail(Code.CONNECTIONLOSS, new Error('connection closed'))
      return
    }
    this.xid = (this.xid + 1) & 0x7fffffff || 1
    p.xid = this.xid
    const mark = this.out.beginFrame()
    try {
      this.out.int(p.xid).int(p.op.type)
      p.op.write(this.out, req)
    } catch (err) {
      this.out.rewind(mark)
      p.fail(Code.MARSHALLINGERROR, err as Error)
      return
    }
    this.out.endFrame(mark)
    this.pending.push(p)
    this.scheduleFlush()
  }

  /** Writes a request with a reserved xid (ping, auth, SetWatches), which is not queued as pending. */
  sendSpecial<Req>(xid: number, op: Operation<Req, unknown>, req: Req): void {
    if (this.state === 'closed') return
    const mark = this.out.beginFrame()
    this.out.int(xid).int(op.type)
    op.write(this.out, req)
    this.out.endFrame(mark)
    this.scheduleFlush()
  }

  sendAuth(scheme: string, auth: Uint8Array): void {
    if (this.state === 'closed') return
    const mark = this.out.beginFrame()
    this.out.int(Xid.auth).int(OpCode.auth)
    writeAuthPacket(this.out, scheme, auth)
    this.out.endFrame(mark)
    this.scheduleFlush()
  }

  private sendPing(): void {
    const mark = this.out.beginFrame()
    this.out.int(Xid.ping).int(OpCode.ping)
    this.out.endFrame(mark)
    this.flush()
  }

  private scheduleFlush(): void {
    if (this.out.length >= 64 * 1024) {
      this.flush()
      return
    }
    if (this.flushScheduled) return
    this.flushScheduled = true
    queueMicrotask(() => this.flush())
  }

  private flush(): void {
    this.flushScheduled = false
    if (this.out.length === 0 || this.state === 'closed') return
    this.lastSend = Date.now()
    this.socket.write(this.out.take())
  }

  private onTick(): void {
    const now = Date.now()
    if (now - this.lastRecv > this.readTimeout) {
      this.close(Code.CONNECTIONLOSS, new Error(`no reply from the server for ${now - this.lastRecv} ms (read timeout ${Math.round(this.readTimeout)} ms)`))
      return
    }
    if (now - this.lastSend >= this.pingInterval) this.sendPing()
  }

  private onData(chunk: Buffer): void {
    this.lastRecv = Date.now()
    try {
      this.decoder.push(chunk, (frame) => this.onFrame(frame))
    } catch (err) {
      this.close(Code.CONNECTIONLOSS, err as Error)
    }
  }

  private onFrame(frame: Buffer): void {
    if (this.state === 'closed') return
    const r = new JuteReader(frame)
    if (this.state === 'handshake') {
      const reply = this.handshakeReply
      this.handshakeReply = null
      if (reply === null) throw new ProtocolError('unexpected frame before the handshake was sent')
      if (frame.length === REPLY_HEADER_SIZE) {
        // A server that cannot create the session answers with a bare reply header (e.g. NOTREADONLY).
        const { err } = readReplyHeader(r)
        throw new ProtocolError(`the server refused the session: ${codeName(err)}`)
      }
      const response = readConnectResponse(r)
      this.state = 'open'
      reply.resolve(response)
      return
    }
    const header = readReplyHeader(r)
    switch (header.xid) {
      case Xid.notification:
        this.handler.notification(readWatcherEvent(r))
        return
      case Xid.ping:
        return
      case Xid.auth:
        this.handler.authReply(header.err)
        return
      case Xid.setWatches:
        this.handler.setWatchesReply(header.err)
        return
    }
    const p = this.pending.peek()
    if (p === undefined) throw new ProtocolError(`reply with xid ${header.xid} but no request is pending`)
    if (p.xid !== header.xid) throw new ProtocolError(`reply xid ${header.xid} does not match the oldest pending request ${p.xid} (${p.op.name})`)
    this.pending.shift()
    if (header.zxid > 0n) this.lastZxid = header.zxid
    let value: unknown
    if (header.err === 0 || (p.op.type === OpCode.multi && r.remaining > 0)) {
      try {
        value = p.op.read(r)
      } catch (err) {
        p.fail(Code.CONNECTIONLOSS, err as Error)
        throw err
      }
    }
    p.complete(header.err, value, header.zxid)
  }

  /**
   * Ends the connection: fails every pending request with `code` (CONNECTIONLOSS
   * unless the session is over) and tells the handler once.
   */
  close(code: number, reason: Error): void {
    if (this.state === 'closed') return
    const wasHandshake = this.state === 'handshake'
    this.state = 'closed'
    if (this.ticker !== null) clearInterval(this.ticker)
    log('connection to %s:%s closed: %s', this.socket.remoteAddress, this.socket.remotePort, reason.message)
    this.socket.destroy()
    if (wasHandshake && this.handshakeReply !== null) {
      this.handshakeReply.reject(reason)
      this.handshakeReply = null
    }
    for (const p of this.pending.drain()) p.fail(code, reason)
    this.handler.closed(reason)
  }
}
