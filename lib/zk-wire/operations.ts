import type { JuteReader, JuteWriter } from './jute.js'
import { ProtocolError } from './errors.js'
import { type ACL, type Stat, readACLs, readStat, readStrings, writeACLs, writeStat, writeStrings } from './records.js'

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
 * written and how its reply body is read (the client's side), and how a
 * server reads that request and writes that reply (the dev server's side).
 * Paths here are server paths (chroot applied); the client maps them.
 */
export interface Operation<Req, Res> {
  readonly name: string
  readonly type: number
  write(w: JuteWriter, req: Req): void
  read(r: JuteReader): Res
  /** Server side: reads the request body `write` produces. Throws `ProtocolError` on malformed bytes. */
  readRequest(r: JuteReader): Req
  /** Server side: writes the reply body `read` consumes. */
  writeResponse(w: JuteWriter, res: Res): void
}

function op<Req, Res>(
  name: string,
  type: number,
  write: Operation<Req, Res>['write'],
  read: Operation<Req, Res>['read'],
  readRequest: Operation<Req, Res>['readRequest'],
  writeResponse: Operation<Req, Res>['writeResponse'],
): Operation<Req, Res> {
  return { name, type, write, read, readRequest, writeResponse }
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

const readCreateRequest = (r: JuteReader): CreateRequest => ({ path: r.ustring(), data: r.buffer(), acl: readACLs(r), flags: r.int() })
function readCreateTTLRequest(r: JuteReader): CreateRequest {
  const req = readCreateRequest(r)
  req.ttl = r.long()
  return req
}
const readPathWatch = (r: JuteReader): PathWatch => ({ path: r.ustring(), watch: r.bool() })
const readPathVersion = (r: JuteReader): PathVersion => ({ path: r.ustring(), version: r.int() })
const readPath = (r: JuteReader): { path: string } => ({ path: r.ustring() })
const readPathType = (r: JuteReader): { path: string; type: number } => ({ path: r.ustring(), type: r.int() })
const readSetDataRequest = (r: JuteReader): SetDataRequest => ({ path: r.ustring(), data: r.buffer(), version: r.int() })
const writeString = (w: JuteWriter, s: string): void => void w.string(s)
const writeCreate2 = (w: JuteWriter, res: CreateResult): void => {
  w.string(res.path)
  writeStat(w, res.stat)
}
const writeData = (w: JuteWriter, res: DataResult): void => {
  w.buffer(res.data)
  writeStat(w, res.stat)
}

export const ops = {
  create: op<CreateRequest, string>('create', OpCode.create, writeCreate, (r) => r.ustring(), readCreateRequest, writeString),
  create2: op<CreateRequest, CreateResult>('create2', OpCode.create2, writeCreate, readCreate2, readCreateRequest, writeCreate2),
  createContainer: op<CreateRequest, CreateResult>('createContainer', OpCode.createContainer, writeCreate, readCreate2, readCreateRequest, writeCreate2),
  createTTL: op<CreateRequest, CreateResult>('createTTL', OpCode.createTTL, writeCreateTTL, readCreate2, readCreateTTLRequest, writeCreate2),
  delete: op<PathVersion, void>('delete', OpCode.delete, writePathVersion, nothing, readPathVersion, nothing),
  exists: op<PathWatch, Stat>('exists', OpCode.exists, writePathWatch, readStat, readPathWatch, writeStat),
  getData: op<PathWatch, DataResult>('getData', OpCode.getData, writePathWatch, readData, readPathWatch, writeData),
  setData: op<SetDataRequest, Stat>('setData', OpCode.setData, (w, req) => void w.string(req.path).buffer(req.data).int(req.version), readStat, readSetDataRequest, writeStat),
  getACL: op<{ path: string }, ACLResult>(
    'getACL',
    OpCode.getACL,
    writePath,
    (r) => ({ acl: readACLs(r), stat: readStat(r) }),
    readPath,
    (w, res) => {
      writeACLs(w, res.acl)
      writeStat(w, res.stat)
    },
  ),
  setACL: op<{ path: string; acl: readonly ACL[]; version: number }, Stat>(
    'setACL',
    OpCode.setACL,
    (w, req) => {
      w.string(req.path)
      writeACLs(w, req.acl)
      w.int(req.version)
    },
    readStat,
    (r) => ({ path: r.ustring(), acl: readACLs(r), version: r.int() }),
    writeStat,
  ),
  getChildren: op<PathWatch, string[]>('getChildren', OpCode.getChildren, writePathWatch, readStrings, readPathWatch, writeStrings),
  getChildren2: op<PathWatch, ChildrenResult>(
    'getChildren2',
    OpCode.getChildren2,
    writePathWatch,
    (r) => ({ children: readStrings(r), stat: readStat(r) }),
    readPathWatch,
    (w, res) => {
      writeStrings(w, res.children)
      writeStat(w, res.stat)
    },
  ),
  sync: op<{ path: string }, string>('sync', OpCode.sync, writePath, (r) => r.ustring(), readPath, writeString),
  check: op<PathVersion, void>('check', OpCode.check, writePathVersion, nothing, readPathVersion, nothing),
  checkWatches: op<{ path: string; type: number }, void>('checkWatches', OpCode.checkWatches, writePathType, nothing, readPathType, nothing),
  removeWatches: op<{ path: string; type: number }, void>('removeWatches', OpCode.removeWatches, writePathType, nothing, readPathType, nothing),
  /** ZooKeeper answers addWatch with an ErrorResponse holding code 0, which the client ignores. */
  addWatch: op<{ path: string; type: number }, void>('addWatch', OpCode.addWatch, writePathType, nothing, readPathType, (w) => void w.int(0)),
  /** A null prefix reads as `/` (all of the session's ephemerals), as ZooKeeper reads it. */
  getEphemerals: op<{ path: string }, string[]>('getEphemerals', OpCode.getEphemerals, writePath, readStrings, (r) => ({ path: r.string() ?? '/' }), writeStrings),
  getAllChildrenNumber: op<{ path: string }, number>('getAllChildrenNumber', OpCode.getAllChildrenNumber, writePath, (r) => r.int(), readPath, (w, n) => void w.int(n)),
  setWatches2: op<SetWatchesRequest, void>('setWatches2', OpCode.setWatches2, writeSetWatches2, nothing, readSetWatches2, nothing),
  /** The pre-3.6 SetWatches: data, exist and child watches only (other clients still send it). */
  setWatches: op<SetWatchesRequest, void>('setWatches', OpCode.setWatches, writeSetWatches, nothing, readSetWatches, nothing),
  sasl: op<{ token: Uint8Array }, Buffer | null>('sasl', OpCode.sasl, (w, req) => void w.buffer(req.token), (r) => r.buffer(), (r) => ({ token: r.buffer() ?? Buffer.alloc(0) }), (w, token) => void w.buffer(token)),
  /** The identities of the connection: `(scheme, user)` pairs. */
  whoAmI: op<void, ClientInfo[]>('whoAmI', OpCode.whoAmI, nothing, (r) => r.vector(readClientInfo, 8), nothing, (w, infos) => void w.vector(infos, writeClientInfo)),
  closeSession: op<void, void>('closeSession', OpCode.closeSession, nothing, nothing, nothing, nothing),
} as const

/** One identity of a connection, as `whoAmI` reports it. */
export interface ClientInfo {
  authScheme: string
  user: string
}

const readClientInfo = (r: JuteReader): ClientInfo => ({ authScheme: r.ustring(), user: r.ustring() })
const writeClientInfo = (w: JuteWriter, info: ClientInfo): void => void w.string(info.authScheme).string(info.user)

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

function readSetWatches2(r: JuteReader): SetWatchesRequest {
  return { relativeZxid: r.long(), data: readStrings(r), exist: readStrings(r), child: readStrings(r), persistent: readStrings(r), persistentRecursive: readStrings(r) }
}

function writeSetWatches(w: JuteWriter, req: SetWatchesRequest): void {
  w.long(req.relativeZxid)
  for (const list of [req.data, req.exist, req.child]) writeStrings(w, list)
}

function readSetWatches(r: JuteReader): SetWatchesRequest {
  return { relativeZxid: r.long(), data: readStrings(r), exist: readStrings(r), child: readStrings(r), persistent: [], persistentRecursive: [] }
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

/**
 * Server side: reads a handshake. Clients older than ZooKeeper 3.3 omit the
 * read-only flag (`oldClient`), and then the reply must omit it too.
 */
export function readConnectRequest(r: JuteReader): ConnectRequest & { oldClient: boolean } {
  const protocolVersion = r.int()
  const lastZxidSeen = r.long()
  const timeout = r.int()
  const sessionId = r.long()
  const password = r.buffer() ?? Buffer.alloc(0)
  const oldClient = r.remaining === 0
  return { protocolVersion, lastZxidSeen, timeout, sessionId, password, readOnly: oldClient ? false : r.bool(), oldClient }
}

/** Server side: writes the handshake reply, with the read-only flag unless the client is too old to expect it. */
export function writeConnectResponse(w: JuteWriter, res: ConnectResponse, withReadOnly = true): void {
  w.int(res.protocolVersion).int(res.timeout).long(res.sessionId).buffer(res.password)
  if (withReadOnly) w.bool(res.readOnly)
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

export function writeReplyHeader(w: JuteWriter, h: ReplyHeader): void {
  w.int(h.xid).long(h.zxid).int(h.err)
}

/** The header of every request after the handshake. */
export interface RequestHeader {
  xid: number
  type: number
}

export function readRequestHeader(r: JuteReader): RequestHeader {
  return { xid: r.int(), type: r.int() }
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

export function writeWatcherEvent(w: JuteWriter, e: WatcherEventRecord): void {
  w.int(e.type).int(e.state).string(e.path)
}

export function writeAuthPacket(w: JuteWriter, scheme: string, auth: Uint8Array): void {
  w.int(0).string(scheme).buffer(auth)
}

/** Server side: reads an auth packet (its leading `type` field is unused by ZooKeeper). */
export function readAuthPacket(r: JuteReader): { scheme: string; auth: Buffer } {
  r.int()
  return { scheme: r.ustring(), auth: r.buffer() ?? Buffer.alloc(0) }
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

/**
 * Server side: reads the sub-operations of `multi`/`multiRead`. A create sent
 * as `createTTL` carries its `ttl`; the others have none. Unknown types throw.
 */
function readSubOps(r: JuteReader): SubOp[] {
  const out: SubOp[] = []
  for (;;) {
    const type = r.int()
    const done = r.bool()
    r.int()
    if (done) return out
    switch (type) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
        out.push({ type: 'create', req: readCreateRequest(r) })
        break
      case OpCode.createTTL:
        out.push({ type: 'create', req: readCreateTTLRequest(r) })
        break
      case OpCode.delete:
        out.push({ type: 'delete', req: readPathVersion(r) })
        break
      case OpCode.setData:
        out.push({ type: 'setData', req: readSetDataRequest(r) })
        break
      case OpCode.check:
        out.push({ type: 'check', req: readPathVersion(r) })
        break
      case OpCode.getData:
        out.push({ type: 'getData', req: { path: readPathWatch(r).path } })
        break
      case OpCode.getChildren:
        out.push({ type: 'getChildren', req: { path: readPathWatch(r).path } })
        break
      default:
        throw new ProtocolError(`invalid multi operation type ${type}`)
    }
  }
}

/**
 * Server side: writes `multi`/`multiRead` results as ZooKeeper does. A create
 * without a Stat is reported as `create`, one with a Stat as `create2`.
 */
function writeSubResults(w: JuteWriter, results: readonly SubResult[]): void {
  for (const res of results) {
    switch (res.type) {
      case 'create':
        if (res.stat === null) {
          w.int(OpCode.create).bool(false).int(0).string(res.path)
        } else {
          w.int(OpCode.create2).bool(false).int(0).string(res.path)
          writeStat(w, res.stat)
        }
        break
      case 'delete':
        w.int(OpCode.delete).bool(false).int(0)
        break
      case 'setData':
        w.int(OpCode.setData).bool(false).int(0)
        writeStat(w, res.stat)
        break
      case 'check':
        w.int(OpCode.check).bool(false).int(0)
        break
      case 'getData':
        w.int(OpCode.getData).bool(false).int(0)
        writeData(w, res)
        break
      case 'getChildren':
        w.int(OpCode.getChildren).bool(false).int(0)
        writeStrings(w, res.children)
        break
      case 'error':
        w.int(OpCode.error).bool(false).int(res.err).int(res.err)
        break
    }
  }
  w.int(-1).bool(true).int(-1)
}

export const multiOps = {
  multi: op<readonly SubOp[], SubResult[]>('multi', OpCode.multi, writeSubOps, readSubResults, readSubOps, writeSubResults),
  multiRead: op<readonly SubOp[], SubResult[]>('multiRead', OpCode.multiRead, writeSubOps, readSubResults, readSubOps, writeSubResults),
} as const

