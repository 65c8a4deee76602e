import type { ZooKeeper } from '../zk-wire/index.js'
import { realEnv, type Clock, type Timer } from '../env.js'

/**
 * How long a leader may act on one piece of evidence, and how often it renews it.
 * See docs/cluster.md, "Step-down timing", for why these numbers are safe.
 */
export interface LeaseTerms {
  /** The negotiated session timeout `T`. */
  readonly sessionTimeout: number
  /** `1.5 × tickTime + stepDownMargin`: what a lease gives up of `T`. */
  readonly margin: number
  /** `T − margin`: how long after the evidence the leader must be gone. */
  readonly length: number
  /** How often a `sync` is sent while the lease is needed: `min(tickTime / 2, length / 4)`. */
  readonly interval: number
}

const NO_TIMER: Timer = { cancel: () => undefined, unref: () => NO_TIMER }

/** The shortest lease a leader can hold: four renewals of 50 ms. */
const MIN_LENGTH_MS = 200

/**
 * The lease terms for session timeout `sessionTimeout`, or a sentence saying
 * why no leader can hold one safely with it.
 */
export function leaseTerms(sessionTimeout: number, tickTime: number, stepDownMargin: number | undefined): LeaseTerms | string {
  const slack = stepDownMargin ?? Math.max(100, sessionTimeout / 20)
  const margin = 1.5 * tickTime + slack
  const length = sessionTimeout - margin
  if (length < MIN_LENGTH_MS) {
    return `the negotiated session timeout ${sessionTimeout} ms is too short to hold a global name safely with tickTime ${tickTime} ms and a step-down margin of ${slack} ms: it must be at least ${Math.ceil(margin + MIN_LENGTH_MS)} ms (1.5 × tickTime + margin + ${MIN_LENGTH_MS} ms); raise sessionTimeout, or set tickTime to the ensemble's`
  }
  return { sessionTimeout, margin, length, interval: Math.min(tickTime / 2, length / 4) }
}

/** A run of overlapping syncs: each was sent while the one before was still unanswered. */
interface Chain {
  /** When its first sync was sent. */
  readonly start: number
  outstanding: number
}

/** What a lease knows of its session's syncs: kept while idle, so standing again soon after needs no warm-up. */
interface History {
  /** The session the evidence is for. */
  sessionId: bigint
  evidence: number
  /** The current chain; a sync still unanswered when the lease went idle stays in it. */
  chain: Chain | null
  /** When this session's recent syncs were sent, oldest first (see `#credit`). */
  sends: number[]
}

/**
 * `idle`: nobody stands for a global name, no syncs (`past`: what the last
 * `renewing` knew). `renewing`: a sync goes
 * out every `interval` while `hot` (or someone waits for one), only on demand
 * otherwise; `evidence` is the latest proof (see {@link Lease}) for session
 * `sessionId`, `deadline` the timer that fires when it runs out while a
 * candidacy leads. `stopped`: for good.
 */
type LeaseState =
  | { readonly kind: 'idle'; readonly past: History | null }
  | (History & {
      readonly kind: 'renewing'
      /** The next sync. */
      tick: Timer
      /** Whether syncs go out every interval: some candidacy leads, stands, or is one of the next two in line. */
      hot: boolean
      deadline: Timer | null
    })
  | { readonly kind: 'stopped' }

type Renewing = LeaseState & { kind: 'renewing' }

/** How long to wait before trying again when the session's terms allow no lease. */
const NO_TERMS_RETRY_MS = 1000

/** How often a sync goes out while a candidate first in line waits for the lease to be ready. */
const WAITING_INTERVAL_MS = 50

/** What a {@link Lease} needs. */
export interface LeaseOptions {
  /** The current client (another one after a session expiry). */
  readonly client: () => ZooKeeper
  /** The ensemble's tickTime (zoo.cfg). */
  readonly tickTime: number
  /** Extra margin; default `max(100 ms, T / 20)`. */
  readonly stepDownMargin: number | undefined
  /** Called when the lease runs out while armed: kill the global processes now. */
  readonly onExpire: () => void
  /**
   * A time (the lease clock's) no later than when the current connection's
   * handshake went out: creating a session, or moving it to another server,
   * touches it on the ZooKeeper leader itself. Default: unknown (−∞).
   */
  readonly connectedSince?: () => number
  readonly clock?: Clock
}

