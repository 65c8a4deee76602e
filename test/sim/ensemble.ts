import { AuthInfo } from '../../lib/dev-server/auth-info.js'
import type { ClientConnection } from '../../lib/dev-server/connection.js'
import { Processor } from '../../lib/dev-server/processor.js'
import { MAX_FRAME_SIZE } from '../../lib/dev-server/server.js'
import type { Env } from '../../lib/env.js'
import { FrameDecoder } from '../../lib/zk-wire/framing.js'
import { JuteReader, JuteWriter } from '../../lib/zk-wire/jute.js'
import { type Operation, OpCode, Xid, readRequestHeader, writeConnectResponse, writeReplyHeader, writeWatcherEvent } from '../../lib/zk-wire/operations.js'
import type { Link, SimNetwork, SimSocket } from './network.js'
import type { Random, Scheduler } from './scheduler.js'

/** `KeeperState.SyncConnected`, the state of every node event. */
const SYNC_CONNECTED = 3
export const ZK_PORT = 2181

/** zoo.cfg of the simulated ensemble. */
export interface EnsembleConfig {
  tickTime: number
  /** How many ticks a follower keeps serving without hearing the leader. */
  syncLimit: number
  minSessionTimeout: number
  maxSessionTimeout: number
}

type EndpointState = 'serving' | 'looking' | 'down'

/**
 * One client connection, as the simulated ensemble sees it: its socket at a
 * follower (or the leader's own endpoint), and the `ClientConnection` the
 * leader's request processor replies and notifies through. Frames from the
 * client go to the leader over the endpoint's leader link; replies come back
 * the same way, in order.
 */
class ServerConn implements ClientConnection {
  sessionId = 0n
  readonly authInfo: AuthInfo
  readonly address: string
  private phase: 'handshake' | 'open' | 'closed' = 'handshake'
  /** The leader has been told this connection is gone. */
  private released = false
  private readonly decoder = new FrameDecoder(MAX_FRAME_SIZE)
  /** Fault: the reply to the next request is lost along with the connection (after the leader applied it). */
  loseNextReply = false

  constructor(
    readonly endpoint: Endpoint,
    readonly socket: SimSocket,
    readonly link: Link,
  ) {
    this.address = link.clientOwner
    this.authInfo = new AuthInfo(this.address)
    socket.attach({
      ready: () => undefined,
      data: (chunk) => this.onData(chunk),
      error: () => this.onClosed(),
      close: () => this.onClosed(),
    })
  }

  get isOpen(): boolean {
    return this.phase !== 'closed'
  }

  private onData(chunk: Buffer): void {
    if (this.phase === 'closed') return
    try {
      this.decoder.push(chunk, (frame) => this.onFrame(Buffer.from(frame)))
    } catch {
      this.close()
    }
  }

  private onFrame(frame: Buffer): void {
    const processor = this.endpoint.ensemble.processor
    if (this.phase === 'handshake') {
      this.phase = 'open'
      return this.endpoint.toLeader(() => processor.handshake(this, frame))
    }
    if (this.phase !== 'open') return
    const { type } = readRequestHeader(new JuteReader(frame))
    // Followers answer pings themselves and tell the leader the session lives once a tick.
    if (type === OpCode.ping) return this.endpoint.ping(this)
    this.endpoint.toLeader(() => {
      if (this.released) return
      if (type === OpCode.setWatches || type === OpCode.setWatches2) this.endpoint.ensemble.onRearm?.(this.address)
      processor.request(this, frame)
    })
  }

  /** The client side went away (or the link was reset): the leader drops its watches when it hears. */
  private onClosed(): void {
    if (this.phase === 'closed') return
    this.phase = 'closed'
    this.endpoint.conns.delete(this)
    this.endpoint.toLeader(() => this.release())
  }

  /** Tells the leader's processor the connection is gone (once). */
  release(): void {
    if (this.released) return
    this.released = true
    this.endpoint.ensemble.processor.disconnected(this)
  }

