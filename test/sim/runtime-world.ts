/**
 * The runtime world: the unchanged runtime `Node` (its transport, handshake,
 * admission, monitors and links) on virtual envs and simulated sockets. A few
 * honest nodes share a cookie; a hostile node holds another cookie, raw probes
 * say hello and prove nothing (or impersonate an honest node), and floods of
 * silent sockets press on the admission limits. Processes send numbered
 * messages, monitor and link to each other, spawn and kill; faults reset,
 * half-close, stall and partition connections, slow, pause and crash nodes
 * (a crashed node restarts as a new incarnation at the same address).
 *
 * Checked after every step: messages between two processes arrive in send
 * order and at most once, and one is missing only if a connection between
 * their nodes broke meanwhile; nothing from the hostile node or a probe is
 * ever delivered, and none of them receives a welcome (the acceptor's proof)
 * or a message; once a node hears that a peer is down, no monitor it holds on
 * that peer's processes is left unfired; a monitor or link fires at most once,
 * and `'disconnect'` only after the connection did break; unauthenticated
 * inbound sockets stay within the admission limits. At the end, after every
 * fault healed: every node reaches every other, every monitor and link of a
 * dead process fired, and after `stop()` no timer, deferred call or socket of
 * a node is left.
 */
import { decodeValue, encodeFrame } from '../../lib/runtime/codec.js'
import type { MonitorRef } from '../../lib/runtime/ids.js'
import { NodeId, ProcessId } from '../../lib/runtime/ids.js'
import { Node } from '../../lib/runtime/node.js'
import type { Process } from '../../lib/runtime/process.js'
import { type ExitReason, isDown, isExit } from '../../lib/runtime/signals.js'
import { FrameDecoder } from '../../lib/runtime/transport/framing.js'
import { NONCE_SIZE, PROTOCOL, PROTOCOL_VERSION } from '../../lib/runtime/transport/handshake.js'
import { Trace, Violations } from './model.js'
import { type Link, SimNetwork, type SimSocket } from './network.js'
import { Gate, gatedEnv, SimNet, type SimLinkSocket } from './runtime-net.js'
import { type Random, Scheduler, VirtualEnv, prng } from './scheduler.js'

/**
 * One fault of a runtime run: `a`, `b` are honest node indices; `ms` how long it lasts.
 * - `reset`: one connection between a and b is reset (both ends hear it);
 * - `halfopen`: one end of a connection between a and b is reset, the other hears nothing
 *   until keepalive gives up ({@link KEEPALIVE_MS});
 * - `stall`: one connection between a and b holds its bytes for `ms`;
 * - `partition`: a and b cannot reach each other for `ms` (new dials hang; open
 *   connections stall, and are reset by keepalive past {@link KEEPALIVE_MS});
 * - `slow`: a's connections get 20–200 ms more latency for `ms`;
 * - `pause`: a's process stops for `ms` (a GC pause, SIGSTOP), then runs what became due;
 * - `crash`: a dies (its connections reset, its port refuses) and restarts after `ms` as a new incarnation.
 */
export interface RuntimeFault {
  at: number
  kind: 'reset' | 'halfopen' | 'stall' | 'partition' | 'slow' | 'pause' | 'crash'
  a: number
  b?: number
  ms?: number
}

/** Options of one runtime run. */
export interface RuntimeRunOptions {
  seed: number
  /** Replaces the seed's fault schedule (reproductions, shrinking). */
  faults?: RuntimeFault[]
  /** Virtual length of the busy part. Default 60 s. */
  durationMs?: number
}

/** What one runtime run found. */
export interface RuntimeRunResult {
  seed: number
  ok: boolean
  violations: string[]
  faults: RuntimeFault[]
  trace: string[]
  stats: { steps: number; nodes: number; sent: number; delivered: number; downs: number; exits: number; probes: number; floods: number; restarts: number }
}

const PORT = 4370
const COOKIE = '5f0c1e2d3b4a69788796a5b4c3d2e1f0'
const WRONG_COOKIE = '0f1e2d3c4b5a69788796a5b4c3d2e1f5'
/** How long a connection whose peer vanished survives (TCP keepalive and retransmission giving up). */
export const KEEPALIVE_MS = 20_000
const HANDSHAKE_TIMEOUT = 5000
const MAX_HANDSHAKES = 8
const MAX_PER_ADDRESS = 3
const QUIET_MS = KEEPALIVE_MS + 5000

