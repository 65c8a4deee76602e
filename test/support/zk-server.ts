import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import type { ConnectionOptions } from 'node:tls'
import { trackPid, untrackPid } from './cleanup.js'
import { fourLetterWord, parseMode } from './four-letter.js'
import { isProcessStopped } from './process-alive.js'
import { waitFor } from './wait.js'

/** What `srvr` reports a serving server to be. */
export type ZkMode = 'leader' | 'follower' | 'observer' | 'standalone' | 'read-only'

/** How to launch one server process. */
export interface ZkServerSpec {
  id: number
  clientPort: number
  secureClientPort?: number
  java: string
  /** Everything after `java`: JVM flags, class path, main class, zoo.cfg. */
  args: string[]
  /** The server's own dir (cwd of the process). */
  dir: string
  /** Where the process's stdout and stderr (its whole log) go. */
  logFile: string
  /** TLS options for 4-letter words to the secure port, when there is one. */
  tls?: ConnectionOptions
}

type State = 'stopped' | 'running' | 'stalled'

/**
 * One real ZooKeeper server process on 127.0.0.1. It can be killed, stopped, restarted
 * with the same data dir and ports, and stalled (SIGSTOP) to exercise read timeouts.
 */
export class ZkServer {
  readonly id: number
  readonly host = '127.0.0.1'
  readonly clientPort: number
  readonly secureClientPort?: number
  #spec: ZkServerSpec
  #state: State = 'stopped'
  #child?: ChildProcess
  #exited: Promise<void> = Promise.resolve()

  constructor(spec: ZkServerSpec) {
    this.#spec = spec
    this.id = spec.id
    this.clientPort = spec.clientPort
    if (spec.secureClientPort !== undefined) this.secureClientPort = spec.secureClientPort
  }

  /** `127.0.0.1:<clientPort>`. */
  get address(): string {
    return `${this.host}:${this.clientPort}`
  }

  /** True while the process exists, stalled or not. */
  get isRunning(): boolean {
    return this.#state !== 'stopped'
  }

  /** True between `stall()` and `resume()`. */
  get isStalled(): boolean {
    return this.#state === 'stalled'
  }

  /** The process id while running. */
  get pid(): number | undefined {
    return this.#child?.pid
  }

  /**
   * Start (or restart, with the same data dir and ports) the process and resolve once it
   * answers `ruok`, on its secure client port too when it has one. That means listening,
   * not necessarily serving: an ensemble member serves only once a quorum has formed
   * (see `waitServing`).
   */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.#state !== 'stopped') throw new Error(`ZooKeeper server ${this.id} is already running`)
    const log = openSync(this.#spec.logFile, 'a')
    let child: ChildProcess
    try {
      child = spawn(this.#spec.java, this.#spec.args, { cwd: this.#spec.dir, stdio: ['ignore', log, log] })
    } finally {
      closeSync(log)
    }
    this.#child = child
    this.#state = 'running'
    // The server must never keep a test process alive; cleanup.ts kills it at exit.
    child.unref()
    if (child.pid !== undefined) trackPid(child.pid)
    let exitReason: string | undefined
    this.#exited = new Promise(resolve => {
      const gone = (why: string) => {
        exitReason ??= why
        if (child.pid !== undefined) untrackPid(child.pid)
        if (this.#child === child) this.#state = 'stopped'
        resolve()
      }
      child.once('exit', (code, signal) => gone(signal ?? `code ${code}`))
      child.once('error', err => gone(err.message)) // spawn failure: no 'exit' follows
    })
    try {
      // The secure port (TLS ensembles) opens after the plain one: wait for both.
      const secure = this.secureClientPort !== undefined
      await waitFor(`server ${this.id} to answer ruok${secure ? ' on its plain and its TLS port' : ''}`, async () => {
        if (exitReason !== undefined) throw new Error(`exited (${exitReason})`)
        if ((await this.fourLetter('ruok', 500).catch(() => '')) !== 'imok') return false
        return !secure || (await this.secureFourLetter('ruok', 5000).catch(() => '')) === 'imok'
      }, { timeoutMs })
    } catch (err) {
      await this.kill()
      throw new Error(`ZooKeeper server ${this.id} did not start: ${(err as Error).message}\n${this.logs()}`)
    }
  }

  /** Send `signal` (SIGKILL by default) and resolve when the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child
    if (this.#state === 'stopped' || !child) return
    // A stopped process only acts on SIGKILL; let it see anything else.
    if (this.#state === 'stalled' && signal !== 'SIGKILL') child.kill('SIGCONT')
    child.ref() // keep this process alive until the exit is seen
    child.kill(signal)
    await this.#exited
  }

  /** Graceful stop: SIGTERM, then SIGKILL if the process is still there after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.#state === 'stopped') return
    const timer = setTimeout(() => this.#child?.kill('SIGKILL'), timeoutMs)
    try {
      await this.kill('SIGTERM')
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Freeze the process (SIGSTOP): sockets stay open, nothing is answered. Resolves once every
   * thread of the JVM has stopped (SIGSTOP takes effect asynchronously: a loaded machine
   * lets the server answer for a while after `kill` returned).
   */
  async stall(timeoutMs = 10_000): Promise<void> {
    if (this.#state !== 'running') throw new Error(`ZooKeeper server ${this.id} is not running`)
    const pid = this.#child!.pid!
    this.#child!.kill('SIGSTOP')
    this.#state = 'stalled'
    await waitFor(`server ${this.id} (pid ${pid}) to stop after SIGSTOP`, () => isProcessStopped(pid), { timeoutMs, intervalMs: 5 })
  }

  /** Unfreeze a stalled process (SIGCONT). */
  resume(): void {
    if (this.#state !== 'stalled') throw new Error(`ZooKeeper server ${this.id} is not stalled`)
    this.#child!.kill('SIGCONT')
    this.#state = 'running'
  }

  /** The server's mode from `srvr`, or null when it does not answer or is not serving. */
  async mode(): Promise<ZkMode | null> {
    if (this.#state !== 'running') return null
    const srvr = await this.fourLetter('srvr', 1000).catch(() => '')
    return parseMode(srvr) as ZkMode | null
  }

  /** Wait until the server serves requests (any mode) and return its mode. */
  waitServing(timeoutMs = 30_000): Promise<ZkMode> {
    return waitFor(`server ${this.id} to serve`, async () => (await this.mode()) ?? undefined, { timeoutMs })
  }

  /** Send a 4-letter word to the plain client port. */
  fourLetter(cmd: string, timeoutMs = 2000): Promise<string> {
    return fourLetterWord(this.host, this.clientPort, cmd, timeoutMs)
  }

  /** Send a 4-letter word over TLS to the secure client port (TLS ensembles only). */
  secureFourLetter(cmd: string, timeoutMs = 2000): Promise<string> {
    if (this.secureClientPort === undefined || !this.#spec.tls) throw new Error(`server ${this.id} has no secure client port`)
    return fourLetterWord(this.host, this.secureClientPort, cmd, timeoutMs, this.#spec.tls)
  }

  /** The last `lines` lines of the server's log, headed with its id, for failure messages. */
  logs(lines = 60): string {
    let text: string
    try {
      text = readFileSync(this.#spec.logFile, 'utf8')
    } catch {
      text = '(no log file)'
    }
    const tail = text.trimEnd().split('\n').slice(-lines).join('\n')
    return `--- ZooKeeper server ${this.id} (${this.address}), last ${lines} log lines ---\n${tail}\n`
  }
}
