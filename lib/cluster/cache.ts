/**
 * One key's entry: a load in flight, or its value. `promise` is what callers
 * get either way, so concurrent misses share one load and hits cost a map lookup.
 */
type Entry<V> = { state: 'loading'; readonly promise: Promise<V> } | { state: 'ready'; readonly promise: Promise<V>; readonly value: V }

/**
 * Loads one value. `previous` is the value the key held before it was last
 * evicted, when the cache still remembers it: never an answer, only parts to
 * reuse (members parsed before and still there), so a re-read costs less.
 */
export type Loader<V> = (previous: V | undefined) => Promise<V>

/** How many evicted values the cache remembers as hints for the next load of their key. */
export const MAX_HINTS = 128

/**
 * Values loaded on demand and kept until evicted — the bookkeeping behind the
 * cluster's discovery cache, with no I/O of its own. The loader sets whatever
 * watch will later call {@link Cache.evict}.
 *
 * The rule that keeps it correct: a load's result is stored only if its entry
 * was not evicted while the load ran. An eviction during a load means the data
 * changed after the read began, so the result goes to the callers that asked
 * (it was true when read) but is not kept; the next call reads again.
 *
 * Eviction is lazy: nothing is read until someone asks for the key again.
 * The evicted value is remembered as that load's hint, for the
 * {@link MAX_HINTS} most recent evictions only, so memory stays bounded by
 * the keys that hold a value.
 */
export class Cache<K, V> {
  readonly #entries = new Map<K, Entry<V>>()
  /** Evicted values by key, oldest eviction first. */
  readonly #hints = new Map<K, V>()

  /** The value (or the load in flight) for `key`, if any: no I/O. */
  get(key: K): Promise<V> | undefined {
    return this.#entries.get(key)?.promise
  }

  /** Whether a loaded value is held for `key`. */
  has(key: K): boolean {
    return this.#entries.get(key)?.state === 'ready'
  }

  /** How many keys hold a value or a load, and how many evicted values are remembered as hints. */
  get size(): { entries: number; hints: number } {
    return { entries: this.#entries.size, hints: this.#hints.size }
  }

  /**
   * The value for `key`: the held one, the load in flight, or a new load by
   * `loader`. A failed load is not kept (the next call tries again).
   */
  load(key: K, loader: Loader<V>): Promise<V> {
    const held = this.#entries.get(key)
    if (held !== undefined) return held.promise
    const previous = this.#hints.get(key)
    this.#hints.delete(key)
    let promise: Promise<V>
    try {
      promise = loader(previous)
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

  /** Drops `key`'s value (remembering it as a hint), or disowns its load in flight; returns whether there was either. */
  evict(key: K): boolean {
    const held = this.#entries.get(key)
    if (held === undefined) return false
    this.#entries.delete(key)
    if (held.state === 'ready') this.#hint(key, held.value)
    return true
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

  /** Every value held and every hint (not loads in flight). */
  *values(): IterableIterator<V> {
    for (const entry of this.#entries.values()) if (entry.state === 'ready') yield entry.value
    yield* this.#hints.values()
  }

  /** Drops everything, hints included. */
  clear(): void {
    this.#entries.clear()
    this.#hints.clear()
  }

  #hint(key: K, value: V): void {
    this.#hints.delete(key)
    this.#hints.set(key, value)
    if (this.#hints.size > MAX_HINTS) this.#hints.delete(this.#hints.keys().next().value as K)
  }
}