/** A run of a node: a restart is a new run (new incarnation) of the same host. */
interface Run {
  readonly host: string
  readonly honest: boolean
  readonly env: VirtualEnv
  readonly gate: Gate
  readonly net: SimNet
  readonly node: Node
  state: 'up' | 'crashed' | 'stopped'
  readonly actors: Actor[]
  /** `nodedown`s it heard: the peer's node key and the world's event counter. */
  readonly downs: Array<{ peer: string; at: number }>
  /** What `stop()` left behind, once it resolved. */
  leftovers?: string
}

interface Actor {
  readonly run: Run
  readonly pid: ProcessId
  self: Process | null
  alive: boolean
  /** Last sequence number received from each sender (pid key). */
  readonly lastFrom: Map<string, number>
  readonly monitors: Map<number, MonitorRecord>
  /**
   * Links with other processes, by pid key: `own` if this one made the first
   * (only those must fire: a link the other end made may not have reached this
   * node); `links` how many times either end linked, `signals` the exit signals heard.
   */
  readonly links: Map<string, LinkRecord>
}

interface LinkRecord {
  readonly target: ProcessId
  readonly at: number
  readonly own: boolean
  links: number
  signals: number
}

interface MonitorRecord {
  readonly owner: Actor
  readonly target: ProcessId
  readonly ref: MonitorRef
  readonly at: number
  fired: number
}

interface Pair {
  next: number
  /** The event counter when message `seq` (index seq - 1) was sent. */
  readonly sentAt: number[]
  delivered: number
}

interface Probe {
  readonly socket: SimSocket
  readonly variant: 'junk' | 'null' | 'silent' | 'impersonate'
}

export class RuntimeWorld {
  readonly scheduler = new Scheduler()
  readonly start = this.scheduler.now
  readonly violations = new Violations(() => this.scheduler.now, this.start)
  readonly trace = new Trace(() => this.scheduler.now, this.start)
  readonly net: SimNetwork
  readonly hosts: string[]
  /** The current run of each honest host. */
  readonly current: Run[] = []
  readonly runs: Run[] = []
  hostile!: Run
  readonly actors = new Map<string, Actor>()
  /** Every pid the world made, dead ones too (targets may be dead). */
  readonly pids: ProcessId[] = []
  readonly dead = new Set<string>()
  readonly pairs = new Map<string, Pair>()
  readonly probes: Probe[] = []
  floods: SimSocket[] = []
  private prunedAt = 0
  /** A counter ordering the world's records (several happen at one virtual instant). */
  clock = 0
  /** Partitioned host pairs, each with the token of the partition fault that holds it. */
  private readonly partitions = new Map<string, object>()
  private readonly stalls = new Map<Link, number>()
  private pendingDowns: Array<{ run: Run; peer: string; at: number }> = []
  private runCount = 0
  readonly stats: RuntimeRunResult['stats']
  busy = true

  constructor(
    readonly seed: number,
    readonly rand: Random,
    nodes: number,
  ) {
    this.net = new SimNetwork(this.scheduler, prng(seed, 102))
    this.hosts = Array.from({ length: nodes }, (_, i) => `n${i + 1}`)
    this.stats = { steps: 0, nodes, sent: 0, delivered: 0, downs: 0, exits: 0, probes: 0, floods: 0, restarts: 0 }
  }

  tick(): number {
    return ++this.clock
  }

  blocked(from: string, to: string): boolean {
    return this.partitions.has(pairKey(from, to))
  }

