import { EventEmitter } from 'node:events'
import { hostname } from 'node:os'
import { realEnv, type Env } from '../env.js'
import { Kind, type Frame } from './codec.js'
import { ProcessExitError } from './errors.js'
import { MonitorRef, NodeId, ProcessId } from './ids.js'
import { log } from './log.js'
import { ProcessHandle, type ProcessFunction, type ProcessHost, type SpawnOptions } from './process.js'
import { Registry } from './registry.js'
import { toExitReason, type DownMessage, type ExitMessage, type ExitReason } from './signals.js'
import { checkCookie } from './transport/cookie.js'
import type { Net } from './transport/net.js'
import { nodeNet, type NodeTlsOptions } from './transport/node-net.js'
import { Transport, type PeerDownReason, type TransportEvents } from './transport/transport.js'

/** Options of {@link Node.start}. */
export interface NodeOptions {
  /** Interface to listen on. Default `'127.0.0.1'`: without a cookie, only this machine can reach the node. */
  readonly host?: string
  /** TCP port; default 0, any free port (read it from `node.id.port`). */
  readonly port?: number
  /**
   * The host other nodes dial, as it appears in this node's id. Default: `host`,
   * or the machine's hostname when `host` is a wildcard (`0.0.0.0`, `::`).
   */
  readonly advertiseHost?: string
  /**
   * Shared secret. When set, both ends of every connection prove they hold it
   * (HMAC-SHA256 over fresh nonces; the dialer first) before any message is
   * accepted, and nodes without it, or with another, are refused. It must
   * carry at least 128 bits of entropy (e.g. 32 hex digits:
   * `randomBytes(16).toString('hex')`); a shorter one is refused with a `TypeError`.
   */
  readonly cookie?: string
  /**
   * Mutual TLS for every connection to and from this node: its key and
   * certificate, and the CA a peer's certificate must chain to (PEM strings or
   * Buffers). Peers without such a certificate, and plaintext peers, are
   * refused; a dialer checks that the certificate of the node it dialed names
   * the host it dialed. The cookie, if set, is still proved on top.
   */
  readonly tls?: NodeTlsOptions
  /** Largest frame accepted from or sent to a peer, in bytes. Default 16 MiB. */
  readonly maxFrameSize?: number
  /** Milliseconds a connection may take to connect (TLS included) and authenticate. Default 5000. */
  readonly handshakeTimeout?: number
  /**
   * Inbound connections still in their handshake, in all, above which the
   * oldest silent ones are closed. Default 256.
   */
  readonly maxHandshakes?: number
  /** The same bound for the connections from one IP address. Default 64. */
  readonly maxHandshakesPerAddress?: number
  /**
   * Bytes waiting for one peer above which `send` returns false and `drain`
   * waits. Default 1 MiB.
   */
  readonly outboundHighWaterMark?: number
  /**
   * Bytes waiting for one peer above which that peer is deemed dead: its
   * connection is dropped, the waiting frames are discarded and monitors of
   * its processes hear `'disconnect'`. Default 64 MiB.
   */
  readonly maxOutboundBuffer?: number
  /** Receives every `say` line (`pid://…: text`). */
  readonly logTrace?: (line: string) => void
  /** Receives refused and dropped connections (wrong cookie, bad frames, …) and errors thrown by listeners. */
  readonly logError?: (line: string, error?: Error) => void
  /** Clock, timers and randomness (handshake timers, nonces, receive timeouts). Default: the real ones; the simulator passes virtual ones. */
  readonly env?: Env
  /** Sockets. Default: TCP, or TLS with `tls`; the simulator passes simulated ones (then `tls` must not be set). */
  readonly net?: Net
}

/** Events of a {@link Node}; listeners must not throw (errors go to `logError`). */
export interface NodeEvents {
  /** A process started on this node. */
  spawn: [pid: ProcessId]
  /** A process of this node ended. */
  exit: [pid: ProcessId, reason: ExitReason]
  /** A name was registered in this node's registry. */
  register: [name: string, pid: ProcessId]
  /** A name left this node's registry (`unregister`, or its process ended). */
  unregister: [name: string, pid: ProcessId]
  /** A connection to another node opened. */
  nodeup: [node: NodeId]
  /** The connection to another node broke or could not be made (`'noproc'`: that run of the node is gone). */
  nodedown: [node: NodeId, reason: PeerDownReason]
}

