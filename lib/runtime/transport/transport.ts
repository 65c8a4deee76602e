import { encodeFrame, type Frame } from '../codec.js'
import type { Env, Timer } from '../../env.js'
import { TransportError } from '../errors.js'
import type { NodeId } from '../ids.js'
import { log } from '../log.js'
import { Admission } from './admission.js'
import { Connection, type CloseCause, type ConnectionHandler, type ConnectionSetup } from './connection.js'
import { REFUSE_SIMULTANEOUS } from './handshake.js'
import type { Deferred, LinkSocket, Listener, Net } from './net.js'
import { OutboundBuffer } from './outbound.js'

/** Past this many waiting bytes a peer's frames are written at once instead of at the end of the tick. */
const FLUSH_AT = 64 * 1024
/** Shed connections are reported to `problem` at most this often (a flood would flood the log). */
const SHED_REPORT_MS = 10_000

/** Limits, secrets and environment of a transport. */
export interface TransportOptions {
  readonly cookie: string | undefined
  readonly maxFrameSize: number
  readonly handshakeTimeout: number
  readonly outboundHighWaterMark: number
  readonly maxOutboundBuffer: number
  /** Inbound connections still in their handshake, in all. */
  readonly maxHandshakes: number
  /** Inbound connections still in their handshake, from one IP address. */
  readonly maxHandshakesPerAddress: number
  readonly env: Env
  readonly net: Net
}

/** Why the transport gave up on a peer, as monitors of its processes will hear it. */
export type PeerDownReason = 'disconnect' | 'noproc'

/** What the transport reports to its node. */
export interface TransportEvents {
  frame(from: NodeId, frame: Frame): void
  peerUp(peer: NodeId): void
  peerDown(peer: NodeId, reason: PeerDownReason): void
  /** A connection was refused or dropped for a reason worth logging. */
  problem(text: string, error: Error): void
}

/** Frames waiting for one peer, in order, and the senders waiting for them to drain; handed from state to state. */
interface PeerQueue {
  readonly outbound: OutboundBuffer
  drainWaiters: (() => void)[]
}

/**
 * Where the link to one remote node is. Each state holds what it owns;
 * {@link Transport.#enter} is the only place that changes a peer's state, and
 * it releases what the state left owned (timer, scheduled flush, connection
 * not handed on, queue not handed on).
 * - `dialing`: our connection to it is connecting or in its handshake; sends queue;
 * - `awaiting`: our dial gave way to its own (simultaneous connect); sends
 *   queue until that one authenticates or the timer gives up;
 * - `open`: one open connection; `flush` is the write scheduled for this tick;
 * - `draining`: the transport is closing: queued frames were written, the
 *   connection is ending;
 * - `down`: gone for good (removed from the transport; a later send dials anew).
 */
type PeerState =
  | { readonly kind: 'dialing'; readonly connection: Connection; readonly queue: PeerQueue }
  | { readonly kind: 'awaiting'; readonly timer: Timer; readonly queue: PeerQueue }
  | { readonly kind: 'open'; readonly connection: Connection; readonly queue: PeerQueue; flush: Deferred | null }
  | { readonly kind: 'draining'; readonly connection: Connection }
  | { readonly kind: 'down' }

class Peer {
  state: PeerState
  /** Writes what is queued; scheduled once per tick while frames wait. */
  readonly flushLater: () => void

  constructor(
    readonly id: NodeId,
    state: PeerState,
    flush: (peer: Peer) => void,
  ) {
    this.state = state
    this.flushLater = () => flush(this)
  }
}

/**
 * `running`, then `closing` from `close()` until every socket and the
 * listener are closed (`done` resolves then), then `closed`.
 */
type TransportState = { readonly kind: 'running' } | { readonly kind: 'closing'; readonly done: Promise<void> } | { readonly kind: 'closed' }

/**
 * Connections to other nodes: one per node pair, dialed on first send,
 * reconnected on the next send after a failure. Frames are encoded when sent,
 * coalesced per peer and written at the end of the tick (or at once past
 * {@link FLUSH_AT} bytes), so order per peer is the order of `send` calls.
 *
 * When both nodes dial each other at once, the connection dialed by the node
 * with the smaller key wins; the other dialer keeps its queued frames and
 * sends them on the winning connection.
 *
 * Inbound connections that have not authenticated yet are bounded in all and
 * per address (see {@link Admission}): over a bound the oldest silent ones are
 * shed, so a flood of idle or slow sockets cannot lock a real peer out.
 */