  /** Starts a run of `host`: a new incarnation with fresh processes. */
  async startRun(host: string, honest: boolean): Promise<Run> {
    const n = ++this.runCount
    const env = new VirtualEnv(this.scheduler, `${host}#${n}`, prng(this.seed, 200 + n), this.net)
    const gate = new Gate(this.scheduler)
    const tap = honest ? undefined : this.hostileTap()
    const net = new SimNet(host, this.net, gate, this, tap)
    const node = await Node.start({
      host,
      port: PORT,
      cookie: honest ? COOKIE : WRONG_COOKIE,
      env: gatedEnv(env, gate),
      net,
      handshakeTimeout: HANDSHAKE_TIMEOUT,
      maxHandshakes: MAX_HANDSHAKES,
      maxHandshakesPerAddress: MAX_PER_ADDRESS,
      outboundHighWaterMark: 64 * 1024,
      maxOutboundBuffer: 512 * 1024,
      logError: (line) => this.trace.add(`${host}#${n} problem: ${line}`),
    })
    const run: Run = { host, honest, env, gate, net, node, state: 'up', actors: [], downs: [] }
    this.runs.push(run)
    node.on('nodedown', (peer, reason) => {
      const at = this.tick()
      run.downs.push({ peer: peer.key, at })
      this.pendingDowns.push({ run, peer: peer.key, at })
      this.stats.downs++
      if (honest) this.trace.add(`${host} nodedown ${peer.host} (${reason})`)
    })
    node.on('exit', (pid, reason) => this.onExit(run, pid, reason))
    const count = honest ? 2 + Math.floor(this.rand() * 3) : 1
    for (let i = 0; i < count; i++) this.spawn(run)
    if (honest) node.register('inbox', run.actors[0]!.pid)
    this.trace.add(`${host} started as ${node.id.key}`)
    return run
  }

  spawn(run: Run): Actor {
    let actor!: Actor
    const pid = run.node.spawn(
      async (self) => {
        actor.self = self
        for (;;) this.onMessage(actor, await self.receive())
      },
      { trapExit: true },
    )
    actor = { run, pid, self: null, alive: true, lastFrom: new Map(), monitors: new Map(), links: new Map() }
    run.actors.push(actor)
    this.actors.set(pid.key, actor)
    if (run.honest) this.pids.push(pid)
    return actor
  }

  private onExit(run: Run, pid: ProcessId, reason: ExitReason): void {
    const actor = this.actors.get(pid.key)
    if (actor !== undefined) actor.alive = false
    this.dead.add(pid.key)
    if (run.honest && reason !== 'killed' && reason !== 'shutdown') {
      this.violations.add(`${pid} on an honest node ended with ${String(reason)}${reason === 'hostile' ? ': the hostile node killed it' : ''}`)
    }
  }

  /** Every message an actor receives. */
  private onMessage(actor: Actor, message: unknown): void {
    if (isDown(message)) return this.onDown(actor, message.ref, message.pid, message.reason)
    if (isExit(message)) return this.onExitSignal(actor, message.pid, message.reason)
    const m = message as { t?: string; src?: string; seq?: number }
    if (m.t === 'hostile') return this.violations.add(`${actor.pid} received a message from the hostile node (it never proved the cookie)`)
    if (m.t !== 'm' || typeof m.src !== 'string' || typeof m.seq !== 'number') return this.violations.add(`${actor.pid} received an unexpected message ${JSON.stringify(message)}`)
    const now = this.tick()
    const last = actor.lastFrom.get(m.src) ?? 0
    const label = `message #${m.seq} from ${m.src} to ${actor.pid.key}`
    if (m.seq <= last) return this.violations.add(`${label} arrived after #${last} (${m.seq === last ? 'twice' : 'out of order'})`)
    actor.lastFrom.set(m.src, m.seq)
    const pair = this.pairs.get(`${m.src}>${actor.pid.key}`)
    if (pair === undefined) return this.violations.add(`${label} was never sent`)
    pair.delivered++
    this.stats.delivered++
    const src = this.actors.get(m.src)!
    for (let s = last + 1; s < m.seq; s++) {
      const sentAt = pair.sentAt[s - 1]!
      const broke = (run: Run, peer: NodeId): boolean => run.downs.some((d) => d.peer === peer.key && d.at >= sentAt && d.at <= now)
      if (!broke(src.run, actor.pid.node) && !broke(actor.run, src.pid.node)) {
        return this.violations.add(`message #${s} from ${m.src} to ${actor.pid.key} was lost (#${m.seq} arrived) although no connection between their nodes broke`)
      }
    }
  }

  private onDown(actor: Actor, ref: MonitorRef, target: ProcessId, reason: ExitReason): void {
    const record = actor.monitors.get(ref.id)
    if (record === undefined) return this.violations.add(`${actor.pid} got a DOWN for a monitor it does not hold (${target})`)
    record.fired++
    if (record.fired > 1) return this.violations.add(`${actor.pid}'s monitor of ${target} fired ${record.fired} times`)
    this.checkReason(actor, target, reason, record.at, 'monitor')
  }

