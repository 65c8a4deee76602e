import { OPEN_ACL_UNSAFE, type ACL } from '../zk-wire/index.js'
import type { NodeOptions, NodeTlsOptions } from '../runtime/index.js'
import { realEnv, type Env } from '../env.js'
import { DEFAULT_PREFIX, Layout } from './paths.js'

/** Options of {@link Cluster.start} and {@link bootstrap}. Times are milliseconds. */
export interface ClusterOptions {
  /** ZooKeeper connect string, `host:port,host:port[/chroot]`. */
  readonly zookeeper: string
  /** Interface the node listens on. Default `'127.0.0.1'` (see the runtime's security notes). */
  readonly host?: string
  /** The node's TCP port; default 0, any free port. */
  readonly port?: number
  /** Shared secret of the nodes (HMAC-authenticated connections, at least 128 bits of entropy); see the runtime. */
  readonly cookie?: string
  /** Mutual TLS between the nodes: `{ key, cert, ca }` (PEM), as the runtime's `tls` option. */
  readonly tls?: NodeTlsOptions
  /** Znode under which this cluster lives; clusters with different prefixes share an ensemble without seeing each other. Default `/zkcloud`. */
  readonly prefix?: string
  /** Only local names starting with this are mirrored into ZooKeeper by `node.register`. Default `''`: every name. */
  readonly registerPrefix?: string
  /** Requested ZooKeeper session timeout (the server clamps it). Default 10 000. */
  readonly sessionTimeout?: number
  /** How long `start` keeps trying to reach ZooKeeper before it fails. Default 30 000. */
  readonly connectTimeout?: number
  /**
   * How long a call that needs ZooKeeper (a cache miss, `register`,
   * `registerCandidate`, …) waits for it — disconnected, or after an expiry
   * while no new session can be opened — before it rejects with a
   * `ClusterError` (`UNREACHABLE` or `EXPIRED`). Default: `sessionTimeout`.
   */
  readonly requestTimeout?: number
  /** Let those calls wait for ZooKeeper however long it takes instead. Default false. */
  readonly waitForZooKeeper?: boolean
  /** ACL of every znode the cluster creates. Default `OPEN_ACL_UNSAFE`; with `CREATOR_ALL_ACL` give `credentials`. */
  readonly acl?: readonly ACL[]
  /** Credentials added to every connection, e.g. `['digest', 'user:password']`. */
  readonly credentials?: readonly [scheme: string, credentials: string]
  /**
   * The ensemble's `tickTime` (zoo.cfg), which bounds how late ZooKeeper's
   * leader can learn that a session is alive. A leader's global processes die
   * at `evidence + T − 1.5 × tickTime − stepDownMargin`, where the evidence is
   * the send time of a `sync` that came back (see docs/cluster.md). Default
   * 2000, ZooKeeper's default. **Never set it lower than the ensemble's.**
   */
  readonly tickTime?: number
  /**
   * Extra safety on top of 1.5 × tickTime (clock-rate differences, late
   * timers). Default: a twentieth of the negotiated timeout, at least 100 ms.
   */
  readonly stepDownMargin?: number
  /** Also step down at once on every disconnection (Curator's "suspended" policy). Default false. */
  readonly stepDownOnDisconnect?: boolean
  /** Receives the cluster's trace lines: cache reads, watches, election steps. */
  readonly logTrace?: (line: string) => void
  /** Receives problems the cluster survives (ZooKeeper unreachable, a failed registration, …). Default: `console.error`. */
  readonly logError?: (line: string, error?: Error) => void
  /** More options for the node (advertiseHost, logTrace for `say` lines, frame limits, …). */
  readonly node?: Omit<NodeOptions, 'host' | 'port' | 'cookie'>
  /**
   * Time, timers, randomness and sockets of everything the cluster runs: its
   * ZooKeeper client, session renewal, lease, candidacies, call deadlines, and
   * the node (unless `node.env` says otherwise). Default `realEnv`; the
   * simulator (`npm run sim -- --world cluster`) passes a virtual one.
   */
  readonly env?: Env
}

