import { type Env, realEnv } from '../env.js'
import { Code, NullStringError, ProtocolError } from '../zk-wire/errors.js'
import { JuteReader } from '../zk-wire/jute.js'
import { logger } from '../zk-wire/log.js'
import {
  type SubOp,
  type SubResult,
  OpCode,
  Xid,
  multiOps,
  ops,
  readAuthPacket,
  readConnectRequest,
  readRequestHeader,
} from '../zk-wire/operations.js'
import { digestIdentity } from './acl-check.js'
import type { ClientConnection } from './connection.js'
import { DataTree } from './data-tree.js'
import { Failure } from './failure.js'
import { isRead, readSubOps, runMulti } from './multi.js'
import { readSetACL, readSetData } from './nullable.js'
import { Prep } from './prep.js'
import { DigestMd5Server } from './sasl-server.js'
import { reads, subRead } from './reads.js'
import { SessionTracker } from './sessions.js'

const log = logger('zkcloud:dev-server')

/** Session timeout bounds and the tick they are measured in, as in zoo.cfg. */
export interface ProcessorOptions {
  tickTime: number
  minSessionTimeout: number
  maxSessionTimeout: number
  /** SASL DIGEST-MD5 users and passwords; without them SASL tokens get the empty answer of a ZooKeeper without SASL. */
  saslUsers?: ReadonlyMap<string, string>
  /** Called after anything a snapshot holds has changed. */
  changed(): void
  /** The clock and randomness (session ids, passwords, node times); default the real ones. The simulator passes a virtual one. */
  env?: Pick<Env, 'now' | 'randomBytes'>
}

/** Opcodes that change the tree: each takes a zxid, even when it fails (ZooKeeper logs an error txn). */
const WRITES: ReadonlySet<number> = new Set([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.setData,
  OpCode.setACL,
  OpCode.check,
  OpCode.multi,
  OpCode.reconfig,
  OpCode.deleteContainer,
  OpCode.closeSession,
])

function codeOf(err: unknown): number {
  if (err instanceof Failure) return err.code
  if (!(err instanceof ProtocolError)) log('request failed: %O', err)
  return Code.MARSHALLINGERROR
}

/**
 * ZooKeeper's request pipeline for one standalone server, run synchronously:
 * the handshake, every request type with ZooKeeper 3.8's checks and replies,
 * zxids, sessions and their expiry, and the container/TTL reaper. Replies and
 * notifications are queued on the connections, notifications first, so a
 * client hears the events of its own change before the change's reply.
 */
export class Processor {
  readonly tree = new DataTree()
  readonly sessions: SessionTracker
  /** The last zxid handed out (ZooKeeper's lastProcessedZxid). */
  zxid = 0n
  /** The connection each session is attached to. */
  private readonly owners = new Map<bigint, ClientConnection>()
  private readonly env: Pick<Env, 'now' | 'randomBytes'>
  /** Each connection's SASL exchange, once it has sent a token. */
  private readonly saslServers = new WeakMap<ClientConnection, DigestMd5Server>()

  constructor(private readonly options: ProcessorOptions) {
    this.env = options.env ?? realEnv
    this.sessions = new SessionTracker(options.tickTime, this.env)
  }

  /** Handles the first frame of a connection (ConnectRequest): a new session, a re-attached one, or a refusal. */
  handshake(conn: ClientConnection, frame: Buffer): void {
    let req: ReturnType<typeof readConnectRequest>
    try {
      req = readConnectRequest(new JuteReader(frame))
    } catch {
      return conn.destroy()
    }
    // A client that has seen a newer zxid must find another server, as ZooKeeper tells it by closing.
    if (req.lastZxidSeen > this.zxid) return conn.destroy()
    const timeout = Math.min(Math.max(req.timeout, this.options.minSessionTimeout), this.options.maxSessionTimeout)
    if (req.sessionId === 0n) {
      const session = this.sessions.create(timeout)
      this.zxid++
      this.options.changed()
      return this.attach(conn, session.id, timeout, session.password, !req.oldClient)
    }
    this.owners.get(req.sessionId)?.destroy()
    const session = this.sessions.get(req.sessionId)
    if (session !== undefined && session.password.equals(req.password) && this.sessions.touch(session.id, timeout)) {
      return this.attach(conn, session.id, timeout, session.password, !req.oldClient)
    }
    conn.accept(0, 0n, Buffer.alloc(16), !req.oldClient)
    conn.end()
  }