  private onExitSignal(actor: Actor, from: ProcessId, reason: ExitReason): void {
    this.stats.exits++
    const link = actor.links.get(from.key)
    // A process it never linked to may have linked to it: only the links it made are tracked.
    if (link === undefined) return
    link.signals++
    if (link.signals > link.links) return this.violations.add(`${actor.pid} got ${link.signals} exit signals from ${from} for ${link.links} link(s)`)
    this.checkReason(actor, from, reason, link.at, 'link')
  }

  /** A DOWN or exit signal is due: 'disconnect' only after the connection broke, anything else only for a dead process. */
  private checkReason(actor: Actor, target: ProcessId, reason: ExitReason, since: number, what: string): void {
    if (reason === 'disconnect') {
      if (!actor.run.downs.some((d) => d.peer === target.node.key && d.at >= since)) {
        this.violations.add(`${actor.pid}'s ${what} of ${target} fired 'disconnect' although the connection to its node never broke`)
      }
    } else if (!this.dead.has(target.key)) {
      this.violations.add(`${actor.pid}'s ${what} of ${target} fired ${String(reason)} but that process is alive`)
    }
  }

  /** After each step: a peer heard down leaves no monitor of its processes unfired; admission bounds hold. */
  check(): void {
    for (const { run, peer, at } of this.pendingDowns) {
      for (const actor of run.actors) {
        if (!actor.alive) continue
        for (const record of actor.monitors.values()) {
          if (record.fired === 0 && record.at < at && record.target.node.key === peer) {
            this.violations.add(`${run.host} heard ${peer} go down but ${actor.pid}'s monitor of ${record.target} did not fire`)
          }
        }
        for (const link of actor.links.values()) {
          if (link.own && link.signals === 0 && link.at < at && link.target.node.key === peer) {
            this.violations.add(`${run.host} heard ${peer} go down but ${actor.pid}'s link to ${link.target} sent no exit signal`)
          }
        }
      }
    }
    this.pendingDowns = []
    const now = this.scheduler.now
    if (now - this.prunedAt > 200) {
      this.prunedAt = now
      this.net.prune()
      for (const run of this.runs) run.net.prune()
      this.floods = this.floods.filter((s) => !s.isClosed)
    }
    for (const run of this.current) {
      if (run.state !== 'up' || run.gate.state !== 'running' || run.gate.holding || run.net.lastAcceptAt >= now) continue
      const byAddress = new Map<string, number>()
      let total = 0
      for (const s of run.net.sockets) {
        if (s.side !== 'accept' || s.isClosed || this.hosts.includes(s.remoteAddress)) continue
        total++
        byAddress.set(s.remoteAddress, (byAddress.get(s.remoteAddress) ?? 0) + 1)
      }
      if (total > MAX_HANDSHAKES) this.violations.add(`${run.host} holds ${total} unauthenticated inbound connections (limit ${MAX_HANDSHAKES})`)
      for (const [address, count] of byAddress) {
        if (count > MAX_PER_ADDRESS) this.violations.add(`${run.host} holds ${count} unauthenticated connections from ${address} (limit ${MAX_PER_ADDRESS} per address)`)
      }
    }
    if (this.scheduler.pending > 20_000) this.violations.add(`${this.scheduler.pending} events queued: something grows without bound`)
  }

  /** What a hostile party receives: never a welcome (the acceptor's proof) nor a message. */
  private hostileTap(): (socket: SimLinkSocket, chunk: Buffer) => void {
    const decoders = new WeakMap<SimLinkSocket, FrameDecoder>()
    return (socket, chunk) => {
      let decoder = decoders.get(socket)
      if (decoder === undefined) decoders.set(socket, (decoder = new FrameDecoder(1 << 24)))
      this.inspectHostile(decoder, chunk, `the hostile node (its socket to ${socket.remoteAddress})`)
    }
  }

  inspectHostile(decoder: FrameDecoder, chunk: Buffer, who: string): void {
    try {
      decoder.push(chunk, (buffer, start, end) => {
        const frame = decodeValue(buffer, start, end)
        const tag = Array.isArray(frame) ? frame[0] : undefined
        if (tag === 'welcome') this.violations.add(`${who} received a welcome, with the acceptor's proof, without proving the cookie`)
        else if (tag !== 'challenge' && tag !== 'refuse') this.violations.add(`${who} received ${JSON.stringify(tag)} frames: it is treated as authenticated`)
      })
    } catch (error) {
      this.violations.add(`${who} received undecodable bytes: ${(error as Error).message}`)
    }
  }

