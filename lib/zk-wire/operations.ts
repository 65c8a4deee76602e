import type { JuteReader, JuteWriter } from './jute.js'
import { ProtocolError } from './errors.js'
import { type ACL, type Stat, readACLs, readStat, readStrings, writeACLs } from './records.js'

/** Request types (`ZooDefs.OpCode`). */
export const OpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const
export type OpCode = (typeof OpCode)[keyof typeof OpCode]

/** Reserved xids (kazoo and the Java client use the same). */
export const Xid = {
  notification: -1,
  ping: -2,
  auth: -4,
  setWatches: -8,
} as const

/** Create modes and their wire flags (`CreateMode`). */
export const CreateFlags = {
  persistent: 0,
  ephemeral: 1,
  persistent_sequential: 2,
  ephemeral_sequential: 3,
  container: 4,
  persistent_with_ttl: 5,
  persistent_sequential_with_ttl: 6,
} as const
export type CreateMode = keyof typeof CreateFlags

/** Watch kinds for `removeWatches`/`checkWatches` (`WatcherType`). */
export const WatcherType = { children: 1, data: 2, any: 3, persistent: 4, persistentRecursive: 5 } as const
export type WatcherType = keyof typeof WatcherType

/** Modes of `addWatch` (`AddWatchMode`). */
export const AddWatchMode = { persistent: 0, persistentRecursive: 1 } as const
export type AddWatchMode = keyof typeof AddWatchMode

/**
 * One ZooKeeper operation, declared once: its opcode, how its request is
 * written and how its reply body is read. Paths here are server paths
 * (chroot applied); the client maps them.
 */
export interface Operation<Req, Res> {
  readonly name: string
  readonly type: number
  write(w: JuteWriter, req: Req): void
  read(r: JuteReader): Res
}

function op<Req, Res>(name: string, type: number, write: Operation<Req, Res>['write'], read: Operation<Req, Res>['read']): Operation<Req, Res> {
  return { name, type, write, read }
}

const nothing = (): void => undefined

export interface CreateRequest {
  path: string
  data: Uint8Array | null
  acl: readonly ACL[]
  flags: number
  ttl?: bigint
}
export interface CreateResult {
  path: string
  stat: Stat
}
export interface PathVersion {
  path: string
  version: number
}
export interface PathWatch {
  path: string
  watch: boolean
}
export interface SetDataRequest {
  path: string
  data: Uint8Array | null
  version: number
}
export interface DataResult {
  data: Buffer | null
  stat: Stat
}
export interface ChildrenResult {
  children: string[]
  stat: Stat
}
export interface ACLResult {
  acl: ACL[]
  stat: Stat
}

function writeCreate(w: JuteWriter, req: CreateRequest): void {
  w.string(req.path).buffer(req.data)
  writeACLs(w, req.acl)
  w.int(req.flags)
}
function writeCreateTTL(w: JuteWriter, req: CreateRequest): void {
  writeCreate(w, req)
  w.long(req.ttl ?? 0n)
}
const writePathWatch = (w: JuteWriter, req: PathWatch): void => void w.string(req.path).bool(req.watch)
const writePathVersion = (w: JuteWriter, req: PathVersion): void => void w.string(req.path).int(req.version)
const writePath = (w: JuteWriter, req: { path: string }): void => void w.string(req.path)
const writePathType = (w: JuteWriter, req: { path: string; type: number }): void => void w.string(req.path).int(req.type)
const readCreate2 = (r: JuteReader): CreateResult => ({ path: r.ustring(), stat: readStat(r) })
const readData = (r: JuteReader): DataResult => ({ data: r.buffer(), stat: readStat(r) })

