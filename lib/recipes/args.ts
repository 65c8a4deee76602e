import { validatePath } from '../zk-wire/index.js'
import { RecipeError } from './errors.js'

/** Options of every call that may wait. */
export interface WaitOptions {
  /**
   * Milliseconds to wait at most (default: no limit). `0` tries once without
   * waiting. Calls already sent to ZooKeeper finish first (each is bounded by
   * the client's `requestTimeout`), so while the connection is down the call
   * may settle up to that much later.
   */
  timeout?: number
  /** Aborts the wait: the call rejects with `RecipeError` `'ABORTED'` after undoing what it did. */
  signal?: AbortSignal
}

/** Throws a `BAD_ARGUMENT` RecipeError unless `path` is a valid absolute znode path (and not `/` unless allowed). */
export function checkPath(path: unknown, what: string, allowRoot = false): asserts path is string {
  try {
    validatePath(path, what)
  } catch (error) {
    throw new RecipeError('BAD_ARGUMENT', `${what}: invalid path ${JSON.stringify(path)}: ${(error as Error).message.replace(/^invalid path: /, '').replace(/ \(.*\)$/, '')}`)
  }
  if (path === '/' && !allowRoot) throw new RecipeError('BAD_ARGUMENT', `${what}: the path must not be "/"`)
}

/** Throws a `BAD_ARGUMENT` RecipeError unless `options` holds a valid timeout and signal. */
export function checkWait(options: WaitOptions | undefined, what: string): void {
  if (options === undefined) return
  if (typeof options !== 'object' || options === null) throw new RecipeError('BAD_ARGUMENT', `${what}: options must be an object`)
  const { timeout, signal } = options
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout >= 0 && !Number.isNaN(timeout))) {
    throw new RecipeError('BAD_ARGUMENT', `${what}: timeout must be a number of milliseconds >= 0, not ${String(timeout)}`)
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new RecipeError('BAD_ARGUMENT', `${what}: signal must be an AbortSignal`)
}

/** Throws a `BAD_ARGUMENT` RecipeError unless `n` is an integer in [min, max]. */
export function checkInt(n: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): asserts n is number {
  if (!(typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max)) {
    throw new RecipeError('BAD_ARGUMENT', `${what} must be an integer in ${min}..${max === Number.MAX_SAFE_INTEGER ? '' : max}, not ${String(n)}`)
  }
}

/** `a/b` for a parent path and a child name. */
export function join(parent: string, child: string): string {
  return parent === '/' ? `/${child}` : `${parent}/${child}`
}

/** The last segment of a path. */
export function nodeName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

/** Throws a `BAD_ARGUMENT` RecipeError unless `margin` is undefined or a number of ms >= 0. */
export function checkMargin(margin: unknown, what: string): void {
  if (margin !== undefined && !(typeof margin === 'number' && margin >= 0)) {
    throw new RecipeError('BAD_ARGUMENT', `${what}: margin must be a number of ms >= 0, not ${String(margin)}`)
  }
}
