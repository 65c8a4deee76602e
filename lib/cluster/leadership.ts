import { ProcessExitError, type Process, type ProcessId } from '../runtime/index.js'

/**
 * Why a global process stopped being one:
 * - `'exit'` — it ended by itself (returned, threw, or was killed);
 * - `'stop'` — the cluster stopped;
 * - `'suspect'` — its lease ran out (no `sync` came back through ZooKeeper's
 *   leader for so long that the session may be expiring): killed before
 *   anyone else can be elected;
 * - `'disconnect'` — disconnected, with `stepDownOnDisconnect`;
 * - `'expired'` — the session expired before the lease ran out;
 * - `'deleted'` — its candidate znode was deleted by someone else (or its
 *   watch on it could not be set again: it could no longer tell).
 *
 * After the last four the node stands again, at the back of the queue.
 */
export type StepDownReason = 'exit' | 'stop' | 'suspect' | 'disconnect' | 'expired' | 'deleted'

/**
 * What a global process knows about its leadership. Before each side effect
 * it checks {@link valid} (or reads {@link signal}), and it hands `token` to
 * the resources it writes to, which refuse any token lower than the highest
 * they have seen.
 */
export interface Leadership {
  /** The global name. */
  readonly name: string
  /** The global process (the one running the candidate's function). */
  readonly pid: ProcessId
  /**
   * The fencing token: the zxid that created the candidate znode, as a
   * number. Every later holder of this name has a larger one, for as long as
   * the ensemble's data lives — also after ZooKeeper's container reaper
   * deleted the name's directory and sequence numbers started again at 0.
   * Exact while the ensemble has had fewer than 2^21 leader elections (the
   * zxid's epoch); `czxid` is the same value as a bigint.
   */
  readonly token: number
  /** The candidate znode's sequence number (restarts at 0 with the name's directory). */
  readonly seq: number
  /** The candidate znode (relative to the connect string's chroot). */
  readonly path: string
  /** The zxid that created the candidate znode (`token` as a bigint). */
  readonly czxid: bigint
  /** The ZooKeeper session that owns the candidate znode. */
  readonly sessionId: bigint
  /** When this node was elected (ms since the epoch). */
  readonly since: number
  /**
   * Whether this is still the one global process of its name: false once it
   * stepped down, or as soon as its lease has run out — computed from the
   * clock at each call, so it is right even when the process was frozen and
   * the step-down timer has not fired yet (it then steps down at once).
   * Cheap and synchronous: call it just before each side effect.
   */
  valid(): boolean
  /**
   * Aborted when this leadership ends. Reading it checks {@link valid} first,
   * so read it at the moment of acting (`fetch(url, { signal: leadership.signal })`)
   * rather than keeping it from earlier.
   */
  readonly signal: AbortSignal
}

/** The function of a global process, run on the node that wins the election. */
export type GlobalFunction = (self: Process, leadership: Leadership) => Promise<void> | void

/** The facts of a leadership, as the election found them. */
export type LeadershipFacts = Omit<Leadership, 'valid' | 'signal'>

/** Thrown out of a guarded `receive` whose process is no longer the global one. */
export class LeadershipLostError extends Error {
  override readonly name = 'LeadershipLostError'
  constructor(
    readonly leadership: LeadershipFacts,
    readonly reason: StepDownReason,
  ) {
    super(`${JSON.stringify(leadership.name)} (token ${leadership.token}) is no longer held here: ${reason}`)
  }
}

/** One leadership: its facts, its abort signal, and the check against the lease. */
export class Lead implements Leadership {
  readonly name: string
  readonly pid: ProcessId
  readonly token: number
  readonly seq: number
  readonly path: string
  readonly czxid: bigint
  readonly sessionId: bigint
  readonly since: number
  readonly #controller = new AbortController()

  /**
   * @param leaseValid whether the node's lease still holds
   * @param leaseRanOut called when {@link valid} finds it ran out: steps every leader down, now
   */
  constructor(
    facts: LeadershipFacts,
    private readonly leaseValid: () => boolean,
    private readonly leaseRanOut: () => void,
  ) {
    this.name = facts.name
    this.pid = facts.pid
    this.token = facts.token
    this.seq = facts.seq
    this.path = facts.path
    this.czxid = facts.czxid
    this.sessionId = facts.sessionId
    this.since = facts.since
  }

  get signal(): AbortSignal {
    this.valid()
    return this.#controller.signal
  }

  valid(): boolean {
    if (this.#controller.signal.aborted) return false
    if (this.leaseValid()) return true
    this.leaseRanOut()
    return false
  }

  /** Ends it (idempotent): the signal aborts with a {@link LeadershipLostError}. */
  end(reason: StepDownReason): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(new LeadershipLostError(this, reason))
  }

  /** Why it ended, once it has. */
  get lost(): LeadershipLostError | null {
    return this.#controller.signal.aborted ? (this.#controller.signal.reason as LeadershipLostError) : null
  }
}

/**
 * The `self` a global function gets: the process, with every way its code can
 * resume or act through the runtime checked against the leadership first.
 * A `receive` that resolves after the leadership ended throws instead of
 * returning (before any of the function's code runs), and `send`, `nsend` and
 * `nsendRemote` drop their message. Side effects outside the runtime (I/O,
 * raw timers) must check `leadership.valid()` themselves.
 */
export function guardProcess(self: Process, lead: Lead): Process {
  const fail = (): never => {
    throw lead.lost ?? new ProcessExitError('killed')
  }
  const receive = async (...args: unknown[]): Promise<unknown> => {
    if (!lead.valid()) fail()
    const message = await (self.receive as (...a: unknown[]) => Promise<unknown>)(...args)
    if (!lead.valid()) fail()
    return message
  }
  return {
    get pid() {
      return self.pid
    },
    get node() {
      return self.node
    },
    get trapExit() {
      return self.trapExit
    },
    set trapExit(value: boolean) {
      self.trapExit = value
    },
    get signal() {
      return self.signal
    },
    get alive() {
      return self.alive
    },
    get exited() {
      return self.exited
    },
    receive: receive as Process['receive'],
    send: (to, message) => lead.valid() && self.send(to, message),
    nsend: (name, message) => {
      if (lead.valid()) self.nsend(name, message)
    },
    nsendRemote: (node, name, message) => lead.valid() && self.nsendRemote(node, name, message),
    drain: to => self.drain(to),
    say: text => self.say(text),
    spawn: (fn, options) => self.spawn(fn, options),
    monitor: pid => self.monitor(pid),
    demonitor: ref => self.demonitor(ref),
    link: pid => self.link(pid),
    unlink: pid => self.unlink(pid),
  }
}
