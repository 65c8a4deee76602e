import type { WatchedEvent } from './events.js'
import { Fifo } from './fifo.js'
import type { AddWatchMode } from './operations.js'
import type { WatchSink } from './watches.js'

/** Options of `ZooKeeper.addWatch`. */
export interface PersistentWatchOptions {
  /**
   * Most events kept unread (default {@link DEFAULT_MAX_QUEUED}). Past it,
   * new events are dropped and the iteration yields one gap marker
   * (`{ type: 'None', path: null }`) where they would have been: re-read.
   */
  maxQueued?: number
}

/** How many unread events a persistent watch keeps by default. */
export const DEFAULT_MAX_QUEUED = 10_000

/**
 * A persistent or recursive watch: an async iterable of node events that
 * lasts until `close()`, `removeWatches`, or the end of the session (then the
 * iteration throws the session's error). Events are queued until read.
 *
 * The watch survives reconnects, but ZooKeeper does not replay changes made
 * while the client was disconnected for persistent watches (it does for
 * one-shot ones). After each re-attach the iteration therefore yields one
 * `{ type: 'None', state: 'connected', path: null }` event: re-read the data
 * the watch guards (Curator's persistent watcher has the same "reset" signal).
 * The same marker stands for events dropped because more than `maxQueued`
 * were left unread.
 */
export class PersistentWatch implements AsyncIterable<WatchedEvent>, WatchSink {
  private readonly queue = new Fifo<WatchedEvent>()
  /** Events were dropped since the last queued one: a gap marker is owed. */
  private lost: WatchedEvent | null = null
  private reader: { resolve: (r: IteratorResult<WatchedEvent>) => void; reject: (e: Error) => void } | null = null
  private ended: { error?: Error } | null = null

  /** @internal */
  constructor(
    /** The watched path (relative to the chroot). */
    readonly path: string,
    readonly mode: AddWatchMode,
    private readonly onClose: () => Promise<void>,
    private readonly maxQueued = DEFAULT_MAX_QUEUED,
  ) {}

  /** @internal */
  push(event: WatchedEvent): void {
    if (this.ended) return
    if (this.reader) {
      const r = this.reader
      this.reader = null
      r.resolve({ value: event, done: false })
      return
    }
    if (this.lost === null && this.queue.length < this.maxQueued) {
      this.queue.push(event)
      return
    }
    // Full: drop it, and owe the reader one marker where the gap is. A marker is itself a gap.
    this.lost = { type: 'None', state: event.state, path: null }
  }

  /** @internal */
  end(error?: Error): void {
    if (this.ended) return
    this.ended = error === undefined ? {} : { error }
    const r = this.reader
    this.reader = null
    if (r === null) return
    if (error) r.reject(error)
    else r.resolve({ value: undefined, done: true })
  }

  /** Events received and not yet read (a pending gap marker counts as one). */
  get pending(): number {
    return this.queue.length + (this.lost === null ? 0 : 1)
  }

  /** Removes the watch (on the server too, when no other watch of this client needs it). Idempotent. */
  async close(): Promise<void> {
    if (this.ended) return
    this.end()
    await this.onClose()
  }

  /** The next event; resolves `done` once the watch is over. */
  next(): Promise<IteratorResult<WatchedEvent>> {
    const event = this.queue.shift() ?? this.takeMarker()
    if (event !== undefined) return Promise.resolve({ value: event, done: false })
    if (this.ended) {
      return this.ended.error ? Promise.reject(this.ended.error) : Promise.resolve({ value: undefined, done: true })
    }
    if (this.reader) return Promise.reject(new Error('PersistentWatch: next() called while another read is pending'))
    return new Promise((resolve, reject) => (this.reader = { resolve, reject }))
  }

  private takeMarker(): WatchedEvent | undefined {
    const marker = this.lost ?? undefined
    this.lost = null
    return marker
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchedEvent> {
    return {
      next: () => this.next(),
      return: async () => {
        await this.close()
        return { value: undefined, done: true }
      },
    }
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}
