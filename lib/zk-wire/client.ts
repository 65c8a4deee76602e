import { EventEmitter } from 'node:events'
import { OPEN_ACL_UNSAFE } from './acl.js'
import { Code, ZkError, withCallerStack } from './errors.js'
import type { Watcher, ZkState } from './events.js'
import { parseConnectString } from './hosts.js'
import type { CreateOptions, Data, Op, OpResult } from './multi.js'
import {
  type AddWatchMode,
  type ClientInfo,
  type CreateRequest,
  type SubOp,
  type SubResult,
  type WatcherType,
  AddWatchMode as AddWatchModes,
  CreateFlags,
  WatcherType as WatcherTypes,
  multiOps,
  ops,
} from './operations.js'
import type { ZooKeeperOptions } from './options.js'
import { toClientPath, toServerPath, validatePath } from './paths.js'
import { DEFAULT_MAX_QUEUED, PersistentWatch, type PersistentWatchOptions } from './persistent-watch.js'
import type { ACL, Stat } from './records.js'
import { Session } from './session.js'
import { type DeleteRecursiveOptions, type MkdirpOptions, deleteRecursive, mkdirp } from './tree.js'
import type { WatchedPaths } from './watches.js'

export type { TlsOptions, ZooKeeperOptions } from './options.js'
export type { DeleteRecursiveOptions, MkdirpOptions } from './tree.js'

/** A node's data and metadata. A node whose data is null reads as an empty buffer. */
export interface DataAndStat {
  data: Buffer
  stat: Stat
}

/** Options of {@link ZooKeeper.removeWatches}. */
export interface RemoveWatchesOptions {
  /** Remove the watches here even when the server refuses or cannot be reached (the Java client's `local`). Default false. */
  local?: boolean
}

/** Answers after which `removeWatches({ local: true })` removes the watches here without the server. */
const UNREACHABLE: ReadonlySet<number> = new Set([Code.CONNECTIONLOSS, Code.OPERATIONTIMEOUT])

/** Options of the reads that can set a one-shot watch. */
export interface WatchOption {
  /** A one-shot watch: called at most once with the next change (or the end of the session). */
  watch?: Watcher
}

const EMPTY = Buffer.alloc(0)
const MAX_TTL = 0xffffffffff

function toBytes(data: Data | null): Uint8Array | null {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data
}

/**
 * A ZooKeeper session. Create one with {@link ZooKeeper.connect}. All
 * operations return promises; paths are relative to the chroot of the connect
 * string. The session survives connection loss (the client moves to another
 * server and re-attaches it); it ends with `close()`, expiry or auth failure.
 *
 * Events: `'state'` with the new {@link ZkState}.
 */
export class ZooKeeper extends EventEmitter<{ state: [ZkState] }> {
  private readonly session: Session
  private readonly chroot: string
  private readonly captureStack: boolean

  /** Starts connecting at once; prefer {@link ZooKeeper.connect}, which also waits for the session. */
  constructor(
    private readonly connectString: string,
    private readonly options: ZooKeeperOptions = {},
  ) {
    super()
    const target = parseConnectString(connectString)
    this.chroot = target.chroot
    const sessionTimeout = options.sessionTimeout ?? 10_000
    this.captureStack = options.captureStack ?? false
    this.session = new Session(target, {
      ...options,
      sessionTimeout,
      requestTimeout: options.requestTimeout ?? sessionTimeout,
      maxBufferSize: options.maxBufferSize ?? 1024 * 1024 + 4096,
      canBeReadOnly: options.canBeReadOnly ?? false,
      captureStack: this.captureStack,
    })
    this.session.on('state', (s) => this.emit('state', s))
  }

  /**
   * Connects to an ensemble and resolves once a session is established.
   * `connectString` is `host:port,host:port[/chroot]`.
   */
  static async connect(connectString: string, options: ZooKeeperOptions = {}): Promise<ZooKeeper> {
    const zk = new ZooKeeper(connectString, options)
    try {
      await zk.whenConnected(options.connectTimeout ?? options.sessionTimeout ?? 10_000)
    } catch (err) {
      await zk.close()
      throw err
    }
    return zk
  }

