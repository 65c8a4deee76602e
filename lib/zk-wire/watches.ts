import type { WatchedEvent, Watcher, ZkState } from './events.js'
import { type Operation, type SetWatchesRequest, ops } from './operations.js'
import { toClientPath, toServerPath } from './paths.js'

/**
 * Most path bytes in one SetWatches packet: the Java client's
 * `SET_WATCHES_MAX_LENGTH`, far below the server's `jute.maxbuffer` (1 MiB),
 * which drops a connection that sends a larger frame.
 */
export const SET_WATCHES_MAX_BYTES = 128 * 1024

/** One SetWatches packet to send: the opcode and the watches it re-arms. */
export interface SetWatchesPacket {
  op: Operation<SetWatchesRequest, void>
  req: SetWatchesRequest
}

const WATCH_LISTS = ['data', 'exist', 'child', 'persistent', 'persistentRecursive'] as const

/**
 * Splits the watches to re-arm into packets of at most `maxBytes` of
 * encoded paths, as the Java client's `primeConnection` does: a packet with
 * no persistent watch is sent as SetWatches (opcode 101, which every server
 * from 3.5 on accepts), one with any as SetWatches2 (105, from 3.6 on).
 */
export function setWatchesPackets(req: SetWatchesRequest, maxBytes = SET_WATCHES_MAX_BYTES): SetWatchesPacket[] {
  const packets: SetWatchesPacket[] = []
  const empty = (): SetWatchesRequest => ({ relativeZxid: req.relativeZxid, data: [], exist: [], child: [], persistent: [], persistentRecursive: [] })
  let packet = empty()
  let bytes = 0
  const flush = (): void => {
    const op = packet.persistent.length + packet.persistentRecursive.length === 0 ? ops.setWatches : ops.setWatches2
    packets.push({ op, req: packet })
  }
  for (const list of WATCH_LISTS) {
    for (const path of req[list]) {
      const size = 4 + Buffer.byteLength(path)
      if (bytes > 0 && bytes + size > maxBytes) {
        flush()
        packet = empty()
        bytes = 0
      }
      packet[list].push(path)
      bytes += size
    }
  }
  if (bytes > 0) flush()
  return packets
}

/** The paths a client watches, by kind (see `ZooKeeper.watched`). */
export interface WatchedPaths {
  /** One-shot data watches (`getData`, and `exists` on a node that existed). */
  readonly data: string[]
  /** One-shot watches on a node's creation (`exists` on a node that did not exist). */
  readonly exist: string[]
  /** One-shot child watches (`getChildren`). */
  readonly child: string[]
  readonly persistent: string[]
  readonly persistentRecursive: string[]
}

/** Receives the events of a persistent or recursive watch (see `PersistentWatch`). */
export interface WatchSink {
  push(event: WatchedEvent): void
  /** The watch is over: removed, closed, or the session ended (`error`). */
  end(error?: Error): void
}

type Kind = 'data' | 'exist' | 'child'

class PathMap<T> {
  readonly map = new Map<string, Set<T>>()

  add(path: string, item: T): void {
    let set = this.map.get(path)
    if (set === undefined) this.map.set(path, (set = new Set()))
    set.add(item)
  }

  take(path: string, into: Set<T>): void {
    const set = this.map.get(path)
    if (set === undefined) return
    this.map.delete(path)
    for (const item of set) into.add(item)
  }

  delete(path: string, item: T): void {
    const set = this.map.get(path)
    if (set === undefined) return
    set.delete(item)
    if (set.size === 0) this.map.delete(path)
  }

  paths(): string[] {
    return [...this.map.keys()]
  }
}

/**
 * Which callbacks a notification fires, with the Java client's rules
 * (`ZKWatchManager.materialize`): one-shot watches are removed as they fire;
 * persistent watches see every event on their path, recursive ones every
 * event but NodeChildrenChanged on their subtree. Paths are client paths.
 */
export class WatchRegistry {
  private readonly oneShot: Record<Kind, PathMap<Watcher>> = {
    data: new PathMap(),
    exist: new PathMap(),
    child: new PathMap(),
  }
  private readonly persistent = new PathMap<WatchSink>()
  private readonly recursive = new PathMap<WatchSink>()

  add(kind: Kind, path: string, watcher: Watcher): void {
    this.oneShot[kind].add(path, watcher)
  }

  addPersistent(path: string, recursive: boolean, sink: WatchSink): void {
    ;(recursive ? this.recursive : this.persistent).add(path, sink)
  }

  removePersistent(path: string, recursive: boolean, sink: WatchSink): void {
    ;(recursive ? this.recursive : this.persistent).delete(path, sink)
  }

  /** True when a watch of this kind is still set on `path` (so the server still holds one too). */
  hasPersistent(path: string, recursive: boolean): boolean {
    return (recursive ? this.recursive : this.persistent).map.has(path)
  }

  /** Delivers a node event; returns how many callbacks it reached. */
  deliver(event: WatchedEvent): number {
    const path = event.path!
    const fired = new Set<Watcher>()
    switch (event.type) {
      case 'NodeCreated':
      case 'NodeDataChanged':
        this.oneShot.data.take(path, fired)
        this.oneShot.exist.take(path, fired)
        break
      case 'NodeChildrenChanged':
        this.oneShot.child.take(path, fired)
        break
      case 'NodeDeleted':
        this.oneShot.data.take(path, fired)
        this.oneShot.exist.take(path, fired)
        this.oneShot.child.take(path, fired)
        break
    }
    const sinks = new Set<WatchSink>(this.persistent.map.get(path))
    if (event.type !== 'NodeChildrenChanged') {
      for (let p = path; ; p = parent(p)) {
        for (const sink of this.recursive.map.get(p) ?? []) sinks.add(sink)
        if (p === '/') break
      }
    }
    for (const w of fired) notify(w, event)
    for (const s of sinks) s.push(event)
    return fired.size + sinks.size
  }