/** Options with defaults applied and checked. */
export interface ResolvedOptions {
  readonly zookeeper: string
  readonly layout: Layout
  readonly registerPrefix: string
  readonly sessionTimeout: number
  readonly connectTimeout: number
  readonly requestTimeout: number
  readonly waitForZooKeeper: boolean
  readonly acl: readonly ACL[]
  readonly credentials: readonly [string, string] | undefined
  readonly tickTime: number
  readonly stepDownMargin: number | undefined
  readonly stepDownOnDisconnect: boolean
  readonly logTrace: ((line: string) => void) | undefined
  readonly logError: (line: string, error?: Error) => void
  readonly node: NodeOptions
  readonly env: Env
}

const DEFAULTS = {
  sessionTimeout: 10_000,
  connectTimeout: 30_000,
  tickTime: 2000,
} as const

function defaultLogError(line: string): void {
  console.error(`[zkcloud:cluster] ${line}`)
}

/**
 * Applies the defaults and checks every option.
 * @throws TypeError naming the first bad option
 */
export function resolveOptions(options: ClusterOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('cluster options are required')
  const { zookeeper, registerPrefix = '', credentials, stepDownMargin } = options
  if (typeof zookeeper !== 'string' || zookeeper.trim() === '') throw new TypeError('zookeeper: a connect string is required, e.g. "localhost:2181"')
  if (typeof registerPrefix !== 'string') throw new TypeError('registerPrefix must be a string')
  const sessionTimeout = positive('sessionTimeout', options.sessionTimeout ?? DEFAULTS.sessionTimeout)
  const connectTimeout = positive('connectTimeout', options.connectTimeout ?? DEFAULTS.connectTimeout)
  const tickTime = positive('tickTime', options.tickTime ?? DEFAULTS.tickTime)
  const requestTimeout = positive('requestTimeout', options.requestTimeout ?? sessionTimeout)
  if (options.waitForZooKeeper !== undefined && typeof options.waitForZooKeeper !== 'boolean') throw new TypeError('waitForZooKeeper must be true or false')
  if (stepDownMargin !== undefined) positive('stepDownMargin', stepDownMargin)
  const acl = options.acl ?? OPEN_ACL_UNSAFE
  if (!Array.isArray(acl) || acl.length === 0) throw new TypeError('acl must be a non-empty list')
  if (credentials !== undefined && !(Array.isArray(credentials) && credentials.length === 2 && credentials.every(c => typeof c === 'string' && c !== ''))) {
    throw new TypeError("credentials must be [scheme, credentials], e.g. ['digest', 'user:password']")
  }
  const logError = options.logError ?? defaultLogError
  const node: NodeOptions = { logError, ...(options.env !== undefined && { env: options.env }), ...options.node }
  return {
    zookeeper,
    layout: new Layout(options.prefix ?? DEFAULT_PREFIX),
    registerPrefix,
    sessionTimeout,
    connectTimeout,
    requestTimeout,
    waitForZooKeeper: options.waitForZooKeeper === true,
    acl,
    credentials: credentials === undefined ? undefined : [credentials[0], credentials[1]],
    tickTime,
    stepDownMargin,
    stepDownOnDisconnect: options.stepDownOnDisconnect === true,
    logTrace: options.logTrace,
    logError,
    node: withListenAddress(node, options),
    env: options.env ?? realEnv,
  }
}

function withListenAddress(node: NodeOptions, options: ClusterOptions): NodeOptions {
  const address: { host?: string; port?: number; cookie?: string; tls?: NodeTlsOptions } = {}
  if (options.host !== undefined) address.host = options.host
  if (options.port !== undefined) address.port = options.port
  if (options.cookie !== undefined) address.cookie = options.cookie
  if (options.tls !== undefined) address.tls = options.tls
  return { ...node, ...address }
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number of milliseconds`)
  return value
}
