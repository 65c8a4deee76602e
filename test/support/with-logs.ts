/**
 * Wrap a uvu test body so that, when it fails, the failure message ends with `logs()`
 * (e.g. `ensemble.logs()`): uvu prints the message, so the server logs appear right under
 * the failed assertion.
 *
 *     test('leader failover', withLogs(() => ensemble?.logs() ?? '', async () => { … }))
 */
export function withLogs<T>(logs: () => string, body: (context: T) => unknown): (context: T) => Promise<void> {
  return async context => {
    try {
      await body(context)
    } catch (err) {
      if (err instanceof Error) err.message += `\n\n${logs()}`
      throw err
    }
  }
}
