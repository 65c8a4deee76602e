import type { ZkState, ZooKeeper } from '../zk-wire/index.js'
import type { Clock, Timer } from '../env.js'
import { RecipeError } from './errors.js'

/**
 * Why a lock, lease or leadership was lost:
 * - `'expired'` — the session expired (or the server refused it);
 * - `'suspect'` — nothing heard from ZooKeeper for so long that the session
 *   may be expiring: reported before the server can expire it, so before
 *   anyone else can be granted what this holder had;
 * - `'closed'` — the client was closed;
 * - `'deleted'` — the holder's znode was deleted by someone else.
 */
export type LossReason = 'expired' | 'suspect' | 'closed' | 'deleted'

const messages: Record<LossReason, string> = {
  expired: 'the ZooKeeper session expired',
  suspect: 'nothing heard from ZooKeeper for so long that the session may have expired',
  closed: 'the ZooKeeper client was closed',
  deleted: 'its znode was deleted',
}

/** Options shared by the recipes that hold something (locks, leases, leadership). */
export interface TenureOptions {
  /**
   * How long before the session could expire the holder is told it lost
   * what it holds, in ms (default: a third of the negotiated session
   * timeout). ZooKeeper expires a session only after hearing nothing from it
   * for the whole timeout, so this margin covers the delay of the last reply,
   * timer lateness and clock drift.
   */
  margin?: number
}

/**
 * Watches over one holding: fires `signal` (and calls `onLost` once) when the
 * holder must stop acting as one — at `lastHeardAt + timeout - margin` while
 * the client hears nothing, at once on expiry or close, or when told the
 * znode was deleted. `end()` stops watching without firing.
 */
export class Tenure {
  readonly #controller = new AbortController()
  #timer: Timer | null = null
  #ended = false
  readonly #onState = (state: ZkState): void => {
    if (state === 'expired' || state === 'authFailed') this.lose('expired')
    else if (state === 'closed') this.lose('closed')
  }

  constructor(
    private readonly zk: ZooKeeper,
    private readonly clock: Clock,
    private readonly margin: number | undefined,
    private readonly onLost: (reason: LossReason, error: RecipeError) => void,
    private readonly what: string,
  ) {
    const state = zk.state
    if (state === 'expired' || state === 'authFailed' || state === 'closed') {
      queueMicrotask(() => this.#onState(state))
      return
    }
    zk.on('state', this.#onState)
    this.#check()
  }

  /** Fires when the holding is lost (never on a normal end); its `reason` is a `RecipeError` `'LOST'`. */
  get signal(): AbortSignal {
    return this.#controller.signal
  }

  /** Whether the holding was lost. */
  get lost(): boolean {
    return this.#controller.signal.aborted
  }

  /** When the holder must be gone if nothing is heard from ZooKeeper before (ms since the epoch). */
  deadline(): number {
    const timeout = this.zk.negotiatedTimeout
    return this.zk.lastHeardAt + timeout - (this.margin ?? timeout / 3)
  }

  /** Reports the loss (once) and stops watching. */
  lose(reason: LossReason): void {
    if (this.#ended) return
    this.#stop()
    const error = new RecipeError('LOST', `${this.what} lost: ${messages[reason]}`)
    Object.defineProperty(error, 'reason', { value: reason, enumerable: true })
    this.#controller.abort(error)
    this.onLost(reason, error)
  }

  /** Stops watching (a normal release): the signal does not fire. */
  end(): void {
    if (this.#ended) return
    this.#stop()
  }

  #stop(): void {
    this.#ended = true
    this.#timer?.cancel()
    this.#timer = null
    this.zk.off('state', this.#onState)
  }

  #check(): void {
    if (this.#ended) return
    const due = this.deadline() - this.clock.now()
    if (due <= 0) {
      this.#timer = null
      this.lose('suspect')
      return
    }
    this.#timer = this.clock.setTimer(due, () => this.#check()).unref()
  }
}

/** A held lock or lease: its znode, the tenure watching over it, and a release that runs once. */
export class HoldImpl {
  #released: Promise<void> | null = null

  constructor(
    readonly node: { readonly path: string; readonly stat: { readonly czxid: bigint } },
    readonly tenure: Tenure,
    private readonly doRelease: (hold: HoldImpl) => Promise<void>,
  ) {}

  get path(): string {
    return this.node.path
  }

  get token(): bigint {
    return this.node.stat.czxid
  }

  get signal(): AbortSignal {
    return this.tenure.signal
  }

  release(): Promise<void> {
    this.#released ??= this.doRelease(this)
    return this.#released
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release()
  }
}