/** Where a node is in its life. */
export type NodeState = 'running' | 'stopping' | 'stopped'

const DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  maxFrameSize: 16 * 1024 * 1024,
  handshakeTimeout: 5000,
  maxHandshakes: 256,
  maxHandshakesPerAddress: 64,
  outboundHighWaterMark: 1024 * 1024,
  maxOutboundBuffer: 64 * 1024 * 1024,
} as const

interface Entry {
  readonly process: ProcessHandle
  /** Processes linked to this one, by pid key. */
  readonly links: Map<string, ProcessId>
  /** Monitors of this node watching this process. */
  readonly localWatchers: Set<number>
  /** Monitors of other nodes watching this process, by `nodeKey#ref`. */
  readonly remoteWatchers: Map<string, { readonly node: NodeId; readonly ref: number }>
  /** Monitors this process made, ended with it. */
  readonly owned: Set<number>
}

interface MonitorRecord {
  readonly ref: MonitorRef
  readonly target: ProcessId
  readonly owner: Entry | null
  readonly notify: (down: DownMessage) => void
}

/**
 * A node: a TCP endpoint hosting processes, a local name registry, and
 * connections to other nodes. Start one with {@link Node.start}.
 *
 * Messages between two processes arrive in the order they were sent, or not at
 * all when the connection breaks (monitors then hear `'disconnect'`). Sending
 * to a dead or unknown process drops the message silently. Local messages are
 * passed by reference: do not mutate a message after sending it.
 */
export class Node extends EventEmitter<NodeEvents> implements AsyncDisposable {
  /** This node's identity; `id.port` is the port actually bound. */
  readonly id: NodeId
  #state: NodeState = 'running'
  #stopped: Promise<void> | null = null
  readonly #options: NodeOptions
  readonly #transport: Transport
  readonly #processes = new Map<number, Entry>()
  readonly #registry = new Registry()
  readonly #monitors = new Map<number, MonitorRecord>()
  readonly #host: ProcessHost
  #nextProcess = 1
  #nextRef = 1

  /**
   * Listens on `host:port` and returns the running node.
   * @throws if the address cannot be bound or an option is invalid
   */
  static async start(options: NodeOptions = {}): Promise<Node> {
    const host = options.host ?? DEFAULTS.host
    const port = options.port ?? DEFAULTS.port
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new TypeError(`invalid port ${port}`)
    if (options.cookie !== undefined) checkCookie(options.cookie)
    const maxHandshakes = positiveInteger('maxHandshakes', options.maxHandshakes ?? DEFAULTS.maxHandshakes)
    const maxHandshakesPerAddress = positiveInteger('maxHandshakesPerAddress', options.maxHandshakesPerAddress ?? DEFAULTS.maxHandshakesPerAddress)
    if (options.tls !== undefined && options.net !== undefined) throw new TypeError('give tls or net, not both')
    const env = options.env ?? realEnv
    const net = options.net ?? nodeNet(options.tls)
    const advertised = options.advertiseHost ?? (isWildcard(host) ? hostname() : host)
    const incarnation = 1 + Math.floor(env.random() * 0xffff_fffe)
    // Transport events reach the node once it exists: no connection can open before.
    let node: Node | null = null
    const events: TransportEvents = {
      frame: (from, frame) => {
        if (node !== null) node.#onFrame(from, frame)
      },
      peerUp: peer => {
        if (node !== null) node.#emit('nodeup', peer)
      },
      peerDown: (peer, reason) => {
        if (node !== null) node.#onPeerDown(peer, reason)
      },
      problem: (text, error) => {
        if (node === null) log('%s: %O', text, error)
        else node.#logError(text, error)
      },
    }
    const transport = await Transport.start(
      host,
      port,
      {
        cookie: options.cookie,
        maxFrameSize: options.maxFrameSize ?? DEFAULTS.maxFrameSize,
        handshakeTimeout: options.handshakeTimeout ?? DEFAULTS.handshakeTimeout,
        outboundHighWaterMark: options.outboundHighWaterMark ?? DEFAULTS.outboundHighWaterMark,
        maxOutboundBuffer: options.maxOutboundBuffer ?? DEFAULTS.maxOutboundBuffer,
        maxHandshakes,
        maxHandshakesPerAddress,
        env,
        net,
      },
      events,
      bound => new NodeId(advertised, bound, incarnation),
    )
    if (options.cookie === undefined && options.tls === undefined && !isLoopback(host)) {
      process.emitWarning(
        `zkcloud node ${transport.self} listens on ${host} without a cookie: anyone who can reach it can message its processes`,
        { code: 'ZKCLOUD_NO_COOKIE' },
      )
    }
    node = new Node(transport, options, env)
    return node
  }

