/**
 * Why a recipe call failed on the client side (ZooKeeper's own failures stay
 * {@link ZkError}s):
 * - `'TIMEOUT'` — the wait given by `timeout` ran out;
 * - `'ABORTED'` — the caller's `signal` aborted the wait;
 * - `'CLOSED'` — the recipe was closed (before or during the call);
 * - `'NOT_HELD'` — releasing what this object does not hold;
 * - `'BUSY'` — a second acquire on an object that is already acquiring or holding
 *   (locks are not re-entrant: use one object per concurrent user);
 * - `'LOST'` — what was held is gone (session lost, node deleted);
 * - `'BAD_ARGUMENT'` — an invalid path, timeout, count or option.
 *
 * `name` is always `'RecipeError'`; switch on `code`.
 */
export type RecipeErrorCode = 'TIMEOUT' | 'ABORTED' | 'CLOSED' | 'NOT_HELD' | 'BUSY' | 'LOST' | 'BAD_ARGUMENT'

/** A recipe's client-side error; see {@link RecipeErrorCode}. */
export class RecipeError extends Error {
  override readonly name = 'RecipeError'

  constructor(
    readonly code: RecipeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** Whether `error` is a {@link RecipeError} with `code`. */
export function isRecipeError(error: unknown, code?: RecipeErrorCode): error is RecipeError {
  return error instanceof RecipeError && (code === undefined || error.code === code)
}
