/**
 * Counts what one ZooKeeper client object sends and hears, by wrapping the
 * request methods of that instance (nothing else sees the wrapping): each call
 * of a request method is one request (a `multi` is one), and each call of a
 * watcher passed as `{ watch }` with a node event is one watch event. A
 * watcher is wrapped once, so passing the same function twice still leaves
 * one watcher per path in the client. Used by tests ("a node that does not ask
 * again must not read") and benchmarks (requests per change across a fleet).
 */
export interface RequestCounter {
  /** Requests sent since the counter was made (or last reset). */
  requests: number
  /** Watch events (not session events) delivered since then. */
  events: number
  /** Requests by method name. */
  readonly byMethod: Map<string, number>
  /** Requests and events by the area their path is in (see {@link CountOptions.area}). */
  readonly byArea: Map<string, { requests: number; events: number }>
  /** Sets everything back to zero. */
  reset(): void
}

/** Options of {@link countRequests}. */
export interface CountOptions {
  /** Hears each event a watcher gets (session events too: `type` `'None'`, no path), just before the watcher. */
  onEvent?: (event: WatchEvent) => void
  /** Names the area of a path (e.g. `'election'`), to count by area too. */
  area?: (path: string) => string
}

/** The client methods that send one request each. */
export const REQUEST_METHODS = [
  'create', 'create2', 'delete', 'exists', 'getData', 'setData', 'getChildren', 'sync', 'getACL', 'setACL',
  'getEphemerals', 'getAllChildrenNumber', 'addWatch', 'removeWatches', 'checkWatches', 'multi', 'multiRead',
] as const

type WatchEvent = { type: string; path?: string | null }
type Watcher = (event: WatchEvent) => void

/** Wraps the request methods of `client` (an instance) so they are counted. */
export function countRequests(client: object, options: CountOptions = {}): RequestCounter {
  const counter: RequestCounter = {
    requests: 0,
    events: 0,
    byMethod: new Map(),
    byArea: new Map(),
    reset() {
      counter.requests = 0
      counter.events = 0
      counter.byMethod.clear()
      counter.byArea.clear()
    },
  }
  const inArea = (path: unknown): { requests: number; events: number } | undefined => {
    if (options.area === undefined || typeof path !== 'string') return undefined
    const name = options.area(path)
    let area = counter.byArea.get(name)
    if (area === undefined) counter.byArea.set(name, (area = { requests: 0, events: 0 }))
    return area
  }
  const wrapped = new WeakMap<Watcher, Watcher>()
  const countedWatcher = (watch: Watcher): Watcher => {
    let w = wrapped.get(watch)
    if (w === undefined) {
      w = event => {
        if (event.type !== 'None') {
          counter.events++
          const area = inArea(event.path)
          if (area !== undefined) area.events++
        }
        options.onEvent?.(event)
        watch(event)
      }
      wrapped.set(watch, w)
    }
    return w
  }
  const target = client as Record<string, unknown>
  // A method calling another (create → create2 for a container) sends one request: count the outer call only.
  let inside = false
  for (const name of REQUEST_METHODS) {
    const original = target[name]
    if (typeof original !== 'function') continue
    target[name] = function (this: unknown, ...args: unknown[]) {
      if (inside) return (original as (...a: unknown[]) => unknown).apply(this, args)
      counter.requests++
      counter.byMethod.set(name, (counter.byMethod.get(name) ?? 0) + 1)
      const area = inArea(args[0])
      if (area !== undefined) area.requests++
      const last = args[args.length - 1] as { watch?: unknown } | undefined
      if (typeof last === 'object' && last !== null && typeof last.watch === 'function') {
        args[args.length - 1] = { ...last, watch: countedWatcher(last.watch as Watcher) }
      }
      inside = true
      try {
        return (original as (...a: unknown[]) => unknown).apply(this, args)
      } finally {
        inside = false
      }
    }
  }
  return counter
}
