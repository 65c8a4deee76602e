import { connect as tcpConnect, createServer, isIP, type AddressInfo, type Server, type Socket } from 'node:net'
import { connect as tlsConnect, createSecureContext, Server as TlsServer, type SecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls'
import type { LinkEvents, LinkSocket, Listener, ListenerEvents, Net } from './net.js'

/** TCP keepalive: first probe after this long idle, so a vanished peer is eventually noticed. */
const KEEPALIVE_MS = 15_000
/** The label of the TLS exporter that binds the node handshake to the TLS session. */
const EXPORTER_LABEL = 'EXPORTER-zkcloud-node-handshake'

/**
 * Mutual TLS between nodes: this node's private key and certificate, and the
 * CA certificate(s) a peer's certificate must chain to — PEM strings or
 * Buffers, as `tls.createSecureContext` takes them.
 */
export interface NodeTlsOptions {
  readonly key: NonNullable<SecureContextOptions['key']>
  readonly cert: NonNullable<SecureContextOptions['cert']>
  readonly ca: NonNullable<SecureContextOptions['ca']>
}

/**
 * Real sockets: plain TCP, or mutual TLS with `tls`. Over TLS a dialer checks
 * that the listener's certificate chains to `ca` and names the host it dialed;
 * a listener requires a client certificate that chains to `ca` and refuses
 * plaintext clients.
 * @throws TypeError if the TLS material is missing or unusable
 */
export function nodeNet(tls?: NodeTlsOptions): Net {
  const context = tls === undefined ? undefined : secureContext(tls)
  return {
    connect: (host, port) => (context === undefined || tls === undefined ? dialTcp(host, port) : dialTls(host, port, context)),
    listen: (host, port, events) => (tls === undefined ? listenTcp(host, port, events) : listenTls(host, port, tls, events)),
    defer(fn) {
      const immediate = setImmediate(fn)
      return { cancel: () => clearImmediate(immediate) }
    },
  }
}

function secureContext(tls: NodeTlsOptions): SecureContext {
  if (typeof tls !== 'object' || tls === null) throw new TypeError('tls must be { key, cert, ca }')
  for (const field of ['key', 'cert', 'ca'] as const) {
    if (tls[field] === undefined || tls[field] === null) throw new TypeError(`tls.${field} is required (PEM string or Buffer): nodes authenticate each other with mutual TLS`)
  }
  try {
    return createSecureContext({ key: tls.key, cert: tls.cert, ca: tls.ca })
  } catch (error) {
    throw new TypeError(`tls: unusable key, certificate or CA: ${(error as Error).message}`)
  }
}

function dialTcp(host: string, port: number): LinkSocket {
  const socket = tcpConnect({ host, port })
  const link = new SocketLink(socket, false)
  socket.once('connect', () => link.ready())
  return link
}

function dialTls(host: string, port: number, context: SecureContext): LinkSocket {
  // rejectUnauthorized (the default) verifies the chain and, through
  // checkServerIdentity, that the certificate names `host` (an IP SAN for an IP).
  const socket = tlsConnect({ host, port, secureContext: context, ...(isIP(host) === 0 ? { servername: host } : {}) })
  const link = new SocketLink(socket, false)
  socket.once('secureConnect', () => link.ready())
  return link
}

async function listenTcp(host: string, port: number, events: ListenerEvents): Promise<Listener> {
  const server = createServer()
  server.on('connection', (socket: Socket) => events.accept(new SocketLink(socket, true)))
  return listening(server, host, port, events)
}

/**
 * A TLS listener. Each raw connection is handed out at once (so connection
 * limits and the handshake timeout cover the TLS handshake too) and switched
 * to its TLS socket once the client's certificate has been verified.
 */
async function listenTls(host: string, port: number, tls: NodeTlsOptions, events: ListenerEvents): Promise<Listener> {
  const server = new TlsServer({ key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: true })
  // Raw sockets, keyed by the peer's address, until their TLS handshake ends.
  const pending = new Map<string, SocketLink>()
  server.prependListener('connection', (raw: Socket) => {
    const link = new SocketLink(raw, false)
    const key = `${raw.remoteAddress}|${raw.remotePort}`
    pending.set(key, link)
    raw.once('close', () => {
      if (pending.get(key) === link) pending.delete(key)
    })
    events.accept(link)
  })
  server.on('secureConnection', (socket: TLSSocket) => {
    const key = `${socket.remoteAddress}|${socket.remotePort}`
    const link = pending.get(key)
    pending.delete(key)
    if (link === undefined) socket.destroy()
    else link.upgrade(socket)
  })
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
    // A hang-up (the client left, or the transport closed the socket: shed or timed out) says nothing new.
    if (error.code === 'ECONNRESET' && socket.authorizationError == null) return
    const reason = socket.authorizationError == null ? error.message : `certificate refused (${String(socket.authorizationError)})`
    const from = socket.remoteAddress === undefined ? 'a client' : `${socket.remoteAddress}:${socket.remotePort}`
    events.error(`TLS handshake with ${from} failed`, new Error(reason))
  })
  return listening(server, host, port, events)
}

