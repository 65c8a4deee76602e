import type { Clock, Timer } from '../env.js'
import { RecipeError } from './errors.js'
import type { WaitOptions } from './args.js'

/**
 * The limits of one waiting call: its timeout, the caller's AbortSignal and
 * the recipe's own `closed` signal. Calls to ZooKeeper are never raced
 * against it (a create whose outcome is unknown must not be left behind):
 * the recipe checks it between steps and races only its waits.
 */
export class Deadline {
  readonly #end: number

  constructor(
    private readonly clock: Clock,
    options: WaitOptions = {},
    private readonly closed: AbortSignal,
    private readonly what: string,
  ) {
    this.#end = options.timeout === undefined ? Infinity : clock.now() + options.timeout
    this.signal = options.signal
    this.timeout = options.timeout
  }

  readonly signal: AbortSignal | undefined
  readonly timeout: number | undefined

  /** Why the call must stop now, or null. `timeout: false` asks only whether it was closed or aborted. */
  reason(timeout = true): RecipeError | null {
    if (this.closed.aborted) return new RecipeError('CLOSED', `${this.what}: closed`)
    if (this.signal?.aborted) return new RecipeError('ABORTED', `${this.what}: aborted`, { cause: this.signal.reason })
    if (timeout && this.clock.now() >= this.#end) return new RecipeError('TIMEOUT', `${this.what}: timed out after ${this.timeout} ms`)
    return null
  }

  /** Milliseconds left (never below 0), or undefined without a timeout. */
  remaining(): number | undefined {
    return this.#end === Infinity ? undefined : Math.max(0, this.#end - this.clock.now())
  }

  /** Throws if the call must stop now (`timeout: false`: only if closed or aborted). */
  check(timeout = true): void {
    const reason = this.reason(timeout)
    if (reason) throw reason
  }

  /** Resolves as `promise` does, or rejects when the call must stop first. */
  wait<T>(promise: Promise<T>): Promise<T> {
    const now = this.reason()
    if (now) return Promise.reject(now)
    return new Promise<T>((resolve, reject) => {
      let timer: Timer | null = null
      const stop = (): void => {
        done()
        reject(this.reason() ?? new RecipeError('TIMEOUT', `${this.what}: timed out after ${this.timeout} ms`))
      }
      const done = (): void => {
        timer?.cancel()
        this.closed.removeEventListener('abort', stop)
        this.signal?.removeEventListener('abort', stop)
      }
      if (this.#end !== Infinity) timer = this.clock.setTimer(this.#end - this.clock.now(), stop)
      this.closed.addEventListener('abort', stop, { once: true })
      this.signal?.addEventListener('abort', stop, { once: true })
      promise.then(
        (value) => {
          done()
          resolve(value)
        },
        (error: unknown) => {
          done()
          reject(error)
        },
      )
    })
  }
}

/** A one-shot wake-up: `fire` (usable as a watcher) resolves `promise` with its argument. */
export interface Trigger<T> {
  readonly promise: Promise<T>
  readonly fire: (value: T) => void
}

/** A new {@link Trigger}. */
export function trigger<T>(): Trigger<T> {
  let fire!: (value: T) => void
  const promise = new Promise<T>((resolve) => (fire = resolve))
  return { promise, fire }
}