  private attach(conn: ClientConnection, sessionId: bigint, timeout: number, password: Buffer, withReadOnly: boolean): void {
    conn.sessionId = sessionId
    this.owners.set(sessionId, conn)
    conn.accept(timeout, sessionId, password, withReadOnly)
  }

  /** Handles one request frame of an attached connection. */
  request(conn: ClientConnection, frame: Buffer): void {
    const r = new JuteReader(frame)
    let xid: number
    let type: number
    try {
      ;({ xid, type } = readRequestHeader(r))
    } catch {
      return conn.destroy()
    }
    // Like ZooKeeper, auth and SASL packets are answered outside the request pipeline: they do not keep a session alive.
    if (type !== OpCode.auth && type !== OpCode.sasl) this.sessions.touch(conn.sessionId)
    const read = reads.get(type)
    if (read !== undefined) {
      let res: unknown
      try {
        res = read.run(this.tree, conn, r)
      } catch (err) {
        return conn.reply(xid, this.zxid, codeOf(err))
      }
      return conn.reply(xid, this.zxid, 0, read.op, res)
    }
    if (WRITES.has(type)) return this.write(conn, xid, type, r)
    switch (type) {
      case OpCode.ping:
        return conn.reply(Xid.ping, this.zxid, 0)
      case OpCode.auth:
        return this.auth(conn, xid, r)
      case OpCode.sasl:
        return this.sasl(conn, xid, r)
      case OpCode.multiRead:
        return this.multiRead(conn, xid, r)
      case OpCode.setWatches:
      case OpCode.setWatches2: {
        const op = type === OpCode.setWatches ? ops.setWatches : ops.setWatches2
        try {
          const req = op.readRequest(r)
          this.tree.setWatches(req.relativeZxid, req, conn)
        } catch (err) {
          return conn.reply(xid, this.zxid, codeOf(err))
        }
        return conn.reply(xid, this.zxid, 0)
      }
    }
    conn.reply(xid, -1n, Code.UNIMPLEMENTED)
    conn.end()
  }

  private auth(conn: ClientConnection, xid: number, r: JuteReader): void {
    let packet: { scheme: string; auth: Buffer }
    try {
      packet = readAuthPacket(r)
    } catch {
      return conn.destroy()
    }
    if (packet.scheme === 'digest') {
      conn.authInfo.add({ scheme: 'digest', id: digestIdentity(packet.auth.toString('utf8')) })
    } else if (packet.scheme === 'ip') {
      conn.authInfo.add({ scheme: 'ip', id: conn.address })
    } else {
      conn.reply(xid, 0n, Code.AUTHFAILED)
      return conn.end()
    }
    conn.reply(xid, 0n, 0)
  }

  /**
   * A SASL token. Without users, ZooKeeper's answer without SASL configured: a
   * null token and no error, forever. With users, DIGEST-MD5: a failure is
   * AUTHFAILED and the connection closes; success adds the `sasl:<user>` identity.
   */
  private sasl(conn: ClientConnection, xid: number, r: JuteReader): void {
    let token: Buffer
    try {
      token = Buffer.from(ops.sasl.readRequest(r).token)
    } catch {
      return conn.destroy()
    }
    const users = this.options.saslUsers
    if (users === undefined) return conn.reply(xid, 0n, 0, ops.sasl, null)
    let server = this.saslServers.get(conn)
    if (server === undefined) this.saslServers.set(conn, (server = new DigestMd5Server(users)))
    const step = server.step(token)
    if ('failed' in step) {
      log('SASL authentication failed for %s: %s', conn.address, step.failed)
      conn.reply(xid, 0n, Code.AUTHFAILED, ops.sasl, null)
      return conn.end()
    }
    if (step.user !== undefined) conn.authInfo.add({ scheme: 'sasl', id: step.user })
    conn.reply(xid, 0n, 0, ops.sasl, step.token)
  }