export class Transport {
  readonly self: NodeId
  #state: TransportState = { kind: 'running' }
  readonly #listener: Listener
  readonly #options: TransportOptions
  readonly #setup: ConnectionSetup
  readonly #events: TransportEvents
  readonly #peers = new Map<string, Peer>()
  readonly #connections = new Set<Connection>()
  readonly #admission: Admission<Connection>
  #shedCheck: Deferred | null = null
  #shedUnreported = 0
  #shedReportedAt = -Infinity
  readonly #handler: ConnectionHandler

  /**
   * Listens on `host:port` and returns the running transport; `identify`
   * names this node once the port is known.
   * @throws if the address cannot be bound
   */
  static async start(host: string, port: number, options: TransportOptions, events: TransportEvents, identify: (port: number) => NodeId): Promise<Transport> {
    let transport: Transport | null = null
    const listener = await options.net.listen(host, port, {
      accept: socket => (transport === null ? socket.destroy() : transport.#accept(socket)),
      error: (text, error) => events.problem(text, error),
    })
    transport = new Transport(identify(listener.port), listener, options, events)
    return transport
  }

  private constructor(self: NodeId, listener: Listener, options: TransportOptions, events: TransportEvents) {
    this.self = self
    this.#listener = listener
    this.#options = options
    this.#events = events
    this.#setup = { self, cookie: options.cookie, env: options.env, maxFrameSize: options.maxFrameSize, handshakeTimeout: options.handshakeTimeout }
    this.#admission = new Admission({ total: options.maxHandshakes, perAddress: options.maxHandshakesPerAddress })
    this.#handler = {
      greeted: connection => this.#admission.greeted(connection),
      authenticated: (connection, peer) => this.#authenticated(connection, peer),
      open: connection => this.#opened(connection),
      frame: (connection, frame) => this.#events.frame(connection.peer as NodeId, frame),
      drain: connection => this.#drained(connection),
      closed: (connection, cause) => this.#closed(connection, cause),
    }
  }

  /** `running`, `closing` or `closed`. */
  get state(): TransportState['kind'] {
    return this.#state.kind
  }

