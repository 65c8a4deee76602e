import type { Clock, Timer } from '../env.js'
import { ProcessExitError } from './errors.js'
import type { MonitorRef, NodeId, ProcessId } from './ids.js'
import { Mailbox, NOTHING, type Matcher } from './mailbox.js'
import type { Node } from './node.js'
import { isDown, type ExitReason } from './signals.js'

/** The body of a process; it ends when the returned promise settles. */
export type ProcessFunction = (self: Process) => Promise<void> | void

/** Options of `spawn`. */
export interface SpawnOptions {
  /** Receive exit signals of linked processes as `ExitMessage`s instead of dying with them. Default false. */
  readonly trapExit?: boolean
  /** With `self.spawn`: link the new process to the spawning one (Erlang's `spawn_link`). Default false. */
  readonly link?: boolean
}

/** Options of a selective `receive`. */
export interface ReceiveOptions {
  /** Give up after this many milliseconds and resolve to `undefined`; `0` only looks at the mailbox. */
  readonly timeout?: number
}

/**
 * A running process as its own function sees it (`self`). Everything here is
 * meant to be called from inside the process.
 */
export interface Process {
  /** This process's address. */
  readonly pid: ProcessId
  /** The node it runs on. */
  readonly node: Node
  /**
   * Whether exit signals from linked processes arrive as `ExitMessage`s
   * (true) or end this process when abnormal (false, the default).
   */
  trapExit: boolean
  /** Aborted, with the exit reason, when the process ends; hand it to timers and I/O. */
  readonly signal: AbortSignal
  /** Whether the process is still running. */
  readonly alive: boolean
  /** Resolves with the exit reason when the process ends; never rejects. */
  readonly exited: Promise<ExitReason>

  /**
   * Resolves with the next message. With `match`, with the first message it
   * accepts; messages before it stay in the mailbox, in order. With a
   * `timeout`, resolves to `undefined` if none arrives in time. One receive
   * at a time per process. Rejects with `ProcessExitError` once the process
   * has been ended from outside, and with `match`'s error if it throws.
   */
  receive<T = unknown>(): Promise<T>
  receive<T>(match: (message: unknown) => message is T): Promise<T>
  receive<T = unknown>(match: Matcher): Promise<T>
  receive<T = unknown>(options: ReceiveOptions): Promise<T | undefined>
  receive<T>(match: (message: unknown) => message is T, options: ReceiveOptions): Promise<T | undefined>
  receive<T = unknown>(match: Matcher, options: ReceiveOptions): Promise<T | undefined>

  /** Sends `message` to `to`; see `Node.send`. Dropped once this process has ended. */
  send(to: ProcessId, message: unknown): boolean
  /** Sends to a name in this node's registry; dropped if unknown. */
  nsend(name: string, message: unknown): void
  /** Sends to a name in another node's registry; see `Node.nsendRemote`. */
  nsendRemote(node: NodeId, name: string, message: unknown): boolean
  /** Resolves once the outbound buffer toward `to`'s node is below its high-water mark. */
  drain(to: ProcessId | NodeId): Promise<void>
  /** Logs a line tagged with this pid, through `debug` (`zkcloud:runtime`) and the node's `logTrace` hook. */
  say(text: string): void
  /**
   * Starts a process on this node, linked to this one with `{ link: true }`.
   * @throws ProcessExitError once this process has ended
   */
  spawn(fn: ProcessFunction, options?: SpawnOptions): ProcessId
  /** Watches `pid`: when it ends a `DownMessage` with the returned ref arrives here (never, once this process has ended). */
  monitor(pid: ProcessId): MonitorRef
  /** Stops a monitor and removes its `DownMessage` from the mailbox if it already arrived. */
  demonitor(ref: MonitorRef): void
  /** Links both ways to `pid`: when either ends abnormally the other is ended too, unless it traps exits. */
  link(pid: ProcessId): void
  /** Removes a link. */
  unlink(pid: ProcessId): void
}

/** What a process needs from its node. */
export interface ProcessHost {
  /** Time for receive timeouts. */
  readonly clock: Clock
  send(from: ProcessHandle, to: ProcessId, message: unknown): boolean
  nsend(from: ProcessHandle, name: string, message: unknown): void
  nsendRemote(from: ProcessHandle, node: NodeId, name: string, message: unknown): boolean
  drain(to: ProcessId | NodeId): Promise<void>
  say(from: ProcessHandle, text: string): void
  spawn(parent: ProcessHandle, fn: ProcessFunction, options: SpawnOptions | undefined): ProcessId
  monitor(owner: ProcessHandle, target: ProcessId): MonitorRef
  demonitor(ref: MonitorRef): void
  link(from: ProcessHandle, to: ProcessId): void
  unlink(from: ProcessHandle, to: ProcessId): void
}

interface Waiter {
  readonly match: Matcher | undefined
  readonly resolve: (message: unknown) => void
  readonly reject: (error: unknown) => void
  timer: Timer | undefined
}