  private constructor(transport: Transport, options: NodeOptions, env: Env) {
    super()
    this.id = transport.self
    this.#options = options
    this.#transport = transport
    this.#host = {
      clock: env,
      send: (from, to, message) => (from.alive ? this.send(to, message) : true),
      nsend: (from, name, message) => {
        if (from.alive) this.nsend(name, message)
      },
      nsendRemote: (from, node, name, message) => (from.alive ? this.nsendRemote(node, name, message) : true),
      drain: to => this.drain(to),
      say: (from, text) => this.#say(from.pid, text),
      spawn: (parent, fn, options) => {
        if (!parent.alive) throw new ProcessExitError(parent.reason)
        const pid = this.spawn(fn, options)
        if (options?.link === true) this.#link(this.#entry(parent), pid)
        return pid
      },
      monitor: (owner, target) => {
        const entry = this.#entry(owner)
        if (entry === null) return new MonitorRef(this.#nextRef++)
        return this.#monitor(target, entry, down => owner.deliver(down))
      },
      demonitor: ref => this.demonitor(ref),
      link: (from, to) => this.#link(this.#entry(from), to),
      unlink: (from, to) => this.#unlink(this.#entry(from), to),
    }
    log('node %s started', this.id)
  }

  /** `'running'` until `stop()` is called, `'stopped'` once it has finished. */
  get state(): NodeState {
    return this.#state
  }

