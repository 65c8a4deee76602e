import type { ConnectOptions, Env, EnvSocket, Timer } from '../../lib/env.js'

/** A PRNG stream (mulberry32): numbers in [0, 1). */
export type Random = () => number

/** mulberry32 seeded with `seed`; `salt` derives independent streams from one seed. */
export function prng(seed: number, salt = 0): Random {
  let state = (seed ^ Math.imul(salt + 1, 0x9e3779b9)) | 0
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Event {
  at: number
  seq: number
  fn: (() => void) | null
}

/** Virtual epoch: a plausible wall-clock time, so code that prints dates reads well. */
export const EPOCH = Date.UTC(2026, 0, 1)

/**
 * The virtual clock and its event queue. `run` pops events in (time, order of
 * scheduling) order, and after each one lets every microtask it caused run
 * (promise reactions, batched writes) before the next: the same causality as
 * Node's event loop, with no real time passing and no nondeterminism.
 */
export class Scheduler {
  now = EPOCH
  private heap: Event[] = []
  private seq = 0
  /** Events run so far. */
  steps = 0

  /** Calls `fn` after `ms` virtual milliseconds. Returns a handle whose `fn` is nulled on cancel. */
  at(ms: number, fn: () => void): Event {
    const e: Event = { at: this.now + Math.max(0, ms), seq: this.seq++, fn }
    this.push(e)
    return e
  }

  get pending(): number {
    return this.heap.length
  }

  /**
   * Runs events until virtual time `until` (or until `stop()` says so), calling
   * `afterEach` after each event and its microtasks.
   */
  async run(until: number, afterEach?: () => void, stop?: () => boolean): Promise<void> {
    for (;;) {
      const head = this.heap[0]
      if (head === undefined || head.at > until || stop?.()) break
      this.pop()
      if (head.fn === null) continue
      this.now = head.at
      const fn = head.fn
      head.fn = null
      fn()
      this.steps++
      await drainMicrotasks()
      afterEach?.()
    }
    if (this.now < until && !stop?.()) this.now = until
  }

  /** Runs until `cond()` holds or virtual time `until` passes; true if it held. */
  async runUntil(cond: () => boolean, until: number, afterEach?: () => void): Promise<boolean> {
    if (cond()) return true
    await this.run(until, afterEach, cond)
    return cond()
  }

  private push(e: Event): void {
    const h = this.heap
    h.push(e)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(h[i]!, h[p]!)) break
      ;[h[i], h[p]] = [h[p]!, h[i]!]
      i = p
    }
  }

  private pop(): void {
    const h = this.heap
    const last = h.pop()!
    if (h.length === 0) return
    h[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < h.length && before(h[l]!, h[m]!)) m = l
      if (r < h.length && before(h[r]!, h[m]!)) m = r
      if (m === i) break
      ;[h[i], h[m]] = [h[m]!, h[i]!]
      i = m
    }
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}

const immediate = (resolve: () => void): void => void setImmediate(resolve)

/** Resolves once every microtask queued so far (and those they queue) has run. */
function drainMicrotasks(): Promise<void> {
  return new Promise(immediate)
}

/** What a simulated network offers an {@link Env}. */
export interface Dialer {
  connect(owner: string, host: string, port: number, options?: ConnectOptions): EnvSocket & { readonly isClosed: boolean }
}

/**
 * An {@link Env} for one simulated process (a client, a cluster node): the
 * scheduler's clock and timers, its own PRNG stream, the simulated network;
 * it counts the timers and sockets it handed out that are still live, so the
 * simulator can check that nothing outlives `close()`/`stop()`.
 */
export class VirtualEnv implements Env {
  readonly liveTimers = new Set<object>()
  readonly sockets: Array<EnvSocket & { readonly isClosed: boolean }> = []
  /** Without `busy`, socket work runs at once; with it, the process is busy now and then (see {@link SimInbox}). */
  readonly inbox: SimInbox | undefined

  constructor(
    private readonly scheduler: Scheduler,
    readonly owner: string,
    private readonly rand: Random,
    private readonly dialer: Dialer,
    busy?: Random,
  ) {
    this.inbox = busy === undefined ? undefined : new SimInbox(scheduler, busy)
  }

  /** Whole milliseconds, as `Date.now()` (the network's sub-millisecond latencies stay inside the scheduler). */
  now(): number {
    return Math.floor(this.scheduler.now)
  }

  setTimer(ms: number, fn: () => void): Timer {
    const live = this.liveTimers
    const handle = {}
    live.add(handle)
    const event = this.scheduler.at(ms, () => {
      live.delete(handle)
      fn()
    })
    const timer: Timer = {
      cancel: () => {
        event.fn = null
        live.delete(handle)
      },
      unref: () => timer,
    }
    return timer
  }

  random(): number {
    return this.rand()
  }

  randomBytes(n: number): Buffer {
    const out = Buffer.alloc(n)
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.rand() * 256)
    return out
  }

  connect(host: string, port: number, options?: ConnectOptions): EnvSocket {
    const socket = this.dialer.connect(this.owner, host, port, options)
    this.sockets.push(socket)
    return socket
  }

  /** Sockets not yet closed. */
  get openSockets(): number {
    let n = 0
    for (const s of this.sockets) if (!s.isClosed) n++
    return n
  }
}

/**
 * The inbox of a process that is busy now and then (lib/inbox.ts, where
 * socket work waits once a turn of the event loop has spent its budget): a
 * few times in a hundred, socket work and all that follows it wait a few
 * virtual milliseconds, in order, while timers run; then some or all of it
 * runs, the rest waits again. Its own random stream, so turning it on does not
 * change what else a seed draws.
 */
export class SimInbox {
  readonly #held: Array<() => void> = []
  #draining = false

  constructor(
    private readonly scheduler: Scheduler,
    private readonly rand: Random,
    private readonly chance = 0.03,
    private readonly maxWaitMs = 40,
  ) {}

  run(work: () => void): void {
    if (this.#held.length === 0 && this.rand() >= this.chance) return work()
    this.#held.push(work)
    if (this.#draining) return
    this.#draining = true
    this.scheduler.at(this.rand() * this.maxWaitMs, this.#drain)
  }

  readonly #drain = (): void => {
    const count = 1 + Math.floor(this.rand() * this.#held.length)
    for (const work of this.#held.splice(0, count)) work()
    if (this.#held.length > 0) this.scheduler.at(this.rand() * this.maxWaitMs, this.#drain)
    else this.#draining = false
  }
}