/** The runtime's side of a process: mailbox, receive, lifecycle. */
export class ProcessHandle implements Process {
  state: 'running' | 'exited' = 'running'
  trapExit: boolean
  readonly exited: Promise<ExitReason>
  readonly #host: ProcessHost
  readonly #mailbox = new Mailbox()
  readonly #abort = new AbortController()
  #waiter: Waiter | null = null
  #reason: ExitReason = 'normal'
  #resolveExited!: (reason: ExitReason) => void

  constructor(
    readonly pid: ProcessId,
    readonly node: Node,
    host: ProcessHost,
    trapExit: boolean,
  ) {
    this.#host = host
    this.trapExit = trapExit
    this.exited = new Promise(resolve => {
      this.#resolveExited = resolve
    })
  }

  get signal(): AbortSignal {
    return this.#abort.signal
  }

  get alive(): boolean {
    return this.state === 'running'
  }

  /** Why the process ended; `'normal'` while it runs. */
  get reason(): ExitReason {
    return this.#reason
  }

  receive<T>(matchOrOptions?: Matcher | ReceiveOptions, maybeOptions?: ReceiveOptions): Promise<T> {
    const match = typeof matchOrOptions === 'function' ? matchOrOptions : undefined
    const options = typeof matchOrOptions === 'function' ? maybeOptions : matchOrOptions
    if (this.state !== 'running') return rejected(new ProcessExitError(this.#reason))
    if (this.#waiter !== null) return rejected(new Error(`${this.pid} is already waiting in receive()`))
    let found: unknown
    try {
      found = this.#mailbox.take(match)
    } catch (error) {
      return rejected(error)
    }
    if (found !== NOTHING) return Promise.resolve(found as T)
    const timeout = options?.timeout
    if (timeout !== undefined && timeout <= 0) return Promise.resolve(undefined as T)
    const waiting = new Promise<T>((resolve, reject) => {
      const waiter: Waiter = { match, resolve: resolve as (message: unknown) => void, reject, timer: undefined }
      if (timeout !== undefined && Number.isFinite(timeout)) {
        waiter.timer = this.#host.clock.setTimer(timeout, () => {
          if (this.#waiter !== waiter) return
          this.#waiter = null
          resolve(undefined as T)
        })
      }
      this.#waiter = waiter
    })
    waiting.catch(ignore)
    return waiting
  }

  /** Puts `message` in the mailbox, or hands it to a waiting receive that accepts it. */
  deliver(message: unknown): void {
    if (this.state !== 'running') return
    const waiter = this.#waiter
    if (waiter !== null) {
      let accepted: boolean
      try {
        accepted = waiter.match === undefined || waiter.match(message)
      } catch (error) {
        this.#mailbox.push(message)
        this.#settle(waiter)
        waiter.reject(error)
        return
      }
      if (accepted) {
        this.#settle(waiter)
        waiter.resolve(message)
        return
      }
    }
    this.#mailbox.push(message)
  }

  /** Marks the process ended; a pending receive rejects so that its function unwinds. */
  terminate(reason: ExitReason): void {
    if (this.state !== 'running') return
    this.state = 'exited'
    this.#reason = reason
    this.#mailbox.clear()
    const waiter = this.#waiter
    if (waiter !== null) {
      this.#settle(waiter)
      waiter.reject(new ProcessExitError(reason))
    }
    this.#abort.abort(reason)
    this.#resolveExited(reason)
  }

  send(to: ProcessId, message: unknown): boolean {
    return this.#host.send(this, to, message)
  }

  nsend(name: string, message: unknown): void {
    this.#host.nsend(this, name, message)
  }

  nsendRemote(node: NodeId, name: string, message: unknown): boolean {
    return this.#host.nsendRemote(this, node, name, message)
  }

  drain(to: ProcessId | NodeId): Promise<void> {
    return this.#host.drain(to)
  }

  say(text: string): void {
    this.#host.say(this, text)
  }

  spawn(fn: ProcessFunction, options?: SpawnOptions): ProcessId {
    return this.#host.spawn(this, fn, options)
  }

  monitor(pid: ProcessId): MonitorRef {
    return this.#host.monitor(this, pid)
  }

  demonitor(ref: MonitorRef): void {
    this.#host.demonitor(ref)
    this.#mailbox.discard(message => isDown(message) && message.ref === ref)
  }

  link(pid: ProcessId): void {
    this.#host.link(this, pid)
  }

  unlink(pid: ProcessId): void {
    this.#host.unlink(this, pid)
  }

  #settle(waiter: Waiter): void {
    this.#waiter = null
    waiter.timer?.cancel()
  }
}

/**
 * A rejected receive that the process dropped (e.g. it was killed while a
 * receive raced something else) must not crash Node as an unhandled
 * rejection; whoever awaits it still gets the error.
 */
function rejected<T>(error: unknown): Promise<T> {
  const promise = Promise.reject(error)
  promise.catch(ignore)
  return promise
}

function ignore(): void {}