  private write(conn: ClientConnection, xid: number, type: number, r: JuteReader): void {
    const zxid = ++this.zxid
    const time = BigInt(this.env.now())
    const prep = new Prep(this.tree, conn.sessionId, conn.authInfo, this.options.saslUsers !== undefined)
    this.options.changed()
    try {
      switch (type) {
        case OpCode.create: {
          const txn = prep.create(type, ops.create.readRequest(r), -1)
          this.tree.createNode(txn, zxid, time)
          return conn.reply(xid, zxid, 0, ops.create, txn.path)
        }
        case OpCode.create2:
        case OpCode.createContainer:
        case OpCode.createTTL: {
          const op = type === OpCode.createTTL ? ops.createTTL : ops.create2
          const req = op.readRequest(r)
          const txn = prep.create(type, req, req.ttl === undefined ? -1 : Number(req.ttl))
          return conn.reply(xid, zxid, 0, op, { path: txn.path, stat: this.tree.createNode(txn, zxid, time) })
        }
        case OpCode.delete:
          this.tree.deleteNode(prep.delete(ops.delete.readRequest(r)).path, zxid)
          return conn.reply(xid, zxid, 0)
        case OpCode.setData:
          return conn.reply(xid, zxid, 0, ops.setData, this.tree.setData(prep.setData(readSetData(r)), zxid, time))
        case OpCode.setACL:
          return conn.reply(xid, zxid, 0, ops.setACL, this.tree.setACL(prep.setACL(readSetACL(r))))
        case OpCode.check:
          prep.check(ops.check.readRequest(r))
          return conn.reply(xid, zxid, 0)
        case OpCode.multi: {
          let subs: readonly SubOp[]
          try {
            subs = readSubOps(multiOps.multi, r)
          } catch (err) {
            // ZooKeeper reads a null string as null and fails the whole multi further on, with no results.
            if (err instanceof NullStringError) return conn.reply(xid, zxid, Code.MARSHALLINGERROR, multiOps.multi, [])
            throw err
          }
          // The reply header says OK even when an operation failed, as ZooKeeper's does.
          return conn.reply(xid, zxid, 0, multiOps.multi, runMulti(this.tree, prep, subs, zxid, time))
        }
        case OpCode.closeSession:
          this.endSession(conn.sessionId, zxid)
          conn.reply(xid, zxid, 0)
          return conn.end()
        case OpCode.reconfig:
          return conn.reply(xid, zxid, Code.RECONFIGDISABLED)
        default:
          // deleteContainer is the reaper's; ZooKeeper refuses it from clients.
          return conn.reply(xid, zxid, Code.BADARGUMENTS)
      }
    } catch (err) {
      conn.reply(xid, zxid, codeOf(err))
    }
  }

  /** multiRead: each read fails or succeeds on its own. Writes in it are refused, with an empty result list as ZooKeeper sends. */
  private multiRead(conn: ClientConnection, xid: number, r: JuteReader): void {
    let subs: readonly SubOp[]
    try {
      subs = readSubOps(multiOps.multiRead, r)
    } catch (err) {
      return conn.reply(xid, this.zxid, codeOf(err))
    }
    if (subs.length > 0 && !isRead(subs[0]!)) return conn.reply(xid, this.zxid, Code.MARSHALLINGERROR, multiOps.multiRead, [])
    const results = subs.map((sub): SubResult => {
      try {
        return subRead(this.tree, conn, sub.type as 'getData' | 'getChildren', sub.req.path)
      } catch (err) {
        return { type: 'error', err: codeOf(err) }
      }
    })
    conn.reply(xid, this.zxid, 0, multiOps.multiRead, results)
  }

  /** A connection went away: its watches go; its session stays until it expires or is re-attached. */
  disconnected(conn: ClientConnection): void {
    this.tree.removeWatcher(conn)
    if (this.owners.get(conn.sessionId) === conn) this.owners.delete(conn.sessionId)
  }

  /** Ends sessions whose timeout passed: their ephemeral nodes go (one zxid each) and their connection is closed. */
  expireSessions(now: number): void {
    for (const session of this.sessions.takeExpired(now)) {
      this.tree.killSession(session.id, ++this.zxid)
      this.owners.get(session.id)?.destroy()
      this.options.changed()
    }
  }

  private endSession(sessionId: bigint, zxid: bigint): void {
    this.tree.killSession(sessionId, zxid)
    this.sessions.remove(sessionId)
  }

  /** Deletes empty containers and expired TTL nodes, one zxid each, as ZooKeeper's container manager does. */
  reap(now: number): void {
    for (const path of this.tree.reapable(now)) {
      this.tree.deleteNode(path, ++this.zxid)
      this.options.changed()
    }
  }
}
