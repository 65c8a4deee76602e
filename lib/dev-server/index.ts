/**
 * zkcloud/dev-server — a single-node, in-memory server speaking the ZooKeeper
 * client protocol with ZooKeeper 3.8's semantics, for demos, local development
 * and tests. Production uses real ZooKeeper.
 * @module
 */
import { ProtocolServer } from './server.js'
import { SnapshotFile } from './snapshot.js'

/** Options of {@link startDevServer}. Times are milliseconds. */
export interface DevServerOptions {
  /** TCP port; 0 picks a free one. Default 2181. */
  port?: number
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string
  /** ZooKeeper's `tickTime`: session expiry is checked every tick. Default 2000. */
  tickTime?: number
  /** Shortest session timeout granted. Default 2 × tickTime. */
  minSessionTimeout?: number
  /** Longest session timeout granted. Default 20 × tickTime. */
  maxSessionTimeout?: number
  /**
   * How often empty containers and expired TTL nodes are deleted
   * (ZooKeeper's `znode.container.checkIntervalMs`). Default 60 000.
   */
  containerCheckInterval?: number
  /** A directory for a snapshot, so nodes and sessions survive a restart. Default: memory only. */
  dataDir?: string
  /**
   * SASL DIGEST-MD5 users (`{ alice: 'secret' }`), as a ZooKeeper with a JAAS
   * `Server` section of `user_alice="secret"` takes them: a client that
   * authenticates gets the `sasl:alice` identity. Without users, SASL tokens get
   * the answer of a ZooKeeper without SASL (a null token, and no session kept alive).
   */
  saslUsers?: Record<string, string>
  /**
   * The four-letter words answered (ZooKeeper's `4lw.commands.whitelist`).
   * Default `'*'`: all the dev server knows (ZooKeeper's default is `srvr` only).
   */
  fourLetterWords?: readonly string[] | '*'
  /** How long a connection may stay without completing a handshake before it is closed, ms. Default 10 000, as ZooKeeper's NIO server. */
  sessionlessTimeout?: number
  /**
   * A TLS listener besides the plain one (ZooKeeper's `secureClientPort`):
   * PEM `cert` and `key`; with `ca`, clients must present a certificate signed
   * by it (ZooKeeper's default `ssl.clientAuth=need`).
   */
  tls?: { port: number; cert: string | Buffer; key: string | Buffer; ca?: string | Buffer }
}

/** A running dev server. */
export interface DevServer {
  /** The port it listens on. */
  readonly port: number
  /** The address it listens on. */
  readonly address: string
  /** `host:port`, for `ZooKeeper.connect`. */
  readonly connectString: string
  /** The TLS port, when `tls` was given. */
  readonly securePort?: number
  /** `host:securePort`, when `tls` was given. */
  readonly secureConnectString?: string
  /**
   * Stops listening and closes every connection; with a `dataDir`, writes the
   * snapshot first. Sessions live on in the snapshot until they expire.
   */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** Starts a dev server and resolves once it listens. */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const tickTime = options.tickTime ?? 2000
  let snapshot: SnapshotFile | null = null
  const server = new ProtocolServer({
    tickTime,
    minSessionTimeout: options.minSessionTimeout ?? 2 * tickTime,
    maxSessionTimeout: options.maxSessionTimeout ?? 20 * tickTime,
    containerCheckInterval: options.containerCheckInterval ?? 60_000,
    sessionlessTimeout: options.sessionlessTimeout ?? 10_000,
    fourLetterWords: options.fourLetterWords === undefined || options.fourLetterWords === '*' ? '*' : new Set(options.fourLetterWords),
    ...(options.saslUsers && { saslUsers: new Map(Object.entries(options.saslUsers)) }),
    ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
    changed: () => snapshot?.changed(),
  })
  try {
    if (options.dataDir !== undefined) snapshot = await SnapshotFile.open(options.dataDir, server.processor)
    const bound = await server.listen(options.port ?? 2181, options.host ?? '127.0.0.1')
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address
    const { tls } = options
    const secure = tls && (await server.listenTls(tls.port, options.host ?? '127.0.0.1', { cert: tls.cert, key: tls.key, ...(tls.ca !== undefined && { ca: tls.ca, requestCert: true, rejectUnauthorized: true }) }))
    let closing: Promise<void> | null = null
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        await server.close()
        await snapshot?.flush()
      })())
    return {
      port: bound.port,
      address: bound.address,
      connectString: `${host}:${bound.port}`,
      ...(secure && { securePort: secure.port, secureConnectString: `${host}:${secure.port}` }),
      close,
      [Symbol.asyncDispose]: close,
    }
  } catch (err) {
    await server.close()
    throw err
  }
}
