import type { Env, Timer } from '../../lib/env.js'
import type { Deferred, LinkEvents, LinkSocket, Listener, ListenerEvents, Net } from '../../lib/runtime/transport/net.js'
import type { Link, SimNetwork, SimSocket } from './network.js'
import type { Scheduler, VirtualEnv } from './scheduler.js'

/**
 * Whether a simulated node's code runs: `running`; `frozen` (a pause: every
 * callback into it — socket events, timers, deferred calls — waits, in order,
 * and runs once it thaws, as a stopped process finds its sockets and timers due);
 * `dead` (a crash: nothing of it ever runs again).
 */
export class Gate {
  state: 'running' | 'frozen' | 'dead' = 'running'
  private held: Array<() => void> = []
  private pumping = false

  constructor(readonly scheduler: Scheduler) {}

  /** Runs `fn` now, or when the node thaws, or never. */
  run(fn: () => void): void {
    if (this.state === 'dead') return
    if (this.state === 'frozen' || this.held.length > 0) {
      this.held.push(fn)
      return
    }
    fn()
  }

  freeze(): void {
    if (this.state === 'running') this.state = 'frozen'
  }

  /** Resumes: what was held runs one callback per event (microtasks in between), before anything newer. */
  thaw(): void {
    if (this.state !== 'frozen') return
    this.state = 'running'
    this.pump()
  }

  /** Callbacks wait (frozen, or still catching up after a thaw). */
  get holding(): boolean {
    return this.state === 'frozen' || this.held.length > 0
  }

  kill(): void {
    this.state = 'dead'
    this.held = []
  }

  private pump(): void {
    if (this.pumping || this.held.length === 0) return
    this.pumping = true
    this.scheduler.at(0, () => {
      this.pumping = false
      if (this.state !== 'running') return
      this.held.shift()?.()
      this.pump()
    })
  }
}

/**
 * A {@link VirtualEnv} whose timers fire through a node's {@link Gate}. A
 * timer that came due while the node was frozen and is cancelled before its
 * held callback runs does not run, as in Node (clearTimeout of a due timer
 * whose callback has not run yet).
 */
export function gatedEnv(env: VirtualEnv, gate: Gate): Env {
  const inbox = env.inbox
  return {
    // Held socket work runs through the gate too: a frozen node does nothing.
    ...(inbox === undefined ? {} : { inbox: { run: (work: () => void) => inbox.run(() => gate.run(work)) } }),
    now: () => env.now(),
    random: () => env.random(),
    randomBytes: (n) => env.randomBytes(n),
    connect: (host, port, options) => env.connect(host, port, options),
    setTimer: (ms, fn): Timer => {
      let cancelled = false
      const inner = env.setTimer(ms, () => gate.run(() => void (cancelled || fn())))
      const timer: Timer = {
        cancel: () => {
          cancelled = true
          inner.cancel()
        },
        unref: () => timer,
      }
      return timer
    },
  }
}

/** What the world tells the network about reachability between hosts. */
export interface Reachability {
  /** Whether a new connection from `from` to `to` is blackholed (its SYN never answered). */
  blocked(from: string, to: string): boolean
}

/**
 * The runtime's {@link Net} over the simulator's {@link SimNetwork}, for one
 * node run (`host`): dialed and accepted sockets, a listener, deferred calls;
 * every callback into the node passes its {@link Gate}. Counts what it handed
 * out that is still live, so the world can check that nothing outlives `stop()`.
 */
export class SimNet implements Net {
  readonly sockets: SimLinkSocket[] = []
  readonly defers = new Set<object>()
  /** Virtual time the node last accepted a socket (admission sheds surplus connections a turn or two later, at the same instant). */
  lastAcceptAt = -Infinity
  private listening: { host: string; port: number } | null = null

  constructor(
    readonly host: string,
    private readonly net: SimNetwork,
    private readonly gate: Gate,
    private readonly reach: Reachability,
    /** Sees every frame arriving at this node's sockets (hostile parties: what did they learn?). */
    private readonly tap?: (socket: SimLinkSocket, chunk: Buffer) => void,
  ) {}

