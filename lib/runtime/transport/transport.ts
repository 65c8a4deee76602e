import { connect, type Server, type Socket } from 'node:net'
import { encodeFrame, type Frame } from '../codec.js'
import { TransportError } from '../errors.js'
import type { NodeId } from '../ids.js'
import { Connection, type CloseCause, type ConnectionHandler } from './connection.js'
import { AcceptHandshake, DialHandshake, REFUSE_SIMULTANEOUS } from './handshake.js'
import { OutboundBuffer } from './outbound.js'

/** Past this many waiting bytes a peer's frames are written at once instead of at the end of the tick. */
const FLUSH_AT = 64 * 1024

/** Limits and secrets of a transport. */
export interface TransportOptions {
  readonly cookie: string | undefined
  readonly maxFrameSize: number
  readonly handshakeTimeout: number
  readonly outboundHighWaterMark: number
  readonly maxOutboundBuffer: number
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

/**
 * Per remote node: `connecting` while our dial is in its handshake,
 * `awaiting` after it gave way to the peer's own dial, `connected` with one
 * open connection. Frames sent meanwhile wait in `outbound`, in order.
 */
class Peer {
  state: 'connecting' | 'awaiting' | 'connected' = 'connecting'
  connection: Connection | null = null
  dialing: Connection | null = null
  readonly outbound = new OutboundBuffer()
  flush: NodeJS.Immediate | null = null
  awaiting: NodeJS.Timeout | null = null
  drainWaiters: (() => void)[] = []

  constructor(readonly id: NodeId) {}
}

/**
 * Connections to other nodes: one per node pair, dialed on first send,
 * reconnected on the next send after a failure. Frames are encoded when sent,
 * coalesced per peer and written at the end of the tick (or at once past
 * {@link FLUSH_AT} bytes), so order per peer is the order of `send` calls.
 *
 * When both nodes dial each other at once, the connection dialed by the node
 * with the smaller key wins; the other dialer keeps its queued frames and
 * sends them on the winning connection.
 */
export class Transport {
  state: 'running' | 'closing' | 'closed' = 'running'
  readonly #self: NodeId
  readonly #server: Server
  readonly #options: TransportOptions
  readonly #events: TransportEvents
  readonly #peers = new Map<string, Peer>()
  readonly #connections = new Set<Connection>()
  readonly #handler: ConnectionHandler

  constructor(self: NodeId, server: Server, options: TransportOptions, events: TransportEvents) {
    this.#self = self
    this.#server = server
    this.#options = options
    this.#events = events
    this.#handler = {
      authenticated: (connection, peer) => this.#authenticated(connection, peer),
      open: connection => this.#opened(connection),
      frame: (connection, frame) => this.#events.frame(connection.peer as NodeId, frame),
      drain: connection => this.#drained(connection),
      closed: (connection, cause) => this.#closed(connection, cause),
    }
    server.on('connection', (socket: Socket) => {
      if (this.state !== 'running') {
        socket.destroy()
        return
      }
      this.#track(new Connection(socket, new AcceptHandshake(self, options.cookie), options, this.#handler))
    })
  }