async function listening(server: Server, host: string, port: number, events: ListenerEvents): Promise<Listener> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', error => events.error('listener error', error))
  let closed: Promise<void> | null = null
  return {
    port: (server.address() as AddressInfo).port,
    close: () => (closed ??= new Promise(resolve => server.close(() => resolve()))),
  }
}

function tune(socket: Socket): void {
  socket.setNoDelay(true)
  socket.setKeepAlive(true, KEEPALIVE_MS)
}

/** A `node:net` or `node:tls` socket as a {@link LinkSocket}. */
class SocketLink implements LinkSocket {
  readonly remoteAddress: string
  readonly remotePort: number
  #socket: Socket
  #events: LinkEvents | null = null
  #ready: boolean
  #closed = false

  constructor(socket: Socket, ready: boolean) {
    this.#socket = socket
    this.#ready = ready
    this.remoteAddress = socket.remoteAddress ?? ''
    this.remotePort = socket.remotePort ?? 0
    socket.on('error', this.#onError)
    socket.on('close', this.#onClose)
  }

  get writableLength(): number {
    return this.#socket.writableLength
  }

  attach(events: LinkEvents): void {
    this.#events = events
    if (this.#ready) this.#listen()
  }

  /** Dialed: connected (and verified over TLS). */
  ready(): void {
    this.#ready = true
    if (this.#events !== null) this.#listen()
  }

  /** Accepted over TLS: carry on over the verified TLS socket. */
  upgrade(socket: TLSSocket): void {
    if (this.#closed) {
      socket.destroy()
      return
    }
    this.#socket = socket
    socket.on('error', this.#onError)
    socket.on('close', this.#onClose)
    this.ready()
  }

  established(): void {
    tune(this.#socket)
  }

  channelBinding(): Buffer | undefined {
    const socket = this.#socket as Partial<TLSSocket>
    return socket.encrypted === true && socket.exportKeyingMaterial !== undefined ? socket.exportKeyingMaterial(32, EXPORTER_LABEL, Buffer.alloc(0)) : undefined
  }

  write(chunk: Uint8Array): boolean {
    return this.#socket.write(chunk)
  }

  cork(): void {
    this.#socket.cork()
  }

  uncork(): void {
    this.#socket.uncork()
  }

  end(): void {
    this.#socket.end()
  }

  destroy(): void {
    this.#socket.destroy()
  }

  #listen(): void {
    const events = this.#events as LinkEvents
    this.#socket.on('data', events.data)
    this.#socket.on('drain', events.drain)
    events.ready()
  }

  readonly #onError = (error: Error): void => {
    this.#events?.error(error)
  }

  readonly #onClose = (): void => {
    if (this.#closed) return
    this.#closed = true
    this.#events?.close()
  }
}
