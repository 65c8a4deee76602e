import { type Op, type OpResult, type Stat, ZkError, type ZooKeeper, op } from '../zk-wire/index.js'

/** Most reads in one multiRead: the reply must fit the session's buffer (see `openSession`). */
const READS_PER_BATCH = 32

interface Waiting {
  op: Op
  settle(result: OpResult | Error): void
}

/**
 * getData and getChildren batched: reads asked for in the same tick (a walk
 * reads ahead) go out as multiRead requests, one request for many nodes,
 * which a server answers several times faster than as many single reads. A
 * server without multiRead (before 3.6) gets single reads.
 */
export class ReadBatcher {
  private multiRead = true
  private queue: Waiting[] = []

  constructor(private readonly zk: ZooKeeper) {}

  /** A node's children. */
  children(path: string): Promise<string[]> {
    return this.ask(op.getChildren(path)).then((r) => (r as { children: string[] }).children)
  }

  /** A node's data and Stat. */
  data(path: string): Promise<{ data: Buffer; stat: Stat }> {
    return this.ask(op.getData(path)) as Promise<{ data: Buffer; stat: Stat }>
  }

  private ask(o: Op): Promise<OpResult> {
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) queueMicrotask(() => this.send())
      this.queue.push({ op: o, settle: (r) => (r instanceof Error ? reject(r) : r.type === 'error' ? reject(r.error) : resolve(r)) })
    })
  }

  private single(w: Waiting): void {
    const o = w.op
    const read = o.type === 'getData' ? this.zk.getData(o.path).then((r): OpResult => ({ type: 'getData', ...r })) : this.zk.getChildren(o.path).then((children): OpResult => ({ type: 'getChildren', children }))
    read.then(w.settle, w.settle)
  }

  private send(): void {
    const waiting = this.queue
    this.queue = []
    if (!this.multiRead) return waiting.forEach((w) => this.single(w))
    for (let i = 0; i < waiting.length; i += READS_PER_BATCH) {
      const batch = waiting.slice(i, i + READS_PER_BATCH)
      this.zk.multiRead(batch.map((w) => w.op)).then(
        (results) => results.forEach((r, k) => batch[k]!.settle(r)),
        (err: Error) => {
          if (err instanceof ZkError && (err.name === 'UNIMPLEMENTED' || err.name === 'MARSHALLINGERROR' || err.name === 'BADARGUMENTS')) {
            this.multiRead = false
            batch.forEach((w) => this.single(w))
          } else batch.forEach((w) => w.settle(err))
        },
      )
    }
  }
}
