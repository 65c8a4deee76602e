import debug from 'debug'

/** The runtime's `debug` logger; enable with `DEBUG=zkcloud:runtime`. */
export const log = debug('zkcloud:runtime')