  /** Closes the socket here (the endpoint's decision). */
  close(): void {
    if (this.phase === 'closed') return
    this.phase = 'closed'
    this.endpoint.conns.delete(this)
    this.socket.destroy()
  }

  private frame(body: (w: JuteWriter) => void): void {
    const w = new JuteWriter()
    const mark = w.beginFrame()
    body(w)
    w.endFrame(mark)
    const bytes = w.take()
    this.endpoint.fromLeader(() => {
      if (this.phase !== 'closed') this.socket.write(bytes)
    })
  }

  reply<Res>(xid: number, zxid: bigint, err: number, op?: Operation<unknown, Res>, res?: Res): void {
    if (this.released) return
    if (xid > 0 && this.loseNextReply) {
      this.loseNextReply = false
      this.endpoint.fromLeader(() => this.link.cut())
      return
    }
    this.frame((w) => {
      writeReplyHeader(w, { xid, zxid, err })
      op?.writeResponse(w, res as Res)
    })
  }

  notify(type: number, path: string): void {
    if (this.released) return
    this.endpoint.ensemble.onNotify?.(this.address, type, path)
    this.frame((w) => {
      writeReplyHeader(w, { xid: Xid.notification, zxid: -1n, err: 0 })
      writeWatcherEvent(w, { type, state: SYNC_CONNECTED, path })
    })
  }

  accept(timeout: number, sessionId: bigint, password: Buffer, withReadOnly: boolean): void {
    if (this.released) return
    this.frame((w) => writeConnectResponse(w, { protocolVersion: 0, timeout, sessionId, password, readOnly: false }, withReadOnly))
  }

  /** The leader ends the connection after what it queued (closeSession, refused handshake). */
  end(): void {
    this.release()
    this.endpoint.fromLeader(() => this.close())
  }

  /** The leader drops the connection (session expired, taken over by another connection). */
  destroy(): void {
    this.release()
    this.endpoint.fromLeader(() => this.close())
  }

  pingReply(zxid: bigint): void {
    if (this.phase !== 'open') return
    const w = new JuteWriter()
    const mark = w.beginFrame()
    writeReplyHeader(w, { xid: Xid.ping, zxid, err: 0 })
    w.endFrame(mark)
    this.socket.write(w.take())
  }
}

/**
 * One server of the ensemble, as clients see it: a listening address, its
 * client connections, and its link to the leader. A follower answers pings
 * itself, forwards everything else to the leader, and tells the leader once a
 * tick which sessions pinged it. Cut off from the leader it keeps serving
 * pings for `syncLimit × tickTime`, then drops its clients and looks for a
 * leader until the partition heals.
 */
export class Endpoint {
  state: EndpointState = 'serving'
  readonly conns = new Set<ServerConn>()
  /** Sessions that pinged since the last tick. */
  private readonly touched = new Set<bigint>()
  private partitionedSince: number | null = null
  private held: Array<{ toLeader: boolean; fn: () => void }> = []
  private lastToLeader = 0
  private lastFromLeader = 0
  /** The zxid this server last knew (what its ping replies carry). */
  private knownZxid = 0n

  constructor(
    readonly ensemble: SimEnsemble,
    readonly host: string,
  ) {}

  get isLeader(): boolean {
    return this.ensemble.leader === this
  }

  get isPartitioned(): boolean {
    return this.partitionedSince !== null
  }

  /** Starts accepting clients. */
  listen(): void {
    this.ensemble.net.listen(this.host, ZK_PORT, (socket, link) => {
      if (this.state !== 'serving') {
        // A server without a leader closes client connections at once ("ZooKeeperServer not running").
        this.ensemble.scheduler.at(0, () => socket.destroy())
        return
      }
      this.conns.add(new ServerConn(this, socket, link))
    })
  }

  /** A message to the leader's processor: at once on the leader, else over the leader link (held while partitioned). */
  toLeader(fn: () => void): void {
    if (this.isLeader) return fn()
    if (this.ensemble.leader !== null) this.overLink(true, fn)
  }

