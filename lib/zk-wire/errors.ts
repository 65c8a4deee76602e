import type { OpResult } from './multi.js'

/**
 * Error codes as ZooKeeper sends them (`KeeperException.Code`), plus the few
 * that only this client raises (documented on each).
 */
export const Code = {
  OK: 0,
  SYSTEMERROR: -1,
  RUNTIMEINCONSISTENCY: -2,
  DATAINCONSISTENCY: -3,
  /** The connection broke before the reply arrived; the request may or may not have been applied. */
  CONNECTIONLOSS: -4,
  MARSHALLINGERROR: -5,
  UNIMPLEMENTED: -6,
  /** Client-side: the call waited `requestTimeout` without a connection. */
  OPERATIONTIMEOUT: -7,
  /** Client-side for invalid paths, modes and arguments; also sent by servers. */
  BADARGUMENTS: -8,
  UNKNOWNSESSION: -12,
  NEWCONFIGNOQUORUM: -13,
  RECONFIGINPROGRESS: -14,
  APIERROR: -100,
  NONODE: -101,
  NOAUTH: -102,
  BADVERSION: -103,
  NOCHILDRENFOREPHEMERALS: -108,
  NODEEXISTS: -110,
  NOTEMPTY: -111,
  SESSIONEXPIRED: -112,
  INVALIDCALLBACK: -113,
  INVALIDACL: -114,
  AUTHFAILED: -115,
  SESSIONMOVED: -118,
  NOTREADONLY: -119,
  EPHEMERALONLOCALSESSION: -120,
  NOWATCHER: -121,
  REQUESTTIMEOUT: -122,
  RECONFIGDISABLED: -123,
  SESSIONCLOSEDREQUIRESASLAUTH: -124,
  QUOTAEXCEEDED: -125,
  THROTTLEDOP: -127,
  /** Client-side: the client was closed (by `close()`) before or while the call ran. */
  CLOSED: -1000,
} as const

/** The name of an error code, such as `'NONODE'`. */
export type CodeName = keyof typeof Code

const names = new Map<number, CodeName>(
  Object.entries(Code).map(([name, code]) => [code, name as CodeName]),
)

const messages: Partial<Record<CodeName, string>> = {
  CONNECTIONLOSS: 'connection lost',
  OPERATIONTIMEOUT: 'no connection within requestTimeout',
  BADARGUMENTS: 'bad arguments',
  NONODE: 'no node',
  NOAUTH: 'not authenticated',
  BADVERSION: 'bad version',
  NOCHILDRENFOREPHEMERALS: 'ephemeral nodes cannot have children',
  NODEEXISTS: 'node exists',
  NOTEMPTY: 'node has children',
  SESSIONEXPIRED: 'session expired',
  INVALIDACL: 'invalid ACL',
  AUTHFAILED: 'authentication failed',
  NOTREADONLY: 'not a read-write server (read-only mode)',
  NOWATCHER: 'no such watcher',
  CLOSED: 'client closed',
}

/** What a {@link ZkError}'s `name` can be: a code's name, or `'UNKNOWN(<code>)'` for a code this client does not know. */
export type ZkErrorName = CodeName | `UNKNOWN(${number})`

/** The name of a numeric code; unknown codes read as `'UNKNOWN(<code>)'`. */
export function codeName(code: number): ZkErrorName {
  return names.get(code) ?? `UNKNOWN(${code})`
}

/**
 * Every failure of a ZooKeeper operation. `code` is the number the server sent
 * (or a client-side code from {@link Code}), `name` its symbolic name, `path`
 * and `op` say which call failed. The stack is the caller's, captured when the
 * call was made, so a `NONODE` points at the line that asked.
 */
export class ZkError extends Error {
  override readonly name: ZkErrorName
  readonly code: number
  readonly path: string | undefined
  readonly op: string | undefined
  /** For a failed `multi`: the per-operation results, in order (see {@link OpResult}). */
  results?: readonly OpResult[]

  constructor(code: number, options: { op?: string; path?: string; message?: string; cause?: unknown } = {}) {
    const name = codeName(code)
    const detail = options.message ?? messages[name as CodeName] ?? name.toLowerCase()
    const where = [options.op, options.path].filter(Boolean).join(' ')
    super(`${detail}${where ? ` (${where})` : ''}`, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = name
    this.code = code
    this.path = options.path
    this.op = options.op
  }

  /** True when the server may or may not have applied the request (the outcome is unknown). */
  get isConnectionLoss(): boolean {
    return this.code === Code.CONNECTIONLOSS
  }
}

/** Bytes that do not follow the ZooKeeper protocol: truncated, oversize or inconsistent frames. */
export class ProtocolError extends Error {
  override readonly name: string = 'ProtocolError'
}

/**
 * A null (length -1) where a string must be. Java's jute reads such a string as
 * null and lets the request fail further on, in ways that depend on the
 * request; the dev server tells this apart from other malformed bytes to fail
 * the same way.
 */
export class NullStringError extends ProtocolError {
  override readonly name = 'NullStringError'
}

/**
 * A frame of the client's own code between the application and the request: a
 * method of the client or its session (`at ZooKeeper.getData (…`, `at async
 * ZooKeeper.guard (…`), or the promise they make. Matched by name, not by file,
 * because a bundle puts the client and the application in one file (a minified
 * bundle renames the classes: its errors keep the client's frames too).
 */
const OWN_FRAME = /^\s*at (?:async )?(?:ZooKeeper|Session|PersistentWatch)\.[\w$<>]+ |^\s*at new Promise \(<anonymous>\)/


/**
 * Gives `error` the stack captured at the call site (`origin`), without the
 * client's own frames, so it points at the application line that made the call.
 */
export function withCallerStack<E extends Error>(error: E, origin: { stack?: string } | undefined): E {
  if (origin?.stack !== undefined) {
    const frames = origin.stack.split('\n').slice(1)
    // The client's frames come first (innermost): drop them, up to the end of the first
    // run of its named methods; what follows is the application.
    let first = frames.findIndex((line) => OWN_FRAME.test(line))
    if (first >= 0) while (first < frames.length && OWN_FRAME.test(frames[first]!)) first++
    error.stack = [`${error.name}: ${error.message}`, ...frames.slice(Math.max(first, 0))].join('\n')
  }
  return error
}
