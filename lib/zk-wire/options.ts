import type { Env } from '../env.js'
import type { SaslOptions } from './sasl.js'

/** TLS settings for ZooKeeper's `secureClientPort`. The server certificate is verified unless `rejectUnauthorized: false`. */
export interface TlsOptions {
  ca?: string | Buffer | Array<string | Buffer>
  cert?: string | Buffer
  key?: string | Buffer
  servername?: string
  rejectUnauthorized?: boolean
}

/** Options of {@link ZooKeeper.connect}. Times are milliseconds. */
export interface ZooKeeperOptions {
  /** Requested session timeout; the server clamps it to its min/max. Default 10 000. */
  sessionTimeout?: number
  /** How long `connect()` waits for the first session. Default: `sessionTimeout`. */
  connectTimeout?: number
  /** How long a call made while disconnected waits for a connection before it rejects. Default: `sessionTimeout`. */
  requestTimeout?: number
  /** Largest frame accepted from the server (jute.maxbuffer). Default 1 MiB + 4 KiB. */
  maxBufferSize?: number
  /** Accept a read-only server when the quorum is lost. Default false. */
  canBeReadOnly?: boolean
  /** Re-attach an existing session instead of creating one. */
  sessionId?: bigint
  sessionPassword?: Buffer
  /** Shuffle the host list (default true), as the Java client does. */
  shuffle?: boolean
  /** Credentials added on every connection, e.g. `[['digest', 'user:pw']]`. */
  auth?: Array<[scheme: string, credentials: string | Buffer]>
  /** Connect over TLS (to `secureClientPort`). */
  tls?: TlsOptions
  /** Authenticate with SASL DIGEST-MD5 on every connection. */
  sasl?: SaslOptions
  /**
   * Capture the full call stack at every call (~5 µs each) so errors point at
   * the caller even when it does not `await` the call. Default false: errors
   * carry the async stack of the awaiting caller, which costs nothing.
   */
  captureStack?: boolean
  /**
   * For tests and simulation only: the clock, timers, randomness and sockets
   * the client runs on (default: the real ones). The deterministic simulator
   * (`npm run sim`) passes a virtual environment so the unchanged client runs
   * on virtual time against a simulated ensemble.
   */
  env?: Env
}
