import type { Watcher, WatchedEvent, ZooKeeper } from '../zk-wire/index.js'
import { NodeId, ProcessId, type Node } from '../runtime/index.js'
import { Cache } from './cache.js'
import { Interner } from './interner.js'
import type { Ephemerals } from './ephemerals.js'
import type { Log } from './log.js'
import { sortCandidates, validateName, type Layout } from './paths.js'
import type { Session } from './session.js'
import { isZk } from './znodes.js'

const PEERS = 'peers'

/**
 * A cache whose entries are evicted by ZooKeeper watches. Each key read has
 * one watcher, reused by every read of that key until it fires: the client
 * then keeps one watcher per path however often the key is read. A watcher
 * that fired is forgotten (the next read gets a new one), so the map holds
 * only the keys that are watched now, not every key ever looked up.
 */
export class WatchedCache<V> {
  readonly entries = new Cache<string, V>()
  readonly #watchers = new Map<string, Watcher>()

  constructor(
    private readonly kind: string,
    private readonly log: Log,
  ) {}

  /** The watcher that evicts `key`. */
  watcher(key: string): Watcher {
    let watcher = this.#watchers.get(key)
    if (watcher === undefined) {
      const own: Watcher = (event: WatchedEvent) => {
        // A watcher forgotten before it fired (its key was dropped or read again since) has
        // nothing left to guard: every read after that set watches of the newer watcher.
        if (this.#watchers.get(key) !== own) return
        this.#watchers.delete(key)
        if (this.entries.evict(key)) this.log.trace(`cache evict: ${this.kind} ${key} (${event.type === 'None' ? event.state : event.type})`)
      }
      this.#watchers.set(key, (watcher = own))
    }
    return watcher
  }

  /** How many keys have a watcher that has not fired yet. */
  get watched(): number {
    return this.#watchers.size
  }

  /** Drops `key`'s entry and forgets its watcher (a later event of it is ignored). */
  evict(key: string): void {
    this.#watchers.delete(key)
    this.entries.evict(key)
  }

  /** Drops every entry and forgets every watcher. */
  clear(): void {
    this.#watchers.clear()
    this.entries.clear()
  }
}

/**
 * The members named by `children` (znode names that are the members' keys),
 * sorted by name, each made by `member` (which reuses what it parsed before;
 * it throws for a name that is not a member, which `ignored` then hears).
 * When the list is the one `previous` held, `previous` itself is the answer.
 *
 * A re-read usually differs from `previous` by a few members (a node joined
 * or left): then only the new names are sorted and made, and merged into the
 * members kept, in order — at 1,000 members that halves the cost of a re-read.
 */
export function membersOf<T extends { readonly key: string }>(
  children: string[],
  previous: readonly T[] | undefined,
  member: (name: string) => T,
  ignored: (name: string) => void,
): readonly T[] {
  if (children.length === 0) return previous?.length === 0 ? previous : Object.freeze([])
  if (previous !== undefined && previous.length > 0 && 2 * previous.length >= children.length) {
    const merged = mergedMembers(children, previous, member, ignored)
    if (merged !== null) return merged
  }
  children.sort()
  const members = made(children, member, ignored)
  if (previous !== undefined && previous.length === members.length && previous.every((m, i) => m === members[i])) return previous
  return Object.freeze(members)
}

/** The members for sorted `names`, in order; names that are not members go to `ignored`. */
function made<T>(names: readonly string[], member: (name: string) => T, ignored: (name: string) => void): T[] {
  const members: T[] = []
  for (const name of names) {
    try {
      members.push(member(name))
    } catch {
      ignored(name)
    }
  }
  return members
}

/**
 * {@link membersOf} by difference with `previous`: the members it holds that
 * `children` still names, in their order, and the new ones merged in. Null
 * when a member's key is not its name (a name zkcloud would not write, such
 * as `…:07`): then only a full sort gives the order of names.
 */
function mergedMembers<T extends { readonly key: string }>(
  children: readonly string[],
  previous: readonly T[],
  member: (name: string) => T,
  ignored: (name: string) => void,
): readonly T[] | null {
  const at = new Map<string, number>()
  for (let i = 0; i < previous.length; i++) {
    const key = previous[i]!.key
    // In key order only if every name was its member's key; otherwise only a full sort knows.
    if (i > 0 && !(previous[i - 1]!.key < key)) return null
    at.set(key, i)
  }
  const kept = new Uint8Array(previous.length)
  let keptCount = 0
  const fresh: string[] = []
  for (const name of children) {
    const i = at.get(name)
    if (i === undefined) fresh.push(name)
    else if (kept[i] === 0) {
      kept[i] = 1
      keptCount++
    }
  }
  fresh.sort()
  const added: T[] = []
  const junk: string[] = []
  for (const name of fresh) {
    let m: T
    try {
      m = member(name)
    } catch {
      junk.push(name)
      continue
    }
    if (m.key !== name) return null
    added.push(m)
  }
  for (const name of junk) ignored(name)
  if (added.length === 0 && keptCount === previous.length) return previous
  const members: T[] = []
  let j = 0
  for (let i = 0; i < previous.length; i++) {
    if (kept[i] === 0) continue
    const m = previous[i]!
    while (j < added.length && added[j]!.key < m.key) members.push(added[j++]!)
    members.push(m)
  }
  while (j < added.length) members.push(added[j++]!)
  return Object.freeze(members)
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
  /** The members of the cached service lists, one object per process however many services list it. */
  readonly #pids: Interner<ProcessId>
  /** The same for the cached list of nodes. */
  readonly #nodes: Interner<NodeId>
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
    const services = this.#services.entries
    this.#pids = new Interner(function* () {
      for (const members of services.values()) for (const pid of members) yield pid.key
    })
    const peers = this.#peers.entries
    this.#nodes = new Interner(function* () {
      for (const members of peers.values()) for (const node of members) yield node.key
    })
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
    return this.#miss(this.#services, 'service', service, (zk, previous) => this.#readService(zk, service, previous))
  }

  /** Every live node of the cluster (this one included), from the cache when possible. */
  getPeers(): Promise<readonly NodeId[]> {
    return this.#peers.entries.get(PEERS) ?? this.#miss(this.#peers, 'peers', PEERS, (zk, previous) => this.#readPeers(zk, previous))
  }

  /** The process holding the global `name`, or null; from the cache when possible. */
  whereisGlobal(name: string): Promise<ProcessId | null> {
    const held = this.#globals.entries.get(name)
    if (held !== undefined) return held
    return this.#miss(this.#globals, 'global name', name, zk => readGlobal(zk, this.layout, name, this.#globals.watcher(name)))
  }

  /** Forgets the cached holder of `name` (its local holder just ended). */
  evictGlobal(name: string): void {
    this.#globals.evict(name)
  }

  /** Drops every cached answer; the next lookups read ZooKeeper again. */
  clearCache(): void {
    this.#pids.clear()
    this.#nodes.clear()
    this.#services.clear()
    this.#globals.clear()
    this.#peers.clear()
  }

  /** What the cache holds: keys with a value or a load, evicted values kept as hints, keys with a watch not yet fired. */
  get cacheSize(): { entries: number; hints: number; watched: number; pids: number } {
    const caches = [this.#services, this.#globals, this.#peers]
    const sum = (f: (cache: WatchedCache<unknown>) => number): number => caches.reduce((total, cache) => total + f(cache as WatchedCache<unknown>), 0)
    return { entries: sum(c => c.entries.size.entries), hints: sum(c => c.entries.size.hints), watched: sum(c => c.watched), pids: this.#pids.size }
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

  #miss<V>(cache: WatchedCache<V>, kind: 'service' | 'global name' | 'peers', key: string, read: (zk: ZooKeeper, previous: V | undefined) => Promise<V>): Promise<V> {
    try {
      if (kind !== 'peers') validateName(kind, key)
    } catch (error) {
      return Promise.reject(error)
    }
    return cache.entries.load(key, previous => {
      this.log.trace(`cache miss: ${kind === 'global name' ? 'global' : kind}${kind === 'peers' ? '' : ` ${key}`}`)
      return this.session.read(zk => read(zk, previous))
    })
  }

  async #readService(zk: ZooKeeper, service: string, previous: readonly ProcessId[] | undefined): Promise<readonly ProcessId[]> {
    const children = await this.#readChildren(zk, this.layout.service(service), this.#services.watcher(service))
    return membersOf(children, previous, name => this.#pids.get(name, ProcessId.parse), this.#ignoring(`service ${service}`))
  }

  async #readPeers(zk: ZooKeeper, previous: readonly NodeId[] | undefined): Promise<readonly NodeId[]> {
    const children = await this.#readChildren(zk, this.layout.nodes, this.#peers.watcher(PEERS))
    return membersOf(children, previous, name => this.#nodes.get(name, NodeId.parse), this.#ignoring('nodes'))
  }

  /** The children of `dir` with a child watch, or `[]` with a watch on its creation when it does not exist. */
  async #readChildren(zk: ZooKeeper, dir: string, watch: Watcher): Promise<string[]> {
    for (;;) {
      try {
        return await zk.getChildren(dir, { watch })
      } catch (error) {
        if (!isZk(error, 'NONODE')) throw error
      }
      if ((await zk.exists(dir, { watch })) === null) return []
    }
  }

  #ignoring(where: string): (child: string) => void {
    return child => this.log.error(`ignoring ${JSON.stringify(child)} in ${where}: not written by zkcloud`)
  }
}
