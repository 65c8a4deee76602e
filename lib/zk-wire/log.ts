import { createRequire } from 'node:module'

/** A `debug`-style logger: printf-like format and arguments. */
export type Logger = ((format: string, ...args: unknown[]) => void) & { enabled: boolean }

const noop: Logger = Object.assign(() => undefined, { enabled: false })

/**
 * A logger in the `debug` namespace `ns`. The `debug` package is loaded only
 * when the `DEBUG` environment variable is set at start-up, so the client's
 * import stays fast; set `DEBUG=zkcloud:*` to see the client's log.
 */
export function logger(ns: string): Logger {
  if (!process.env.DEBUG) return noop
  const debug = createRequire(import.meta.url)('debug') as (ns: string) => Logger
  return debug(ns)
}
