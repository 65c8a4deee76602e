/**
 * One parsed object per name, shared by every list that holds it: a process
 * registered under ten services is parsed once and kept once by a node that
 * caches all ten. Bounded by what the lists still hold: when the map has
 * grown to twice the size it had after the last sweep (and past `floor`), it
 * keeps only the names `live()` still lists.
 */
export class Interner<T> {
  readonly #byName = new Map<string, T>()
  #sweepAt: number

  /**
   * @param live every name some list still holds (called by a sweep)
   * @param floor no sweep below this many names
   */
  constructor(
    private readonly live: () => Iterable<string>,
    private readonly floor = 1024,
  ) {
    this.#sweepAt = floor
  }

  /** The object for `name`: the one already made, or `parse(name)` (whose errors propagate; nothing is kept then). */
  get(name: string, parse: (name: string) => T): T {
    const known = this.#byName.get(name)
    if (known !== undefined) return known
    const made = parse(name)
    if (this.#byName.size >= this.#sweepAt) this.#sweep()
    this.#byName.set(name, made)
    return made
  }

  /** How many names are held. */
  get size(): number {
    return this.#byName.size
  }

  /** Forgets everything. */
  clear(): void {
    this.#byName.clear()
    this.#sweepAt = this.floor
  }

  #sweep(): void {
    const keep = new Set(this.live())
    for (const name of this.#byName.keys()) if (!keep.has(name)) this.#byName.delete(name)
    this.#sweepAt = Math.max(this.floor, 2 * this.#byName.size)
  }
}