  /** Nodes with an open connection. */
  peers(): NodeId[] {
    return [...this.#peers.values()].filter(peer => peer.state.kind === 'open').map(peer => peer.id)
  }

  /** Inbound connections still in their handshake. */
  get handshaking(): number {
    return this.#admission.size
  }

  /**
   * Queues `frame` for `to`, dialing it if needed. Returns false when more than
   * `outboundHighWaterMark` bytes wait for that peer (see {@link drain}). Past
   * `maxOutboundBuffer` bytes the peer is considered dead: its connection is
   * dropped, its queue discarded, and monitors hear `'disconnect'`.
   * @throws RangeError if the frame exceeds `maxFrameSize`; nothing is queued
   */
  send(to: NodeId, frame: Frame): boolean {
    if (this.#state.kind !== 'running') return true
    const bytes = encodeFrame(frame, this.#options.maxFrameSize)
    const peer = this.#peers.get(to.key) ?? this.#dial(to)
    const state = peer.state
    if (state.kind === 'draining' || state.kind === 'down') return true
    state.queue.outbound.append(bytes)
    const waiting = this.#waiting(peer)
    if (waiting > this.#options.maxOutboundBuffer) {
      this.#down(peer, 'disconnect', new TransportError(`more than ${this.#options.maxOutboundBuffer} bytes wait for ${to.key}: it reads too slowly`))
      return false
    }
    if (state.kind !== 'open') return waiting < this.#options.outboundHighWaterMark
    if (state.queue.outbound.length < FLUSH_AT) {
      state.flush ??= this.#options.net.defer(peer.flushLater)
      return waiting < this.#options.outboundHighWaterMark
    }
    this.#flush(peer)
    return this.#waiting(peer) < this.#options.outboundHighWaterMark
  }

  /** Resolves once fewer than `outboundHighWaterMark` bytes wait for `to`, or the connection is gone. */
  drain(to: NodeId): Promise<void> {
    const peer = this.#peers.get(to.key)
    const queue = peer === undefined ? null : queueOf(peer.state)
    if (peer === undefined || queue === null || this.#waiting(peer) < this.#options.outboundHighWaterMark) return Promise.resolve()
    return new Promise(resolve => queue.drainWaiters.push(resolve))
  }

  /**
   * Stops accepting, sends what is queued (waiting for dials still in their
   * handshake), ends every connection and resolves once all sockets and the
   * listener are closed; no timer of the transport is left then. Every peer
   * goes down (`peerDown`) on the way.
   */
  close(): Promise<void> {
    const state = this.#state
    if (state.kind === 'closing') return state.done
    if (state.kind === 'closed') return Promise.resolve()
    const done = this.#close()
    this.#state = { kind: 'closing', done }
    return done
  }

  async #close(): Promise<void> {
    this.#shedCheck?.cancel()
    this.#shedCheck = null
    const listenerClosed = this.#listener.close()
    // Frames sent to a node we are still dialing go out once the dial opens (it flushes
    // them); the handshake timeout bounds the wait.
    const dials = [...this.#peers.values()].flatMap(({ state }) => (state.kind === 'dialing' && state.queue.outbound.length > 0 ? [state.connection.settled()] : []))
    await Promise.all(dials)
    for (const peer of [...this.#peers.values()]) {
      const state = peer.state
      if (state.kind === 'open') {
        this.#flush(peer)
        this.#enter(peer, { kind: 'draining', connection: state.connection })
        state.connection.end()
      } else if (state.kind !== 'draining') {
        this.#down(peer, 'disconnect', undefined)
      }
    }
    for (const connection of this.#connections) {
      if (connection.state === 'handshaking' || connection.state === 'open') connection.destroy()
    }
    await Promise.all([listenerClosed, ...[...this.#connections].map(connection => connection.closed())])
    for (const peer of [...this.#peers.values()]) this.#down(peer, 'disconnect', undefined)
    this.#state = { kind: 'closed' }
  }

  #accept(socket: LinkSocket): void {
    if (this.#state.kind !== 'running') {
      socket.destroy()
      return
    }
    const connection = this.#track(new Connection(socket, { kind: 'accept' }, this.#setup, this.#handler))
    if (this.#admission.admit(connection, socket.remoteAddress)) this.#shedCheck ??= this.#options.net.defer(this.#shed)
  }

  /** After a turn's accepts: closes the connections the admission bounds shed. */
  readonly #shed = (): void => {
    this.#shedCheck = null
    const { victims, again } = this.#admission.shed()
    for (const victim of victims) {
      log('shedding %s: too many connections in their handshake', victim.remoteAddress)
      victim.destroy()
    }
    if (victims.length > 0) this.#reportShed(victims.length, victims[0] as Connection)
    if (again && this.#state.kind === 'running') this.#shedCheck = this.#options.net.defer(this.#shed)
  }

  #reportShed(count: number, example: Connection): void {
    this.#shedUnreported += count
    const now = this.#options.env.now()
    if (now - this.#shedReportedAt < SHED_REPORT_MS) return
    const { maxHandshakes, maxHandshakesPerAddress } = this.#options
    this.#events.problem(
      `shed ${this.#shedUnreported} inbound connection(s) still in their handshake, e.g. from ${example.remoteAddress}`,
      new TransportError(`more than ${maxHandshakes} connections in all, or ${maxHandshakesPerAddress} from one address, were in their handshake; the oldest silent ones were closed`),
    )
    this.#shedUnreported = 0
    this.#shedReportedAt = now
  }

  #waiting(peer: Peer): number {
    const state = peer.state
    if (state.kind === 'open') return state.queue.outbound.length + state.connection.writableLength
    return state.kind === 'dialing' || state.kind === 'awaiting' ? state.queue.outbound.length : 0
  }

  #dial(to: NodeId): Peer {
    const socket = this.#options.net.connect(to.host, to.port)
    const connection = this.#track(new Connection(socket, { kind: 'dial', expected: to }, this.#setup, this.#handler))
    const peer = new Peer(to, { kind: 'dialing', connection, queue: { outbound: new OutboundBuffer(), drainWaiters: [] } }, this.#flush)
    this.#peers.set(to.key, peer)
    return peer
  }

  #track(connection: Connection): Connection {
    this.#connections.add(connection)
    return connection
  }

  /**
   * The only place that assigns a peer's state: leaves the current state,
   * releasing what it owned and the next state does not take over, and enters `next`.
   */
  #enter(peer: Peer, next: PeerState): void {
    const left = peer.state
    peer.state = next
    if (left.kind === 'awaiting') left.timer.cancel()
    if (left.kind === 'open') left.flush?.cancel()
    if ('connection' in left && !('connection' in next && next.connection === left.connection)) left.connection.destroy()
    const queue = queueOf(left)
    if (queue !== null && queueOf(next) !== queue) {
      queue.outbound.clear()
      release(queue)
    }
  }

  #authenticated(connection: Connection, id: NodeId): void {
    this.#admission.release(connection)
    if (this.#state.kind !== 'running') {
      connection.refuse('node is stopping')
      return
    }
    let peer = this.#peers.get(id.key)
    if (peer?.state.kind === 'open' || peer?.state.kind === 'draining') {
      // The peer dialed again, so from its side the old connection is dead.
      this.#down(peer, 'disconnect', new TransportError(`${id.key} reconnected; its previous connection is dropped`))
      peer = undefined
    }
    if (peer?.state.kind === 'dialing' && this.self.key < id.key) {
      connection.refuse(REFUSE_SIMULTANEOUS)
      return
    }
    const queue = (peer === undefined ? null : queueOf(peer.state)) ?? { outbound: new OutboundBuffer(), drainWaiters: [] }
    const open: PeerState = { kind: 'open', connection, queue, flush: null }
    if (peer === undefined) this.#peers.set(id.key, new Peer(id, open, this.#flush))
    else this.#enter(peer, open)
    connection.welcome()
  }

  #opened(connection: Connection): void {
    const id = connection.peer as NodeId
    const peer = this.#peers.get(id.key)
    if (peer !== undefined && peer.state.kind === 'dialing' && peer.state.connection === connection) {
      this.#enter(peer, { kind: 'open', connection, queue: peer.state.queue, flush: null })
    }
    if (peer === undefined || peer.state.kind !== 'open' || peer.state.connection !== connection) {
      connection.destroy()
      return
    }
    this.#events.peerUp(id)
    this.#flush(peer)
  }

  readonly #flush = (peer: Peer): void => {
    const state = peer.state
    if (state.kind !== 'open') return
    if (state.flush !== null) {
      state.flush.cancel()
      state.flush = null
    }
    const { queue } = state
    if (queue.outbound.length === 0) return
    state.connection.write(queue.outbound.take())
    if (queue.drainWaiters.length > 0 && this.#waiting(peer) < this.#options.outboundHighWaterMark) release(queue)
  }

  #drained(connection: Connection): void {
    const peer = connection.peer === null ? undefined : this.#peers.get(connection.peer.key)
    if (peer?.state.kind === 'open' && peer.state.connection === connection && this.#waiting(peer) < this.#options.outboundHighWaterMark) {
      release(peer.state.queue)
    }
  }

  #closed(connection: Connection, cause: CloseCause): void {
    this.#connections.delete(connection)
    this.#admission.release(connection)
    const id = connection.peer
    const peer = id === null ? undefined : this.#peers.get(id.key)
    const error = cause.kind === 'error' ? cause.error : undefined
    if (peer === undefined || !('connection' in peer.state) || peer.state.connection !== connection) {
      if (error !== undefined) this.#events.problem(`connection from ${connection.remoteAddress} dropped`, error)
      return
    }
    if (peer.state.kind === 'dialing' && cause.kind === 'yielded' && this.#state.kind === 'running') {
      const timer = this.#options.env.setTimer(this.#options.handshakeTimeout, () => {
        this.#down(peer, 'disconnect', new TransportError(`${peer.id.key} did not connect back after a simultaneous connect`))
      })
      this.#enter(peer, { kind: 'awaiting', timer: timer.unref(), queue: peer.state.queue })
      return
    }
    if (cause.kind === 'stale') {
      this.#down(peer, 'noproc', new TransportError(`${peer.id.key} is gone: another run of that node answers at its address`))
      return
    }
    this.#down(peer, 'disconnect', error)
  }

  #down(peer: Peer, reason: PeerDownReason, error: Error | undefined): void {
    if (this.#peers.get(peer.id.key) !== peer) return
    this.#peers.delete(peer.id.key)
    this.#enter(peer, { kind: 'down' })
    if (error !== undefined) this.#events.problem(`connection to ${peer.id.key} lost`, error)
    this.#events.peerDown(peer.id, reason)
  }
}

function queueOf(state: PeerState): PeerQueue | null {
  return state.kind === 'dialing' || state.kind === 'awaiting' || state.kind === 'open' ? state.queue : null
}

function release(queue: PeerQueue): void {
  const waiters = queue.drainWaiters
  queue.drainWaiters = []
  for (const resolve of waiters) resolve()
}
