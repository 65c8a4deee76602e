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
}

/** A running dev server. */
export interface DevServer {
  /** The port it listens on. */
  readonly port: number
  /** The address it listens on. */
  readonly address: string
  /** `host:port`, for `ZooKeeper.connect`. */
  readonly connectString: string
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
    changed: () => snapshot?.changed(),
  })
  try {
    if (options.dataDir !== undefined) snapshot = await SnapshotFile.open(options.dataDir, server.processor)
    const bound = await server.listen(options.port ?? 2181, options.host ?? '127.0.0.1')
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address
    let closing: Promise<void> | null = null
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        await server.close()
        await snapshot?.flush()
      })())
    return { port: bound.port, address: bound.address, connectString: `${host}:${bound.port}`, close, [Symbol.asyncDispose]: close }
  } catch (err) {
    await server.close()
    throw err
  }
}