/**
 * A leader's lease on its ZooKeeper session: the time before which the
 * session cannot have expired, on evidence that the ZooKeeper *leader* —
 * the one server that expires sessions — has seen it recently.
 *
 * Pings cannot be that evidence: a follower answers them by itself, and one
 * cut off from the leader keeps answering for up to syncLimit × tickTime
 * while it no longer forwards the session's activity. A `sync` must reach
 * the ZooKeeper leader and come back. So, while any candidacy exists, a sync
 * goes out every `interval`; when one comes back, the evidence becomes the
 * send time of the first sync of its *chain* (the run of syncs that were
 * unanswered when it was sent: a stalled link makes syncs pile up, and their
 * replies may all come back when it heals) — or older, when the syncs before
 * that chain were not regular enough to prove it (see `#credit`). The lease
 * runs out at `evidence + T − 1.5 × tickTime − stepDownMargin`.
 */
export class Lease {
  #state: LeaseState = { kind: 'idle', past: null }
  #armed = false
  /** Called once, the next time the evidence advances. */
  readonly #waiters = new Set<() => void>()
  readonly #clock: Clock

  constructor(private readonly options: LeaseOptions) {
    this.#clock = options.clock ?? realEnv
  }

  /** The terms for the current session, or why there are none. */
  terms(): LeaseTerms | string {
    const { client, tickTime, stepDownMargin } = this.options
    return leaseTerms(client().negotiatedTimeout, tickTime, stepDownMargin)
  }

  /** When the lease runs out (ms, the clock's time); −Infinity without evidence for the current session. */
  deadline(): number {
    const state = this.#state
    const terms = this.terms()
    if (state.kind !== 'renewing' || typeof terms === 'string' || state.sessionId !== this.options.client().sessionId) return -Infinity
    return state.evidence + terms.length
  }

  /** Whether a leader may still act: synchronous, from the clock, whatever the timers did. */
  valid(): boolean {
    return this.#clock.now() < this.deadline()
  }

  /**
   * Whether a candidate may start to lead: the lease is valid and lasts until
   * the first sync that will prove its own send time, if syncs go out every
   * interval from the next one on, has come back (an interval after it is
   * sent). Evidence credited from before a gap in the syncs (a connection made
   * long ago, a node that was cold) can be valid for only a moment longer; a
   * leader elected on it would step down (`'suspect'`) before any fresh sync
   * could renew it, with nothing wrong.
   */
  ready(): boolean {
    const state = this.#state
    const terms = this.terms()
    if (state.kind !== 'renewing' || typeof terms === 'string') return false
    return this.deadline() > this.#firstFullCredit(state, terms) + terms.interval
  }

  /** Starts renewing (a candidacy exists) or stops (none left). */
  need(needed: boolean): void {
    const old = this.#state
    if (needed && old.kind === 'idle') {
      // The syncs sent before going idle still count (the credit rule allows for the gap).
      const past = old.past ?? { sessionId: 0n, evidence: -Infinity, chain: null, sends: [] }
      const state: Renewing = { kind: 'renewing', tick: NO_TIMER, hot: true, ...past, deadline: null }
      this.#enter(state)
      this.#renew(state)
    } else if (!needed && old.kind === 'renewing') {
      const { sessionId, evidence, chain, sends } = old
      this.#enter({ kind: 'idle', past: { sessionId, evidence, chain, sends } })
    }
  }