export const ops = {
  create: op<CreateRequest, string>('create', OpCode.create, writeCreate, (r) => r.ustring()),
  create2: op<CreateRequest, CreateResult>('create2', OpCode.create2, writeCreate, readCreate2),
  createContainer: op<CreateRequest, CreateResult>('createContainer', OpCode.createContainer, writeCreate, readCreate2),
  createTTL: op<CreateRequest, CreateResult>('createTTL', OpCode.createTTL, writeCreateTTL, readCreate2),
  delete: op<PathVersion, void>('delete', OpCode.delete, writePathVersion, nothing),
  exists: op<PathWatch, Stat>('exists', OpCode.exists, writePathWatch, readStat),
  getData: op<PathWatch, DataResult>('getData', OpCode.getData, writePathWatch, readData),
  setData: op<SetDataRequest, Stat>('setData', OpCode.setData, (w, req) => void w.string(req.path).buffer(req.data).int(req.version), readStat),
  getACL: op<{ path: string }, ACLResult>('getACL', OpCode.getACL, writePath, (r) => ({ acl: readACLs(r), stat: readStat(r) })),
  setACL: op<{ path: string; acl: readonly ACL[]; version: number }, Stat>(
    'setACL',
    OpCode.setACL,
    (w, req) => {
      w.string(req.path)
      writeACLs(w, req.acl)
      w.int(req.version)
    },
    readStat,
  ),
  getChildren: op<PathWatch, string[]>('getChildren', OpCode.getChildren, writePathWatch, readStrings),
  getChildren2: op<PathWatch, ChildrenResult>('getChildren2', OpCode.getChildren2, writePathWatch, (r) => ({ children: readStrings(r), stat: readStat(r) })),
  sync: op<{ path: string }, string>('sync', OpCode.sync, writePath, (r) => r.ustring()),
  check: op<PathVersion, void>('check', OpCode.check, writePathVersion, nothing),
  checkWatches: op<{ path: string; type: number }, void>('checkWatches', OpCode.checkWatches, writePathType, nothing),
  removeWatches: op<{ path: string; type: number }, void>('removeWatches', OpCode.removeWatches, writePathType, nothing),
  addWatch: op<{ path: string; type: number }, void>('addWatch', OpCode.addWatch, writePathType, nothing),
  getEphemerals: op<{ path: string }, string[]>('getEphemerals', OpCode.getEphemerals, writePath, readStrings),
  getAllChildrenNumber: op<{ path: string }, number>('getAllChildrenNumber', OpCode.getAllChildrenNumber, writePath, (r) => r.int()),
  setWatches2: op<SetWatchesRequest, void>('setWatches2', OpCode.setWatches2, writeSetWatches2, nothing),
  sasl: op<{ token: Uint8Array }, Buffer | null>('sasl', OpCode.sasl, (w, req) => void w.buffer(req.token), (r) => r.buffer()),
  closeSession: op<void, void>('closeSession', OpCode.closeSession, nothing, nothing),
} as const

/** Paths whose watches are re-set after a reconnect (`SetWatches2`). */
export interface SetWatchesRequest {
  relativeZxid: bigint
  data: string[]
  exist: string[]
  child: string[]
  persistent: string[]
  persistentRecursive: string[]
}

function writeSetWatches2(w: JuteWriter, req: SetWatchesRequest): void {
  w.long(req.relativeZxid)
  for (const list of [req.data, req.exist, req.child, req.persistent, req.persistentRecursive]) {
    w.vector(list, (x, s) => x.string(s))
  }
}

/** The handshake a client opens every connection with. */
export interface ConnectRequest {
  protocolVersion: number
  lastZxidSeen: bigint
  timeout: number
  sessionId: bigint
  password: Uint8Array
  readOnly: boolean
}

export interface ConnectResponse {
  protocolVersion: number
  timeout: number
  sessionId: bigint
  password: Buffer
  readOnly: boolean
}

export function writeConnectRequest(w: JuteWriter, req: ConnectRequest): void {
  w.int(req.protocolVersion).long(req.lastZxidSeen).int(req.timeout).long(req.sessionId).buffer(req.password).bool(req.readOnly)
}

/** Reads the server's handshake reply; old servers omit the trailing read-only flag. */
export function readConnectResponse(r: JuteReader): ConnectResponse {
  const protocolVersion = r.int()
  const timeout = r.int()
  const sessionId = r.long()
  const password = Buffer.from(r.buffer() ?? Buffer.alloc(0))
  const readOnly = r.remaining > 0 ? r.bool() : false
  return { protocolVersion, timeout, sessionId, password, readOnly }
}

/** The header of every reply. */
export interface ReplyHeader {
  xid: number
  zxid: bigint
  err: number
}

export function readReplyHeader(r: JuteReader): ReplyHeader {
  return { xid: r.int(), zxid: r.long(), err: r.int() }
}

