import { type Socket, connect } from 'node:net'
import { FrameDecoder } from '../../lib/zk-wire/framing.js'
import { JuteReader, JuteWriter } from '../../lib/zk-wire/jute.js'
import { type ConnectResponse, OpCode, type ReplyHeader, readConnectResponse, readReplyHeader, writeConnectRequest } from '../../lib/zk-wire/operations.js'

/** A reply as it came off the wire: the header, and a reader over the body. */
export interface RawReply extends ReplyHeader {
  body: JuteReader
  bodyHex: string
}

/** Options of {@link RawSession.open}. */
export interface RawSessionOptions {
  timeout?: number
  sessionId?: bigint
  password?: Buffer
  lastZxidSeen?: bigint
}

/**
 * A ZooKeeper connection driven by hand, for checks below the client:
 * exact reply headers and bodies, requests the client never sends, a session
 * that stops pinging. Frames are read in order; `next` waits for one.
 */
export class RawSession {
  private readonly frames: Buffer[] = []
  private waiter: ((frame: Buffer | null) => void) | null = null
  private ended = false

  private constructor(private readonly socket: Socket) {
    const decoder = new FrameDecoder(1 << 21)
    socket.on('data', (chunk: Buffer) => decoder.push(chunk, (f) => this.arrived(Buffer.from(f))))
    socket.on('close', () => {
      this.ended = true
      this.waiter?.(null)
    })
    socket.on('error', () => undefined)
  }

  /** The handshake reply, or null if the server closed without one. */
  handshake: ConnectResponse | null = null

  /** Connects to `host:port` and sends a ConnectRequest (a new session unless `sessionId` is given). */
  static async open(address: string, options: RawSessionOptions = {}): Promise<RawSession> {
    const colon = address.lastIndexOf(':')
    const socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    const session = new RawSession(socket)
    session.sendFrame((w) =>
      writeConnectRequest(w, {
        protocolVersion: 0,
        lastZxidSeen: options.lastZxidSeen ?? 0n,
        timeout: options.timeout ?? 10_000,
        sessionId: options.sessionId ?? 0n,
        password: options.password ?? Buffer.alloc(16),
        readOnly: false,
      }),
    )
    const first = await session.nextFrame()
    if (first !== null) session.handshake = readConnectResponse(new JuteReader(first))
    return session
  }

  get closed(): boolean {
    return this.ended
  }

  private arrived(frame: Buffer): void {
    const w = this.waiter
    this.waiter = null
    if (w) w(frame)
    else this.frames.push(frame)
  }

  private sendFrame(body: (w: JuteWriter) => void): void {
    const w = new JuteWriter()
    const mark = w.beginFrame()
    body(w)
    w.endFrame(mark)
    this.socket.write(w.take())
  }

  /** Sends a request: header `xid`, `type`, then whatever `body` writes. */
  send(xid: number, type: number, body: (w: JuteWriter) => void = () => undefined): void {
    this.sendFrame((w) => {
      w.int(xid).int(type)
      body(w)
    })
  }

  /** Sends raw bytes, framing and all. */
  sendBytes(bytes: Buffer): void {
    this.socket.write(bytes)
  }

  private nextFrame(timeoutMs = 5000): Promise<Buffer | null> {
    const queued = this.frames.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    if (this.ended) return Promise.resolve(null)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null
        reject(new Error(`no frame within ${timeoutMs} ms`))
      }, timeoutMs)
      this.waiter = (frame) => {
        clearTimeout(timer)
        resolve(frame)
      }
    })
  }

  /** The next frame as a reply, or null once the server closed the connection. */
  async next(timeoutMs?: number): Promise<RawReply | null> {
    const frame = await this.nextFrame(timeoutMs)
    if (frame === null) return null
    const body = new JuteReader(frame)
    return { ...readReplyHeader(body), body, bodyHex: frame.subarray(16).toString('hex') }
  }

  /** Sends a request and returns the frames up to and including its reply (notifications first). */
  async call(xid: number, type: number, body?: (w: JuteWriter) => void): Promise<RawReply[]> {
    this.send(xid, type, body)
    const out: RawReply[] = []
    for (;;) {
      const reply = await this.next()
      if (reply === null) return out
      out.push(reply)
      if (reply.xid === xid) return out
    }
  }

  close(): void {
    this.socket.destroy()
  }
}

/** How one attempt of {@link endSession} went. */
type EndAttempt = 'closed' | 'already gone' | 'taken back'

/**
 * Ends a session from outside, as ZooKeeper's tests do: attaches to it and closes it (the
 * handshake and the closeSession in one write), and resolves once the server answered the
 * closeSession or says the session no longer exists; the owner is then told its session
 * expired. Attaching drops the owner's connection, and the owner may re-attach — which
 * drops ours — before the server reads our closeSession (it reads nothing more from a
 * connection until its handshake is done); then it tries again, up to `attempts` times.
 */
export async function endSession(address: string, sessionId: bigint, password: Buffer, { attempts = 20, timeoutMs = 10_000 } = {}): Promise<void> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if ((await endSessionOnce(address, sessionId, password, timeoutMs)) !== 'taken back') return
  }
  throw new Error(`endSession: the owner of session 0x${sessionId.toString(16)} re-attached before the server read the closeSession, ${attempts} times`)
}

function endSessionOnce(address: string, sessionId: bigint, password: Buffer, timeoutMs: number): Promise<EndAttempt> {
  const colon = address.lastIndexOf(':')
  const w = new JuteWriter()
  let mark = w.beginFrame()
  writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0n, timeout: 10_000, sessionId, password, readOnly: false })
  w.endFrame(mark)
  mark = w.beginFrame()
  w.int(CLOSE_XID).int(OpCode.closeSession)
  w.endFrame(mark)
  const socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) })
  return new Promise<EndAttempt>((resolve, reject) => {
    const done = (outcome: EndAttempt | Error): void => {
      clearTimeout(timer)
      socket.destroy()
      if (outcome instanceof Error) reject(outcome)
      else resolve(outcome)
    }
    const timer = setTimeout(() => done(new Error(`endSession: no answer from ${address} within ${timeoutMs} ms`)), timeoutMs)
    let handshake: ConnectResponse | undefined
    const decoder = new FrameDecoder(1 << 21)
    socket.on('data', (chunk: Buffer) => decoder.push(chunk, (frame) => {
      const r = new JuteReader(frame)
      if (!handshake) {
        handshake = readConnectResponse(r)
        // A session the server does not know (expired, closed) gets timeout 0.
        if (handshake.timeout <= 0) done('already gone')
      } else if (readReplyHeader(r).xid === CLOSE_XID) {
        done('closed')
      }
    }))
    socket.on('error', () => undefined)
    socket.once('connect', () => socket.write(w.take()))
    socket.once('close', () => done('taken back'))
  })
}

const CLOSE_XID = 1
