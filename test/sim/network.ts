import type { ConnectOptions, EnvSocket, SocketEvents } from '../../lib/env.js'
import type { Dialer, Random, Scheduler } from './scheduler.js'

/** A simulated TCP socket: one end of a {@link Link}. Events are always delivered asynchronously. */
export class SimSocket implements EnvSocket {
  peer!: SimSocket
  private events: SocketEvents | null = null
  /** Destroyed here, or told the peer closed, or reset. */
  isClosed = false

  constructor(
    readonly link: Link,
    readonly remoteAddress: string,
    readonly remotePort: number,
  ) {}

  attach(events: SocketEvents): void {
    this.events = events
  }

  write(chunk: Uint8Array): boolean {
    if (this.isClosed) return false
    const bytes = Buffer.from(chunk)
    const to = this.peer
    this.link.send(this, () => {
      if (!to.isClosed) to.events?.data(bytes)
    })
    return true
  }

  destroy(): void {
    if (this.isClosed) return
    this.isClosed = true
    this.link.net.scheduler.at(0, () => this.events?.close())
    const to = this.peer
    // The FIN travels in order behind the data already sent.
    this.link.send(this, () => to.closedByPeer())
  }

  /** Emits `ready` (connected). */
  ready(): void {
    if (!this.isClosed) this.events?.ready()
  }

  closedByPeer(): void {
    if (this.isClosed) return
    this.isClosed = true
    this.events?.close()
  }

  /** A reset or refusal: `error`, then `close`. */
  fail(message: string): void {
    if (this.isClosed) return
    this.isClosed = true
    this.events?.error(new Error(message))
    this.events?.close()
  }
}

/**
 * The two directions between a client and a server socket: latency (FIFO per
 * direction), stalls (bytes and FINs held until resumed: a partition TCP
 * rides out) and resets (both ends fail at once, everything in flight lost).
 */
export class Link {
  readonly client: SimSocket
  readonly server: SimSocket
  private stalled = false
  private held: Array<{ from: SimSocket; deliver: () => void }> = []
  private readonly lastAt = new Map<SimSocket, number>()
  private reset = false
  /** Extra one-way delay (a slow peer), added to the network's base latency. */
  extraLatency = 0

  constructor(
    readonly net: SimNetwork,
    readonly clientOwner: string,
    readonly serverHost: string,
    serverPort: number,
  ) {
    this.client = new SimSocket(this, serverHost, serverPort)
    this.server = new SimSocket(this, clientOwner, 40_000 + (net.links.size % 20_000))
    this.client.peer = this.server
    this.server.peer = this.client
  }

  get isOpen(): boolean {
    return !this.reset && !(this.client.isClosed && this.server.isClosed)
  }

  get isStalled(): boolean {
    return this.stalled
  }

  send(from: SimSocket, deliver: () => void): void {
    if (this.reset) return
    if (this.stalled) {
      this.held.push({ from, deliver })
      return
    }
    const s = this.net.scheduler
    const at = Math.max(this.lastAt.get(from) ?? 0, s.now + this.net.latency() + this.extraLatency)
    this.lastAt.set(from, at)
    s.at(at - s.now, () => {
      if (!this.reset) deliver()
    })
  }

  stall(): void {
    this.stalled = true
  }

  resume(): void {
    if (!this.stalled) return
    this.stalled = false
    const held = this.held
    this.held = []
    for (const h of held) this.send(h.from, h.deliver)
  }

  /** RST both ways: each end hears an error and a close; nothing in flight arrives. */
  cut(): void {
    if (this.reset) return
    this.reset = true
    this.held = []
    this.net.scheduler.at(0, () => {
      this.client.fail('ECONNRESET (simulated)')
      this.server.fail('ECONNRESET (simulated)')
    })
  }
}

/** A listening endpoint: gets each accepted server-side socket. */
export type Acceptor = (socket: SimSocket, link: Link) => void

/** Hosts, listeners and links of one simulation. */
export class SimNetwork implements Dialer {
  readonly links = new Set<Link>()
  private readonly listeners = new Map<string, Acceptor>()

  constructor(
    readonly scheduler: Scheduler,
    private readonly rand: Random,
  ) {}

  /** One-way delay of a message: mostly sub-millisecond, sometimes a few ms. */
  latency(): number {
    const r = this.rand()
    return r < 0.9 ? 0.2 + r : 1 + r * 10
  }

  listen(host: string, port: number, accept: Acceptor): void {
    this.listeners.set(`${host}:${port}`, accept)
  }

  unlisten(host: string, port: number): void {
    this.listeners.delete(`${host}:${port}`)
  }

  connect(owner: string, host: string, port: number, _options?: ConnectOptions): SimSocket {
    const link = new Link(this, owner, host, port)
    this.links.add(link)
    const delay = this.latency()
    this.scheduler.at(delay, () => {
      const accept = this.listeners.get(`${host}:${port}`)
      if (accept === undefined || link.client.isClosed) {
        this.links.delete(link)
        link.client.fail(`ECONNREFUSED ${host}:${port} (simulated)`)
        return
      }
      accept(link.server, link)
      this.scheduler.at(this.latency(), () => link.client.ready())
    })
    return link.client
  }

  /** Forgets links whose both ends are closed (so the set stays small). */
  prune(): void {
    for (const l of this.links) if (!l.isOpen) this.links.delete(l)
  }
}
