import type { Clock, Timer } from '../env.js'
import type { Call } from './call.js'
import { Code } from './errors.js'
import { Fifo } from './fifo.js'

/**
 * Calls made while the session has no connection, oldest first: sent when it
 * attaches, or failed with OPERATIONTIMEOUT once they waited `timeoutMs`, or
 * with the terminal code when the session ends. One timer, for the oldest.
 */
export class WaitingCalls {
  readonly #queue = new Fifo<{ call: Call<unknown>; deadline: number }>()
  #timer: Timer | null = null

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
  ) {}

  get length(): number {
    return this.#queue.length
  }

  push(call: Call<unknown>): void {
    this.#queue.push({ call, deadline: this.clock.now() + this.timeoutMs })
    if (this.#timer === null) this.#arm()
  }

  /** Hands every waiting call to `send`, oldest first. */
  flush(send: (call: Call<unknown>) => void): void {
    this.#cancel()
    for (const w of this.#queue.drain()) if (!w.call.settled) send(w.call)
  }

  /** Fails every waiting call with `code`. */
  failAll(code: number): void {
    this.#cancel()
    for (const w of this.#queue.drain()) w.call.fail(code)
  }

  #cancel(): void {
    this.#timer?.cancel()
    this.#timer = null
  }

  #arm(): void {
    const head = this.#queue.peek()
    if (head === undefined) return
    this.#timer = this.clock
      .setTimer(Math.max(0, head.deadline - this.clock.now()), () => {
        this.#timer = null
        const now = this.clock.now()
        for (let w = this.#queue.peek(); w !== undefined && w.deadline <= now; w = this.#queue.peek()) {
          this.#queue.shift()
          w.call.fail(Code.OPERATIONTIMEOUT)
        }
        this.#arm()
      })
      .unref()
  }
}
