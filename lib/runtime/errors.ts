import type { ExitReason } from './signals.js'

/**
 * Raised inside a process that has been ended from outside (killed, a linked
 * process died, its node stopped): `receive()` rejects with it so that the
 * process function unwinds. `reason` is the exit reason monitors saw.
 */
export class ProcessExitError extends Error {
  override readonly name = 'ProcessExitError'

  constructor(readonly reason: ExitReason) {
    super(`process exited: ${reason instanceof Error ? `${reason.name}: ${reason.message}` : reason}`)
  }
}

/**
 * A peer broke the node-to-node protocol: oversize or malformed frame, unknown
 * message kind, failed handshake (wrong cookie, timeout). The connection to
 * that peer is dropped; the node keeps serving everyone else. Handed to the
 * `logError` hook.
 */
export class TransportError extends Error {
  override readonly name = 'TransportError'
}
