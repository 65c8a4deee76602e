import { logger } from '../debug-log.js'

/** The runtime's `debug` logger; enable with `DEBUG=zkcloud:runtime`. */
export const log = logger('zkcloud:runtime')
