import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import { builtin } from './builtin.js'
import { Inbox } from './inbox.js'

/** A pending call of {@link Clock.setTimer}. */
export interface Timer {
  /** Stops it; safe to call twice or after it fired. */
  cancel(): void
  /** Lets the process exit while only this timer is pending (as Node's `timer.unref()`). */
  unref(): Timer
}

/** Time, as stateful code sees it. */
export interface Clock {
  /**
   * Milliseconds since the epoch. In production a monotonic clock: the wall
   * clock at process start plus `performance.now()` in whole milliseconds, so a step of the system
   * clock (NTP, an operator, a VM resumed) neither stretches nor cuts a lease
   * or a timeout measured with it.
   */
  now(): number
  /** Calls `fn` once, `ms` from now. */
  setTimer(ms: number, fn: () => void): Timer
}

/** What an {@link EnvSocket} reports to its owner, once attached. */
export interface SocketEvents {
  /** Connected (over TLS: the server's certificate verified); bytes may be written. */
  ready(): void
  data(chunk: Buffer): void
  error(error: Error): void
  /** The socket is closed (by either end, or after an error); the last call. */
  close(): void
}

/** A client byte stream, as {@link Env.connect} opens it. */
export interface EnvSocket {
  /** The peer's address and port as connected ('' / 0 before). */
  readonly remoteAddress: string
  readonly remotePort: number
  /** Starts reporting to `events`; call once, right after `connect`. */
  attach(events: SocketEvents): void
  /** Queues bytes; false when the kernel buffer is full (they are still sent). */
  write(chunk: Uint8Array): boolean
  /** Closes at once; `close` is reported (asynchronously) if it was not already. */
  destroy(): void
}

/** Options of {@link Env.connect}. */
export interface ConnectOptions {
  /** Connect over TLS with these options (`node:tls` `connect`), else plain TCP. */
  tls?: TlsConnectionOptions
}

/**
 * What stateful code (client session and connection, cluster session,
 * election candidacies, runtime peers) reaches the outside world through:
 * time, timers, randomness and client sockets. Production code uses
 * {@link realEnv}; the simulator (`test/sim/`) passes a virtual one, so the
 * same code runs on a virtual clock and simulated network, deterministically
 * for a given seed. Keep it tiny.
 */
export interface Env extends Clock {
  /** A uniform number in [0, 1). */
  random(): number
  /** `n` random bytes (nonces, guids). */
  randomBytes(n: number): Buffer
  /** Opens a client connection to `host:port`; attach to it at once. */
  connect(host: string, port: number, options?: ConnectOptions): EnvSocket
  /**
   * Where a client handles what its socket brought: at once, or — when this
   * turn of the event loop is already busy with socket work — after the
   * timers, in arrival order (see {@link Inbox}). Without it, at once.
   */
  readonly inbox?: { run(work: () => void): void }
}

/** Wall-clock time when the process started; `now()` adds monotonic time to it. */
const ORIGIN = performance.timeOrigin

/** The real (monotonic) clock, timers, randomness and sockets. */
export const realEnv: Env = {
  // Whole milliseconds, as Date.now() gives (session ids and zxid-like stamps are built from it).
  now: () => Math.floor(ORIGIN + performance.now()),
  setTimer(ms, fn) {
    const handle = setTimeout(fn, Math.max(0, ms))
    const timer: Timer = {
      cancel: () => clearTimeout(handle),
      unref: () => {
        handle.unref()
        return timer
      },
    }
    return timer
  },
  random: () => Math.random(),
  randomBytes: (n) => builtin('node:crypto').randomBytes(n),
  connect: (host, port, options) => nodeSocket(host, port, options?.tls),
  inbox: new Inbox(),
}

/** An {@link EnvSocket} over `node:net` or `node:tls`, loaded on first use. */
function nodeSocket(host: string, port: number, tls: TlsConnectionOptions | undefined): EnvSocket {
  const socket = tls === undefined ? builtin('node:net').connect({ host, port }) : builtin('node:tls').connect({ host, port, ...tls })
  socket.setNoDelay(true)
  return {
    get remoteAddress() {
      return socket.remoteAddress ?? ''
    },
    get remotePort() {
      return socket.remotePort ?? 0
    },
    attach(events) {
      socket.once(tls === undefined ? 'connect' : 'secureConnect', () => events.ready())
      socket.on('data', (chunk: Buffer) => events.data(chunk))
      socket.on('error', (err) => events.error(err))
      // A half-closed socket is of no use to a request/response client: close it.
      socket.on('end', () => socket.destroy())
      socket.on('close', () => events.close())
    },
    write: (chunk) => socket.write(chunk),
    destroy: () => void socket.destroy(),
  }
}
