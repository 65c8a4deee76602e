import { connect, createServer, isIP, type Server, type Socket } from 'node:net'
import { freePort } from './ports.js'

type Item = Buffer | 'end' | 'reset'

/** Which way bytes go through a proxy: `'up'` from its client to the target, `'down'` back. */
export type Direction = 'up' | 'down'

/**
 * One direction of a proxied connection: a FIFO of chunks, each released at its due time,
 * all held while the link is stalled. Ends and resets travel in the same queue, so they
 * reach the other side in order, after the data sent before them.
 */
class Link {
  #queue: { item: Item; due: number }[] = []
  #timer?: NodeJS.Timeout
  #lastDue = 0

  constructor(private readonly to: Socket, private readonly proxy: TcpProxy, private readonly direction: Direction) {}

  push(item: Item): void {
    this.#lastDue = Math.max(this.#lastDue, performance.now() + this.proxy.delayMs)
    this.#queue.push({ item, due: this.#lastDue })
    this.pump()
  }

  pump(): void {
    clearTimeout(this.#timer)
    while (this.#queue.length > 0 && !this.proxy.isStalled) {
      const head = this.#queue[0]!
      const wait = head.due - performance.now()
      if (wait > 0) {
        this.#timer = setTimeout(() => this.pump(), wait)
        return
      }
      this.#queue.shift()
      if (this.to.destroyed) continue
      if (head.item === 'end') this.to.end()
      else if (head.item === 'reset') reset(this.to)
      else {
        this.to.write(head.item)
        this.proxy.forwarded(this.direction, head.item.length)
      }
    }
  }

  clear(): void {
    clearTimeout(this.#timer)
    this.#queue = []
  }
}

/**
 * Drops a socket with a TCP reset, as a broken link would. A socket that can no longer
 * write (its side already shut down with FIN) or is not connected is just destroyed:
 * Node 20 never finishes resetting such a socket, and the half-closed handle then keeps
 * the process from exiting.
 */
function reset(socket: Socket): void {
  if (socket.destroyed || socket.pending || !socket.writable) socket.destroy()
  else socket.resetAndDestroy()
}

/**
 * Rewrites the first bytes a client sends (e.g. an address it announces): called with
 * everything received so far until it returns the bytes to forward instead; null means
 * "not enough yet". Later bytes pass unchanged.
 */
export type HeadRewrite = (head: Buffer) => Buffer | null

/** Both sockets of one proxied connection and the link in each direction. */
class Pair {
  readonly links: Link[]

  constructor(readonly client: Socket, readonly upstream: Socket, proxy: TcpProxy, onClosed: () => void, rewrite?: HeadRewrite) {
    const toUpstream = new Link(upstream, proxy, 'up')
    const toClient = new Link(client, proxy, 'down')
    this.links = [toUpstream, toClient]
    let open = 2
    let head: Buffer | null = rewrite === undefined ? null : Buffer.alloc(0)
    client.on('data', chunk => {
      if (head === null) return toUpstream.push(chunk)
      head = Buffer.concat([head, chunk])
      const rewritten = rewrite!(head)
      if (rewritten === null) return
      head = null
      toUpstream.push(rewritten)
    })
    upstream.on('data', chunk => toClient.push(chunk))
    for (const [from, link] of [[client, toUpstream], [upstream, toClient]] as const) {
      from.on('end', () => link.push('end'))
      from.on('error', () => link.push('reset'))
      from.on('close', () => {
        if (--open > 0) return
        for (const link of this.links) link.clear()
        onClosed()
      })
    }
  }

  /** Drop both sockets at once with a reset, as a broken link would. */
  reset(): void {
    for (const link of this.links) link.clear()
    reset(this.client)
    reset(this.upstream)
  }
}

/**
 * A controllable TCP proxy on 127.0.0.1 in front of a loopback target, for fault tests:
 * cut connections, refuse new ones, stall or delay the bytes, or point it elsewhere.
 * Bytes are forwarded exactly and in order, ends and resets included.
 */
export class TcpProxy {
  /** The port clients connect to. */
  readonly port: number
  #server: Server | null = null
  #target: { host: string; port: number }
  #pairs = new Set<Pair>()
  #stalled = false
  #delayMs = 0
  readonly #rewrite: HeadRewrite | undefined
  readonly #observers = new Set<(direction: Direction, bytes: number) => void>()

  private constructor(port: number, target: { host: string; port: number }, rewrite: HeadRewrite | undefined) {
    this.port = port
    this.#target = target
    this.#rewrite = rewrite
  }

  /**
   * Listen on a free port of 127.0.0.1 and forward every connection to `targetHost:targetPort`
   * (with `rewriteHead`, the first bytes each client sends are rewritten by it).
   */
  static async start(targetHost: string, targetPort: number, options: { rewriteHead?: HeadRewrite } = {}): Promise<TcpProxy> {
    assertLoopback(targetHost)
    // A port below the ephemeral range, so that `accept()` can always listen on it again.
    const proxy = new TcpProxy(await freePort(), { host: targetHost, port: targetPort }, options.rewriteHead)
    await proxy.#listen()
    return proxy
  }

  /** `127.0.0.1:<port>`, for connect strings. */
  get address(): string {
    return `127.0.0.1:${this.port}`
  }

  /** Number of open proxied connections. */
  get connections(): number {
    return this.#pairs.size
  }

  /** True between `stall()` and `resume()`. */
  get isStalled(): boolean {
    return this.#stalled
  }

  /** Latency added to every chunk, in ms. */
  get delayMs(): number {
    return this.#delayMs
  }

  /** Reset every current connection (both sides see ECONNRESET). New ones are still accepted. */
  cut(): void {
    for (const pair of this.#pairs) pair.reset()
    this.#pairs.clear()
  }

  /** Stop listening: new connections are refused (ECONNREFUSED). Current ones go on. */
  refuse(): void {
    this.#server?.close()
    this.#server = null
  }

  /** Listen again, on the same port, after `refuse()`. */
  async accept(): Promise<void> {
    if (!this.#server) await this.#listen()
  }

  /** Stop forwarding in both directions; keep the sockets open and buffer what arrives. */
  stall(): void {
    this.#stalled = true
  }

  /** Deliver what was buffered while stalled, in order, and forward again. */
  resume(): void {
    this.#stalled = false
    for (const pair of this.#pairs) for (const link of pair.links) link.pump()
  }

  /** Hold every chunk (in both directions) `ms` before forwarding it; 0 turns it off. */
  delay(ms: number): void {
    this.#delayMs = ms
  }

  /** Send new connections to another loopback target; current connections stay. */
  retarget(host: string, port: number): void {
    assertLoopback(host)
    this.#target = { host, port }
  }

  /**
   * Calls `listener` each time a chunk has been forwarded (after it was written on), with its
   * direction and size — to time a fault against the traffic. Returns a function that stops it.
   */
  observe(listener: (direction: Direction, bytes: number) => void): () => void {
    this.#observers.add(listener)
    return () => void this.#observers.delete(listener)
  }

  /** @internal A link forwarded a chunk. */
  forwarded(direction: Direction, bytes: number): void {
    for (const listener of this.#observers) listener(direction, bytes)
  }

  /** Stop listening and reset every connection. */
  async close(): Promise<void> {
    const server = this.#server
    this.refuse()
    this.cut()
    if (server) await new Promise(resolve => server.once('close', resolve))
  }

  #listen(): Promise<void> {
    const server = createServer({ allowHalfOpen: true }, client => this.#onConnection(client))
    this.#server = server
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
  }

  #onConnection(client: Socket): void {
    const upstream = connect({ ...this.#target, allowHalfOpen: true })
    const pair = new Pair(client, upstream, this, () => this.#pairs.delete(pair), this.#rewrite)
    this.#pairs.add(pair)
  }
}

function assertLoopback(host: string): void {
  const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))
  if (!loopback) throw new Error(`TcpProxy forwards to loopback addresses only, not ${host}`)
}
