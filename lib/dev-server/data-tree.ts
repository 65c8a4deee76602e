import { OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../zk-wire/acl.js'
import { EventType } from '../zk-wire/events.js'
import type { ACL, Stat } from '../zk-wire/records.js'
import { type Watcher, WatchManager, WatchMode, parentOf } from './watch-manager.js'

/**
 * A znode as the dev server keeps it: ZooKeeper's persisted fields, with
 * `cversion` and `owner` stored the way ZooKeeper stores them (see {@link DataTree.stat}).
 */
export interface ZNode {
  data: Buffer | null
  acl: readonly ACL[]
  czxid: bigint
  mzxid: bigint
  pzxid: bigint
  ctime: bigint
  mtime: bigint
  version: number
  aversion: number
  /** Children ever created under this node; sequential names are numbered from it. */
  cversion: number
  /** A session id (ephemeral), {@link CONTAINER_OWNER}, a {@link ttlOwner} value, or 0n (persistent). */
  owner: bigint
  readonly children: Set<string>
}

/** What a node is, as its stored owner says. */
export type NodeKind = 'persistent' | 'ephemeral' | 'container' | 'ttl'

/** The owner ZooKeeper stores for a container node. */
export const CONTAINER_OWNER = -(2n ** 63n)
const EXTENDED = 0xffn << 56n
const TTL_MASK = (1n << 40n) - 1n
/** Longest TTL ZooKeeper accepts, in milliseconds. */
export const MAX_TTL = Number(TTL_MASK)

/** The owner ZooKeeper stores for a TTL node: the TTL in the low bits, a marker in the top byte. */
export function ttlOwner(ttl: number): bigint {
  return BigInt.asIntN(64, EXTENDED | BigInt(ttl))
}

/** The kind of node a stored owner marks (ZooKeeper's `EphemeralType`). */
export function kindOf(owner: bigint): NodeKind {
  if (owner === 0n) return 'persistent'
  if (owner === CONTAINER_OWNER) return 'container'
  return (BigInt.asUintN(64, owner) & EXTENDED) === EXTENDED ? 'ttl' : 'ephemeral'
}

/** The system nodes ZooKeeper refuses to delete. */
export const SPECIAL_PATHS: ReadonlySet<string> = new Set(['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config'])

function blankNode(acl: readonly ACL[]): ZNode {
  return { data: Buffer.alloc(0), acl, czxid: 0n, mzxid: 0n, pzxid: 0n, ctime: 0n, mtime: 0n, version: 0, aversion: 0, cversion: 0, owner: 0n, children: new Set() }
}

function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

/**
 * The znode tree with ZooKeeper 3.8's bookkeeping: stats, the ephemeral,
 * container and TTL indexes, and the two watch tables, fired exactly where
 * ZooKeeper's DataTree fires them. It applies changes that were already
 * checked (see `Prep`); it does no checks of its own.
 */
export class DataTree {
  readonly nodes = new Map<string, ZNode>()
  readonly dataWatches = new WatchManager()
  readonly childWatches = new WatchManager()
  private readonly ephemerals = new Map<bigint, Set<string>>()
  private readonly containers = new Set<string>()
  private readonly ttls = new Set<string>()

  constructor() {
    this.reset()
  }

  /** Empties the tree down to `/`, `/zookeeper`, `/zookeeper/quota` and `/zookeeper/config`, as a fresh server has them. */
  reset(): void {
    this.clear()
    this.attach('/', blankNode(OPEN_ACL_UNSAFE))
    this.attach('/zookeeper', blankNode(OPEN_ACL_UNSAFE))
    this.attach('/zookeeper/quota', blankNode(OPEN_ACL_UNSAFE))
    this.attach('/zookeeper/config', { ...blankNode(READ_ACL_UNSAFE), aversion: -1 })
  }

  /** Removes every node, the root included (before loading a snapshot). */
  clear(): void {
    this.nodes.clear()
    this.ephemerals.clear()
    this.containers.clear()
    this.ttls.clear()
  }

  /** Puts a node in place under its parent, which must be there, and indexes it. */
  attach(path: string, node: ZNode): void {
    if (path !== '/') {
      const parent = this.nodes.get(parentOf(path))
      if (parent === undefined) throw new Error(`no parent for ${path}`)
      parent.children.add(nameOf(path))
    }
    this.nodes.set(path, node)
    this.index(path, node.owner)
  }

  get(path: string): ZNode | undefined {
    return this.nodes.get(path)
  }

  /**
   * The Stat ZooKeeper reports: `cversion` counts creations and deletions of
   * children (2 × created − present), and `ephemeralOwner` is 0 for container
   * and TTL nodes.
   */
  stat(node: ZNode): Stat {
    const numChildren = node.children.size
    return {
      czxid: node.czxid,
      mzxid: node.mzxid,
      ctime: Number(node.ctime),
      mtime: Number(node.mtime),
      version: node.version,
      cversion: (node.cversion * 2 - numChildren) | 0,
      aversion: node.aversion,
      ephemeralOwner: kindOf(node.owner) === 'ephemeral' ? node.owner : 0n,
      dataLength: node.data?.length ?? 0,
      numChildren,
      pzxid: node.pzxid,
    }
  }

  /** Adds a checked node: `parentCVersion` is the parent's new count of child creations. */
  createNode(node: { path: string; data: Buffer | null; acl: readonly ACL[]; owner: bigint; parentCVersion: number }, zxid: bigint, time: bigint): Stat {
    const { path, data, acl, owner, parentCVersion } = node
    const parentPath = parentOf(path)
    const parent = this.nodes.get(parentPath)!
    if (parentCVersion > parent.cversion) {
      parent.cversion = parentCVersion
      parent.pzxid = zxid
    }
    // Copies: a request's bytes are a view of the socket chunk they came in, which a node must not keep alive.
    const created: ZNode = { data: data === null ? null : Buffer.from(data), acl, czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: time, mtime: time, version: 0, aversion: 0, cversion: 0, owner, children: new Set() }
    this.attach(path, created)
    const stat = this.stat(created)
    this.dataWatches.trigger(path, EventType.NodeCreated)
    this.childWatches.trigger(parentPath, EventType.NodeChildrenChanged)
    return stat
  }

  deleteNode(path: string, zxid: bigint): void {
    const parentPath = parentOf(path)
    const parent = this.nodes.get(parentPath)!
    parent.children.delete(nameOf(path))
    if (zxid > parent.pzxid) parent.pzxid = zxid
    const node = this.nodes.get(path)!
    this.nodes.delete(path)
    this.unindex(path, node.owner)
    const told = this.dataWatches.trigger(path, EventType.NodeDeleted)
    this.childWatches.trigger(path, EventType.NodeDeleted, told)
    this.childWatches.trigger(parentPath, EventType.NodeChildrenChanged)
  }

  /** Replaces a node's data; `version` is its new version. */
  setData(change: { path: string; data: Buffer | null; version: number }, zxid: bigint, time: bigint): Stat {
    const { path, data, version } = change
    const node = this.nodes.get(path)!
    node.data = data === null ? null : Buffer.from(data)
    node.mtime = time
    node.mzxid = zxid
    node.version = version
    const stat = this.stat(node)
    this.dataWatches.trigger(path, EventType.NodeDataChanged)
    return stat
  }

  /** Replaces a node's ACL; `version` is its new ACL version. */
  setACL(change: { path: string; acl: readonly ACL[]; version: number }): Stat {
    const node = this.nodes.get(change.path)!
    node.acl = change.acl
    node.aversion = change.version
    return this.stat(node)
  }

  /** The ephemeral nodes a session owns, oldest first. */
  ephemeralsOf(session: bigint): string[] {
    return [...(this.ephemerals.get(session) ?? [])]
  }

  /** Deletes a session's ephemeral nodes, all under one zxid. */
  killSession(session: bigint, zxid: bigint): void {
    for (const path of this.ephemeralsOf(session)) this.deleteNode(path, zxid)
    this.ephemerals.delete(session)
  }

  /** Number of descendants of `path` (every node but the root for `/`, system nodes included). */
  allChildrenNumber(path: string): number {
    if (path === '/') return this.nodes.size - 1
    // A stack, not recursion: a path may be 10,000 levels deep.
    let count = 0
    const pending = [path]
    for (let p = pending.pop(); p !== undefined; p = pending.pop()) {
      for (const name of this.nodes.get(p)?.children ?? []) {
        count++
        pending.push(`${p}/${name}`)
      }
    }
    return count
  }

  /** Sets a persistent watch (addWatch mode 0) or a recursive one (mode 1) in both tables, as ZooKeeper 3.8 does. */
  addWatch(path: string, watcher: Watcher, mode: WatchMode): void {
    this.dataWatches.add(path, watcher, mode)
    this.childWatches.add(path, watcher, mode)
  }

  /**
   * Re-sets a reconnected client's watches (SetWatches). A watch whose event
   * the client missed while away fires at once instead.
   */
  setWatches(relativeZxid: bigint, lists: { data: string[]; exist: string[]; child: string[]; persistent: string[]; persistentRecursive: string[] }, watcher: Watcher): void {
    for (const path of lists.data) {
      const node = this.nodes.get(path)
      if (node === undefined) watcher.notify(EventType.NodeDeleted, path)
      else if (node.mzxid > relativeZxid) watcher.notify(EventType.NodeDataChanged, path)
      else this.dataWatches.add(path, watcher)
    }
    for (const path of lists.exist) {
      if (this.nodes.has(path)) watcher.notify(EventType.NodeCreated, path)
      else this.dataWatches.add(path, watcher)
    }
    for (const path of lists.child) {
      const node = this.nodes.get(path)
      if (node === undefined) watcher.notify(EventType.NodeDeleted, path)
      else if (node.pzxid > relativeZxid) watcher.notify(EventType.NodeChildrenChanged, path)
      else this.childWatches.add(path, watcher)
    }
    for (const path of lists.persistent) this.addWatch(path, watcher, WatchMode.persistent)
    for (const path of lists.persistentRecursive) this.addWatch(path, watcher, WatchMode.persistentRecursive)
  }

  /** Drops every watch of a closed connection. */
  removeWatcher(watcher: Watcher): void {
    this.dataWatches.removeWatcher(watcher)
    this.childWatches.removeWatcher(watcher)
  }

  /**
   * Containers that are empty and have had a child, and TTL nodes that are
   * childless and unmodified for longer than their TTL: what ZooKeeper's
   * container manager deletes.
   */
  reapable(now: number): string[] {
    const out: string[] = []
    for (const path of this.containers) {
      const node = this.nodes.get(path)!
      if (node.children.size === 0 && node.cversion > 0) out.push(path)
    }
    for (const path of this.ttls) {
      const node = this.nodes.get(path)!
      const ttl = BigInt.asUintN(64, node.owner) & TTL_MASK
      if (node.children.size === 0 && ttl !== 0n && BigInt(now) - node.mtime > ttl) out.push(path)
    }
    return out
  }

  /** Figures for the four-letter words. */
  counts(): { nodes: number; ephemerals: number; dataSize: number; watches: number } {
    let dataSize = 0
    for (const [path, node] of this.nodes) dataSize += path.length + (node.data?.length ?? 0)
    let ephemerals = 0
    for (const set of this.ephemerals.values()) ephemerals += set.size
    // ZooKeeper files the root under both "" and "/", and counts it twice.
    return { nodes: this.nodes.size + 1, ephemerals, dataSize, watches: this.dataWatches.size + this.childWatches.size }
  }

  private index(path: string, owner: bigint): void {
    switch (kindOf(owner)) {
      case 'container':
        this.containers.add(path)
        break
      case 'ttl':
        this.ttls.add(path)
        break
      case 'ephemeral': {
        let set = this.ephemerals.get(owner)
        if (set === undefined) this.ephemerals.set(owner, (set = new Set()))
        set.add(path)
        break
      }
    }
  }

  private unindex(path: string, owner: bigint): void {
    this.containers.delete(path)
    this.ttls.delete(path)
    this.ephemerals.get(owner)?.delete(path)
  }
}
