import { EventType } from '../zk-wire/events.js'

/** Whatever receives notifications: a client connection of the dev server. */
export interface Watcher {
  /** The session it serves, as `wchc` and `wchp` list it. */
  readonly sessionId: bigint
  notify(type: number, path: string): void
}

/** How a watch behaves once it fires (ZooKeeper's `WatcherMode`). */
export const WatchMode = { standard: 0, persistent: 1, persistentRecursive: 2 } as const
export type WatchMode = (typeof WatchMode)[keyof typeof WatchMode]

/** `/a/b` → `/a`, `/a` → `/`. */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/')
  return i <= 0 ? '/' : path.slice(0, i)
}

/**
 * One of ZooKeeper 3.8's two watch tables (data watches or child watches),
 * with the same rules, quirks included, because clients observe them:
 * - a connection holds at most one watch per path and table, with one mode;
 *   setting a watch replaces the mode, so a one-shot `getData` watch turns a
 *   persistent watch on that path back into a one-shot one;
 * - `contains` answers true when any connection watches the path;
 * - one trigger notifies each connection at most once.
 */
export class WatchManager {
  private readonly table = new Map<string, Set<Watcher>>()
  private readonly pathsOf = new Map<Watcher, Set<string>>()
  private readonly modes = new Map<Watcher, Map<string, WatchMode>>()
  private recursiveCount = 0

  /** Number of (connection, path) watches held. */
  get size(): number {
    let n = 0
    for (const set of this.table.values()) n += set.size
    return n
  }

  /** What `wchs` reports of this table: connections watching, paths watched, (connection, path) watches. */
  summary(): { watchers: number; paths: number; watches: number } {
    return { watchers: this.pathsOf.size, paths: this.table.size, watches: this.size }
  }

  /**
   * What `wchc` reports of this table: each connection with the paths it watches.
   * A connection whose one-shot watches all fired or were removed stays listed with
   * none until it closes, as in ZooKeeper (whose `watch2Paths` keeps the empty set).
   */
  byConnection(): Array<{ sessionId: bigint; paths: string[] }> {
    return [...this.pathsOf].map(([w, paths]) => ({ sessionId: w.sessionId, paths: [...paths] }))
  }

  /** What `wchp` reports of this table: each watched path with the sessions watching it. */
  byPath(): Array<{ path: string; sessionIds: bigint[] }> {
    return [...this.table].map(([path, set]) => ({ path, sessionIds: [...set].map((w) => w.sessionId) }))
  }

  /** Sets `watcher`'s watch on `path`, replacing the mode of any watch it held there. */
  add(path: string, watcher: Watcher, mode: WatchMode = WatchMode.standard): void {
    let set = this.table.get(path)
    if (set === undefined) this.table.set(path, (set = new Set()))
    set.add(watcher)
    let paths = this.pathsOf.get(watcher)
    if (paths === undefined) this.pathsOf.set(watcher, (paths = new Set()))
    paths.add(path)
    this.setMode(watcher, path, mode)
  }

  /** Fires the watches `path` triggers and returns who was notified; `suppress` lists connections already told. */
  trigger(path: string, type: number, suppress?: ReadonlySet<Watcher>): Set<Watcher> {
    const fired = new Set<Watcher>()
    const walkUp = this.recursiveCount > 0
    let atParent = false
    for (let p = path; ; p = parentOf(p), atParent = true) {
      const set = this.table.get(p)
      if (set !== undefined) {
        for (const w of set) {
          const mode = this.modeOf(w, p)
          if (mode === WatchMode.persistentRecursive) {
            if (type !== EventType.NodeChildrenChanged) fired.add(w)
          } else if (!atParent) {
            fired.add(w)
            if (mode === WatchMode.standard) {
              set.delete(w)
              this.pathsOf.get(w)?.delete(p)
            }
          }
        }
        if (set.size === 0) this.table.delete(p)
      }
      if (!walkUp || p === '/') break
    }
    for (const w of fired) if (suppress === undefined || !suppress.has(w)) w.notify(type, path)
    return fired
  }

  /** ZooKeeper 3.8's answer to checkWatches: true when any connection watches exactly `path`. */
  contains(path: string): boolean {
    return this.table.has(path)
  }

  /** Removes `watcher`'s watch on `path`; false if it held none. */
  remove(path: string, watcher: Watcher): boolean {
    if (this.pathsOf.get(watcher)?.delete(path) !== true) return false
    const set = this.table.get(path)
    if (set === undefined || !set.delete(watcher)) return false
    if (set.size === 0) this.table.delete(path)
    this.setMode(watcher, path, WatchMode.standard)
    return true
  }

  /** Drops every watch of a connection that closed. */
  removeWatcher(watcher: Watcher): void {
    for (const path of this.pathsOf.get(watcher) ?? []) {
      const set = this.table.get(path)
      if (set === undefined) continue
      set.delete(watcher)
      if (set.size === 0) this.table.delete(path)
    }
    this.pathsOf.delete(watcher)
    for (const mode of this.modes.get(watcher)?.values() ?? []) {
      if (mode === WatchMode.persistentRecursive) this.recursiveCount--
    }
    this.modes.delete(watcher)
  }

  private modeOf(watcher: Watcher, path: string): WatchMode {
    return this.modes.get(watcher)?.get(path) ?? WatchMode.standard
  }

  private setMode(watcher: Watcher, path: string, mode: WatchMode): void {
    let byPath = this.modes.get(watcher)
    const old = byPath?.get(path) ?? WatchMode.standard
    if (mode === WatchMode.standard) {
      byPath?.delete(path)
    } else {
      if (byPath === undefined) this.modes.set(watcher, (byPath = new Map()))
      byPath.set(path, mode)
    }
    if (old === WatchMode.persistentRecursive) this.recursiveCount--
    if (mode === WatchMode.persistentRecursive) this.recursiveCount++
  }
}
