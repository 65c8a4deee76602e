import { EventEmitter } from 'node:events'
import type { Stat, WatchedEvent, ZooKeeper } from '../zk-wire/index.js'
import { checkPath } from './args.js'
import { RecipeError } from './errors.js'
import { Streams, type EventStream } from './event-stream.js'
import { isSessionOver, isZk, retrying, sessionOver } from './znodes.js'

/**
 * How the value is stored: `'int32'` — 4 bytes big-endian, as Curator's
 * `SharedCount` (and kazoo's `Counter(support_curator=True)`) store it;
 * `'text'` — decimal digits, as kazoo's `Counter` stores it by default.
 */
export type CounterEncoding = 'int32' | 'text'

/** Options of {@link SharedCounter}. */
export interface SharedCounterOptions {
  /** The value the node is created with if missing (default 0). */
  initial?: number
  /** Default `'int32'` (Curator's SharedCount). */
  encoding?: CounterEncoding
}

/** A value and the znode version it was read at (for {@link SharedCounter.trySet}). */
export interface VersionedValue {
  readonly value: number
  readonly version: number
}

/** Events of {@link SharedCounter}. */
export interface SharedCounterEvents {
  /** The value changed (seen through the watch, or set by this object). */
  change: [value: VersionedValue]
  /** The counter stopped following changes: its session ended. */
  ended: [error: Error]
}

type State = { kind: 'latent' } | { kind: 'started'; current: VersionedValue } | { kind: 'ended'; error: Error } | { kind: 'closed' }

/**
 * A shared integer with versioned compare-and-set (Curator's `SharedCount`,
 * kazoo's `Counter`): `start()` reads it and follows every change through a
 * data watch (`'change'` events, `changes()`), `trySet(value, version)`
 * succeeds only if nobody changed it since `version`, `add(delta)` retries
 * compare-and-set until it applies.
 *
 * ```ts
 * const hits = new SharedCounter(zk, '/counters/hits')
 * await hits.start()
 * const after = await hits.add(1)
 * for await (const { value } of hits.changes()) console.log('now', value)
 * ```
 */
export class SharedCounter extends EventEmitter<SharedCounterEvents> {
  #state: State = { kind: 'latent' }
  readonly #streams = new Streams<VersionedValue>()
  readonly #encoding: CounterEncoding
  readonly #initial: number

