export { logger, type Logger } from '../debug-log.js'
