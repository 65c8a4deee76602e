import { OPEN_ACL_UNSAFE, type ACL } from '../zk-wire/index.js'
import type { NodeOptions } from '../runtime/index.js'
import { DEFAULT_PREFIX, Layout } from './paths.js'

/** Options of {@link Cluster.start} and {@link bootstrap}. Times are milliseconds. */
export interface ClusterOptions {
  /** ZooKeeper connect string, `host:port,host:port[/chroot]`. */
  readonly zookeeper: string
  /** Interface the node listens on. Default `'127.0.0.1'` (see the runtime's security notes). */
  readonly host?: string
  /** The node's TCP port; default 0, any free port. */
  readonly port?: number
  /** Shared secret of the nodes (HMAC-authenticated connections); see the runtime. */
  readonly cookie?: string
  /** Znode under which this cluster lives; clusters with different prefixes share an ensemble without seeing each other. Default `/zkcloud`. */
  readonly prefix?: string
  /** Only local names starting with this are mirrored into ZooKeeper by `node.register`. Default `''`: every name. */
  readonly registerPrefix?: string
  /** Requested ZooKeeper session timeout (the server clamps it). Default 10 000. */
  readonly sessionTimeout?: number
  /** How long `start` keeps trying to reach ZooKeeper before it fails. Default 30 000. */
  readonly connectTimeout?: number
  /** ACL of every znode the cluster creates. Default `OPEN_ACL_UNSAFE`; with `CREATOR_ALL_ACL` give `credentials`. */
  readonly acl?: readonly ACL[]
  /** Credentials added to every connection, e.g. `['digest', 'user:password']`. */
  readonly credentials?: readonly [scheme: string, credentials: string]
  /**
   * How long before the session could have expired a leader kills its global
   * processes: they die at `lastHeardAt + negotiatedTimeout - stepDownMargin`.
   * Default: a third of the negotiated timeout, which is the moment the client
   * itself gives up on a silent server.
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
}

/** Options with defaults applied and checked. */
export interface ResolvedOptions {
  readonly zookeeper: string
  readonly layout: Layout
  readonly registerPrefix: string
  readonly sessionTimeout: number
  readonly connectTimeout: number
  readonly acl: readonly ACL[]
  readonly credentials: readonly [string, string] | undefined
  readonly stepDownMargin: number | undefined
  readonly stepDownOnDisconnect: boolean
  readonly logTrace: ((line: string) => void) | undefined
  readonly logError: (line: string, error?: Error) => void
  readonly node: NodeOptions
}

const DEFAULTS = {
  sessionTimeout: 10_000,
  connectTimeout: 30_000,
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
  if (stepDownMargin !== undefined) positive('stepDownMargin', stepDownMargin)
  const acl = options.acl ?? OPEN_ACL_UNSAFE
  if (!Array.isArray(acl) || acl.length === 0) throw new TypeError('acl must be a non-empty list')
  if (credentials !== undefined && !(Array.isArray(credentials) && credentials.length === 2 && credentials.every(c => typeof c === 'string' && c !== ''))) {
    throw new TypeError("credentials must be [scheme, credentials], e.g. ['digest', 'user:password']")
  }
  const logError = options.logError ?? defaultLogError
  const node: NodeOptions = { logError, ...options.node }
  return {
    zookeeper,
    layout: new Layout(options.prefix ?? DEFAULT_PREFIX),
    registerPrefix,
    sessionTimeout,
    connectTimeout,
    acl,
    credentials: credentials === undefined ? undefined : [credentials[0], credentials[1]],
    stepDownMargin,
    stepDownOnDisconnect: options.stepDownOnDisconnect === true,
    logTrace: options.logTrace,
    logError,
    node: withListenAddress(node, options),
  }
}

function withListenAddress(node: NodeOptions, options: ClusterOptions): NodeOptions {
  const address: { host?: string; port?: number; cookie?: string } = {}
  if (options.host !== undefined) address.host = options.host
  if (options.port !== undefined) address.port = options.port
  if (options.cookie !== undefined) address.cookie = options.cookie
  return { ...node, ...address }
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number of milliseconds`)
  return value
}
