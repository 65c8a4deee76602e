import type { Socket } from 'node:net'
import { asFrame, decodeValue, encodeFrame, type Frame } from '../codec.js'
import { TransportError } from '../errors.js'
import { log } from '../log.js'
import type { NodeId } from '../ids.js'
import { FrameDecoder } from './framing.js'
import { AcceptHandshake, DialHandshake, HANDSHAKE_MAX_FRAME, type HandshakeStep } from './handshake.js'

/** How long a closing connection waits for the peer to close its side. */
const LINGER_MS = 2000
const KEEPALIVE_MS = 15_000

/** Limits a connection enforces. */
export interface ConnectionLimits {
  readonly maxFrameSize: number
  readonly handshakeTimeout: number
}

/**
 * Why a connection closed: the peer or we ended it; it broke the protocol
 * (`error`); the dialed node is gone (`stale`); or the dialer gave way to the
 * peer's own connection (`yielded`).
 */
export type CloseCause =
  | { readonly kind: 'ended' }
  | { readonly kind: 'error'; readonly error: Error }
  | { readonly kind: 'stale' }
  | { readonly kind: 'yielded' }

/** What a connection reports to its transport. */
export interface ConnectionHandler {
  /** Acceptor: the dialer proved itself; call `welcome()` or `refuse()` now. */
  authenticated(connection: Connection, peer: NodeId): void
  /** The handshake is complete; frames may flow both ways. */
  open(connection: Connection): void
  frame(connection: Connection, frame: Frame): void
  /** The socket's write buffer emptied. */
  drain(connection: Connection): void
  /** Called once, last. */
  closed(connection: Connection, cause: CloseCause): void
}

/**
 * One TCP connection to another node: handshake, framing, decoding. Writing
 * and coalescing belong to the transport; a connection only passes bytes on.
 */
export class Connection {
  state: 'handshaking' | 'open' | 'closing' | 'closed' = 'handshaking'
  /** Outbound: the node dialed; inbound: the dialer, once authenticated. */
  peer: NodeId | null
  readonly #socket: Socket
  readonly #handshake: DialHandshake | AcceptHandshake
  readonly #handler: ConnectionHandler
  readonly #limits: ConnectionLimits
  readonly #decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME)
  #cause: CloseCause = { kind: 'ended' }
  #timer: NodeJS.Timeout
  #resolveClosed!: () => void
  /** Resolves once the socket has closed. */
  readonly closed = new Promise<void>(resolve => {
    this.#resolveClosed = resolve
  })
  #resolveSettled!: () => void
  /** Resolves once the handshake is over: the connection opened, or closed (the handshake timeout bounds it). */
  readonly settled = new Promise<void>(resolve => {
    this.#resolveSettled = resolve
  })

  constructor(socket: Socket, handshake: DialHandshake | AcceptHandshake, limits: ConnectionLimits, handler: ConnectionHandler) {
    this.#socket = socket
    this.#handshake = handshake
    this.#handler = handler
    this.#limits = limits
    this.peer = handshake instanceof DialHandshake ? handshake.expected : null
    this.remoteAddress = `${socket.remoteAddress ?? this.peer?.host}:${socket.remotePort ?? this.peer?.port}`
    this.#timer = setTimeout(() => this.destroy(new TransportError('handshake timed out')), limits.handshakeTimeout).unref()
    socket.setNoDelay(true)
    socket.setKeepAlive(true, KEEPALIVE_MS)
    socket.on('data', this.#onData)
    socket.on('drain', () => this.#handler.drain(this))
    socket.on('error', (error: Error) => {
      // Errors of a connection we are already closing (a reset answering our end) change nothing.
      if (this.state !== 'closing') this.destroy(error)
    })
    socket.on('close', this.#onClose)
    if (handshake instanceof DialHandshake) socket.once('connect', () => this.#send(handshake.hello()))
  }

  /** Whether this node dialed the connection. */
  get outbound(): boolean {
    return this.#handshake instanceof DialHandshake
  }

  /** The peer's address as the socket sees it, for logs. */
  readonly remoteAddress: string

  /** Bytes handed to the socket and not yet written to the kernel. */
  get writableLength(): number {
    return this.#socket.writableLength
  }

  /** Acceptor: admits the authenticated dialer. */
  welcome(): void {
    this.#send((this.#handshake as AcceptHandshake).welcome())
    this.#open()
  }

  /** Acceptor: turns the authenticated dialer away and closes. */
  refuse(reason: string): void {
    this.#send((this.#handshake as AcceptHandshake).refuse(reason))
    this.end()
  }

  /** Writes coalesced frames; returns false when the socket's buffer is full. */
  write(chunks: readonly Buffer[]): boolean {
    if (this.state !== 'open') return true
    if (chunks.length === 1) return this.#socket.write(chunks[0] as Buffer)
    this.#socket.cork()
    let ok = true
    for (const chunk of chunks) ok = this.#socket.write(chunk)
    this.#socket.uncork()
    return ok
  }

  /** Closes after what was written has been sent; destroys if the peer lingers. */
  end(): void {
    if (this.state === 'closing' || this.state === 'closed') return
    this.state = 'closing'
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => this.#socket.destroy(), LINGER_MS).unref()
    this.#socket.end()
  }

  /** Closes at once, for `error` if given. */
  destroy(error?: Error): void {
    if (this.state === 'closed') return
    if (error !== undefined && this.#cause.kind === 'ended') this.#cause = { kind: 'error', error }
    this.state = 'closing'
    this.#socket.destroy()
  }

  #send(frame: unknown): void {
    this.#socket.write(Buffer.from(encodeFrame(frame, HANDSHAKE_MAX_FRAME)))
  }

  #open(): void {
    clearTimeout(this.#timer)
    this.state = 'open'
    this.#decoder.maxFrameSize = this.#limits.maxFrameSize
    this.#handler.open(this)
    this.#resolveSettled()
  }

  readonly #onData = (chunk: Buffer): void => {
    try {
      this.#decoder.push(chunk, this.#onFrame)
    } catch (error) {
      this.destroy(error as Error)
    }
  }

  readonly #onFrame = (buffer: Buffer, start: number, end: number): boolean => {
    const value = decodeValue(buffer, start, end)
    if (this.state === 'open') {
      this.#handler.frame(this, asFrame(value))
      return this.state === 'open'
    }
    if (this.state !== 'handshaking') return false
    this.#step(this.#handshake.receive(value))
    return this.#reading()
  }

  #reading(): boolean {
    return this.state === 'open' || this.state === 'handshaking'
  }

  #step(step: HandshakeStep): void {
    switch (step.kind) {
      case 'reply':
        this.#send(step.frame)
        return
      case 'authenticated':
        this.peer = step.peer
        this.#handler.authenticated(this, step.peer)
        return
      case 'open':
        this.#open()
        return
      case 'yield':
        this.#cause = { kind: 'yielded' }
        this.end()
        return
      case 'stale':
        this.#cause = { kind: 'stale' }
        this.end()
        return
      case 'fail':
        if (step.frame !== undefined) {
          this.#cause = { kind: 'error', error: step.error }
          this.#send(step.frame)
          this.end()
        } else {
          this.destroy(step.error)
        }
    }
  }

  readonly #onClose = (): void => {
    clearTimeout(this.#timer)
    if (this.state === 'handshaking') {
      if (this.outbound) this.#cause = { kind: 'error', error: new TransportError('closed by the peer during the handshake') }
      else log('connection from %s closed during the handshake', this.remoteAddress)
    }
    this.state = 'closed'
    this.#resolveClosed()
    this.#resolveSettled()
    this.#handler.closed(this, this.#cause)
  }
}
