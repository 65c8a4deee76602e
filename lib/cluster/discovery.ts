import type { Watcher, WatchedEvent, ZooKeeper } from '../zk-wire/index.js'
import { NodeId, ProcessId, type Node } from '../runtime/index.js'
import { Cache } from './cache.js'
import type { Ephemerals } from './ephemerals.js'
import type { Log } from './log.js'
import { sortCandidates, validateName, type Layout } from './paths.js'
import type { Session } from './session.js'
import { isZk } from './znodes.js'

const NO_PIDS: readonly ProcessId[] = Object.freeze([])
const NO_NODES: readonly NodeId[] = Object.freeze([])
const PEERS = 'peers'

/** A cache whose entries are evicted by ZooKeeper watches: one stable watcher per key. */
class WatchedCache<V> {
  readonly entries = new Cache<string, V>()
  readonly #watchers = new Map<string, Watcher>()

  constructor(
    private readonly kind: string,
    private readonly log: Log,
  ) {}

  /**
   * The watcher that evicts `key`. The same function every time, so the
   * client keeps one watcher per path however often the key is read again.
   */
  watcher(key: string): Watcher {
    let watcher = this.#watchers.get(key)
    if (watcher === undefined) {
      watcher = (event: WatchedEvent) => {
        if (this.entries.evict(key)) this.log.trace(`cache evict: ${this.kind} ${key} (${event.type === 'None' ? event.state : event.type})`)
      }
      this.#watchers.set(key, watcher)
    }
    return watcher
  }
}

/**
 * Reads the process holding the global `name`: the pid in the data of the
 * lowest candidate. With `watch`, leaves exactly one watch that fires when the
 * answer may change: on that candidate (its deletion), or — when there is no
 * candidate — on the directory (the first one to come) or its creation.
 */
export async function readGlobal(zk: ZooKeeper, layout: Layout, name: string, watch?: Watcher): Promise<ProcessId | null> {
  const dir = layout.candidates(name)
  for (;;) {
    let children: string[]
    try {
      children = await zk.getChildren(dir)
    } catch (error) {
      if (!isZk(error, 'NONODE')) throw error
      if ((await zk.exists(dir, { watch })) === null) return null
      continue
    }
    const [holder] = sortCandidates(children)
    if (holder === undefined) {
      if (watch === undefined) return null
      try {
        if (sortCandidates(await zk.getChildren(dir, { watch })).length === 0) return null
      } catch (error) {
        if (!isZk(error, 'NONODE')) throw error
      }
      continue
    }
    try {
      return ProcessId.decode((await zk.getData(`${dir}/${holder.child}`, { watch })).data)
    } catch (error) {
      if (!isZk(error, 'NONODE')) throw error
    }
  }
}

/**
 * Service and node discovery: this node's registrations, and a cache of
 * what other nodes registered that ZooKeeper watches keep honest. A lookup
 * that misses reads ZooKeeper once (concurrent misses share the read) and
 * leaves one watch; when it fires, that entry alone is evicted.
 */
export class Discovery {
  readonly #services: WatchedCache<readonly ProcessId[]>
  readonly #globals: WatchedCache<ProcessId | null>
  readonly #peers: WatchedCache<readonly NodeId[]>
  /** This node's registrations, by pid key: the process and the services it is registered under. */
  readonly #registered = new Map<string, { readonly pid: ProcessId; readonly services: Set<string> }>()

  constructor(
    private readonly node: Node,
    private readonly session: Session,
    private readonly layout: Layout,
    private readonly ephemerals: Ephemerals,
    private readonly log: Log,
  ) {
    this.#services = new WatchedCache('service', log)
    this.#globals = new WatchedCache('global', log)
    this.#peers = new WatchedCache('peers', log)
  }

  /**
   * Advertises the local process `pid` under `service`; resolves once the
   * znode exists. Removed when the process ends or by {@link unregister}.
   */
  async register(service: string, pid: ProcessId): Promise<void> {
    validateName('service', service)
    if (!this.node.isAlive(pid)) throw new Error(`cannot register ${pid} as ${JSON.stringify(service)}: it is not a live process of ${this.node.id}`)
    let registration = this.#registered.get(pid.key)
    if (registration === undefined) this.#registered.set(pid.key, (registration = { pid, services: new Set() }))
    registration.services.add(service)
    try {
      await this.ephemerals.add(this.layout.member(service, pid), pid.encode())
    } catch (error) {
      this.#forget(pid, service)
      throw error
    }
  }

