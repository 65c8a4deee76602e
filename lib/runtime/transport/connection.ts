import { asFrame, decodeValue, encodeFrame, type Frame } from '../codec.js'
import type { Env, Timer } from '../../env.js'
import { TransportError } from '../errors.js'
import { log } from '../log.js'
import type { NodeId } from '../ids.js'
import { FrameDecoder } from './framing.js'
import { AcceptHandshake, DialHandshake, HANDSHAKE_MAX_FRAME, NONCE_SIZE, type HandshakeContext, type HandshakeStep } from './handshake.js'
import type { LinkEvents, LinkSocket } from './net.js'

/** How long a closing connection waits for the peer to close its side. */
const LINGER_MS = 2000

/** What every connection of a transport shares. */
export interface ConnectionSetup {
  readonly self: NodeId
  readonly cookie: string | undefined
  readonly env: Env
  readonly maxFrameSize: number
  /** Milliseconds a connection may take to connect (TLS included) and authenticate. */
  readonly handshakeTimeout: number
}

/** Which end of the connection this node is. */
export type Side = { readonly kind: 'dial'; readonly expected: NodeId } | { readonly kind: 'accept' }

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
  /** Acceptor: the dialer sent a well-formed hello. */
  greeted(connection: Connection): void
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
 * Where a connection is. Each state holds what it owns; {@link Connection.#enter}
 * is the only place that changes state, and it cancels the timer of the state left.
 * - `handshaking`: connecting and authenticating, bounded by the handshake
 *   timer; `handshake` is null until the socket is ready;
 * - `open`: frames flow;
 * - `closing`: ended (the linger timer destroys the socket if the peer does
 *   not close its side) or destroyed (no timer), waiting for the socket's close;
 * - `closed`: the socket is closed.
 */
type ConnectionState =
  | { readonly kind: 'handshaking'; readonly timer: Timer; handshake: DialHandshake | AcceptHandshake | null }
  | { readonly kind: 'open' }
  | { readonly kind: 'closing'; readonly timer: Timer | null; cause: CloseCause }
  | { readonly kind: 'closed'; readonly cause: CloseCause }

/**
 * One connection to another node: handshake, framing, decoding. Writing
 * and coalescing belong to the transport; a connection only passes bytes on.
 */
export class Connection {
  /** Outbound: the node dialed; inbound: the dialer, once authenticated. */
  peer: NodeId | null
  readonly side: Side
  /** The peer's address as the socket sees it, for logs. */
  readonly remoteAddress: string
  readonly #socket: LinkSocket
  readonly #setup: ConnectionSetup
  readonly #handler: ConnectionHandler
  readonly #decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME)
  #state: ConnectionState
  /** Callers of `settled()` and `closed()`; made on first need (most connections have none). */
  #settledWaiters: (() => void)[] | null = null
  #closedWaiters: (() => void)[] | null = null

  constructor(socket: LinkSocket, side: Side, setup: ConnectionSetup, handler: ConnectionHandler) {
    this.#socket = socket
    this.side = side
    this.#setup = setup
    this.#handler = handler
    this.peer = side.kind === 'dial' ? side.expected : null
    this.remoteAddress = side.kind === 'dial' ? `${side.expected.host}:${side.expected.port}` : `${socket.remoteAddress}:${socket.remotePort}`
    const timer = setup.env.setTimer(setup.handshakeTimeout, () => this.destroy(new TransportError('handshake timed out'))).unref()
    this.#state = { kind: 'handshaking', timer, handshake: null }
    socket.attach(this.#events)
  }

  /** Resolves once the handshake is over: the connection opened, or is closing (the handshake timeout bounds it). */
  settled(): Promise<void> {
    if (this.#state.kind !== 'handshaking') return Promise.resolve()
    return new Promise(resolve => (this.#settledWaiters ??= []).push(resolve))
  }

  /** Resolves once the socket has closed. */
  closed(): Promise<void> {
    if (this.#state.kind === 'closed') return Promise.resolve()
    return new Promise(resolve => (this.#closedWaiters ??= []).push(resolve))
  }

  /** Where the connection is: `handshaking`, `open`, `closing` or `closed`. */
  get state(): ConnectionState['kind'] {
    return this.#state.kind
  }

  /** Whether this node dialed the connection. */
  get outbound(): boolean {
    return this.side.kind === 'dial'
  }

  /** Bytes handed to the socket and not yet written to the kernel. */
  get writableLength(): number {
    return this.#socket.writableLength
  }

  /** Acceptor: admits the authenticated dialer. */
  welcome(): void {
    const state = this.#state
    if (state.kind !== 'handshaking' || !(state.handshake instanceof AcceptHandshake)) return
    this.#send(state.handshake.welcome())
    this.#open()
  }

  /** Acceptor: turns the authenticated dialer away and closes. */
  refuse(reason: string): void {
    const state = this.#state
    if (state.kind !== 'handshaking' || !(state.handshake instanceof AcceptHandshake)) return
    this.#send(state.handshake.refuse(reason))
    this.end()
  }

  /** Writes coalesced frames; returns false when the socket's buffer is full. */
  write(chunks: readonly Buffer[]): boolean {
    if (this.#state.kind !== 'open') return true
    if (chunks.length === 1) return this.#socket.write(chunks[0] as Buffer)
    this.#socket.cork()
    let ok = true
    for (const chunk of chunks) ok = this.#socket.write(chunk)
    this.#socket.uncork()
    return ok
  }

  /** Closes after what was written has been sent, for `cause`; destroys if the peer lingers. */
  end(cause: CloseCause = { kind: 'ended' }): void {
    const kind = this.#state.kind
    if (kind === 'closing' || kind === 'closed') return
    this.#enter({ kind: 'closing', timer: this.#setup.env.setTimer(LINGER_MS, () => this.#socket.destroy()).unref(), cause })
    this.#socket.end()
  }

  /** Closes at once, for `error` if given. */
  destroy(error?: Error): void {
    const state = this.#state
    if (state.kind === 'closed') return
    const cause: CloseCause = error === undefined ? { kind: 'ended' } : { kind: 'error', error }
    if (state.kind === 'closing') {
      if (state.cause.kind === 'ended') state.cause = cause
    } else {
      this.#enter({ kind: 'closing', timer: null, cause })
    }
    this.#socket.destroy()
  }

  /** The only place that assigns `#state`: leaves the current state (cancelling its timer) and enters `next`. */
  #enter(next: ConnectionState): void {
    const left = this.#state
    if ((left.kind === 'handshaking' || left.kind === 'closing') && left.timer !== null) left.timer.cancel()
    this.#state = next
    if (left.kind === 'handshaking') for (const resolve of this.#settledWaiters ?? []) resolve()
    if (next.kind === 'closed') for (const resolve of this.#closedWaiters ?? []) resolve()
  }

  #context(): HandshakeContext {
    const { self, cookie, env } = this.#setup
    return { self, cookie, nonce: env.randomBytes(NONCE_SIZE), binding: this.#socket.channelBinding() }
  }

  #send(frame: unknown): void {
    this.#socket.write(Buffer.from(encodeFrame(frame, HANDSHAKE_MAX_FRAME)))
  }

  #open(): void {
    this.#enter({ kind: 'open' })
    this.#socket.established()
    this.#decoder.maxFrameSize = this.#setup.maxFrameSize
    this.#handler.open(this)
  }

  readonly #events: LinkEvents = {
    ready: () => {
      const state = this.#state
      const side = this.side
      if (state.kind !== 'handshaking' || state.handshake !== null || side.kind !== 'dial') return
      const handshake = new DialHandshake(this.#context(), side.expected)
      state.handshake = handshake
      this.#send(handshake.hello())
    },
    data: chunk => {
      try {
        this.#decoder.push(chunk, this.#onFrame)
      } catch (error) {
        this.destroy(error as Error)
      }
    },
    drain: () => this.#handler.drain(this),
    error: error => {
      // Errors of a connection we are already closing (a reset answering our end) change nothing.
      if (this.#state.kind !== 'closing') this.destroy(error)
    },
    close: () => this.#onClose(),
  }

  readonly #onFrame = (buffer: Buffer, start: number, end: number): boolean => {
    const value = decodeValue(buffer, start, end)
    const state = this.#state
    if (state.kind === 'open') {
      this.#handler.frame(this, asFrame(value))
      return this.#state.kind === 'open'
    }
    if (state.kind !== 'handshaking') return false
    // An acceptor draws its nonce only once a first frame arrives: silent sockets cost less.
    if (state.handshake === null) {
      if (this.side.kind === 'dial') return false
      state.handshake = new AcceptHandshake(this.#context())
    }
    this.#step(state.handshake.receive(value))
    const now = this.#state.kind
    return now === 'open' || now === 'handshaking'
  }

  #step(step: HandshakeStep): void {
    switch (step.kind) {
      case 'reply':
        this.#send(step.frame)
        return
      case 'hello':
        this.#send(step.frame)
        this.#handler.greeted(this)
        return
      case 'authenticated':
        this.peer = step.peer
        this.#handler.authenticated(this, step.peer)
        return
      case 'open':
        this.#open()
        return
      case 'yield':
        this.end({ kind: 'yielded' })
        return
      case 'stale':
        this.end({ kind: 'stale' })
        return
      case 'fail':
        if (step.frame !== undefined) {
          this.#send(step.frame)
          this.end({ kind: 'error', error: step.error })
        } else {
          this.destroy(step.error)
        }
    }
  }

  #onClose(): void {
    const state = this.#state
    if (state.kind === 'closed') return
    let cause: CloseCause = state.kind === 'closing' ? state.cause : { kind: 'ended' }
    if (state.kind === 'handshaking') {
      if (this.outbound) cause = { kind: 'error', error: new TransportError('closed by the peer during the handshake') }
      else log('connection from %s closed during the handshake', this.remoteAddress)
    }
    this.#enter({ kind: 'closed', cause })
    this.#handler.closed(this, cause)
  }
}