  /** A raw socket that says hello and then proves nothing (or stays silent). */
  probe(target: Run, variant: Probe['variant'], rand: Random): void {
    this.stats.probes++
    const owner = variant === 'impersonate' ? 'mallory' : `probe${this.stats.probes % 4}`
    const socket = this.net.connect(owner, target.host, PORT)
    const decoder = new FrameDecoder(1 << 24)
    const claimed = variant === 'impersonate' ? this.current.find((r) => r !== target && r.state === 'up')?.node.id : undefined
    const id = claimed ?? new NodeId(owner, 1, 1)
    const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)))
    const send = (frame: unknown): void => void socket.write(encodeFrame(frame, 1024))
    let answered = false
    socket.attach({
      ready: () => send([PROTOCOL, PROTOCOL_VERSION, 'hello', [id.host, id.port, id.incarnation], bytes(NONCE_SIZE)]),
      data: (chunk) => {
        this.inspectHostile(decoder, chunk, `a probe (${variant}) of ${target.host}`)
        if (answered || variant === 'silent') return
        answered = true
        send(['proof', variant === 'null' ? null : bytes(32)])
      },
      error: () => {},
      close: () => {},
    })
    this.probes.push({ socket, variant })
    this.trace.add(`probe (${variant}${claimed ? ` as ${claimed.host}` : ''}) of ${target.host}`)
  }

  /** `count` silent sockets from one address. */
  flood(target: Run, address: string, count: number): void {
    this.stats.floods++
    for (let i = 0; i < count; i++) {
      const socket = this.net.connect(address, target.host, PORT)
      socket.attach({ ready: () => {}, data: () => {}, error: () => {}, close: () => {} })
      this.floods.push(socket)
    }
    this.trace.add(`flood of ${count} silent sockets from ${address} to ${target.host}`)
  }

  // --- faults ---

  linksBetween(a: string, b: string): Link[] {
    return [...this.net.links].filter((l) => l.isOpen && ((l.clientOwner === a && l.serverHost === b) || (l.clientOwner === b && l.serverHost === a)))
  }

  stall(link: Link): void {
    this.stalls.set(link, (this.stalls.get(link) ?? 0) + 1)
    link.stall()
  }

  unstall(link: Link): void {
    const n = (this.stalls.get(link) ?? 1) - 1
    if (n > 0) return void this.stalls.set(link, n)
    this.stalls.delete(link)
    link.resume()
  }

  apply(f: RuntimeFault): void {
    const a = this.current[f.a]
    const b = f.b === undefined ? undefined : this.current[f.b]
    if (a === undefined || (f.b !== undefined && (b === undefined || b === a))) return
    this.trace.add(`fault: ${describeRuntimeFault(f)}`)
    const pick = <T>(list: T[]): T | undefined => list[Math.floor(this.rand() * list.length)]
    const { scheduler } = this
    switch (f.kind) {
      case 'reset':
        return pick(this.linksBetween(a.host, b!.host))?.cut()
      case 'halfopen': {
        const link = pick(this.linksBetween(a.host, b!.host))
        if (link === undefined) return
        this.stall(link)
        ;(this.rand() < 0.5 ? link.client : link.server).fail('ECONNRESET (simulated, this end only)')
        scheduler.at(KEEPALIVE_MS, () => link.cut())
        return
      }
      case 'stall': {
        const link = pick(this.linksBetween(a.host, b!.host))
        if (link === undefined) return
        this.stall(link)
        scheduler.at(f.ms!, () => this.unstall(link))
        return
      }
      case 'partition': {
        const key = pairKey(a.host, b!.host)
        if (this.partitions.has(key)) return
        // Each partition heals only itself: a healer of an earlier partition of the same pair
        // (run again by the quiet end's healAll) must not heal a later one and leave its links stalled.
        const token = {}
        this.partitions.set(key, token)
        const links = this.linksBetween(a.host, b!.host)
        for (const l of links) this.stall(l)
        const heal = (): void => {
          if (this.partitions.get(key) !== token) return
          this.partitions.delete(key)
          for (const l of links) this.unstall(l)
          this.trace.add(`healed partition ${a.host}|${b!.host}`)
        }
        if (f.ms! > KEEPALIVE_MS) {
          scheduler.at(KEEPALIVE_MS, () => {
            if (this.partitions.get(key) === token) for (const l of links) l.cut()
          })
        }
        scheduler.at(f.ms!, heal)
        this.healers.push(heal)
        return
      }
      case 'slow': {
        const links = [...this.net.links].filter((l) => l.clientOwner === a.host || l.serverHost === a.host)
        const extra = 20 + (f.ms! % 180)
        for (const l of links) l.extraLatency = extra
        scheduler.at(f.ms!, () => {
          for (const l of links) l.extraLatency = 0
        })
        return
      }
      case 'pause':
        if (a.state !== 'up') return
        a.gate.freeze()
        scheduler.at(f.ms!, () => a.gate.thaw())
        this.healers.push(() => a.gate.thaw())
        return
      case 'crash': {
        if (a.state !== 'up') return
        this.crash(a)
        scheduler.at(f.ms!, () => void this.restart(f.a))
        return
      }
    }
  }

  readonly healers: Array<() => void> = []
  private restarting = 0

  crash(run: Run): void {
    run.state = 'crashed'
    run.gate.kill()
    run.net.unlisten()
    for (const l of this.net.links) if (l.clientOwner === run.host || l.serverHost === run.host) l.cut()
    for (const actor of run.actors) {
      actor.alive = false
      this.dead.add(actor.pid.key)
    }
  }

  async restart(index: number): Promise<void> {
    this.restarting++
    this.stats.restarts++
    this.current[index] = await this.startRun(this.hosts[index]!, true)
    this.restarting--
  }

  /** Heals every fault for the quiet end. */
  healAll(): void {
    for (const heal of this.healers.splice(0)) heal()
    for (const l of this.net.links) l.extraLatency = 0
  }

  get settling(): boolean {
    return this.restarting > 0
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`
}

/** A fault as one line, for reproductions. */
export function describeRuntimeFault(f: RuntimeFault): string {
  const who = f.b === undefined ? `n${f.a + 1}` : `n${f.a + 1}, n${f.b + 1}`
  return `${f.kind}(${who}${f.ms === undefined ? '' : `, ${f.ms} ms`}) at ${f.at} ms`
}

/** Draws a runtime fault schedule in the busy part of a run (its last fifth is quiet). */
export function drawRuntimeFaults(rand: Random, nodes: number, durationMs: number): RuntimeFault[] {
  const count = Math.floor(rand() * 9)
  const faults: RuntimeFault[] = []
  const pick = (): number => Math.floor(rand() * nodes)
  const other = (a: number): number => (a + 1 + Math.floor(rand() * (nodes - 1))) % nodes
  for (let i = 0; i < count; i++) {
    const at = Math.round(1000 + rand() * (durationMs * 0.8 - 1000))
    const a = pick()
    const r = rand()
    if (r < 0.18) faults.push({ at, kind: 'reset', a, b: other(a) })
    else if (r < 0.3) faults.push({ at, kind: 'halfopen', a, b: other(a) })
    else if (r < 0.42) faults.push({ at, kind: 'stall', a, b: other(a), ms: Math.round(100 + rand() * 8000) })
    else if (r < 0.6) faults.push({ at, kind: 'partition', a, b: other(a), ms: Math.round(500 + rand() * (rand() < 0.3 ? 30_000 : 8000)) })
    else if (r < 0.7) faults.push({ at, kind: 'slow', a, ms: Math.round(500 + rand() * 5000) })
    else if (r < 0.84) faults.push({ at, kind: 'pause', a, ms: Math.round(100 + rand() * 8000) })
    else faults.push({ at, kind: 'crash', a, ms: Math.round(200 + rand() * 5000) })
  }
  return faults.sort((x, y) => x.at - y.at)
}

/** Runs one seed of the runtime world. */
export async function runRuntimeSeed(options: RuntimeRunOptions): Promise<RuntimeRunResult> {
  const { seed } = options
  const durationMs = options.durationMs ?? 60_000
  const setup = prng(seed, 101)
  const nodes = 2 + Math.floor(setup() * 3)
  const world = new RuntimeWorld(seed, prng(seed, 103), nodes)
  const { scheduler, violations, trace } = world
  const faults = options.faults ?? drawRuntimeFaults(prng(seed, 104), nodes, durationMs)
  trace.add(`seed ${seed}: runtime world, ${nodes} nodes`)
  for (const host of world.hosts) world.current.push(await world.startRun(host, true))
  world.hostile = await world.startRun('evil', false)
  for (const f of faults) scheduler.at(f.at, () => world.apply(f))
  const driver = new Driver(world, prng(seed, 105))
  driver.start()

  const afterEach = (): void => world.check()
  const failed = (): boolean => violations.count > 0
  await scheduler.run(world.start + durationMs, afterEach, failed)

  // The quiet end: no more workload, every fault healed; keepalive has given up on half-open connections.
  driver.stop()
  world.healAll()
  trace.add('healed: quiet end')
  await scheduler.run(scheduler.now + QUIET_MS, afterEach, failed)
  await scheduler.runUntil(() => !world.settling, scheduler.now + 10_000, afterEach)
  if (violations.count === 0) await checkReachable(world, driver)
  if (violations.count === 0) checkFired(world)

  // Stop every node: nothing of it is left.
  const live = world.runs.filter((r) => r.state === 'up')
  let stopped = 0
  for (const run of live) {
    void run.node.stop().then(() => {
      stopped++
      run.state = 'stopped'
      const timers = run.env.liveTimers.size
      const defers = run.net.defers.size
      const sockets = run.net.openSockets
      if (timers + defers + sockets > 0) run.leftovers = `${timers} timers, ${defers} deferred calls, ${sockets} sockets`
    })
  }
  // stop() may make progress through promises alone: an event lets them run before the wait starts.
  scheduler.at(0, () => {})
  await scheduler.runUntil(() => stopped === live.length, scheduler.now + 15_000, afterEach)
  for (const run of live) {
    if (run.state !== 'stopped') violations.add(`${run.node.id.key}: stop() did not resolve within 15 s (${run.net.openSockets} sockets open: ${run.net.sockets.filter((s) => !s.closeDelivered).map((s) => `${s.side} ${s.remoteAddress} ${s.sim === null ? 'hanging' : s.link?.isStalled ? 'stalled' : 'ok'}`).join(', ')}; ${run.env.liveTimers.size} timers, gate ${run.gate.state}, node ${run.node.state})`)
    else if (run.leftovers !== undefined) violations.add(`${run.node.id.key}: after stop() ${run.leftovers} were left`)
  }
  for (const s of [...world.floods, ...world.probes.map((p) => p.socket)]) s.destroy()
  await scheduler.run(scheduler.now + 3000)

  world.stats.steps = scheduler.steps
  return { seed, ok: violations.count === 0, violations: violations.list, faults, trace: trace.tail(), stats: world.stats }
}

/** After healing: every honest node reaches every other (a flood or a past fault locks no peer out). */
async function checkReachable(world: RuntimeWorld, driver: Driver): Promise<void> {
  const { scheduler, violations } = world
  const waits: Array<{ from: Actor; to: Actor; seq: number }> = []
  for (const x of world.current) {
    for (const y of world.current) {
      if (x === y || x.state !== 'up' || y.state !== 'up') continue
      const from = x.actors.find((a) => a.alive && a.self !== null)
      const to = y.actors.find((a) => a.alive)
      if (from !== undefined && to !== undefined) waits.push({ from, to, seq: driver.send(from, to.pid).next })
    }
  }
  const arrived = (w: (typeof waits)[number]): boolean => (w.to.lastFrom.get(w.from.pid.key) ?? 0) >= w.seq
  scheduler.at(0, () => {})
  await scheduler.runUntil(() => waits.every(arrived), scheduler.now + 2 * HANDSHAKE_TIMEOUT, () => world.check())
  for (const w of waits) if (!arrived(w)) violations.add(`after every fault healed, a message from ${w.from.pid} to ${w.to.pid} never arrived`)
}

/** At the end: every monitor and link of a dead process fired (the owner being alive). */
function checkFired(world: RuntimeWorld): void {
  for (const actor of world.actors.values()) {
    if (!actor.alive) continue
    for (const record of actor.monitors.values()) {
      if (record.fired === 0 && world.dead.has(record.target.key)) world.violations.add(`${actor.pid}'s monitor of ${record.target} never fired, although that process is gone`)
    }
    for (const link of actor.links.values()) {
      if (link.own && link.signals === 0 && world.dead.has(link.target.key)) world.violations.add(`${actor.pid}'s link to ${link.target} sent no exit signal, although that process is gone`)
    }
  }
}

