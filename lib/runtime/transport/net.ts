/**
 * The sockets the transport runs over, as a small interface: real TCP or TLS
 * in production ({@link ./node-net.ts}), simulated sockets on a virtual clock
 * in the simulator. The transport never touches `node:net` itself.
 */

/** What a {@link LinkSocket} reports to its owner. */
export interface LinkEvents {
  /**
   * The socket can carry the node handshake: dialed and connected (over TLS,
   * with the server's certificate verified), or accepted (over TLS, with the
   * client's certificate verified). Nothing is read before.
   */
  ready(): void
  data(chunk: Buffer): void
  /** The write buffer emptied. */
  drain(): void
  error(error: Error): void
  /** The socket is closed; the last call. */
  close(): void
}

/** A byte stream to another node. */
export interface LinkSocket {
  /** The peer's IP address ('' if unknown), for per-address limits and logs. */
  readonly remoteAddress: string
  readonly remotePort: number
  /** Bytes handed to `write` and not yet passed to the kernel. */
  readonly writableLength: number
  /**
   * Keying material unique to this TLS session and the same at both ends
   * (an RFC 5705 exporter), so that the handshake's proofs are bound to it;
   * `undefined` over plain TCP.
   */
  channelBinding(): Buffer | undefined
  /** Starts reporting to `events`; call once, right away. */
  attach(events: LinkEvents): void
  /**
   * The node handshake is done: tune the socket for traffic (TCP_NODELAY,
   * keepalive). Left until then so that sockets which never authenticate cost less.
   */
  established(): void
  /** Queues bytes; false when the caller should wait for `drain`. */
  write(chunk: Uint8Array): boolean
  cork(): void
  uncork(): void
  /** Closes after the queued bytes are sent. */
  end(): void
  /** Closes at once. */
  destroy(): void
}

/** A listening socket. */
export interface Listener {
  /** The port bound (the one asked for, or the free one picked for 0). */
  readonly port: number
  /** Stops accepting; resolves once the listener is closed. Accepted sockets are not affected. */
  close(): Promise<void>
}

/** What a {@link Listener} reports. */
export interface ListenerEvents {
  /** A new inbound socket; call `attach` on it at once. */
  accept(socket: LinkSocket): void
  /** A problem of the listener itself, or of an inbound TLS handshake no socket was handed out for. */
  error(text: string, error: Error): void
}

/** A cancellable deferred call. */
export interface Deferred {
  cancel(): void
}

/** How the transport opens and accepts sockets. */
export interface Net {
  /** Dials `host:port`; the socket reports `ready` once it can carry the handshake. */
  connect(host: string, port: number): LinkSocket
  /**
   * Listens on `host:port` (port 0: any free one).
   * @throws if the address cannot be bound
   */
  listen(host: string, port: number, events: ListenerEvents): Promise<Listener>
  /**
   * Calls `fn` once the I/O events now due have been handled (`setImmediate`
   * for real sockets): used to coalesce the writes of one tick and to shed
   * surplus connections after a burst of accepts.
   */
  defer(fn: () => void): Deferred
}