  /**
   * Starts a process running `fn`. It runs from the next microtask, so the
   * pid can be registered or monitored before the process does anything.
   * @throws Error if the node is not running
   */
  spawn(fn: ProcessFunction, options?: SpawnOptions): ProcessId {
    if (this.#state !== 'running') throw new Error(`node ${this.id} is ${this.#state}`)
    const pid = new ProcessId(this.id, this.#nextProcess++)
    const process = new ProcessHandle(pid, this, this.#host, options?.trapExit === true)
    const entry: Entry = { process, links: new Map(), localWatchers: new Set(), remoteWatchers: new Map(), owned: new Set() }
    this.#processes.set(pid.id, entry)
    queueMicrotask(() => {
      if (!process.alive) return
      let result: Promise<void> | void
      try {
        result = fn(process)
      } catch (error) {
        this.#exit(entry, toExitReason(error))
        return
      }
      Promise.resolve(result).then(
        () => this.#exit(entry, 'normal'),
        (error: unknown) => this.#exit(entry, toExitReason(error)),
      )
    })
    this.#emit('spawn', pid)
    return pid
  }

  /**
   * Sends `message` to `to`, on this node or another. Never blocks; messages
   * to a dead or unknown process are dropped. Returns false when more than
   * `outboundHighWaterMark` bytes wait for `to`'s node: a bulk sender should
   * then `await drain(to)`.
   * @throws TypeError if `message` is `undefined`; RangeError if it encodes to more than `maxFrameSize`
   */
  send(to: ProcessId, message: unknown): boolean {
    if (message === undefined) throw new TypeError('undefined is not a message')
    const node = to.node
    if (node === this.id || node.equals(this.id)) {
      this.#processes.get(to.id)?.process.deliver(message)
      return true
    }
    if (this.#isStale(node)) return true
    return this.#transport.send(node, [Kind.SEND, to.id, message])
  }

  /** Resolves once the outbound buffer toward `to` (a node, or a process's node) is below the high-water mark. */
  drain(to: ProcessId | NodeId): Promise<void> {
    return this.#transport.drain(to instanceof ProcessId ? to.node : to)
  }

  /**
   * Names `pid` in this node's registry and emits `'register'`. The name is
   * removed when the process ends.
   * @throws Error if the name is taken, or `pid` is not a live process of this node
   */
  register(name: string, pid: ProcessId): void {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('a name must be a non-empty string')
    if (!this.isAlive(pid)) throw new Error(`cannot register ${JSON.stringify(name)}: ${pid} is not a live process of ${this.id}`)
    this.#registry.register(name, pid)
    this.#emit('register', name, pid)
  }

  /** Removes `name` from the registry and emits `'unregister'`; returns whether it was registered. */
  unregister(name: string): boolean {
    const pid = this.#registry.unregister(name)
    if (pid === undefined) return false
    this.#emit('unregister', name, pid)
    return true
  }

  /** The process registered as `name` here, or null. */
  whereis(name: string): ProcessId | null {
    return this.#registry.whereis(name)
  }

  /** Every name in this node's registry. */
  registered(): string[] {
    return this.#registry.names()
  }

  /** Sends to the process registered here as `name`; dropped if there is none. */
  nsend(name: string, message: unknown): void {
    const pid = this.#registry.whereis(name)
    if (pid !== null) this.send(pid, message)
  }

  /**
   * Sends to the process registered as `name` on `node`; dropped there if
   * there is none. Returns false above the high-water mark, as `send`.
   */
  nsendRemote(node: NodeId, name: string, message: unknown): boolean {
    if (message === undefined) throw new TypeError('undefined is not a message')
    if (node.equals(this.id)) {
      this.nsend(name, message)
      return true
    }
    if (this.#isStale(node)) return true
    return this.#transport.send(node, [Kind.NSEND, name, message])
  }

  /**
   * Ends `pid` (here or on another node) with `reason`, default `'killed'`.
   * Monitors and links hear that reason; trapping exits does not protect from
   * a kill. Unknown or dead pids are ignored.
   */
  kill(pid: ProcessId, reason: ExitReason = 'killed'): void {
    if (pid.node.equals(this.id)) {
      const entry = this.#processes.get(pid.id)
      if (entry !== undefined) this.#exit(entry, reason)
    } else if (!this.#isStale(pid.node)) {
      this.#transport.send(pid.node, [Kind.KILL, pid.id, wireReason(reason)])
    }
  }

  /** Whether `pid` is a live process of this node; always false for other nodes' pids (monitor those). */
  isAlive(pid: ProcessId): boolean {
    return pid.node.equals(this.id) && this.#processes.has(pid.id)
  }

  /** Whether `pid` belongs to this node (alive or not). */
  isLocal(pid: ProcessId): boolean {
    return pid.node.equals(this.id)
  }

  /**
   * Calls `onDown` once when `pid` (here or on another node) ends, with the
   * same `DownMessage` a monitoring process would receive; at once (on the
   * next microtask) with `'noproc'` if it is already gone.
   */
  monitor(pid: ProcessId, onDown: (down: DownMessage) => void): MonitorRef {
    return this.#monitor(pid, null, down => {
      try {
        onDown(down)
      } catch (error) {
        this.#logError(`monitor callback for ${pid} threw`, error as Error)
      }
    })
  }

  /** Cancels a monitor made with `monitor` here or by one of this node's processes. */
  demonitor(ref: MonitorRef): void {
    const record = this.#monitors.get(ref.id)
    if (record === undefined || record.ref !== ref) return
    this.#forget(record)
    const { target } = record
    if (!this.isLocal(target) && !this.#isStale(target.node)) {
      this.#transport.send(target.node, [Kind.DEMONITOR, target.id, ref.id])
    }
  }

  /** Resolves with `pid`'s exit reason when it ends (`'noproc'` if it already has). */
  exited(pid: ProcessId): Promise<ExitReason> {
    return new Promise(resolve => this.monitor(pid, down => resolve(down.reason)))
  }

  /** Nodes this node has an open connection to. */
  peers(): NodeId[] {
    return this.#transport.peers()
  }

  /**
   * Ends every local process with `'shutdown'` (their monitors hear it, on
   * other nodes too), sends what is queued, closes the listener and every
   * connection. Resolves when all is closed; calling it again returns the same promise.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  /** `await using node = await Node.start(…)` stops the node at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop()
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping'
    for (const entry of [...this.#processes.values()]) this.#exit(entry, 'shutdown')
    await this.#transport.close()
    this.#state = 'stopped'
    log('node %s stopped', this.id)
  }

  #entry(process: ProcessHandle): Entry | null {
    return process.alive ? (this.#processes.get(process.pid.id) ?? null) : null
  }

  /** Whether `node` is an earlier run of this node (same address, other incarnation). */
  #isStale(node: NodeId): boolean {
    return node.port === this.id.port && node.host === this.id.host && node.incarnation !== this.id.incarnation
  }

  #exit(entry: Entry, reason: ExitReason): void {
    const { process } = entry
    if (!process.alive) return
    const pid = process.pid
    process.terminate(reason)
    this.#processes.delete(pid.id)
    log('%s exited: %s', pid, reason)
    for (const name of this.#registry.unregisterAll(pid.id)) this.#emit('unregister', name, pid)
    for (const ref of entry.owned) {
      const record = this.#monitors.get(ref)
      if (record !== undefined) this.demonitor(record.ref)
    }
    for (const ref of entry.localWatchers) {
      const record = this.#monitors.get(ref)
      if (record !== undefined) this.#fire(record, reason)
    }
    const remoteReason = entry.remoteWatchers.size > 0 || entry.links.size > 0 ? wireReason(reason) : reason
    for (const watcher of entry.remoteWatchers.values()) {
      this.#transport.send(watcher.node, [Kind.DOWN, watcher.ref, remoteReason])
    }
    for (const linked of entry.links.values()) {
      if (this.isLocal(linked)) this.#exitSignal(this.#processes.get(linked.id), pid, reason)
      else if (!this.#isStale(linked.node)) this.#transport.send(linked.node, [Kind.EXIT, pid.id, linked.id, remoteReason])
    }
    this.#emit('exit', pid, reason)
  }

  #monitor(target: ProcessId, owner: Entry | null, notify: (down: DownMessage) => void): MonitorRef {
    const ref = new MonitorRef(this.#nextRef++)
    const record: MonitorRecord = { ref, target, owner, notify }
    this.#monitors.set(ref.id, record)
    owner?.owned.add(ref.id)
    if (this.isLocal(target)) {
      const entry = this.#processes.get(target.id)
      if (entry !== undefined) entry.localWatchers.add(ref.id)
      else queueMicrotask(() => this.#fire(record, 'noproc'))
    } else if (this.#isStale(target.node)) {
      queueMicrotask(() => this.#fire(record, 'noproc'))
    } else if (this.#state !== 'running') {
      queueMicrotask(() => this.#fire(record, 'disconnect'))
    } else {
      this.#transport.send(target.node, [Kind.MONITOR, target.id, ref.id])
    }
    return ref
  }

  #fire(record: MonitorRecord, reason: ExitReason): void {
    if (this.#monitors.get(record.ref.id) !== record) return
    this.#forget(record)
    record.notify({ type: 'down', ref: record.ref, pid: record.target, reason })
  }

  #forget(record: MonitorRecord): void {
    this.#monitors.delete(record.ref.id)
    record.owner?.owned.delete(record.ref.id)
    if (this.isLocal(record.target)) this.#processes.get(record.target.id)?.localWatchers.delete(record.ref.id)
  }

  #link(entry: Entry | null, to: ProcessId): void {
    if (entry === null) return
    const from = entry.process.pid
    if (to.equals(from) || entry.links.has(to.key)) return
    entry.links.set(to.key, to)
    if (this.isLocal(to)) {
      const target = this.#processes.get(to.id)
      if (target !== undefined) target.links.set(from.key, from)
      else queueMicrotask(() => this.#exitSignal(entry, to, 'noproc'))
    } else if (this.#isStale(to.node)) {
      queueMicrotask(() => this.#exitSignal(entry, to, 'noproc'))
    } else {
      this.#transport.send(to.node, [Kind.LINK, from.id, to.id])
    }
  }

  #unlink(entry: Entry | null, to: ProcessId): void {
    if (entry === null || !entry.links.delete(to.key)) return
    const from = entry.process.pid
    if (this.isLocal(to)) this.#processes.get(to.id)?.links.delete(from.key)
    else if (!this.#isStale(to.node)) this.#transport.send(to.node, [Kind.UNLINK, from.id, to.id])
  }

  /** `from`, linked to `entry`'s process, ended with `reason`. */
  #exitSignal(entry: Entry | undefined, from: ProcessId, reason: ExitReason): void {
    if (entry === undefined || !entry.process.alive || !entry.links.delete(from.key)) return
    if (entry.process.trapExit) {
      const message: ExitMessage = { type: 'exit', pid: from, reason }
      entry.process.deliver(message)
    } else if (reason !== 'normal') {
      this.#exit(entry, reason)
    }
  }

  #onFrame(from: NodeId, frame: Frame): void {
    switch (frame[0]) {
      case Kind.SEND:
        this.#processes.get(frame[1])?.process.deliver(frame[2])
        return
      case Kind.NSEND:
        this.nsend(frame[1], frame[2])
        return
      case Kind.MONITOR: {
        const entry = this.#processes.get(frame[1])
        if (entry === undefined) this.#transport.send(from, [Kind.DOWN, frame[2], 'noproc'])
        else entry.remoteWatchers.set(`${from.key}#${frame[2]}`, { node: from, ref: frame[2] })
        return
      }
      case Kind.DEMONITOR:
        this.#processes.get(frame[1])?.remoteWatchers.delete(`${from.key}#${frame[2]}`)
        return
      case Kind.DOWN: {
        const record = this.#monitors.get(frame[1])
        if (record !== undefined && record.target.node.equals(from)) this.#fire(record, frame[2])
        return
      }
      case Kind.LINK: {
        const entry = this.#processes.get(frame[2])
        const linker = new ProcessId(from, frame[1])
        if (entry === undefined) this.#transport.send(from, [Kind.EXIT, frame[2], frame[1], 'noproc'])
        else entry.links.set(linker.key, linker)
        return
      }
      case Kind.UNLINK:
        this.#processes.get(frame[2])?.links.delete(new ProcessId(from, frame[1]).key)
        return
      case Kind.EXIT:
        this.#exitSignal(this.#processes.get(frame[2]), new ProcessId(from, frame[1]), frame[3])
        return
      case Kind.KILL: {
        const entry = this.#processes.get(frame[1])
        if (entry !== undefined) this.#exit(entry, frame[2])
      }
    }
  }

  #onPeerDown(peer: NodeId, reason: PeerDownReason): void {
    log('lost %s: %s', peer, reason)
    for (const record of [...this.#monitors.values()]) {
      if (record.target.node.equals(peer)) this.#fire(record, reason)
    }
    for (const entry of [...this.#processes.values()]) {
      for (const [key, watcher] of entry.remoteWatchers) {
        if (watcher.node.equals(peer)) entry.remoteWatchers.delete(key)
      }
      for (const linked of [...entry.links.values()]) {
        if (linked.node.equals(peer)) this.#exitSignal(entry, linked, reason)
      }
    }
    this.#emit('nodedown', peer, reason)
  }

  #say(pid: ProcessId, text: string): void {
    log('%s: %s', pid, text)
    const { logTrace } = this.#options
    if (logTrace !== undefined) {
      try {
        logTrace(`${pid}: ${text}`)
      } catch (error) {
        this.#logError('logTrace threw', error as Error)
      }
    }
  }

  #logError(text: string, error?: Error): void {
    log('%s: %O', text, error)
    const { logError } = this.#options
    if (logError === undefined) return
    try {
      logError(error === undefined ? text : `${text}: ${error.message}`, error)
    } catch (thrown) {
      log('logError threw: %O', thrown)
    }
  }

  #emit<E extends keyof NodeEvents>(event: E, ...args: NodeEvents[E]): void {
    try {
      ;(this.emit as (event: E, ...args: NodeEvents[E]) => boolean)(event, ...args)
    } catch (error) {
      this.#logError(`a '${event}' listener threw`, error as Error)
    }
  }
}

/** Errors cross the wire as name and message only: causes and extra fields may not encode. */
function wireReason(reason: ExitReason): ExitReason {
  if (!(reason instanceof Error)) return reason
  const error = new Error(reason.message)
  error.name = reason.name
  return error
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer, not ${String(value)}`)
  return value
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === ''
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}
