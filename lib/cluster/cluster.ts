import { EventEmitter } from 'node:events'
import type { ZooKeeper } from '../zk-wire/index.js'
import { Node, type NodeId, type ProcessId } from '../runtime/index.js'
import { Discovery } from './discovery.js'
import { Elections, type GlobalFunction, type Leadership, type StepDownReason } from './election.js'
import { Ephemerals } from './ephemerals.js'
import { ClusterError } from './errors.js'
import { makeLog, type Log } from './log.js'
import { mirrorRegistry } from './mirror.js'
import { resolveOptions, type ClusterOptions, type ResolvedOptions } from './options.js'
import { Session, type SessionState } from './session.js'
import { ensureLayout, isClosed, isTransient, isZk } from './znodes.js'

/** Events of a {@link Cluster}; listeners must not throw. */
export interface ClusterEvents {
  /**
   * The ZooKeeper session expired and a new one replaced it; this node and
   * its services are advertised again (its candidacies stand again on their own).
   */
  session: [sessionId: bigint]
  /** This node now runs the global process for `leadership.name`. */
  elected: [leadership: Leadership]
  /** This node's global process for `leadership.name` is gone (already dead when this fires). */
  stepDown: [leadership: Leadership, reason: StepDownReason]
  /** The ZooKeeper connection's state: `'disconnected'` and `'connected'` while the session lives, `'renewing'` after an expiry. */
  connection: [state: SessionState]
}

/** Where a cluster is in its life. */
export type ClusterState = 'running' | 'stopping' | 'stopped'

/**
 * A node that is part of a cluster: it advertises itself and its services in
 * ZooKeeper, finds other nodes' services through a watch-invalidated cache,
 * and stands in elections for global processes. Start one with
 * {@link Cluster.start} (or let {@link bootstrap} run one around a function).
 *
 * Discovery never connects to other nodes: a node connects to another only
 * when it sends to it.
 */
export class Cluster extends EventEmitter<ClusterEvents> implements AsyncDisposable {
  /** The local node: spawn, send and register processes through it. */
  readonly node: Node
  #state: ClusterState = 'running'
  #stopped: Promise<void> | null = null
  readonly #session: Session
  readonly #ephemerals: Ephemerals
  readonly #discovery: Discovery
  readonly #elections: Elections
  readonly #log: Log
  readonly #options: ResolvedOptions
  readonly #unmirror: () => void
  readonly #onExit = (pid: ProcessId): void => this.#discovery.processExited(pid)
  /** Nodes the transport saw go down (by key), and when: left out of `getCapable` for a while. */
  readonly #down = new Map<string, number>()
  readonly #onNodeDown = (peer: NodeId): void => void this.#down.set(peer.key, this.#options.env.now())
  readonly #onNodeUp = (peer: NodeId): void => void this.#down.delete(peer.key)

  /**
   * Starts a node, opens a ZooKeeper session (retrying with backoff for up to
   * `connectTimeout`), creates the cluster's znodes if missing, advertises the
   * node and starts mirroring its registry.
   * @throws TypeError for bad options; Error when ZooKeeper cannot be reached or refuses the cluster's znodes (e.g. NOAUTH)
   */
  static async start(options: ClusterOptions): Promise<Cluster> {
    const resolved = resolveOptions(options)
    const log = makeLog(resolved)
    const node = await Node.start(resolved.node)
    let session: Session | undefined
    try {
      session = await Session.open(
        {
          connectString: resolved.zookeeper,
          connectTimeout: resolved.connectTimeout,
          requestTimeout: resolved.requestTimeout,
          wait: resolved.waitForZooKeeper,
          clock: resolved.env,
          client: { sessionTimeout: resolved.sessionTimeout, requestTimeout: resolved.requestTimeout, env: resolved.env, ...(resolved.credentials && { auth: [[...resolved.credentials]] }) },
        },
        log,
      )
      const cluster = new Cluster(node, session, resolved, log)
      await cluster.#advertise()
      return cluster
    } catch (error) {
      await session?.close()
      await node.stop()
      throw explain(error, resolved)
    }
  }