  /** Nodes with an open connection. */
  peers(): NodeId[] {
    return [...this.#peers.values()].filter(peer => peer.state === 'connected').map(peer => peer.id)
  }

  /**
   * Queues `frame` for `to`, dialing it if needed. Returns false when more than
   * `outboundHighWaterMark` bytes wait for that peer (see {@link drain}). Past
   * `maxOutboundBuffer` bytes the peer is considered dead: its connection is
   * dropped, its queue discarded, and monitors hear `'disconnect'`.
   * @throws RangeError if the frame exceeds `maxFrameSize`; nothing is queued
   */
  send(to: NodeId, frame: Frame): boolean {
    if (this.state !== 'running') return true
    const bytes = encodeFrame(frame, this.#options.maxFrameSize)
    const peer = this.#peers.get(to.key) ?? this.#dial(to)
    peer.outbound.append(bytes)
    const waiting = this.#waiting(peer)
    if (waiting > this.#options.maxOutboundBuffer) {
      this.#down(peer, 'disconnect', new TransportError(`more than ${this.#options.maxOutboundBuffer} bytes wait for ${to.key}: it reads too slowly`))
      return false
    }
    if (peer.state !== 'connected') return waiting < this.#options.outboundHighWaterMark
    if (peer.outbound.length < FLUSH_AT) {
      peer.flush ??= setImmediate(this.#flushLater, peer)
      return waiting < this.#options.outboundHighWaterMark
    }
    this.#flush(peer)
    return this.#waiting(peer) < this.#options.outboundHighWaterMark
  }

  /** Resolves once fewer than `outboundHighWaterMark` bytes wait for `to`, or the connection is gone. */
  drain(to: NodeId): Promise<void> {
    const peer = this.#peers.get(to.key)
    if (peer === undefined || this.#waiting(peer) < this.#options.outboundHighWaterMark) return Promise.resolve()
    return new Promise(resolve => peer.drainWaiters.push(resolve))
  }

  /**
   * Stops accepting, sends what is queued (waiting for dials still in their
   * handshake), ends every connection and resolves once all sockets and the
   * listener are closed.
   */
  async close(): Promise<void> {
    if (this.state !== 'running') return
    this.state = 'closing'
    const listenerClosed = new Promise<void>(resolve => this.#server.close(() => resolve()))
    // Frames sent to a node we are still dialing go out once the dial opens (it flushes
    // them); the handshake timeout bounds the wait.
    const dials = [...this.#peers.values()].flatMap(peer => (peer.dialing !== null && peer.outbound.length > 0 ? [peer.dialing.settled] : []))
    await Promise.all(dials)
    const connectionsClosed = [...this.#connections].map(connection => connection.closed)
    for (const peer of this.#peers.values()) this.#flush(peer)
    for (const connection of this.#connections) {
      if (connection.state === 'open') connection.end()
      else connection.destroy()
    }
    await Promise.all([listenerClosed, ...connectionsClosed])
    this.state = 'closed'
  }

  readonly #flushLater = (peer: Peer): void => this.#flush(peer)

  #waiting(peer: Peer): number {
    return peer.outbound.length + (peer.connection?.writableLength ?? 0)
  }

  #dial(to: NodeId): Peer {
    const peer = new Peer(to)
    this.#peers.set(to.key, peer)
    const socket = connect({ host: to.host, port: to.port })
    peer.dialing = this.#track(new Connection(socket, new DialHandshake(this.#self, to, this.#options.cookie), this.#options, this.#handler))
    return peer
  }

  #track(connection: Connection): Connection {
    this.#connections.add(connection)
    return connection
  }

  #authenticated(connection: Connection, id: NodeId): void {
    if (this.state !== 'running') {
      connection.refuse('node is stopping')
      return
    }
    let peer = this.#peers.get(id.key)
    if (peer?.state === 'connected') {
      // The peer dialed again, so from its side the old connection is dead.
      this.#down(peer, 'disconnect', new TransportError(`${id.key} reconnected; its previous connection is dropped`))
      peer = undefined
    }
    if (peer?.state === 'connecting') {
      if (this.#self.key < id.key) {
        connection.refuse(REFUSE_SIMULTANEOUS)
        return
      }
      const dialing = peer.dialing as Connection
      peer.dialing = null
      dialing.destroy()
    }
    if (peer === undefined) {
      peer = new Peer(id)
      this.#peers.set(id.key, peer)
    }
    peer.state = 'connected'
    peer.connection = connection
    clearTimeout(peer.awaiting ?? undefined)
    connection.welcome()
  }

  #opened(connection: Connection): void {
    const id = connection.peer as NodeId
    const peer = this.#peers.get(id.key)
    if (peer !== undefined && peer.dialing === connection) {
      peer.dialing = null
      peer.state = 'connected'
      peer.connection = connection
    }
    if (peer?.connection !== connection) {
      connection.destroy()
      return
    }
    this.#events.peerUp(id)
    this.#flush(peer)
  }

  #flush(peer: Peer): void {
    if (peer.flush !== null) {
      clearImmediate(peer.flush)
      peer.flush = null
    }
    const connection = peer.connection
    if (connection === null || peer.outbound.length === 0) return
    connection.write(peer.outbound.take())
    if (peer.drainWaiters.length > 0 && this.#waiting(peer) < this.#options.outboundHighWaterMark) this.#release(peer)
  }

  #drained(connection: Connection): void {
    const peer = connection.peer === null ? undefined : this.#peers.get(connection.peer.key)
    if (peer?.connection === connection && this.#waiting(peer) < this.#options.outboundHighWaterMark) this.#release(peer)
  }

  #release(peer: Peer): void {
    const waiters = peer.drainWaiters
    peer.drainWaiters = []
    for (const resolve of waiters) resolve()
  }

  #closed(connection: Connection, cause: CloseCause): void {
    this.#connections.delete(connection)
    const id = connection.peer
    const peer = id === null ? undefined : this.#peers.get(id.key)
    const error = cause.kind === 'error' ? cause.error : undefined
    if (peer === undefined || (peer.connection !== connection && peer.dialing !== connection)) {
      if (error !== undefined) this.#events.problem(`connection from ${connection.remoteAddress} dropped`, error)
      return
    }
    if (peer.dialing === connection && cause.kind === 'yielded') {
      peer.dialing = null
      peer.state = 'awaiting'
      peer.awaiting = setTimeout(() => {
        this.#down(peer, 'disconnect', new TransportError(`${peer.id.key} did not connect back after a simultaneous connect`))
      }, this.#options.handshakeTimeout).unref()
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
    if (peer.flush !== null) clearImmediate(peer.flush)
    clearTimeout(peer.awaiting ?? undefined)
    peer.outbound.clear()
    peer.connection?.destroy()
    peer.dialing?.destroy()
    this.#release(peer)
    if (error !== undefined) this.#events.problem(`connection to ${peer.id.key} lost`, error)
    this.#events.peerDown(peer.id, reason)
  }
}
