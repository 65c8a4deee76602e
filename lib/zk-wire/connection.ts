import type { Clock, EnvSocket } from '../env.js'
import { Code, ProtocolError } from './errors.js'
import { Fifo } from './fifo.js'
import { FrameDecoder } from './framing.js'
import { JuteReader, JuteWriter } from './jute.js'
import {
  type ConnectRequest,
  type Operation,
  type WatcherEventRecord,
  OpCode,
  Xid,
  readReplyHeader,
  readWatcherEvent,
  writeAuthPacket,
  writeConnectRequest,
} from './operations.js'

/** A request written to the socket and waiting for its reply. Settled exactly once. */
export interface PendingRequest {
  xid: number
  readonly op: Operation<any, any>
  /** The reply arrived: `err` from its header, `value` decoded when err is 0 (or for multi). */
  complete(err: number, value: unknown, zxid: bigint): void
  /** The connection ended before the reply. */
  fail(code: number, cause: Error): void
}

/** Where {@link Connection.reply} routes the frames that answer no pending request. */
export interface ReplyRoutes {
  notification(event: WatcherEventRecord): void
  /** Reply to an auth packet, in the order they were sent. */
  authReply(err: number): void
  /** Reply to a SetWatches packet, in the order they were sent. */
  setWatchesReply(err: number): void
}

/**
 * The bytes of one socket to one server: framing, batched writes, xid
 * allocation and the FIFO of pending requests. It has no state of its own
 * beyond "closed" and no timers: the session's state machine owns it, feeds
 * it the socket's chunks (`receive`), reads its frames (the connect response,
 * then `reply`), and closes it when it leaves the states that use it.
 */
export class Connection {
  private readonly decoder: FrameDecoder
  private readonly out = new JuteWriter()
  private flushScheduled = false
  private readonly pending = new Fifo<PendingRequest>()
  private closed = false
  private xid = 0
  /** When bytes last arrived from the server (the clock's ms). */
  lastRecv: number
  /** When bytes were last written. */
  lastSend: number
  /** zxid of the newest reply seen (normal replies only, as the Java client does). */
  lastZxid: bigint

  constructor(
    readonly socket: EnvSocket,
    private readonly clock: Clock,
    maxBufferSize: number,
    private readonly onFrame: (frame: Buffer) => void,
    lastZxid: bigint,
  ) {
    this.decoder = new FrameDecoder(maxBufferSize)
    this.lastRecv = this.lastSend = clock.now()
    this.lastZxid = lastZxid
  }

  /** Bytes came from the server (they may be handled later: see {@link receive}). */
  heard(): void {
    this.lastRecv = this.clock.now()
  }

  /** Feeds bytes from the socket; frames go to `onFrame`. Throws {@link ProtocolError} on bad framing (or whatever `onFrame` throws). */
  receive(chunk: Buffer): void {
    this.decoder.push(chunk, this.onFrame)
  }

  /** Writes the ConnectRequest, the first frame of a connection. */
  sendConnect(req: ConnectRequest): void {
    const mark = this.out.beginFrame()
    writeConnectRequest(this.out, req)
    this.out.endFrame(mark)
    this.flush()
  }

  /** Writes a request; its reply settles `p`. The xid is assigned here. */
  send<Req>(p: PendingRequest, req: Req): void {
    if (this.closed) {
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

  /** Writes a request with a reserved xid (SetWatches), which is not queued as pending. */
  sendSpecial<Req>(xid: number, op: Operation<Req, unknown>, req: Req): void {
    if (this.closed) return
    const mark = this.out.beginFrame()
    this.out.int(xid).int(op.type)
    op.write(this.out, req)
    this.out.endFrame(mark)
    this.scheduleFlush()
  }

  sendAuth(scheme: string, auth: Uint8Array): void {
    if (this.closed) return
    const mark = this.out.beginFrame()
    this.out.int(Xid.auth).int(OpCode.auth)
    writeAuthPacket(this.out, scheme, auth)
    this.out.endFrame(mark)
    this.scheduleFlush()
  }

  ping(): void {
    if (this.closed) return
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

  /** Writes what is queued now (requests are otherwise written together at the end of the current task). */
  flush(): void {
    this.flushScheduled = false
    if (this.out.length === 0 || this.closed) return
    this.lastSend = this.clock.now()
    this.socket.write(this.out.take())
  }

  /**
   * Handles a frame after the handshake: a notification, a ping, auth or
   * SetWatches reply (to `routes`), or the reply to the oldest pending request.
   * Throws {@link ProtocolError} when the frame answers nothing that was asked.
   */
  reply(frame: Buffer, routes: ReplyRoutes): void {
    const r = new JuteReader(frame)
    const header = readReplyHeader(r)
    switch (header.xid) {
      case Xid.notification:
        routes.notification(readWatcherEvent(r))
        return
      case Xid.ping:
        return
      case Xid.auth:
        routes.authReply(header.err)
        return
      case Xid.setWatches:
        routes.setWatchesReply(header.err)
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

  /** Destroys the socket and fails every pending request with `code`. Idempotent. */
  close(code: number, reason: Error): void {
    if (this.closed) return
    this.closed = true
    this.socket.destroy()
    for (const p of this.pending.drain()) p.fail(code, reason)
  }
}