  private constructor(node: Node, session: Session, options: ResolvedOptions, log: Log) {
    super()
    this.node = node
    this.#session = session
    this.#log = log
    this.#options = options
    const { layout, acl } = options
    this.#ephemerals = new Ephemerals(session, acl, log)
    this.#discovery = new Discovery(node, session, layout, this.#ephemerals, log)
    this.#elections = new Elections({
      node,
      session,
      layout,
      acl,
      log,
      tickTime: options.tickTime,
      stepDownMargin: options.stepDownMargin,
      stepDownOnDisconnect: options.stepDownOnDisconnect,
      env: options.env,
      events: {
        elected: leadership => this.#emit('elected', leadership),
        steppedDown: (leadership, reason) => {
          this.#discovery.evictGlobal(leadership.name)
          this.#emit('stepDown', leadership, reason)
        },
      },
    })
    session.on('state', state => this.#sessionState(state))
    session.on('expired', () => {
      this.#discovery.clearCache()
      this.#elections.sessionExpired()
    })
    session.on('renewed', zk => void this.#renewed(zk))
    node.on('exit', this.#onExit)
    node.on('nodedown', this.#onNodeDown)
    node.on('nodeup', this.#onNodeUp)
    this.#unmirror = mirrorRegistry(node, this.#discovery, options.registerPrefix, log)
  }

  /** `'running'` until `stop()`, `'stopped'` once it has finished. */
  get state(): ClusterState {
    return this.#state
  }

  /** This node's id (`cluster.node.id`). */
  get id(): NodeId {
    return this.node.id
  }

  /** The current ZooKeeper client (another one after a session expiry). Use it to read; the cluster owns the session. */
  get zk(): ZooKeeper {
    return this.#session.zk
  }

  /**
   * Advertises the local process `pid` under `service` (an ephemeral znode
   * `services/<service>/<pid>`); resolves once other nodes can see it. The
   * registration ends with the process, with {@link unregister}, or with the node.
   * @throws TypeError for an invalid name; Error if `pid` is not a live local process
   */
  register(service: string, pid: ProcessId): Promise<void> {
    return this.#call(() => this.#discovery.register(service, pid))
  }

  /** Withdraws `pid` (without it: every local process) from `service`; resolves once ZooKeeper agrees. */
  unregister(service: string, pid?: ProcessId): Promise<void> {
    return this.#call(() => this.#discovery.unregister(service, pid))
  }

  /**
   * The processes registered under `service` anywhere in the cluster, in a
   * stable order. Answered from memory until a watch says the list changed.
   * A process whose node the transport saw go down (its connection broke, or
   * could not be made) is left out at once, although ZooKeeper lists it until
   * that node's session expires; it is back when a connection to its node
   * opens again, or when ZooKeeper still lists it a session timeout (plus a
   * tick) later — the node is alive after all.
   */
  getCapable(service: string): Promise<readonly ProcessId[]> {
    const found = this.#discovery.getCapable(service)
    return this.#down.size === 0 ? found : found.then(pids => this.#reachable(pids))
  }

  /** Sends `message` to every process registered under `service`. */
  async nsendCapable(service: string, message: unknown): Promise<void> {
    for (const pid of await this.getCapable(service)) this.node.send(pid, message)
  }

  /** Every live node of the cluster, this one included. Cached like {@link getCapable}. */
  getPeers(): Promise<readonly NodeId[]> {
    return this.#discovery.getPeers()
  }

  /** Sends `message` to the process registered locally as `name` on every live node. */
  async nsendPeers(name: string, message: unknown): Promise<void> {
    for (const peer of await this.#discovery.getPeers()) this.node.nsendRemote(peer, name, message)
  }

  /**
   * Stands for the global `name`: `fn` runs here, as the one global process
   * of that name in the cluster, when this node is elected — now or after
   * the holders before it are gone. Resolves (once in the queue) to the pid
   * of the current holder. Calling it again for the same name replaces `fn`
   * for future elections, without a new process or znode.
   */
  registerCandidate(name: string, fn: GlobalFunction): Promise<ProcessId> {
    return this.#call(() => this.#elections.registerCandidate(name, fn))
  }

  /** The process holding the global `name`, or null. Answered from memory until a watch says it changed. */
  whereisGlobal(name: string): Promise<ProcessId | null> {
    return this.#discovery.whereisGlobal(name)
  }

  /** The leadership this node holds for `name` (with its fencing token), or null. */
  leadership(name: string): Leadership | null {
    return this.#elections.leadership(name)
  }

  /** Drops every cached answer; the next lookups read ZooKeeper again. */
  clearCache(): void {
    this.#discovery.clearCache()
  }

  /**
   * Kills the local global processes, closes the ZooKeeper session (so every
   * znode of this node vanishes at once and the next candidates take over),
   * then stops the node. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  /** Same as {@link stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop()
  }

  /** `pids` without those whose node is down (forgetting marks older than a session timeout and a tick). */
  #reachable(pids: readonly ProcessId[]): readonly ProcessId[] {
    const hold = this.#session.zk.negotiatedTimeout + this.#options.tickTime
    const now = this.#options.env.now()
    for (const [key, at] of this.#down) if (now - at >= hold) this.#down.delete(key)
    if (this.#down.size === 0) return pids
    const kept = pids.filter(pid => !this.#down.has(pid.node.key))
    return kept.length === pids.length ? pids : Object.freeze(kept)
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping'
    this.#unmirror()
    this.node.off('exit', this.#onExit)
    this.node.off('nodedown', this.#onNodeDown)
    this.node.off('nodeup', this.#onNodeUp)
    // closeSession is written first and the global processes are killed right after, in the
    // same synchronous run: none of them can run between the two, and no other node can be
    // elected before ZooKeeper has processed the close. Killing first would put that work
    // (aborting signals, ending processes: about 0.2 ms) on every graceful handover's path.
    const closing = this.#session.zk.close()
    this.#elections.stop()
    await closing
    await this.#session.close()
    // The close's reply and the events it caused elsewhere come in the same read of the
    // sockets: yield once, so a successor in this process takes over before the teardown.
    await new Promise<void>(resolve => this.#options.env.setTimer(0, resolve))
    await this.node.stop()
    this.#state = 'stopped'
  }

  async #advertise(): Promise<void> {
    const { layout, acl } = this.#options
    await ensureLayout(await this.#session.client(), layout, acl)
    await this.#ephemerals.add(layout.node(this.node.id), this.node.id.encode())
  }

  async #renewed(zk: ZooKeeper): Promise<void> {
    try {
      await ensureLayout(zk, this.#options.layout, this.#options.acl)
      await this.#ephemerals.restore()
    } catch (error) {
      if (!isClosed(error)) this.#log.error('could not advertise this node again on the new session', error as Error)
    }
    this.#elections.sessionBack()
    if (this.#state === 'running') this.#emit('session', zk.sessionId)
  }

  #sessionState(state: SessionState): void {
    if (state === 'disconnected') this.#elections.disconnected()
    if (state === 'connected') this.#elections.sessionBack()
    this.#emit('connection', state)
  }

  /**
   * Runs a call that needs ZooKeeper: refused once stopping (`STOPPED`);
   * unless `waitForZooKeeper`, rejected with a {@link ClusterError} when it has
   * not finished within `requestTimeout` (the work itself goes on).
   */
  #call<T>(action: () => Promise<T>): Promise<T> {
    if (this.#state !== 'running') return Promise.reject(new ClusterError('STOPPED', `the cluster node ${this.node.id} is ${this.#state}`))
    let work: Promise<T>
    try {
      work = action()
    } catch (error) {
      return Promise.reject(error)
    }
    const mapped = work.catch(error => Promise.reject(isClosed(error) || isTransient(error) ? this.#session.unavailable(error) : error))
    if (this.#options.waitForZooKeeper) return mapped
    return new Promise((resolve, reject) => {
      const timer = this.#options.env.setTimer(this.#options.requestTimeout, () => reject(this.#state === 'running' ? this.#session.unavailable() : new ClusterError('STOPPED', `the cluster node ${this.node.id} is ${this.#state}`)))
      mapped.then(
        value => {
          timer.cancel()
          resolve(value)
        },
        error => {
          timer.cancel()
          reject(error)
        },
      )
    })
  }

  #emit<E extends keyof ClusterEvents>(event: E, ...args: ClusterEvents[E]): void {
    try {
      ;(this.emit as (event: E, ...args: ClusterEvents[E]) => boolean)(event, ...args)
    } catch (error) {
      this.#log.error(`a '${event}' listener threw`, error as Error)
    }
  }
}

/** Turns a start-up failure into an error that says what to check. */
function explain(error: unknown, options: ResolvedOptions): unknown {
  const where = `${options.zookeeper} (prefix ${options.layout.root})`
  if (isZk(error, 'NOAUTH')) {
    const who = options.credentials === undefined ? 'without credentials' : `as ${options.credentials[0]}:${options.credentials[1].split(':')[0]}`
    return new Error(`ZooKeeper at ${where} refused the cluster's znodes: not authorized ${who} by their ACL — check the credentials option`, { cause: error })
  }
  if (isZk(error, 'INVALIDACL')) return new Error(`ZooKeeper at ${where} refused the acl option (a creator-only ACL needs credentials)`, { cause: error })
  return error
}
