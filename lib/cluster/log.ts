import { logger as debugLogger } from '../debug-log.js'

/** The cluster's `debug` logger; enable with `DEBUG=zkcloud:cluster`. */
const logger = debugLogger('zkcloud:cluster')

/** Where the cluster's trace and error lines go: `debug` always, plus the application's hooks. */
export interface Log {
  /** An event worth tracing: a ZooKeeper read for the cache, a watch, an election step. */
  trace(line: string): void
  /** A problem the cluster survives (it retries or carries on) but the operator should hear about. */
  error(line: string, error?: Error): void
}

/** A {@link Log} writing to `debug` and to the given hooks (whose own errors are swallowed). */
export function makeLog(hooks: { logTrace?: ((line: string) => void) | undefined; logError: (line: string, error?: Error) => void }): Log {
  const { logTrace, logError } = hooks
  return {
    trace(line) {
      logger('%s', line)
      if (logTrace === undefined) return
      try {
        logTrace(line)
      } catch (thrown) {
        logger('logTrace threw: %O', thrown)
      }
    },
    error(line, error) {
      if (error === undefined) logger('%s', line)
      else logger('%s: %O', line, error)
      try {
        logError(error === undefined ? line : `${line}: ${error.message}`, error)
      } catch (thrown) {
        logger('logError threw: %O', thrown)
      }
    },
  }
}
