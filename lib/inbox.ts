import { Fifo } from './zk-wire/fifo.js'

/** What one turn of the event loop may spend on socket work before the rest waits for the next turn. */
export const TURN_BUDGET_MS = 20

/**
 * Where the clients of one process handle what their sockets bring (see
 * {@link Env.inbox}): at once while the process is not busy; once socket work
 * has taken {@link TURN_BUDGET_MS} of one turn of the event loop, the rest
 * waits in arrival order for the next turns, so that timers run in between.
 *
 * Why: Node reads every ready socket in one go before it runs a timer. A
 * process hosting hundreds of sessions, or parsing a flood of large replies,
 * then starves its own pings and read-timeout checks for seconds, and the
 * servers expire sessions that were only busy. With the inbox a turn is
 * bounded by the budget plus the reading itself, and every session's timers
 * run on time however much is queued.
 *
 * Work is never reordered: once anything waits, everything after it waits
 * too, so each socket's chunks, errors and close keep their order.
 */
export class Inbox {
  readonly #queue = new Fifo<() => void>()
  /** When the current turn's socket work began (`performance.now()`), or -1 between turns. */
  #turnStart = -1
  #draining = false
  readonly #endTurn = (): void => {
    this.#turnStart = -1
  }

  constructor(private readonly budgetMs = TURN_BUDGET_MS) {}

  /** Runs `work` now (what it throws reaches the caller), or queues it behind what waits (what it throws then is rethrown on its own). */
  run(work: () => void): void {
    if (this.#queue.length === 0 && !this.#draining && !this.#busy()) return work()
    this.#queue.push(work)
    if (!this.#draining) {
      this.#draining = true
      setImmediate(this.#drain)
    }
  }

  /** How much socket work waits. */
  get waiting(): number {
    return this.#queue.length
  }

  /** Whether this turn has already spent its budget (the first call of a turn starts its clock). */
  #busy(): boolean {
    const now = performance.now()
    if (this.#turnStart < 0) {
      this.#turnStart = now
      setImmediate(this.#endTurn)
    }
    return now - this.#turnStart > this.budgetMs
  }

  /**
   * Handles queued work for one budget, yielding to the microtasks each piece
   * started (the promise reactions a reply resolves) so they count against
   * the budget too; then leaves the rest to the next turn.
   */
  readonly #drain = async (): Promise<void> => {
    const start = performance.now()
    while (this.#queue.length > 0) {
      if (performance.now() - start > this.budgetMs) {
        setImmediate(this.#drain)
        return
      }
      const work = this.#queue.shift()!
      try {
        work()
      } catch (error) {
        queueMicrotask(() => {
          throw error
        })
      }
      await null
    }
    this.#draining = false
  }
}