  /** The current session state. */
  get state(): ZkState {
    return this.session.state
  }

  /**
   * The paths this client watches now, by kind (as the Java client's
   * `getDataWatches`, `getExistWatches`, `getChildWatches`…): a one-shot
   * watch until it fires or is removed, a persistent one until closed. These
   * are what the client re-sets on every new connection; a watch left here
   * after its reader gave up is a leak.
   */
  get watched(): WatchedPaths {
    return this.session.watches.watched()
  }

  /** The session id (0n before the first connection). */
  get sessionId(): bigint {
    return this.session.sessionId
  }

  /** The session password, needed with `sessionId` to re-attach the session from another client. */
  get sessionPassword(): Buffer {
    return this.session.sessionPassword
  }

  /** The session timeout the server granted, in milliseconds. */
  get negotiatedTimeout(): number {
    return this.session.negotiatedTimeout
  }

  /** The chroot of the connect string (`''` if none). */
  get chrootPath(): string {
    return this.chroot
  }

  /**
   * When the client last heard from a server of this session (ms since the
   * epoch, on the client's clock — `options.env`, by default monotonic:
   * `performance.timeOrigin + performance.now()`, which a step of the system
   * clock does not move): replies, notifications or pings. While disconnected
   * it stops advancing, so `now - lastHeardAt` bounds how long the server may
   * already have been counting down the session timeout — what a leader must
   * watch to step down before its session can have expired.
   */
  get lastHeardAt(): number {
    return this.session.lastHeardAt
  }

  /** The server the client is attached to now (`host:port`), or null. */
  get currentServer(): string | null {
    return this.session.currentServer
  }

  /** Resolves when the session is connected (read-write or read-only); rejects on a terminal state or after `timeoutMs`. */
  whenConnected(timeoutMs?: number): Promise<void> {
    return this.session.whenConnected(timeoutMs)
  }

  /** Resolves when the client reaches a terminal state: to the error for expiry or auth failure, to undefined for `close()`. Never rejects. */
  closed(): Promise<Error | void> {
    return this.session.closed()
  }

