/**
 * An async iterable of the events a recipe emits from the moment it was
 * created: events queue until read; `end()` finishes the iteration (with an
 * error, iteration throws it). Breaking out of a `for await` unsubscribes.
 */
export class EventStream<T> implements AsyncIterableIterator<T> {
  readonly #queue: T[] = []
  #reader: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void } | null = null
  #ended: { error?: Error } | null = null

  constructor(private readonly onReturn: (stream: EventStream<T>) => void = () => undefined) {}

  /** @internal */
  push(value: T): void {
    if (this.#ended) return
    const reader = this.#reader
    if (reader) {
      this.#reader = null
      reader.resolve({ value, done: false })
    } else {
      this.#queue.push(value)
    }
  }

  /** @internal Ends the iteration (after the queued events), with `error` if given. */
  end(error?: Error): void {
    if (this.#ended) return
    this.#ended = error === undefined ? {} : { error }
    const reader = this.#reader
    this.#reader = null
    if (reader === null) return
    if (error) reader.reject(error)
    else reader.resolve({ value: undefined, done: true })
  }

  /** Events received and not yet read. */
  get pending(): number {
    return this.#queue.length
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#queue.length > 0) return Promise.resolve({ value: this.#queue.shift()!, done: false })
    if (this.#ended) return this.#ended.error ? Promise.reject(this.#ended.error) : Promise.resolve({ value: undefined, done: true })
    if (this.#reader) return Promise.reject(new Error('EventStream: next() called while another read is pending'))
    return new Promise((resolve, reject) => (this.#reader = { resolve, reject }))
  }

  return(): Promise<IteratorResult<T>> {
    this.end()
    this.#queue.length = 0
    this.onReturn(this)
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this
  }
}

/** The streams of one recipe: `open()` subscribes, `push` fans out, `end` finishes them all. */
export class Streams<T> {
  readonly #open = new Set<EventStream<T>>()
  #ended: { error?: Error } | null = null

  open(): EventStream<T> {
    const stream = new EventStream<T>((s) => this.#open.delete(s))
    if (this.#ended) stream.end(this.#ended.error)
    else this.#open.add(stream)
    return stream
  }

  push(value: T): void {
    for (const s of this.#open) s.push(value)
  }

  end(error?: Error): void {
    this.#ended ??= error === undefined ? {} : { error }
    for (const s of this.#open) s.end(error)
    this.#open.clear()
  }
}
