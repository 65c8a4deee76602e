/**
 * The error `promise` rejects with; throws if it resolves instead. uvu/assert has no
 * `rejects`: `assert.match((await rejection(p)).message, /NONODE/)`.
 */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  let value: unknown
  try {
    value = await promise
  } catch (err) {
    return err as Error
  }
  throw new Error(`expected a rejection, got ${String(value)}`)
}
