import { type AddressInfo, type Server, type Socket, createServer } from 'node:net'
import { type TlsOptions, createServer as createTlsServer } from 'node:tls'
import { type ServerView, fourLetterAnswer } from './four-letter.js'
import { Processor, type ProcessorOptions } from './processor.js'
import { type ConnectionHost, SocketConnection } from './socket-connection.js'

export { MAX_FRAME_SIZE } from './socket-connection.js'

/** Options of {@link ProtocolServer}. */
export interface ProtocolServerOptions extends Omit<ProcessorOptions, 'changed'> {
  /** How often empty containers and expired TTL nodes are deleted, milliseconds. */
  containerCheckInterval: number
  /** How long a connection may stay without completing a handshake, milliseconds (ZooKeeper: 10 s). */
  sessionlessTimeout: number
  /** The four-letter words answered: `'*'` for all the dev server knows. */
  fourLetterWords: ReadonlySet<string> | '*'
  /** Where a snapshot is kept, for `conf`. */
  dataDir?: string
  /** Called after anything a snapshot holds has changed. */
  changed?: () => void
}

/** The TCP (and TLS) side of the dev server: accepts connections, hands their frames to the processor, runs the timers. */
export class ProtocolServer implements ConnectionHost {
  readonly processor: Processor
  readonly connections = new Set<SocketConnection>()
  packetsReceived = 0
  packetsSent = 0
  private readonly listeners: Server[] = []
  private clientPort = 0
  private securePort = -1
  private expiryTimer: NodeJS.Timeout | null = null
  private readonly reaper: NodeJS.Timeout

  constructor(private readonly options: ProtocolServerOptions) {
    this.processor = new Processor({ ...options, changed: options.changed ?? (() => undefined) })
    this.reaper = setInterval(() => this.processor.reap(Date.now()), options.containerCheckInterval)
    this.reaper.unref()
    this.scheduleExpiry()
  }

  get sessionlessTimeout(): number {
    return this.options.sessionlessTimeout
  }

  private accept = (socket: Socket): void => {
    this.connections.add(new SocketConnection(socket, this))
  }

  forget(conn: SocketConnection): void {
    this.connections.delete(conn)
  }

  /** Listens for plain connections on `port`. */
  async listen(port: number, host: string): Promise<AddressInfo> {
    const bound = await this.bind(createServer(this.accept), port, host)
    this.clientPort = bound.port
    return bound
  }

  /** Listens for TLS connections on `port` (ZooKeeper's secureClientPort). */
  async listenTls(port: number, host: string, tls: TlsOptions): Promise<AddressInfo> {
    const server = createTlsServer(tls, this.accept)
    // A failed TLS handshake concerns that client only.
    server.on('tlsClientError', (_err, socket) => socket.destroy())
    const bound = await this.bind(server, port, host)
    this.securePort = bound.port
    return bound
  }

  private bind(server: Server, port: number, host: string): Promise<AddressInfo> {
    this.listeners.push(server)
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve(server.address() as AddressInfo)
      })
    })
  }

  /** Sessions expire on tick boundaries, as ZooKeeper's expiry queue works. */
  private scheduleExpiry(): void {
    const tick = this.options.tickTime
    this.expiryTimer = setTimeout(() => {
      this.processor.expireSessions(Date.now())
      this.scheduleExpiry()
    }, tick - (Date.now() % tick))
    this.expiryTimer.unref()
  }

  fourLetter(word: string): string {
    return fourLetterAnswer(word, this.view(), this.options.fourLetterWords)
  }

  /** What the four-letter words report, as of now. */
  private view(): ServerView {
    const { tree, sessions } = this.processor
    const counts = tree.counts()
    const ephemeralsBySession = new Map<bigint, string[]>()
    for (const s of sessions.all()) ephemeralsBySession.set(s.id, tree.ephemeralsOf(s.id))
    return {
      zxid: this.processor.zxid,
      packetsReceived: this.packetsReceived,
      packetsSent: this.packetsSent,
      nodes: counts.nodes,
      watches: counts.watches,
      ephemerals: counts.ephemerals,
      dataSize: counts.dataSize,
      sessions: sessions.size,
      connections: [...this.connections].map((c) => ({ ...c.stats, sessionId: c.sessionId })),
      watchSummary: tree.dataWatches.summary(),
      watchesByConnection: tree.dataWatches.byConnection(),
      watchesByPath: tree.dataWatches.byPath(),
      sessionExpiry: [...sessions.all()].map((s) => ({ id: s.id, expiresAt: s.expiresAt })),
      ephemeralsBySession,
      config: {
        clientPort: this.clientPort,
        secureClientPort: this.securePort,
        dataDir: this.options.dataDir ?? null,
        tickTime: this.options.tickTime,
        minSessionTimeout: this.options.minSessionTimeout,
        maxSessionTimeout: this.options.maxSessionTimeout,
      },
    }
  }

  /** Stops listening, drops every connection (sessions are kept, as a server restart keeps them) and stops the timers. */
  async close(): Promise<void> {
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer)
    this.expiryTimer = null
    clearInterval(this.reaper)
    const closed = this.listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve())))
    for (const conn of [...this.connections]) conn.destroy()
    await Promise.all(closed)
  }
}