  /** A message from the leader to this server's client connection. */
  fromLeader(fn: () => void): void {
    if (this.isLeader) return fn()
    if (this.ensemble.leader !== null) this.overLink(false, fn)
  }

  private overLink(toLeader: boolean, fn: () => void): void {
    if (this.state !== 'serving') return
    if (this.partitionedSince !== null) {
      this.held.push({ toLeader, fn })
      return
    }
    const s = this.ensemble.scheduler
    const at = Math.max(toLeader ? this.lastToLeader : this.lastFromLeader, s.now + this.ensemble.latency())
    if (toLeader) this.lastToLeader = at
    else this.lastFromLeader = at
    const epoch = this.ensemble.epoch
    s.at(at - s.now, () => {
      if (this.ensemble.epoch === epoch && this.state === 'serving') fn()
    })
  }

  ping(conn: ServerConn): void {
    if (this.isLeader) {
      this.ensemble.processor.sessions.touch(conn.sessionId)
      conn.pingReply(this.ensemble.processor.zxid)
      return
    }
    this.touched.add(conn.sessionId)
    conn.pingReply(this.knownZxid)
  }

  /** Once a tick: forward the sessions that pinged; a partitioned follower gives up after syncLimit ticks. */
  tick(): void {
    if (this.state !== 'serving' || this.isLeader) return
    const { processor, config, scheduler } = this.ensemble
    if (this.partitionedSince === null) {
      this.knownZxid = processor.zxid
      const ids = [...this.touched]
      this.touched.clear()
      this.overLink(true, () => {
        for (const id of ids) processor.sessions.touch(id)
      })
      return
    }
    if (scheduler.now - this.partitionedSince >= config.syncLimit * config.tickTime) this.dropClients('looking')
  }

  /** Cuts this server off from the leader (not from its clients). */
  partition(): void {
    if (this.partitionedSince === null && !this.isLeader) this.partitionedSince = this.ensemble.scheduler.now
  }

  heal(): void {
    if (this.partitionedSince === null) return
    this.partitionedSince = null
    const held = this.held
    this.held = []
    if (this.state === 'serving') for (const h of held) this.overLink(h.toLeader, h.fn)
    else if (this.state === 'looking') this.rejoin()
  }

  /** Loses the leader (or crashes): every client connection is dropped, and the leader forgets them. */
  dropClients(next: EndpointState): void {
    this.state = next
    this.held = []
    this.touched.clear()
    for (const conn of [...this.conns]) {
      conn.close()
      conn.release()
    }
  }

  /** Syncs with the leader, if there is one, and serves clients a tick later (without a leader, the election brings it back). */
  rejoin(): void {
    if (this.partitionedSince !== null || this.state === 'serving' || this.ensemble.leader === null) return
    const epoch = this.ensemble.epoch
    this.ensemble.scheduler.at(this.ensemble.config.tickTime, () => {
      if (this.state === 'looking' && this.partitionedSince === null && this.ensemble.epoch === epoch) this.state = 'serving'
    })
  }

  crash(): void {
    this.ensemble.net.unlisten(this.host, ZK_PORT)
    for (const conn of [...this.conns]) conn.link.cut()
    this.dropClients('down')
  }

  restart(): void {
    if (this.state !== 'down') return
    this.state = 'looking'
    this.listen()
    this.rejoin()
  }
}

/**
 * A simulated ZooKeeper ensemble on the virtual clock: one leader holding the
 * data tree and session expiry (the dev server's request processor), and
 * endpoints clients attach to. The tree survives endpoint crashes (it stands
 * for the replicated state); a new leader restarts every session's countdown,
 * as ZooKeeper's does.
 */
export class SimEnsemble {
  readonly processor: Processor
  readonly endpoints: Endpoint[]
  leader: Endpoint | null
  /** Bumped on every leader change: messages of an older epoch are dropped. */
  epoch = 0
  /** Called when the leader processes a SetWatches of a client (by owner). */
  onRearm?: (owner: string) => void
  /** Called when the leader sends a watch notification to a client (by owner), as the change is made. */
  onNotify?: (owner: string, type: number, path: string) => void