/** A notification body (`WatcherEvent`). */
export interface WatcherEventRecord {
  type: number
  state: number
  path: string
}

export function readWatcherEvent(r: JuteReader): WatcherEventRecord {
  return { type: r.int(), state: r.int(), path: r.ustring() }
}

export function writeAuthPacket(w: JuteWriter, scheme: string, auth: Uint8Array): void {
  w.int(0).string(scheme).buffer(auth)
}

// ---- multi / multiRead ----

/** One sub-operation of `multi` or `multiRead`, in server paths. */
export type SubOp =
  | { type: 'create'; req: CreateRequest }
  | { type: 'delete'; req: PathVersion }
  | { type: 'setData'; req: SetDataRequest }
  | { type: 'check'; req: PathVersion }
  | { type: 'getData'; req: { path: string } }
  | { type: 'getChildren'; req: { path: string } }

/** One sub-result of `multi`/`multiRead`, in server paths. `error` carries the sub-op's code. */
export type SubResult =
  | { type: 'create'; path: string; stat: Stat | null }
  | { type: 'delete' }
  | { type: 'setData'; stat: Stat }
  | { type: 'check' }
  | { type: 'getData'; data: Buffer | null; stat: Stat }
  | { type: 'getChildren'; children: string[] }
  | { type: 'error'; err: number }

/** Opcode used for a create inside multi: containers and TTL nodes have their own. */
export function createOpcode(flags: number): number {
  if (flags === CreateFlags.container) return OpCode.createContainer
  if (flags === CreateFlags.persistent_with_ttl || flags === CreateFlags.persistent_sequential_with_ttl) return OpCode.createTTL
  return OpCode.create2
}

function writeSubOps(w: JuteWriter, subs: readonly SubOp[]): void {
  for (const sub of subs) {
    switch (sub.type) {
      case 'create': {
        const type = createOpcode(sub.req.flags)
        w.int(type).bool(false).int(-1)
        if (type === OpCode.createTTL) writeCreateTTL(w, sub.req)
        else writeCreate(w, sub.req)
        break
      }
      case 'delete':
        w.int(OpCode.delete).bool(false).int(-1)
        writePathVersion(w, sub.req)
        break
      case 'setData':
        w.int(OpCode.setData).bool(false).int(-1)
        ops.setData.write(w, sub.req)
        break
      case 'check':
        w.int(OpCode.check).bool(false).int(-1)
        writePathVersion(w, sub.req)
        break
      case 'getData':
        w.int(OpCode.getData).bool(false).int(-1)
        writePathWatch(w, { path: sub.req.path, watch: false })
        break
      case 'getChildren':
        w.int(OpCode.getChildren).bool(false).int(-1)
        writePathWatch(w, { path: sub.req.path, watch: false })
        break
    }
  }
  w.int(-1).bool(true).int(-1)
}

function readSubResults(r: JuteReader): SubResult[] {
  const out: SubResult[] = []
  for (;;) {
    const type = r.int()
    const done = r.bool()
    const err = r.int()
    if (done) return out
    switch (type) {
      case OpCode.create:
        out.push({ type: 'create', path: r.ustring(), stat: null })
        break
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        out.push({ type: 'create', path: r.ustring(), stat: readStat(r) })
        break
      case OpCode.delete:
        out.push({ type: 'delete' })
        break
      case OpCode.setData:
        out.push({ type: 'setData', stat: readStat(r) })
        break
      case OpCode.check:
        out.push({ type: 'check' })
        break
      case OpCode.getData:
        out.push({ type: 'getData', data: r.buffer(), stat: readStat(r) })
        break
      case OpCode.getChildren:
        out.push({ type: 'getChildren', children: readStrings(r) })
        break
      case OpCode.error:
        out.push({ type: 'error', err: r.int() })
        break
      default:
        throw new ProtocolError(`unknown multi result type ${type} (header err ${err})`)
    }
  }
}

export const multiOps = {
  multi: op<readonly SubOp[], SubResult[]>('multi', OpCode.multi, writeSubOps, readSubResults),
  multiRead: op<readonly SubOp[], SubResult[]>('multiRead', OpCode.multiRead, writeSubOps, readSubResults),
} as const

