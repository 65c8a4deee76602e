import type { ACL, Stat } from './records.js'
import type { CreateMode } from './operations.js'
import type { ZkError } from './errors.js'

/** Data accepted by writes: bytes, or a string written as UTF-8. */
export type Data = Uint8Array | string

/** Options of `create`/`create2` and `op.create`. */
export interface CreateOptions {
  /** Default `'persistent'`. */
  mode?: CreateMode
  /** Default `OPEN_ACL_UNSAFE`. */
  acl?: readonly ACL[]
  /** Milliseconds; required for the `*_with_ttl` modes and only allowed there. */
  ttl?: number
}

/** One operation of `multi` (create, delete, setData, check) or `multiRead` (getData, getChildren). */
export type Op =
  | { type: 'create'; path: string; data: Data | null; options: CreateOptions }
  | { type: 'delete'; path: string; version: number }
  | { type: 'setData'; path: string; data: Data | null; version: number }
  | { type: 'check'; path: string; version: number }
  | { type: 'getData'; path: string }
  | { type: 'getChildren'; path: string }

/** Builders for the operations of `multi` and `multiRead`; `version = -1` means any. */
export const op = {
  create: (path: string, data: Data | null = null, options: CreateOptions = {}): Op => ({ type: 'create', path, data, options }),
  delete: (path: string, version = -1): Op => ({ type: 'delete', path, version }),
  setData: (path: string, data: Data | null, version = -1): Op => ({ type: 'setData', path, data, version }),
  check: (path: string, version: number): Op => ({ type: 'check', path, version }),
  getData: (path: string): Op => ({ type: 'getData', path }),
  getChildren: (path: string): Op => ({ type: 'getChildren', path }),
} as const

/**
 * The result of one operation of `multi`/`multiRead`, in the order given.
 * A failed `multi` rejects with a {@link ZkError} whose `results` hold these:
 * the failing operation's error, `RUNTIMEINCONSISTENCY` for those after it,
 * and `OK` (code 0) errors for those before it, as ZooKeeper reports them.
 */
export type OpResult =
  | { type: 'create'; path: string; stat: Stat | null }
  | { type: 'delete' }
  | { type: 'setData'; stat: Stat }
  | { type: 'check' }
  | { type: 'getData'; data: Buffer; stat: Stat }
  | { type: 'getChildren'; children: string[] }
  | { type: 'error'; error: ZkError }