  constructor(
    readonly scheduler: Scheduler,
    readonly net: SimNetwork,
    readonly config: EnsembleConfig,
    env: Env,
    private readonly rand: Random,
    hosts: string[],
  ) {
    this.processor = new Processor({ ...config, changed: () => undefined, env })
    this.endpoints = hosts.map((h) => new Endpoint(this, h))
    this.leader = this.endpoints[0]!
    for (const e of this.endpoints) e.listen()
    this.scheduleTick()
  }

  get connectString(): string {
    return this.endpoints.map((e) => `${e.host}:${ZK_PORT}`).join(',')
  }

  latency(): number {
    return this.net.latency()
  }

  private scheduleTick(): void {
    const tick = this.config.tickTime
    this.scheduler.at(tick - (this.scheduler.now % tick), () => {
      for (const e of this.endpoints) e.tick()
      if (this.leader !== null) this.processor.expireSessions(this.scheduler.now)
      this.scheduleTick()
    })
  }

  /** The leader dies: everyone drops their clients; after an election a live endpoint leads. */
  crashLeader(downForMs: number): void {
    const old = this.leader
    if (old === null) return
    this.leader = null
    this.epoch++
    old.crash()
    for (const e of this.endpoints) if (e.state === 'serving') e.dropClients('looking')
    this.scheduler.at(this.config.tickTime * (1 + Math.floor(this.rand() * 3)), () => this.elect())
    this.scheduler.at(downForMs, () => old.restart())
  }

  /**
   * A live, reachable endpoint becomes leader once a quorum of them can vote;
   * until then (servers down or cut off) the election goes on a tick later, as
   * ZooKeeper's looking servers keep voting until a quorum answers.
   */
  private elect(): void {
    const candidates = this.endpoints.filter((e) => e.state !== 'down' && !e.isPartitioned)
    const next = candidates[Math.floor(this.rand() * candidates.length)]
    if (next === undefined || candidates.length * 2 <= this.endpoints.length) {
      this.scheduler.at(this.config.tickTime, () => this.elect())
      return
    }
    this.leader = next
    this.epoch++
    // The new leader gives every session a full timeout again.
    for (const s of [...this.processor.sessions.all()]) this.processor.sessions.touch(s.id)
    for (const e of this.endpoints) if (e.state === 'looking') e.rejoin()
  }

  /**
   * A server fault of a run's schedule, lasting `ms`: server `target` cut off
   * from the leader (not from its clients); crashed (the leader's crash holds
   * an election; one server is down at a time); or slow to answer its clients.
   */
  serverFault(kind: 'partition' | 'crash' | 'slow', target: number, ms: number): void {
    const e = this.endpoints[target]!
    const { scheduler } = this
    switch (kind) {
      case 'partition':
        e.partition()
        scheduler.at(ms, () => e.heal())
        return
      case 'crash':
        if (e.state === 'down' || this.endpoints.some((x) => x !== e && x.state === 'down')) return
        if (e.isLeader) return this.crashLeader(ms)
        e.crash()
        scheduler.at(ms, () => e.restart())
        return
      case 'slow': {
        const links = (): Link[] => [...this.net.links].filter((l) => l.serverHost === e.host)
        for (const l of links()) l.extraLatency = 50 + (ms % 200)
        scheduler.at(ms, () => {
          for (const l of links()) l.extraLatency = 0
        })
        return
      }
    }
  }

  /** Every endpoint reachable and serving again (for the quiet end of a run). */
  healAll(): void {
    for (const e of this.endpoints) {
      e.heal()
      if (e.state === 'down') e.restart()
    }
  }

  /** Ends a session at once, as if the leader's countdown ran out. */
  expire(sessionId: bigint): void {
    const session = this.processor.sessions.get(sessionId)
    if (session !== undefined) session.expiresAt = this.scheduler.now
  }

  /** The connection a client owner is attached through, if any. */
  connOf(owner: string): ServerConn | undefined {
    for (const e of this.endpoints) for (const c of e.conns) if (c.address === owner && c.isOpen) return c
    return undefined
  }
}
