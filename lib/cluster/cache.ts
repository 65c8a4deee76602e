/**
 * One key's entry: a load in flight, or its value. `promise` is what callers
 * get either way, so concurrent misses share one load and hits cost a map lookup.
 */
type Entry<V> = { state: 'loading'; readonly promise: Promise<V> } | { state: 'ready'; readonly promise: Promise<V>; readonly value: V }

/**
 * Values loaded on demand and kept until evicted — the bookkeeping behind the
 * cluster's discovery cache, with no I/O of its own. The loader sets whatever
 * watch will later call {@link Cache.evict}.
 *
 * The rule that keeps it correct: a load's result is stored only if its entry
 * was not evicted while the load ran. An eviction during a load means the data
 * changed after the read began, so the result goes to the callers that asked
 * (it was true when read) but is not kept; the next call reads again.
 */
export class Cache<K, V> {
  readonly #entries = new Map<K, Entry<V>>()

  /** The value (or the load in flight) for `key`, if any: no I/O. */
  get(key: K): Promise<V> | undefined {
    return this.#entries.get(key)?.promise
  }

  /** Whether a loaded value is held for `key`. */
  has(key: K): boolean {
    return this.#entries.get(key)?.state === 'ready'
  }

  /**
   * The value for `key`: the held one, the load in flight, or a new load by
   * `loader`. A failed load is not kept (the next call tries again).
   */
  load(key: K, loader: () => Promise<V>): Promise<V> {
    const held = this.#entries.get(key)
    if (held !== undefined) return held.promise
    let promise: Promise<V>
    try {
      promise = loader()
    } catch (error) {
      promise = Promise.reject(error)
    }
    const entry: Entry<V> = { state: 'loading', promise }
    this.#entries.set(key, entry)
    promise.then(
      value => {
        if (this.#entries.get(key) === entry) this.#entries.set(key, { state: 'ready', promise, value })
      },
      () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key)
      },
    )
    return promise
  }

  /** Drops `key`'s value, or disowns its load in flight; returns whether there was either. */
  evict(key: K): boolean {
    return this.#entries.delete(key)
  }

  /**
   * Replaces a held value with `change(value)` (for a change known without a
   * read, such as a local process that ended). A load in flight is disowned
   * instead, as its result may predate the change.
   */
  update(key: K, change: (value: V) => V): void {
    const held = this.#entries.get(key)
    if (held === undefined) return
    if (held.state === 'loading') {
      this.#entries.delete(key)
      return
    }
    const value = change(held.value)
    if (value !== held.value) this.#entries.set(key, { state: 'ready', promise: Promise.resolve(value), value })
  }

  /** Drops everything. */
  clear(): void {
    this.#entries.clear()
  }
}