/** The workload: sends (single and in bursts, some large), monitors, links, spawns, kills, hostile traffic, probes, floods. */
class Driver {
  private timer: { fn: (() => void) | null } | null = null
  private floodCount = 0

  constructor(
    private readonly world: RuntimeWorld,
    private readonly rand: Random,
  ) {}

  start(): void {
    const next = (): void => {
      this.step()
      this.timer = this.world.scheduler.at(5 + this.rand() * 50, next)
    }
    this.timer = this.world.scheduler.at(10, next)
  }

  stop(): void {
    if (this.timer !== null) this.timer.fn = null
  }

  private pick<T>(list: readonly T[]): T | undefined {
    return list[Math.floor(this.rand() * list.length)]
  }

  /** An actor of a running node that can act now. */
  private actor(): Actor | undefined {
    const run = this.pick(this.world.current.filter((r) => r.state === 'up' && r.gate.state === 'running'))
    return this.pick(run?.actors.filter((a) => a.alive && a.self !== null) ?? [])
  }

  /** A process to talk to: usually a live one on another node, sometimes any the world ever made. */
  private target(not: Actor): ProcessId | undefined {
    if (this.rand() < 0.1) return this.pick(this.world.pids)
    const live = [...this.world.actors.values()].filter((a) => a.alive && a.run !== not.run && a.run.honest)
    return this.pick(live)?.pid
  }