  connect(host: string, port: number): LinkSocket {
    if (this.reach.blocked(this.host, host)) {
      const hanging = new SimLinkSocket(null, this.gate, `${host}`, port, 'dial')
      this.sockets.push(hanging)
      return hanging
    }
    const socket = new SimLinkSocket(this.net.connect(this.host, host, port), this.gate, host, port, 'dial', this.tap)
    this.sockets.push(socket)
    return socket
  }

  listen(host: string, port: number, events: ListenerEvents): Promise<Listener> {
    this.net.listen(host, port, (server) => {
      const socket = new SimLinkSocket(server, this.gate, server.remoteAddress, server.remotePort, 'accept', this.tap)
      this.sockets.push(socket)
      this.gate.run(() => {
        this.lastAcceptAt = this.net.scheduler.now
        events.accept(socket)
      })
    })
    this.listening = { host, port }
    const listener: Listener = {
      port,
      close: () => {
        this.unlisten()
        return Promise.resolve()
      },
    }
    return Promise.resolve(listener)
  }

  /** Stops accepting (a close, or a crash: the kernel refuses from then on). */
  unlisten(): void {
    if (this.listening === null) return
    this.net.unlisten(this.listening.host, this.listening.port)
    this.listening = null
  }

  defer(fn: () => void): Deferred {
    const handle = {}
    this.defers.add(handle)
    const event = this.net.scheduler.at(0, () => {
      this.defers.delete(handle)
      this.gate.run(fn)
    })
    return {
      cancel: () => {
        event.fn = null
        this.defers.delete(handle)
      },
    }
  }

  get isListening(): boolean {
    return this.listening !== null
  }

  /** Sockets whose close the node has not heard yet. */
  get openSockets(): number {
    let n = 0
    for (const s of this.sockets) if (!s.closeDelivered) n++
    return n
  }

  /** Forgets closed sockets (long runs). */
  prune(): void {
    for (let i = this.sockets.length - 1; i >= 0; i--) if (this.sockets[i]!.closeDelivered) this.sockets.splice(i, 1)
  }
}

/**
 * One end of a simulated connection as the runtime sees it. Events that
 * arrive before the node attaches (an accept waiting behind a pause) are kept
 * and replayed in order. A dial to a blackholed host (`sim` null) never
 * connects: it hangs until destroyed, as a SYN nobody answers.
 */
export class SimLinkSocket implements LinkSocket {
  readonly writableLength = 0
  private events: LinkEvents | null = null
  private early: Array<(events: LinkEvents) => void> = []
  private hangingClosed = false
  closeDelivered = false

  constructor(
    readonly sim: SimSocket | null,
    private readonly gate: Gate,
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly side: 'dial' | 'accept',
    tap?: (socket: SimLinkSocket, chunk: Buffer) => void,
  ) {
    sim?.attach({
      ready: () => this.emit((e) => e.ready()),
      data: (chunk) => {
        tap?.(this, chunk)
        this.emit((e) => e.data(chunk))
      },
      error: (error) => this.emit((e) => e.error(error)),
      close: () =>
        this.emit((e) => {
          this.closeDelivered = true
          e.close()
        }, true),
    })
  }

  get link(): Link | null {
    return this.sim?.link ?? null
  }

  get isClosed(): boolean {
    return this.sim === null ? this.hangingClosed : this.sim.isClosed
  }

  private emit(call: (events: LinkEvents) => void, close = false): void {
    this.gate.run(() => {
      if (this.events !== null) return call(this.events)
      this.early.push(call)
      // Never attached (refused while the node stops): nobody waits for its close.
      if (close) this.closeDelivered = true
    })
  }

  channelBinding(): Buffer | undefined {
    return undefined
  }

  attach(events: LinkEvents): void {
    this.events = events
    const early = this.early
    this.early = []
    for (const call of early) call(events)
  }

  established(): void {}

  write(chunk: Uint8Array): boolean {
    return this.sim?.write(chunk) ?? true
  }

  cork(): void {}

  uncork(): void {}

  /** A graceful close: the FIN follows the data already written. */
  end(): void {
    this.destroy()
  }

  destroy(): void {
    if (this.sim !== null) return this.sim.destroy()
    if (this.hangingClosed) return
    this.hangingClosed = true
    this.gate.scheduler.at(0, () => this.emit((e) => {
      this.closeDelivered = true
      e.close()
    }))
  }
}