  /**
   * Removes one-shot watches of `type` on `path` and tells each watcher with a
   * `DataWatchRemoved`/`ChildWatchRemoved` event (as the Java client does).
   */
  removeOneShot(path: string, type: 'data' | 'children' | 'any', state: ZkState = 'connected'): number {
    let count = 0
    const removeKinds = (kinds: Kind[], eventType: WatchedEvent['type']): void => {
      const removed = new Set<Watcher>()
      for (const k of kinds) this.oneShot[k].take(path, removed)
      for (const w of removed) notify(w, { type: eventType, state, path })
      count += removed.size
    }
    if (type !== 'children') removeKinds(['data', 'exist'], 'DataWatchRemoved')
    if (type !== 'data') removeKinds(['child'], 'ChildWatchRemoved')
    return count
  }

  /** Ends every persistent watch on `path` of the given kind. */
  endPersistent(path: string, recursive: boolean): number {
    const removed = new Set<WatchSink>()
    ;(recursive ? this.recursive : this.persistent).take(path, removed)
    for (const s of removed) s.end()
    return removed.size
  }

  /**
   * Tells persistent watches the client re-attached after a disconnection.
   * ZooKeeper re-arms them but does not replay what changed meanwhile (it does
   * for one-shot watches), so their consumers must re-read what they rely on.
   */
  resync(event: WatchedEvent): void {
    for (const map of [this.persistent, this.recursive]) {
      for (const sinks of map.map.values()) for (const s of sinks) s.push(event)
    }
  }

  /** Which kinds of watch are held for `path`. */
  kindsOn(path: string): Record<Kind | 'persistent' | 'persistentRecursive', boolean> {
    return {
      data: this.oneShot.data.map.has(path),
      exist: this.oneShot.exist.map.has(path),
      child: this.oneShot.child.map.has(path),
      persistent: this.persistent.map.has(path),
      persistentRecursive: this.recursive.map.has(path),
    }
  }

  /**
   * The session is over (closed, expired, auth failed): every one-shot watcher
   * hears `event` once; persistent watches end, with `error` unless closed.
   */
  expire(event: WatchedEvent, error: Error | undefined): void {
    const fired = new Set<Watcher>()
    for (const kind of ['data', 'exist', 'child'] as const) {
      for (const path of this.oneShot[kind].paths()) this.oneShot[kind].take(path, fired)
    }
    const sinks = new Set<WatchSink>()
    for (const map of [this.persistent, this.recursive]) {
      for (const path of map.paths()) map.take(path, sinks)
    }
    for (const w of fired) notify(w, event)
    for (const s of sinks) s.end(error)
  }

  /**
   * The server refused to re-arm the watches of `packet` (server paths): each
   * one-shot watcher there hears `DataWatchRemoved`/`ChildWatchRemoved` (its
   * watch is gone, as after `removeWatches`), each persistent watch ends with `error`.
   */
  dropRearm(chroot: string, packet: SetWatchesRequest, state: ZkState, error: Error): void {
    const client = (p: string): string => toClientPath(chroot, p)
    const removed = (kinds: Kind[], paths: string[], type: WatchedEvent['type']): void => {
      for (const path of paths) {
        const fired = new Set<Watcher>()
        for (const k of kinds) this.oneShot[k].take(client(path), fired)
        for (const w of fired) notify(w, { type, state, path: client(path) })
      }
    }
    removed(['data', 'exist'], [...packet.data, ...packet.exist], 'DataWatchRemoved')
    removed(['child'], packet.child, 'ChildWatchRemoved')
    const sinks = new Set<WatchSink>()
    for (const path of packet.persistent) this.persistent.take(client(path), sinks)
    for (const path of packet.persistentRecursive) this.recursive.take(client(path), sinks)
    for (const s of sinks) s.end(error)
  }

  /** The paths watched now, by kind (client paths). */
  watched(): WatchedPaths {
    return {
      data: this.oneShot.data.paths(),
      exist: this.oneShot.exist.paths(),
      child: this.oneShot.child.paths(),
      persistent: this.persistent.paths(),
      persistentRecursive: this.recursive.paths(),
    }
  }

  /** The watches to re-set on a new connection, in server paths. */
  toSetWatches(chroot: string, relativeZxid: bigint): SetWatchesRequest | null {
    const server = (paths: string[]): string[] => paths.map((p) => toServerPath(chroot, p))
    const watched = this.watched()
    const req: SetWatchesRequest = {
      relativeZxid,
      data: server(watched.data),
      exist: server(watched.exist),
      child: server(watched.child),
      persistent: server(watched.persistent),
      persistentRecursive: server(watched.persistentRecursive),
    }
    const total = req.data.length + req.exist.length + req.child.length + req.persistent.length + req.persistentRecursive.length
    return total === 0 ? null : req
  }
}

function parent(path: string): string {
  const i = path.lastIndexOf('/')
  return i <= 0 ? '/' : path.slice(0, i)
}

/**
 * Calls a watcher. An exception it throws must not break the connection that
 * delivered the event, so it is rethrown on its own, as an uncaught error of
 * the application (like an exception in an event listener).
 */
function notify(watcher: Watcher, event: WatchedEvent): void {
  try {
    watcher(event)
  } catch (err) {
    queueMicrotask(() => {
      throw err
    })
  }
}