  send(from: Actor, to: ProcessId, size = 0): Pair {
    const key = `${from.pid.key}>${to.key}`
    let pair = this.world.pairs.get(key)
    if (pair === undefined) this.world.pairs.set(key, (pair = { next: 0, sentAt: [], delivered: 0 }))
    const seq = ++pair.next
    pair.sentAt.push(this.world.tick())
    this.world.stats.sent++
    from.self!.send(to, size > 0 ? { t: 'm', src: from.pid.key, seq, pad: Buffer.alloc(size) } : { t: 'm', src: from.pid.key, seq })
    return pair
  }

  private step(): void {
    const w = this.world
    const r = this.rand()
    const a = this.actor()
    if (a === undefined) return
    const self = a.self!
    if (r < 0.55) {
      const to = this.target(a)
      if (to !== undefined) this.send(a, to)
    } else if (r < 0.62) {
      const to = this.target(a)
      const n = 5 + Math.floor(this.rand() * 30)
      const size = this.rand() < 0.2 ? 20_000 : 0
      if (to !== undefined) for (let i = 0; i < n; i++) this.send(a, to, size)
    } else if (r < 0.7) {
      const to = this.target(a)
      if (to === undefined) return
      const ref = self.monitor(to)
      a.monitors.set(ref.id, { owner: a, target: to, ref, at: w.tick(), fired: 0 })
    } else if (r < 0.74) {
      const to = this.target(a)
      if (to === undefined || a.links.has(to.key) || to.equals(a.pid)) return
      const at = w.tick()
      a.links.set(to.key, { target: to, at, own: true, links: 1, signals: 0 })
      const other = w.actors.get(to.key)
      if (other !== undefined) {
        const back = other.links.get(a.pid.key)
        if (back === undefined) other.links.set(a.pid.key, { target: a.pid, at, own: false, links: 1, signals: 0 })
        else back.links++
      }
      self.link(to)
    } else if (r < 0.78) {
      w.spawn(a.run)
    } else if (r < 0.81) {
      const to = this.target(a)
      if (to !== undefined) a.run.node.kill(to, 'killed')
    } else if (r < 0.9) {
      const to = this.pick(w.current.filter((x) => x.state === 'up').flatMap((x) => x.actors.filter((y) => y.alive)))
      const hostile = w.hostile.node
      if (to === undefined) return
      const what = this.rand()
      if (what < 0.6) hostile.send(to.pid, { t: 'hostile' })
      else if (what < 0.8) hostile.nsendRemote(to.pid.node, 'inbox', { t: 'hostile' })
      else hostile.kill(to.pid, 'hostile')
    } else if (r < 0.96) {
      const target = this.pick(w.current.filter((x) => x.state === 'up'))
      if (target !== undefined) w.probe(target, this.pick(['junk', 'null', 'silent', 'impersonate'] as const)!, this.rand)
    } else {
      const target = this.pick(w.current.filter((x) => x.state === 'up'))
      if (target === undefined) return
      this.floodCount++
      w.flood(target, `flood${this.floodCount % 3}`, 2 + Math.floor(this.rand() * 8))
    }
  }
}
