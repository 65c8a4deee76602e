import type { WatchedEvent } from '../../lib/zk-wire/index.js'

/** One call the workload made, and how it ended. */
export interface CallRecord {
  id: number
  owner: string
  op: string
  path: string
  /** For writes: the unique value written (`<owner>#<id>`), so the tree shows whether it was applied. */
  value?: string
  submittedAt: number
  /** 'ok' or the error's name; undefined while pending. */
  outcome?: string
  settledAt?: number
}

/** A one-shot watch the workload set, with what its read saw. */
export interface OneShotRecord {
  id: number
  owner: string
  kind: 'data' | 'exist' | 'child'
  path: string
  submittedAt: number
  /** The node state its read observed: `m<mzxid>` (data), `absent` (exist), `p<pzxid>` (child). Set when registered. */
  observed?: string
  fired: WatchedEvent[]
}

/** An event the god watcher saw the leader's tree make. */
export interface TreeEvent {
  t: number
  type: 'NodeCreated' | 'NodeDeleted' | 'NodeDataChanged' | 'NodeChildrenChanged'
  path: string
}

/** Collects what went wrong, with the virtual time. */
export class Violations {
  readonly list: string[] = []
  constructor(private readonly now: () => number, private readonly start: number) {}

  add(message: string): void {
    if (this.list.length < 20) this.list.push(`t=${this.now() - this.start} ms: ${message}`)
  }

  get count(): number {
    return this.list.length
  }
}

/** The last notable things that happened, printed with a failure. */
export class Trace {
  private readonly lines: string[] = []
  constructor(private readonly now: () => number, private readonly start: number, private readonly keep = 60) {}

  add(line: string): void {
    this.lines.push(`t=${this.now() - this.start} ${line}`)
    if (this.lines.length > this.keep * 2) this.lines.splice(0, this.lines.length - this.keep)
  }

  tail(): string[] {
    return this.lines.slice(-this.keep)
  }
}
