import { Perms } from '../zk-wire/acl.js'
import { Code } from '../zk-wire/errors.js'
import { type CreateRequest, type PathVersion, type SetDataRequest, CreateFlags, OpCode } from '../zk-wire/operations.js'
import { validatePath } from '../zk-wire/paths.js'
import type { ACL, Id } from '../zk-wire/records.js'
import { checkACL, fixupACL } from './acl-check.js'
import { CONTAINER_OWNER, type DataTree, MAX_TTL, SPECIAL_PATHS, kindOf, ttlOwner } from './data-tree.js'
import { fail } from './failure.js'

/** A checked creation, ready for the tree to apply. `withStat`: the reply carries the Stat (all but plain `create`). */
export interface CreateTxn {
  type: 'create'
  path: string
  data: Buffer | null
  acl: ACL[]
  owner: bigint
  parentCVersion: number
  withStat: boolean
}
/** A checked deletion. */
export interface DeleteTxn {
  type: 'delete'
  path: string
}
/** A checked data change; `version` is the new version. */
export interface SetDataTxn {
  type: 'setData'
  path: string
  data: Buffer | null
  version: number
}
/** A checked ACL change (`fixupACL` applied); `version` is the new ACL version. */
export interface SetACLTxn {
  type: 'setACL'
  path: string
  acl: ACL[]
  version: number
}
/** A version check that passed (a multi operation that changes nothing). */
export interface CheckTxn {
  type: 'check'
  path: string
}
/** A checked change that may be part of a multi. */
export type Txn = CreateTxn | DeleteTxn | SetDataTxn | CheckTxn

/** What the checks of a later operation in the same multi see of a node (ZooKeeper's ChangeRecord). */
interface Pending {
  version: number
  aversion: number
  cversion: number
  childCount: number
  owner: bigint
  acl: readonly ACL[]
}

const modes = new Map<number, { ephemeral: boolean; sequential: boolean; ttl: boolean }>(
  Object.values(CreateFlags).map((flags) => [
    flags,
    { ephemeral: flags === 1 || flags === 3, sequential: flags === 2 || flags === 3 || flags === 6, ttl: flags === 5 || flags === 6 },
  ]),
)

/** Java's `%010d`. */
function sequenceSuffix(n: number): string {
  return n < 0 ? `-${String(-n).padStart(9, '0')}` : String(n).padStart(10, '0')
}

function checkPath(path: string): void {
  try {
    validatePath(path, 'server')
  } catch {
    fail(Code.BADARGUMENTS)
  }
}

/** The parent of a path as ZooKeeper cuts it (`''` for children of the root); BADARGUMENTS without a slash or with a NUL. */
function parentPathOf(path: string): string {
  const slash = path.lastIndexOf('/')
  if (slash === -1 || path.includes('\0')) fail(Code.BADARGUMENTS)
  return path.slice(0, slash)
}

function checkVersion(current: number, expected: number): number {
  if (expected !== -1 && expected !== current) fail(Code.BADVERSION)
  return current + 1
}

/**
 * The checks ZooKeeper's PrepRequestProcessor makes before a write, in its
 * order (so the same error wins when several apply). Each check sees the
 * changes of the operations before it in the same multi, which are applied
 * only if every operation passes.
 */
export class Prep {
  private readonly pending = new Map<string, Pending | null>()

  constructor(
    private readonly tree: DataTree,
    private readonly sessionId: bigint,
    private readonly authInfo: Iterable<Id>,
    /** Whether the server takes SASL (then `sasl` ACL ids are valid). */
    private readonly sasl = false,
  ) {}

  /** `opcode` decides the kind: createContainer makes a container, createTTL a TTL node; the flags decide the rest. */
  create(opcode: number, req: CreateRequest, ttl: number): CreateTxn {
    const mode = modes.get(req.flags) ?? fail(Code.BADARGUMENTS)
    if (mode.ttl ? !(ttl > 0 && ttl <= MAX_TTL) : ttl >= 0) fail(Code.BADARGUMENTS)
    const parentPath = parentPathOf(req.path)
    const acl = fixupACL(req.acl, this.authInfo, this.sasl)
    const parent = this.require(parentPath)
    checkACL(parent.acl, Perms.CREATE, this.authInfo)
    const path = mode.sequential ? req.path + sequenceSuffix(parent.cversion) : req.path
    checkPath(path)
    if (this.record(path) !== null) fail(Code.NODEEXISTS)
    if (kindOf(parent.owner) === 'ephemeral') fail(Code.NOCHILDRENFOREPHEMERALS)
    const owner = opcode === OpCode.createContainer ? CONTAINER_OWNER : opcode === OpCode.createTTL ? ttlOwner(ttl) : mode.ephemeral ? this.sessionId : 0n
    const parentCVersion = parent.cversion + 1
    this.pending.set(parentPath, { ...parent, cversion: parentCVersion, childCount: parent.childCount + 1 })
    this.pending.set(path, { version: 0, aversion: 0, cversion: 0, childCount: 0, owner, acl })
    const data = req.data === null ? null : Buffer.from(req.data)
    return { type: 'create', path, data, acl, owner, parentCVersion, withStat: opcode !== OpCode.create }
  }

  delete(req: PathVersion): DeleteTxn {
    const parentPath = parentPathOf(req.path)
    if (SPECIAL_PATHS.has(req.path)) fail(Code.BADARGUMENTS)
    const parent = this.require(parentPath)
    checkACL(parent.acl, Perms.DELETE, this.authInfo)
    const node = this.require(req.path)
    checkVersion(node.version, req.version)
    if (node.childCount > 0) fail(Code.NOTEMPTY)
    this.pending.set(parentPath, { ...parent, childCount: parent.childCount - 1 })
    this.pending.set(req.path, null)
    return { type: 'delete', path: req.path }
  }

  setData(req: SetDataRequest): SetDataTxn {
    checkPath(req.path)
    const node = this.require(req.path)
    checkACL(node.acl, Perms.WRITE, this.authInfo)
    const version = checkVersion(node.version, req.version)
    this.pending.set(req.path, { ...node, version })
    return { type: 'setData', path: req.path, data: req.data === null ? null : Buffer.from(req.data), version }
  }

  setACL(req: { path: string; acl: readonly ACL[]; version: number }): SetACLTxn {
    checkPath(req.path)
    const acl = fixupACL(req.acl, this.authInfo, this.sasl)
    const node = this.require(req.path)
    checkACL(node.acl, Perms.ADMIN, this.authInfo)
    const version = checkVersion(node.aversion, req.version)
    this.pending.set(req.path, { ...node, aversion: version, acl })
    return { type: 'setACL', path: req.path, acl, version }
  }

  check(req: PathVersion): CheckTxn {
    checkPath(req.path)
    const node = this.require(req.path)
    checkACL(node.acl, Perms.READ, this.authInfo)
    checkVersion(node.version, req.version)
    return { type: 'check', path: req.path }
  }

  private record(path: string): Pending | null {
    const key = path === '' ? '/' : path
    const pending = this.pending.get(key)
    if (pending !== undefined) return pending
    const node = this.tree.get(key)
    if (node === undefined) return null
    return { version: node.version, aversion: node.aversion, cversion: node.cversion, childCount: node.children.size, owner: node.owner, acl: node.acl }
  }

  private require(path: string): Pending {
    return this.record(path) ?? fail(Code.NONODE)
  }
}
