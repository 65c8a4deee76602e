import type { ZooKeeper } from '../zk-wire/index.js'

/**
 * The leader's clock: decides when the session *may* have expired, so that
 * the local global processes are killed before ZooKeeper can elect anyone
 * else.
 *
 * ZooKeeper expires a session only after its server has heard nothing from
 * the client for the negotiated timeout `T`, and a server that answered at
 * `zk.lastHeardAt` had heard from us just before. So no other candidate can
 * be elected before `lastHeardAt + T`. The leader steps down at
 * `lastHeardAt + T - margin`; the margin (default `T / 3`, the moment the
 * client itself gives up on a silent server) absorbs network delay of the
 * last reply, timer lateness and clock-rate differences.
 */
export class StepDownClock {
  #timer: NodeJS.Timeout | null = null

  /**
   * @param client the current client (it changes after an expiry)
   * @param margin the fixed margin in ms, or undefined for a third of the negotiated timeout
   * @param onSuspect called once, when the deadline passes while armed
   */
  constructor(
    private readonly client: () => ZooKeeper,
    private readonly margin: number | undefined,
    private readonly onSuspect: () => void,
  ) {}

  /** When the leader must be gone if nothing is heard from ZooKeeper before (ms since the epoch). */
  deadline(zk: ZooKeeper = this.client()): number {
    const timeout = zk.negotiatedTimeout
    return zk.lastHeardAt + timeout - (this.margin ?? timeout / 3)
  }

  /** Whether the session may have expired by now. */
  suspect(): boolean {
    return Date.now() >= this.deadline()
  }

  /** Starts watching the deadline (no-op if running). */
  arm(): void {
    if (this.#timer === null) this.#check()
  }

  /** Stops watching it. */
  disarm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  #check(): void {
    const due = this.deadline() - Date.now()
    if (due <= 0) {
      this.#timer = null
      this.onSuspect()
      return
    }
    this.#timer = setTimeout(() => this.#check(), due)
    this.#timer.unref()
  }
}
