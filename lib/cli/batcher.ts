import { type Op, ZkError, type ZooKeeper } from '../zk-wire/index.js'

/**
 * Largest multi request a batch may make, in bytes. ZooKeeper refuses frames
 * over `jute.maxbuffer` (1 MiB − 1 by default) and closes the connection; half
 * of that leaves room for servers configured lower and for the framing.
 */
export const MAX_BATCH_BYTES = 512 * 1024
/** Batches in flight at once: enough to keep the server busy, few enough to stop soon on Ctrl-C. */
const WINDOW = 4

/** Options of a {@link Batcher}. */
export interface BatcherOptions<T> {
  /** The operations for one item (a delete, a create…). */
  ops(item: T): Op[]
  /** Bytes the item's operations take in a multi request. */
  size(item: T): number
  /** Most items in one multi. */
  maxItems: number
  /** Told how many items each successful batch applied. */
  applied(n: number): void
}

/**
 * Sends items as `multi` batches (all or nothing each), several in flight,
 * within {@link MAX_BATCH_BYTES}. A batch the server refuses (the tree changed
 * under it: NONODE, NODEEXISTS, NOTEMPTY…) is handed back to the caller, who
 * redoes its items one by one; connection and session errors are thrown.
 */
export class Batcher<T> {
  private current: T[] = []
  private currentBytes = 0
  private readonly inFlight: Array<Promise<T[] | null>> = []
  private readonly failed: T[] = []
  private refused = false

  constructor(
    private readonly zk: ZooKeeper,
    private readonly options: BatcherOptions<T>,
  ) {}

  /**
   * Queues `item`; waits only when the window is full. Resolves to the items
   * of refused batches (after every batch in flight has settled, so the caller
   * can redo them in order), usually none.
   */
  async add(item: T): Promise<T[]> {
    const bytes = this.options.size(item)
    if (this.current.length > 0 && (this.current.length >= this.options.maxItems || this.currentBytes + bytes > MAX_BATCH_BYTES)) this.send()
    this.current.push(item)
    this.currentBytes += bytes
    if (this.inFlight.length >= WINDOW) await this.settleOldest()
    return this.refused ? this.drain() : []
  }

  /** Sends what is queued and waits for everything; resolves to the items of refused batches. */
  async flush(): Promise<T[]> {
    if (this.current.length > 0) this.send()
    return this.drain()
  }

  /** Drops what is queued but not sent, waits for the batches in flight; resolves to the items of refused ones. */
  async drain(): Promise<T[]> {
    this.current = []
    this.currentBytes = 0
    while (this.inFlight.length > 0) await this.settleOldest()
    this.refused = false
    return this.failed.splice(0)
  }

  private send(): void {
    const items = this.current
    this.current = []
    this.currentBytes = 0
    const sent = this.zk.multi(items.flatMap((item) => this.options.ops(item))).then(
      () => {
        this.options.applied(items.length)
        return null
      },
      (err: unknown) => {
        if (err instanceof ZkError && err.results !== undefined) return items
        throw err
      },
    )
    sent.catch(() => undefined)
    this.inFlight.push(sent)
  }

  private async settleOldest(): Promise<void> {
    const items = await this.inFlight.shift()!
    if (items === null) return
    this.failed.push(...items)
    this.refused = true
  }
}

/** Bytes of a path in a jute request: its length prefix and UTF-8. */
export const pathBytes = (path: string): number => 4 + Buffer.byteLength(path, 'utf8')
