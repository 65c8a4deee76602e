import { MonitorRef, ProcessId } from './ids.js'

/**
 * Why a process ended, as monitors and links report it:
 * - `'normal'` — its function returned;
 * - an `Error` — its function threw (a thrown string stays a string);
 * - `'killed'` — `node.kill(pid)` without a reason;
 * - `'shutdown'` — its node stopped;
 * - `'noproc'` — it was already gone (or never existed) when monitored or linked;
 * - `'disconnect'` — the connection to its node broke or could not be made,
 *   so its fate is unknown;
 * - any other string given to `node.kill(pid, reason)` or propagated by a link.
 */
export type ExitReason = 'normal' | 'killed' | 'shutdown' | 'noproc' | 'disconnect' | (string & {}) | Error

/** The message a process receives when a process it monitors ends. */
export interface DownMessage {
  readonly type: 'down'
  /** The object `monitor()` returned. */
  readonly ref: MonitorRef
  readonly pid: ProcessId
  readonly reason: ExitReason
}

/** The message a process that traps exits receives when a linked process ends. */
export interface ExitMessage {
  readonly type: 'exit'
  readonly pid: ProcessId
  readonly reason: ExitReason
}

/** Matches {@link DownMessage}s, for `self.receive(isDown)`. */
export function isDown(message: unknown): message is DownMessage {
  return isObject(message) && message.type === 'down' && message.ref instanceof MonitorRef
}

/** Matches {@link ExitMessage}s, for `self.receive(isExit)`. */
export function isExit(message: unknown): message is ExitMessage {
  return isObject(message) && message.type === 'exit' && message.pid instanceof ProcessId
}

/** Turns anything thrown into an {@link ExitReason}: strings and errors stay as they are. */
export function toExitReason(thrown: unknown): ExitReason {
  if (typeof thrown === 'string' || thrown instanceof Error) return thrown
  return new Error(`non-error thrown: ${String(thrown)}`)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}