  /**
   * Hot: a sync every `interval`, so a candidacy that may lead any moment (it
   * leads, it is standing, or it is next in line) has fresh evidence when it
   * does. Cold: syncs only while someone waits for one ({@link whenRenewed}) —
   * for a node whose candidacies all wait further back, so N candidates for
   * one name cost O(1) syncs, not N per interval. Turning hot sends one now.
   * Pacing never lengthens what a sync proves: after a gap in the syncs the
   * credit (`#credit`) goes back to the syncs before the gap, so a node that
   * was cold has a valid lease only once its syncs have been regular again.
   */
  pace(hot: boolean): void {
    const state = this.#state
    if (state.kind !== 'renewing' || state.hot === hot) return
    state.hot = hot
    state.tick.cancel()
    state.tick = NO_TIMER
    if (hot) this.#renew(state)
    else if (this.#waiters.size > 0) this.#schedule(state)
  }

  /**
   * Calls `fn` once, the next time a sync comes back with evidence that makes
   * the lease {@link ready} (a candidate first in line whose lease is not
   * ready yet waits for it), and sends a sync now; syncs go on every interval until then.
   */
  whenRenewed(fn: () => void): void {
    const state = this.#state
    if (state.kind !== 'renewing') return
    this.#waiters.add(fn)
    state.tick.cancel()
    this.#renew(state)
  }

  /** Calls `onExpire` when the lease runs out (some candidacy leads). */
  arm(): void {
    this.#armed = true
    this.#rearm()
  }

  /** No candidacy leads any more. */
  disarm(): void {
    this.#armed = false
    this.#rearm()
  }

  /** Stops for good (the cluster stops). */
  stop(): void {
    this.#enter({ kind: 'stopped' })
  }

  /** The only place that assigns the state: leaves the old one (its timers) and enters the next. */
  #enter(next: LeaseState): void {
    const old = this.#state
    if (old.kind === 'renewing') {
      old.tick.cancel()
      old.deadline?.cancel()
      this.#waiters.clear()
    }
    this.#state = next
  }