  /** @throws RecipeError `'BAD_ARGUMENT'` for an invalid path, initial value or encoding */
  constructor(
    private readonly zk: ZooKeeper,
    readonly path: string,
    options: SharedCounterOptions = {},
  ) {
    super()
    checkPath(path, 'shared counter')
    this.#encoding = options.encoding ?? 'int32'
    if (this.#encoding !== 'int32' && this.#encoding !== 'text') throw new RecipeError('BAD_ARGUMENT', `shared counter: encoding must be 'int32' or 'text', not ${String(this.#encoding)}`)
    this.#initial = options.initial ?? 0
    this.#checkValue(this.#initial, 'initial')
  }

  /** The value as last seen (after `start()`). */
  get value(): number {
    return this.#current().value
  }

  /** The value and its version as last seen (after `start()`). */
  get versioned(): VersionedValue {
    return this.#current()
  }

  /** Creates the node if missing, reads the value and starts following changes. */
  async start(): Promise<void> {
    if (this.#state.kind === 'closed') throw new RecipeError('CLOSED', `shared counter ${this.path}: closed`)
    if (this.#state.kind !== 'latent') throw new RecipeError('BUSY', `shared counter ${this.path}: already started`)
    try {
      await retrying(() => this.zk.create(this.path, this.#encode(this.#initial)))
    } catch (error) {
      if (isZk(error, 'NONODE')) await retrying(() => this.zk.mkdirp(this.path, { data: this.#encode(this.#initial) }))
      else if (!isZk(error, 'NODEEXISTS')) throw error
    }
    const current = await this.#read()
    this.#state = { kind: 'started', current }
  }

  /** Reads the value from the server (without changing what is cached). */
  async read(): Promise<VersionedValue> {
    const { data, stat } = await this.zk.getData(this.path)
    return { value: this.#decode(data), version: stat.version }
  }

  /** Sets `value` if the node is still at `version`; false if someone changed it first. */
  async trySet(value: number, version: number): Promise<boolean> {
    this.#checkValue(value, 'value')
    this.#current()
    try {
      const stat = await this.zk.setData(this.path, this.#encode(value), version)
      this.#seen({ value, version: stat.version })
      return true
    } catch (error) {
      if (isZk(error, 'BADVERSION')) return false
      throw error
    }
  }

  /** Sets `value` whatever the current one is. */
  async set(value: number): Promise<void> {
    this.#checkValue(value, 'value')
    this.#current()
    const stat = await this.zk.setData(this.path, this.#encode(value))
    this.#seen({ value, version: stat.version })
  }

  /** Adds `delta` (compare-and-set, tried again until it applies); resolves with the value it set. */
  async add(delta: number): Promise<number> {
    if (!Number.isInteger(delta)) throw new RecipeError('BAD_ARGUMENT', `shared counter: delta must be an integer, not ${String(delta)}`)
    this.#current()
    for (;;) {
      const { value, version } = await this.read()
      if (await this.trySet(value + delta, version)) return value + delta
    }
  }

  /** The changes from now on, as an async iterable (ends when the counter is closed). */
  changes(): EventStream<VersionedValue> {
    return this.#streams.open()
  }

  /** Stops following changes; leaves the counter's znode as it is. A second call is fine. */
  async close(): Promise<void> {
    if (this.#state.kind === 'closed') return
    const watching = this.#state.kind === 'started'
    this.#state = { kind: 'closed' }
    this.#streams.end()
    if (watching && !sessionOver(this.zk)) await this.zk.removeWatches(this.path, 'data').catch(() => undefined)
  }

  #current(): VersionedValue {
    const s = this.#state
    if (s.kind === 'started') return s.current
    if (s.kind === 'ended') throw s.error
    if (s.kind === 'closed') throw new RecipeError('CLOSED', `shared counter ${this.path}: closed`)
    throw new RecipeError('BUSY', `shared counter ${this.path}: not started`)
  }

  /** Reads the value with a watch that reads again on every change. */
  async #read(): Promise<VersionedValue> {
    const { data, stat } = await retrying(() => this.zk.getData(this.path, { watch: (event) => this.#changed(event) }))
    return { value: this.#decode(data), version: (stat as Stat).version }
  }

  #changed(event: WatchedEvent): void {
    if (this.#state.kind !== 'started') return
    if (event.type === 'None') {
      if (sessionOver(this.zk)) this.#end(new RecipeError('LOST', `shared counter ${this.path}: the ZooKeeper session ended`))
      return
    }
    this.#read().then(
      (value) => this.#seen(value),
      (error: unknown) => {
        if (isZk(error, 'NONODE')) return void this.#watchCreation()
        this.#end(isSessionOver(error) ? new RecipeError('LOST', `shared counter ${this.path}: the ZooKeeper session ended`, { cause: error }) : (error as Error))
      },
    )
  }

  /** The node was deleted: wait for it to come back. */
  #watchCreation(): void {
    this.zk.exists(this.path, { watch: (event) => this.#changed(event) }).then(
      (stat) => stat !== null && this.#changed({ type: 'NodeCreated', state: 'connected', path: this.path }),
      () => undefined,
    )
  }

  #seen(value: VersionedValue): void {
    const s = this.#state
    if (s.kind !== 'started' || value.version <= s.current.version) return
    s.current = value
    this.emit('change', value)
    this.#streams.push(value)
  }

  #end(error: Error): void {
    if (this.#state.kind !== 'started') return
    this.#state = { kind: 'ended', error }
    this.#streams.end(error)
    this.emit('ended', error)
  }

  #checkValue(value: unknown, what: string): void {
    const int32 = this.#encoding === 'int32'
    if (!(typeof value === 'number' && Number.isSafeInteger(value) && (!int32 || (value >= -0x80000000 && value <= 0x7fffffff)))) {
      throw new RecipeError('BAD_ARGUMENT', `shared counter: ${what} must be ${int32 ? 'a 32-bit integer' : 'a safe integer'}, not ${String(value)}`)
    }
  }

  #encode(value: number): Buffer {
    if (this.#encoding === 'text') return Buffer.from(String(value))
    const b = Buffer.alloc(4)
    b.writeInt32BE(value)
    return b
  }

  #decode(data: Buffer): number {
    if (this.#encoding === 'text') {
      const n = Number(data.toString('utf8') || '0')
      if (!Number.isSafeInteger(n)) throw new RecipeError('BAD_ARGUMENT', `shared counter ${this.path}: the node holds ${JSON.stringify(data.toString('utf8'))}, not an integer`)
      return n
    }
    if (data.length === 0) return 0
    if (data.length !== 4) throw new RecipeError('BAD_ARGUMENT', `shared counter ${this.path}: the node holds ${data.length} bytes, not a 4-byte integer (encoding 'text'?)`)
    return data.readInt32BE(0)
  }
}