  /** Withdraws `pid` (or, without it, every local process) from `service`; resolves once ZooKeeper agrees. */
  async unregister(service: string, pid?: ProcessId): Promise<void> {
    validateName('service', service)
    const removals: Promise<void>[] = []
    for (const registration of [...this.#registered.values()]) {
      if (!registration.services.has(service) || (pid !== undefined && !registration.pid.equals(pid))) continue
      this.#forget(registration.pid, service)
      removals.push(this.#withdraw(service, registration.pid))
    }
    await Promise.all(removals)
  }

  /** A local process ended: its registrations go. */
  processExited(pid: ProcessId): void {
    const registration = this.#registered.get(pid.key)
    if (registration === undefined) return
    this.#registered.delete(pid.key)
    for (const service of registration.services) {
      this.#withdraw(service, pid).catch(error => this.log.error(`could not withdraw ${pid} from ${service}`, error as Error))
    }
  }

  /** The processes registered under `service`, in a stable order, from the cache when possible. */
  getCapable(service: string): Promise<readonly ProcessId[]> {
    const held = this.#services.entries.get(service)
    if (held !== undefined) return held
    return this.#miss(this.#services, 'service', service, zk => this.#readService(zk, service))
  }

  /** Every live node of the cluster (this one included), from the cache when possible. */
  getPeers(): Promise<readonly NodeId[]> {
    return this.#peers.entries.get(PEERS) ?? this.#miss(this.#peers, 'peers', PEERS, zk => this.#readPeers(zk))
  }

  /** The process holding the global `name`, or null; from the cache when possible. */
  whereisGlobal(name: string): Promise<ProcessId | null> {
    const held = this.#globals.entries.get(name)
    if (held !== undefined) return held
    return this.#miss(this.#globals, 'global name', name, zk => readGlobal(zk, this.layout, name, this.#globals.watcher(name)))
  }

  /** Forgets the cached holder of `name` (its local holder just ended). */
  evictGlobal(name: string): void {
    this.#globals.entries.evict(name)
  }

  /** Drops every cached answer; the next lookups read ZooKeeper again. */
  clearCache(): void {
    this.#services.entries.clear()
    this.#globals.entries.clear()
    this.#peers.entries.clear()
  }

  /** Removes a local member: from this node's cached list at once (no read needed), and from ZooKeeper. */
  #withdraw(service: string, pid: ProcessId): Promise<void> {
    this.#services.entries.update(service, members => (members.some(member => member.equals(pid)) ? Object.freeze(members.filter(member => !member.equals(pid))) : members))
    return this.ephemerals.remove(this.layout.member(service, pid))
  }

  #forget(pid: ProcessId, service: string): void {
    const registration = this.#registered.get(pid.key)
    registration?.services.delete(service)
    if (registration?.services.size === 0) this.#registered.delete(pid.key)
  }

  #miss<V>(cache: WatchedCache<V>, kind: 'service' | 'global name' | 'peers', key: string, read: (zk: ZooKeeper) => Promise<V>): Promise<V> {
    try {
      if (kind !== 'peers') validateName(kind, key)
    } catch (error) {
      return Promise.reject(error)
    }
    return cache.entries.load(key, () => {
      this.log.trace(`cache miss: ${kind === 'global name' ? 'global' : kind}${kind === 'peers' ? '' : ` ${key}`}`)
      return this.session.read(read)
    })
  }

  async #readService(zk: ZooKeeper, service: string): Promise<readonly ProcessId[]> {
    const children = await this.#readChildren(zk, this.layout.service(service), this.#services.watcher(service))
    return children.length === 0 ? NO_PIDS : Object.freeze(this.#parse(children, ProcessId.parse, `service ${service}`))
  }

  async #readPeers(zk: ZooKeeper): Promise<readonly NodeId[]> {
    const children = await this.#readChildren(zk, this.layout.nodes, this.#peers.watcher(PEERS))
    return children.length === 0 ? NO_NODES : Object.freeze(this.#parse(children, NodeId.parse, 'nodes'))
  }

  /** The children of `dir` with a child watch, or `[]` with a watch on its creation when it does not exist. */
  async #readChildren(zk: ZooKeeper, dir: string, watch: Watcher): Promise<string[]> {
    for (;;) {
      try {
        return (await zk.getChildren(dir, { watch })).sort()
      } catch (error) {
        if (!isZk(error, 'NONODE')) throw error
      }
      if ((await zk.exists(dir, { watch })) === null) return []
    }
  }

  #parse<T>(children: readonly string[], parse: (text: string) => T, where: string): T[] {
    const parsed: T[] = []
    for (const child of children) {
      try {
        parsed.push(parse(child))
      } catch {
        this.log.error(`ignoring ${JSON.stringify(child)} in ${where}: not written by zkcloud`)
      }
    }
    return parsed
  }
}