  /** Sends one sync (the first of a new chain if none is unanswered) and schedules the next. */
  #renew(state: Renewing): void {
    if (this.#state !== state) return
    const terms = this.terms()
    this.#schedule(state)
    const zk = this.options.client()
    const sessionId = zk.sessionId
    if (sessionId !== state.sessionId) {
      state.sessionId = sessionId
      state.evidence = -Infinity
      state.chain = null
      state.sends = []
    }
    const sentAt = this.#clock.now()
    const chain = state.chain !== null && state.chain.outstanding > 0 ? state.chain : { start: sentAt, outstanding: 0 }
    state.chain = chain
    chain.outstanding++
    state.sends.push(sentAt)
    // Older sends can no longer give a lease that has not run out.
    const keepFrom = sentAt - (typeof terms === 'string' ? 0 : terms.sessionTimeout)
    while (state.sends.length > 2 && state.sends[1]! < keepFrom) state.sends.shift()
    zk.sync('/').then(
      () => {
        chain.outstanding--
        if (this.#state === state) this.#evidence(sessionId, this.#credit(state, chain.start))
      },
      () => {
        chain.outstanding--
      },
    )
  }

  /**
   * The next sync in `interval`, while hot or while someone waits for one (so
   * a failed sync is retried). While a candidate first in line waits for the
   * lease to be ready, also one as soon as the last is answered (looked at
   * every {@link WAITING_INTERVAL_MS}): the first sync credited with its own
   * send time is one sent after a sync at least `tickTime / 2` younger than
   * the first of a regular run, so syncing faster brings it closer (a node
   * that turned hot just now leads after about `tickTime / 2` plus a round
   * trip, not `tickTime / 2 + interval`). One at a time: syncs that overlap
   * make one chain, credited no later than its first.
   */
  #schedule(state: Renewing): void {
    const terms = this.terms()
    state.tick.cancel()
    state.tick = NO_TIMER
    if (!state.hot && this.#waiters.size === 0) return
    if (typeof terms === 'string') {
      state.tick = this.#clock.setTimer(NO_TERMS_RETRY_MS, () => this.#renew(state)).unref()
    } else if (this.#waiters.size > 0 && terms.interval > WAITING_INTERVAL_MS) {
      state.tick = this.#clock.setTimer(WAITING_INTERVAL_MS, () => this.#poll(state, terms.interval)).unref()
    } else {
      state.tick = this.#clock.setTimer(terms.interval, () => this.#renew(state)).unref()
    }
  }

  /** While someone waits: a sync if the last one was answered, or an interval has passed since it was sent. */
  #poll(state: Renewing, interval: number): void {
    if (this.#state !== state) return
    const last = state.sends.length > 0 ? state.sends[state.sends.length - 1]! : -Infinity
    const answered = state.chain === null || state.chain.outstanding === 0
    if (answered || this.#clock.now() - last >= interval) this.#renew(state)
    else this.#schedule(state)
  }

  /**
   * What a sync of the chain that started at `start`, come back through the
   * current connection, proves (docs/cluster.md, "Why it holds"): a follower
   * reports a session's touches to the ZooKeeper leader only in its replies to
   * the leader's pings, so the answer proves that the touches it had reported
   * are applied — those of syncs sent up to `tickTime / 2` before the last
   * sync sent before the chain (`p`) — not the chain's own. With syncs every
   * `interval` that is the chain's start; after a gap in the syncs (a
   * candidacy just made on a node that only pinged, a process that was paused
   * or starved) it is older. The connection's handshake counts as a touch too.
   */
  #credit(state: Renewing, start: number): number {
    const { tickTime, connectedSince } = this.options
    const sends = state.sends
    let i = sends.length - 1
    while (i >= 0 && sends[i]! >= start) i--
    const before = i >= 0 ? sends[i]! - tickTime / 2 : -Infinity
    while (i >= 0 && sends[i]! > before) i--
    const reported = Math.max(i >= 0 ? sends[i]! : -Infinity, connectedSince?.() ?? -Infinity)
    return Math.min(start, reported + 1.5 * tickTime)
  }

  /**
   * When the first sync that `#credit` will credit with its own send time goes
   * out, if syncs go out every interval from the next one on: the first send
   * `f` with a touch in `[f − 1.5 × tickTime, p − tickTime / 2]` (`p` the send
   * before `f`), or a connection made at or after `f − 1.5 × tickTime`.
   */
  #firstFullCredit(state: Renewing, terms: LeaseTerms): number {
    const { tickTime, connectedSince } = this.options
    const { interval } = terms
    const sends = state.sends
    const last = sends.length > 0 ? sends[sends.length - 1]! : -Infinity
    const first = Math.max(this.#clock.now(), last + interval)
    const connected = connectedSince?.() ?? -Infinity
    for (let k = 0; k <= Math.ceil((1.5 * tickTime) / interval) + 1; k++) {
      const f = first + k * interval
      const from = f - 1.5 * tickTime
      const to = (k === 0 ? last : f - interval) - tickTime / 2
      if (connected >= from) return f
      if (to < from) continue
      if (sends.some(s => s >= from && s <= to)) return f
      // One of the future sends before f: first + j × interval for j < k.
      const j = Math.max(0, Math.ceil((from - first) / interval))
      if (j < k && first + j * interval <= to) return f
    }
    return Infinity
  }

  #evidence(sessionId: bigint, at: number): void {
    const state = this.#state
    if (state.kind !== 'renewing' || state.sessionId !== sessionId || at <= state.evidence) return
    state.evidence = at
    this.#rearm()
    // Waiters want to lead: only evidence that makes the lease ready is news to them (syncs go on until it is).
    if (!this.ready()) return
    const waiters = [...this.#waiters]
    this.#waiters.clear()
    for (const fn of waiters) fn()
  }

  /** (Re)sets the deadline timer of a renewing lease while armed. */
  #rearm(): void {
    const state = this.#state
    if (state.kind !== 'renewing') return
    state.deadline?.cancel()
    state.deadline = null
    if (!this.#armed) return
    const due = this.deadline() - this.#clock.now()
    if (due <= 0) {
      this.options.onExpire()
      return
    }
    state.deadline = this.#clock.setTimer(due, () => this.#rearm()).unref()
  }
}