  /**
   * Ends the session on the server (its ephemeral nodes go at once) and
   * releases every socket and timer. Safe to call twice or while reconnecting.
   */
  close(): Promise<void> {
    return this.session.close()
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /**
   * A new client with the same connect string and options but a fresh
   * session: what an application does after `expired` (this client never
   * starts a new session by itself, so nothing it held is silently lost).
   * Watches and ephemeral nodes of the old session are not carried over.
   */
  newSession(): Promise<ZooKeeper> {
    const { sessionId: _id, sessionPassword: _pw, ...options } = this.options
    return ZooKeeper.connect(this.connectString, options)
  }

  private serverPath(path: string, op: string, sequential = false): string {
    validatePath(path, op, sequential)
    return toServerPath(this.chroot, path)
  }

  private clientPath(path: string): string {
    return toClientPath(this.chroot, path)
  }

  private createRequest(path: string, data: Data | null, options: CreateOptions, op: string): CreateRequest {
    const mode = options.mode ?? 'persistent'
    const flags = CreateFlags[mode]
    if (flags === undefined) throw new ZkError(Code.BADARGUMENTS, { op, path, message: `unknown create mode "${String(mode)}"` })
    const withTtl = mode === 'persistent_with_ttl' || mode === 'persistent_sequential_with_ttl'
    if (withTtl && !(Number.isInteger(options.ttl) && options.ttl! > 0 && options.ttl! <= MAX_TTL)) {
      throw new ZkError(Code.BADARGUMENTS, { op, path, message: `mode ${mode} needs a ttl in 1..${MAX_TTL} ms` })
    }
    if (!withTtl && options.ttl !== undefined) {
      throw new ZkError(Code.BADARGUMENTS, { op, path, message: `ttl is only allowed with the *_with_ttl modes` })
    }
    const sequential = mode.includes('sequential')
    const acl = options.acl ?? OPEN_ACL_UNSAFE
    if (!Array.isArray(acl) || acl.length === 0) throw new ZkError(Code.INVALIDACL, { op, path, message: 'an ACL list must not be empty' })
    const req: CreateRequest = { path: this.serverPath(path, op, sequential), data: toBytes(data), acl, flags }
    if (withTtl) req.ttl = BigInt(options.ttl!)
    return req
  }

  /**
   * Runs a public call. Its errors get the caller's stack: this async frame is
   * what the caller awaits, so V8's async stack trace names the caller's line at
   * no cost on success (capturing a stack per call costs ~5 µs; `captureStack`
   * does that instead, for callers that do not await).
   */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof ZkError && !this.captureStack) {
        const origin: { stack?: string } = {}
        Error.captureStackTrace(origin, this.guard)
        withCallerStack(err, origin)
      }
      throw err
    }
  }

  /**
   * Creates a node and resolves with its path (for sequential modes, with the
   * number the server appended). `data` may be null.
   */
  create(path: string, data: Data | null = null, options: CreateOptions = {}): Promise<string> {
    return this.guard(() => {
      const req = this.createRequest(path, data, options, 'create')
      if (req.flags === CreateFlags.container || req.ttl !== undefined) {
        return this.create2(path, data, options).then((r) => r.path)
      }
      return this.session.submit(ops.create, req, path, (err, created: string) => {
        if (err !== 0) throw err
        return this.clientPath(created)
      })
    })
  }

  /** Creates a node and resolves with its path and Stat. */
  create2(path: string, data: Data | null = null, options: CreateOptions = {}): Promise<{ path: string; stat: Stat }> {
    return this.guard(() => {
      const req = this.createRequest(path, data, options, 'create2')
      const op = req.flags === CreateFlags.container ? ops.createContainer : req.ttl !== undefined ? ops.createTTL : ops.create2
      return this.session.submit(op, req, path, (err, r: { path: string; stat: Stat }) => {
        if (err !== 0) throw err
        return { path: this.clientPath(r.path), stat: r.stat }
      })
    })
  }

  /** Deletes a node; `version` -1 (default) matches any. */
  delete(path: string, version = -1): Promise<void> {
    return this.guard(() => this.session.submit(ops.delete, { path: this.serverPath(path, 'delete'), version }, path))
  }

  /**
   * The node's Stat, or null if it does not exist. A `watch` is set either
   * way: it fires on creation, change or deletion.
   */
  exists(path: string, options: WatchOption = {}): Promise<Stat | null> {
    return this.guard(() => {
      const watch = options.watch
      return this.session.submit(ops.exists, { path: this.serverPath(path, 'exists'), watch: watch !== undefined }, path, (err, stat: Stat) => {
        if (err === 0) {
          if (watch) this.session.watches.add('data', path, watch)
          return stat
        }
        if (err === Code.NONODE) {
          if (watch) this.session.watches.add('exist', path, watch)
          return null
        }
        throw err
      })
    })
  }

  /** The node's data and Stat. A `watch` fires on change or deletion. */
  getData(path: string, options: WatchOption = {}): Promise<DataAndStat> {
    return this.guard(() => {
      const watch = options.watch
      return this.session.submit(ops.getData, { path: this.serverPath(path, 'getData'), watch: watch !== undefined }, path, (err, r: { data: Buffer | null; stat: Stat }) => {
        if (err !== 0) throw err
        if (watch) this.session.watches.add('data', path, watch)
        return { data: r.data ?? EMPTY, stat: r.stat }
      })
    })
  }

  /** Replaces the node's data if its version matches (`-1`, the default, matches any). */
  setData(path: string, data: Data | null, version = -1): Promise<Stat> {
    return this.guard(() => this.session.submit(ops.setData, { path: this.serverPath(path, 'setData'), data: toBytes(data), version }, path))
  }

  /**
   * The names of the node's children (unsorted, as the server keeps them).
   * With `stat: true`, resolves to `{ children, stat }`. A `watch` fires when
   * a child is added or removed, or the node is deleted.
   */
  getChildren(path: string, options?: WatchOption & { stat?: false }): Promise<string[]>
  getChildren(path: string, options: WatchOption & { stat: true }): Promise<{ children: string[]; stat: Stat }>
  getChildren(path: string, options: WatchOption & { stat?: boolean } = {}): Promise<string[] | { children: string[]; stat: Stat }> {
    return this.guard(() => {
      const watch = options.watch
      const req = { path: this.serverPath(path, 'getChildren'), watch: watch !== undefined }
      const register = <T>(err: number, value: T): T => {
        if (err !== 0) throw err
        if (watch) this.session.watches.add('child', path, watch)
        return value
      }
      return options.stat ? this.session.submit(ops.getChildren2, req, path, register) : this.session.submit(ops.getChildren, req, path, register)
    })
  }

  /** Waits until the server this client is attached to has caught up with the leader on `path`. */
  sync(path: string): Promise<void> {
    return this.guard(() => this.session.submit(ops.sync, { path: this.serverPath(path, 'sync') }, path, (err) => {
      if (err !== 0) throw err
    }))
  }

  /** The node's ACL and Stat. */
  getACL(path: string): Promise<{ acl: ACL[]; stat: Stat }> {
    return this.guard(() => this.session.submit(ops.getACL, { path: this.serverPath(path, 'getACL') }, path))
  }

  /** Replaces the node's ACL if its ACL version (`aversion`) matches (`-1` matches any). */
  setACL(path: string, acl: readonly ACL[], version = -1): Promise<Stat> {
    return this.guard(() => {
      if (!Array.isArray(acl) || acl.length === 0) throw new ZkError(Code.INVALIDACL, { op: 'setACL', path, message: 'an ACL list must not be empty' })
      return this.session.submit(ops.setACL, { path: this.serverPath(path, 'setACL'), acl, version }, path)
    })
  }

  /**
   * Adds credentials to the session (e.g. `addAuth('digest', 'user:pw')`);
   * they are sent again on every reconnect. Wrong credentials reject with
   * AUTHFAILED and end the session (state `authFailed`), as ZooKeeper closes it.
   */
  addAuth(scheme: string, credentials: string | Buffer): Promise<void> {
    const terminal = this.session.terminalError('addAuth')
    if (terminal) return Promise.reject(terminal)
    if (typeof scheme !== 'string' || scheme === '') return Promise.reject(new ZkError(Code.BADARGUMENTS, { op: 'addAuth', message: 'empty scheme' }))
    return this.session.addAuth(scheme, Buffer.from(credentials))
  }


  /** Paths of the ephemeral nodes this session owns under `prefix` (default: all). */
  getEphemerals(prefix = '/'): Promise<string[]> {
    return this.guard(() =>
      this.session.submit(ops.getEphemerals, { path: this.serverPath(prefix, 'getEphemerals') }, prefix, (err, paths: string[]) => {
        if (err !== 0) throw err
        const inside = this.chroot === '' ? paths : paths.filter((p) => p === this.chroot || p.startsWith(this.chroot + '/'))
        return inside.map((p) => this.clientPath(p))
      }),
    )
  }

  /**
   * The identities this session is authenticated as, as the server sees them
   * (ZooKeeper 3.7+, opcode 107): e.g. `{ authScheme: 'ip', user: '127.0.0.1' }`,
   * `{ authScheme: 'digest', user: 'alice' }`.
   */
  whoAmI(): Promise<ClientInfo[]> {
    return this.guard(() => this.session.submit(ops.whoAmI, undefined, undefined))
  }

  /**
   * The ensemble's dynamic configuration, the data of `/zookeeper/config`
   * (read outside the chroot, as ZooKeeper's `getConfig` does), and its Stat.
   * Empty on a standalone server without reconfig.
   */
  getConfig(): Promise<DataAndStat> {
    return this.guard(() =>
      this.session.submit(ops.getData, { path: '/zookeeper/config', watch: false }, '/zookeeper/config', (err, r: { data: Buffer | null; stat: Stat }) => {
        if (err !== 0) throw err
        return { data: r.data ?? EMPTY, stat: r.stat }
      }),
    )
  }

  /** The number of descendants of `path` (not counting itself). */
  getAllChildrenNumber(path: string): Promise<number> {
    return this.guard(() => this.session.submit(ops.getAllChildrenNumber, { path: this.serverPath(path, 'getAllChildrenNumber') }, path))
  }

  /**
   * Sets a persistent watch on `path` (`'persistent'`: every event on the node
   * itself, children changes included; `'persistentRecursive'`: creations,
   * changes and deletions anywhere below it). Resolves, once the server holds
   * the watch, to an async iterable of events; `close()` removes it. The watch
   * survives reconnects; the iterator throws SESSIONEXPIRED if the session ends.
   * At most `maxQueued` unread events are kept (default 10 000); past that,
   * events are dropped and a gap marker is queued (see {@link PersistentWatch}).
   */
  addWatch(path: string, mode: AddWatchMode, options: PersistentWatchOptions = {}): Promise<PersistentWatch> {
    return this.guard(() => {
      const type = AddWatchModes[mode]
      if (type === undefined) throw new ZkError(Code.BADARGUMENTS, { op: 'addWatch', path, message: `unknown watch mode "${String(mode)}"` })
      const maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED
      if (!Number.isInteger(maxQueued) || maxQueued < 1) throw new ZkError(Code.BADARGUMENTS, { op: 'addWatch', path, message: `maxQueued must be a positive integer (got ${String(maxQueued)})` })
      const recursive = mode === 'persistentRecursive'
      return this.session.submit(ops.addWatch, { path: this.serverPath(path, 'addWatch'), type }, path, (err) => {
        if (err !== 0) throw err
        const watch: PersistentWatch = new PersistentWatch(path, mode, () => this.unwatch(path, recursive, watch), maxQueued)
        this.session.watches.addPersistent(path, recursive, watch)
        return watch
      })
    })
  }

  private async unwatch(path: string, recursive: boolean, sink: PersistentWatch): Promise<void> {
    this.session.watches.removePersistent(path, recursive, sink)
    if (this.session.watches.hasPersistent(path, recursive) || !this.session.isConnected()) return
    const serverPath = toServerPath(this.chroot, path)
    // Any failure leaves nothing behind on the server: watches belong to the connection, and
    // the next one only gets those the registry still holds (SetWatches), or none at all.
    const remove = (type: number): Promise<number> =>
      this.session.submit(ops.removeWatches, { path: serverPath, type }, path, (err) => err).catch(() => Code.OK)
    const err = await remove(recursive ? WatcherTypes.persistentRecursive : WatcherTypes.persistent)
    if (err !== Code.MARSHALLINGERROR && err !== Code.BADARGUMENTS && err !== Code.UNIMPLEMENTED) return
    // Servers before 3.9 cannot remove one persistent watch: remove all of this
    // session's watches on the path, then set again the ones still wanted here.
    await remove(WatcherTypes.any)
    await this.rearm(path, serverPath)
  }

  /** Sets again on the server every watch the registry still holds for `path`. */
  private async rearm(path: string, serverPath: string): Promise<void> {
    const held = this.session.watches.kindsOn(path)
    const ignore = (): undefined => undefined
    const calls: Promise<unknown>[] = []
    if (held.persistent) calls.push(this.session.submit(ops.addWatch, { path: serverPath, type: AddWatchModes.persistent }, path, ignore))
    if (held.persistentRecursive) calls.push(this.session.submit(ops.addWatch, { path: serverPath, type: AddWatchModes.persistentRecursive }, path, ignore))
    if (held.data || held.exist) calls.push(this.session.submit(ops.exists, { path: serverPath, watch: true }, path, ignore))
    if (held.child) calls.push(this.session.submit(ops.getChildren, { path: serverPath, watch: true }, path, ignore))
    await Promise.all(calls.map((c) => c.catch(ignore)))
  }

  /**
   * Removes every watch of `type` on `path`, here and on the server. One-shot
   * watchers hear `DataWatchRemoved`/`ChildWatchRemoved`; persistent watches end.
   * Rejects with NOWATCHER if the server holds no such watch.
   *
   * With `local: true` (the Java client's `local`, zkCli's `removewatches -l`)
   * the watches go here whatever the server answers: the server is asked when
   * connected, but its refusal or a lost connection still removes them here; while
   * disconnected nobody waits for a server, they go at once (the event's state is
   * then `disconnected`) and are not set again on the next connection. Rejects with
   * NOWATCHER only when neither side had one.
   */
  removeWatches(path: string, type: WatcherType, options: RemoveWatchesOptions = {}): Promise<void> {
    return this.guard(async () => {
      const code = WatcherTypes[type]
      if (code === undefined) throw new ZkError(Code.BADARGUMENTS, { op: 'removeWatches', path, message: `unknown watcher type "${String(type)}"` })
      const req = { path: this.serverPath(path, 'removeWatches'), type: code }
      if (options.local !== true) {
        return this.session.submit(ops.removeWatches, req, path, (err) => {
          if (err !== 0) throw err
          this.removeHere(path, type, 'connected')
        })
      }
      if (!this.session.isConnected()) {
        if (this.removeHere(path, type, 'disconnected') === 0) throw new ZkError(Code.NOWATCHER, { op: 'removeWatches', path })
        return
      }
      let answer: number
      try {
        answer = await this.session.submit(ops.removeWatches, req, path, (err) => err)
      } catch (err) {
        if (!(err instanceof ZkError) || !UNREACHABLE.has(err.code)) throw err
        answer = err.code
      }
      const removed = this.removeHere(path, type, UNREACHABLE.has(answer) ? 'disconnected' : 'connected')
      if (removed === 0 && answer !== Code.OK) throw new ZkError(Code.NOWATCHER, { op: 'removeWatches', path })
    })
  }

  /** Removes this client's watches of `type` on `path`; returns how many there were. */
  private removeHere(path: string, type: WatcherType, state: ZkState): number {
    const w = this.session.watches
    let removed = 0
    if (type === 'persistent' || type === 'any') removed += w.endPersistent(path, false)
    if (type === 'persistentRecursive' || type === 'any') removed += w.endPersistent(path, true)
    if (type === 'data' || type === 'children' || type === 'any') removed += w.removeOneShot(path, type, state)
    return removed
  }

  /** Resolves if the server holds a watch of `type` on `path` for this session; rejects with NOWATCHER otherwise. */
  checkWatches(path: string, type: WatcherType): Promise<void> {
    return this.guard(() => {
      const code = WatcherTypes[type]
      if (code === undefined) throw new ZkError(Code.BADARGUMENTS, { op: 'checkWatches', path, message: `unknown watcher type "${String(type)}"` })
      return this.session.submit(ops.checkWatches, { path: this.serverPath(path, 'checkWatches'), type: code }, path, (err) => {
        if (err !== 0) throw err
      })
    })
  }

  private subOps(list: readonly Op[], name: string, allowed: readonly Op['type'][]): SubOp[] {
    if (!Array.isArray(list)) throw new ZkError(Code.BADARGUMENTS, { op: name, message: 'expected an array of operations' })
    return list.map((o): SubOp => {
      if (!allowed.includes(o?.type)) throw new ZkError(Code.BADARGUMENTS, { op: name, message: `${String(o?.type)} is not allowed in ${name}` })
      switch (o.type) {
        case 'create':
          return { type: 'create', req: this.createRequest(o.path, o.data, o.options, name) }
        case 'delete':
        case 'check':
          return { type: o.type, req: { path: this.serverPath(o.path, name), version: o.version } }
        case 'setData':
          return { type: 'setData', req: { path: this.serverPath(o.path, name), data: toBytes(o.data), version: o.version } }
        case 'getData':
        case 'getChildren':
          return { type: o.type, req: { path: this.serverPath(o.path, name) } }
        default:
          throw new ZkError(Code.BADARGUMENTS, { op: name, message: 'unknown operation' })
      }
    })
  }

  private toResult(r: SubResult, origin: Op | undefined): OpResult {
    switch (r.type) {
      case 'create':
        return { type: 'create', path: this.clientPath(r.path), stat: r.stat }
      case 'getData':
        return { type: 'getData', data: r.data ?? EMPTY, stat: r.stat }
      case 'error':
        return { type: 'error', error: new ZkError(r.err, { op: origin?.type ?? 'multi', path: origin?.path }) }
      default:
        return r
    }
  }

  /**
   * Runs create/delete/setData/check operations atomically: all apply or
   * none. Resolves with one result per operation. If one fails, rejects with
   * that operation's {@link ZkError} (its `path` is the failing operation's),
   * whose `results` hold every operation's outcome.
   */
  multi(list: readonly Op[]): Promise<OpResult[]> {
    return this.guard(() => {
      const subs = this.subOps(list, 'multi', ['create', 'delete', 'setData', 'check'])
      return this.session.submit(multiOps.multi, subs, undefined, (err, raw: SubResult[] | undefined) => {
        if (raw === undefined) throw err === 0 ? Code.MARSHALLINGERROR : err
        const results = raw.map((r, i) => this.toResult(r, list[i]))
        const failed = results.findIndex((r) => r.type === 'error' && r.error.code !== 0 && r.error.code !== Code.RUNTIMEINCONSISTENCY)
        if (failed === -1 && err === 0) return results
        const first = results[failed]
        const cause = first?.type === 'error' ? first.error : new ZkError(err, { op: 'multi' })
        const error = new ZkError(cause.code, { op: 'multi', path: cause.path })
        error.results = results
        throw error
      })
    })
  }

  /**
   * Creates `path` and every missing ancestor (`mode` applies to each node
   * created, `data` to the last one). Nodes created meanwhile by others count
   * as created. Resolves once `path` exists; a path thousands of levels deep
   * works (missing levels go in bounded `multi` batches, no recursion).
   */
  mkdirp(path: string, options: MkdirpOptions = {}): Promise<void> {
    return this.guard(() => mkdirp(this, path, options))
  }

  /**
   * Deletes `path` and all its descendants, deepest first, in `multi`
   * batches of at most `batchSize` deletions. Nodes that vanish meanwhile are
   * skipped and children created meanwhile are deleted too. Resolves once
   * `path` is gone (at once if it never existed).
   */
  deleteRecursive(path: string, options: DeleteRecursiveOptions = {}): Promise<void> {
    return this.guard(() => deleteRecursive(this, path, options))
  }

  /** Runs getData/getChildren operations in one round trip; each fails or succeeds on its own. */
  multiRead(list: readonly Op[]): Promise<OpResult[]> {
    return this.guard(() => {
      const subs = this.subOps(list, 'multiRead', ['getData', 'getChildren'])
      return this.session.submit(multiOps.multiRead, subs, undefined, (err, raw: SubResult[] | undefined) => {
        if (err !== 0 || raw === undefined) throw err === 0 ? Code.MARSHALLINGERROR : err
        return raw.map((r, i) => this.toResult(r, list[i]))
      })
    })
  }
}
