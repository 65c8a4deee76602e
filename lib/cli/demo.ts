import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { ZooKeeper } from '../zk-wire/index.js'
import { type Command, Exit, UsageError, intOption } from './command.js'
import type { Output } from './output.js'
import { deleteSubtree } from './bulk-delete.js'

/** How long each step of the walkthrough may take before the demo gives up. */
const STEP_TIMEOUT_MS = 20_000

/**
 * The boss example as built next to this module: `dist/pkg/boss.js` beside the
 * bundled CLI, or `dist/examples/boss.js` beside tsc's output.
 */
function bossScript(): string {
  const candidates = ['./boss.js', '../../examples/boss.js'].map((p) => fileURLToPath(new URL(p, import.meta.url)))
  const found = candidates.find((p) => existsSync(p))
  if (found === undefined) throw new Error(`the boss example is not built (looked for ${candidates.join(', ')}); run npm run build`)
  return found
}

/** A child process of the demo whose output lines are printed with its label and watched for. */
class Actor {
  private readonly lines: string[] = []
  private readonly waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = []
  readonly exited: Promise<number | null>

  constructor(
    readonly label: string,
    readonly child: ChildProcess,
    private readonly print: (label: string, line: string) => void,
  ) {
    const onLine = (line: string): void => {
      this.lines.push(line)
      this.print(label, line)
      for (const w of [...this.waiters]) {
        if (w.pattern.test(line)) {
          this.waiters.splice(this.waiters.indexOf(w), 1)
          w.resolve(line)
        }
      }
    }
    createInterface({ input: child.stdout! }).on('line', onLine)
    createInterface({ input: child.stderr! }).on('line', (line) => this.print(label, `! ${line}`))
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  }

  /** Lines printed so far that match `pattern`. */
  matching(pattern: RegExp): string[] {
    return this.lines.filter((l) => pattern.test(l))
  }

  /** The next line (from now on) that matches `pattern`. */
  next(pattern: RegExp): Promise<string> {
    return new Promise((resolve) => this.waiters.push({ pattern, resolve }))
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal)
  }
}

/** Resolves with `promise`, or rejects saying what did not happen within STEP_TIMEOUT_MS. */
async function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${STEP_TIMEOUT_MS / 1000} s`)), STEP_TIMEOUT_MS)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** The first of `actors` to print a line matching `pattern`. */
function firstOf(actors: Actor[], pattern: RegExp): Promise<Actor> {
  return Promise.race(actors.map((a) => a.next(pattern).then(() => a)))
}

/**
 * The seed's walkthrough in one command: a ZooKeeper (the dev server, or a
 * real ensemble with `--zookeeper`), three persistent processes that stand for
 * the boss and work otherwise, jobs sent by transient requestors, the boss
 * stopped, the next candidate taking over, more jobs.
 */
async function runDemo(out: Output, zookeeper: string | undefined, jobs: number, signal: AbortSignal): Promise<Exit> {
  const started = Date.now()
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(2).padStart(6)}s`
  const width = 11
  const print = (label: string, line: string): void => out.line(`${elapsed()}  ${label.padEnd(width)} │ ${line}`)
  const say = (line: string): void => print('demo', line)
  // Conditions waited for are checked after each line an actor prints: no polling timer can outlive a failed step.
  const waiting = new Set<() => void>()
  const until = (cond: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (!cond()) return
        waiting.delete(check)
        resolve()
      }
      waiting.add(check)
      check()
    })
  const actors: Actor[] = []
  const node = process.execPath
  const cli = process.argv[1]!
  const launch = (label: string, args: string[], env: NodeJS.ProcessEnv = {}): Actor => {
    const child = spawn(node, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    const actor = new Actor(label, child, (from, line) => {
      print(from, line)
      for (const check of [...waiting]) check()
    })
    actors.push(actor)
    return actor
  }
  const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('interrupted')), { once: true }))
  const step = <T>(what: string, promise: Promise<T>): Promise<T> => within(what, Promise.race([promise, aborted]))

  /** The current boss and the dev server, stopped last and in this order. */
  let boss: Actor | null = null
  let devServer: Actor | null = null
  let hosts = zookeeper
  let prefix: string | undefined
  // The leaders' lease gives up 1.5 ticks of the session timeout (docs/cluster.md): our own dev
  // server ticks every 500 ms, so 4 s sessions stay comfortable on a loaded machine; another
  // ZooKeeper's tick is unknown (2000 by default), so its sessions get 10 s.
  const tickTime = zookeeper === undefined ? '500' : undefined
  const sessionTimeout = zookeeper === undefined ? '4000' : '10000'
  try {
    if (hosts === undefined) {
      say('starting the dev server (in-memory ZooKeeper) …')
      const server = (devServer = launch('dev-server', [cli, '--json', 'dev-server', '--port', '0', '--tick-time', tickTime!]))
      const listening = await step('the dev server to listen', server.next(/"listening"/))
      hosts = (JSON.parse(listening) as { listening: string }).listening
    }
    prefix = `/zkcloud-demo-${randomBytes(3).toString('hex')}`
    const env = { ZK_HOSTS: hosts, ZKCLOUD_PREFIX: prefix, ZKCLOUD_SESSION_TIMEOUT: sessionTimeout, ...(tickTime !== undefined && { ZKCLOUD_TICK_TIME: tickTime }) }
    say(`ZooKeeper at ${hosts}; cluster prefix ${env.ZKCLOUD_PREFIX}`)
    const script = bossScript()

    say('starting a boss candidate …')
    const first = launch('node-1', [script], env)
    boss = first
    await step('a boss to be elected', first.next(/I'm the boss!/))
    say('starting two more candidates: the boss is taken, so they register as workers …')
    const others = [launch('node-2', [script], env), launch('node-3', [script], env)]
    await step('two workers', Promise.all(others.map((o) => o.next(/Worker waiting for task/))))

    const submit = async (from: number): Promise<void> => {
      for (let i = from; i < from + jobs; i++) {
        const requestor = launch(`job-${i}`, [script, `job-${i}`], env)
        await step(`job-${i} to be sent`, requestor.exited)
      }
    }
    const done = (pattern: RegExp): number => actors.reduce((n, a) => n + a.matching(pattern).length, 0)

    say(`sending ${jobs} jobs: the boss delegates them round robin to its workers …`)
    await submit(1)
    await step(`the ${jobs} jobs to be done`, until(() => done(/^Doing job /) >= jobs))

    say('stopping the boss (SIGTERM): its session closes and the next candidate takes over …')
    const stoppedAt = Date.now()
    const successor = firstOf(others, /I'm the boss!/)
    first.stop()
    const heir = await step('a new boss', successor)
    boss = heir
    const takeover = Date.now() - stoppedAt
    say(`${heir.label} took over ${takeover} ms after the boss was stopped`)

    say(`sending ${jobs} more jobs: the new boss delegates, and works too …`)
    await submit(jobs + 1)
    await step(`all ${2 * jobs} jobs to be done`, until(() => done(/^Doing job /) >= 2 * jobs))
    say(`done: ${done(/^Delegating job /)} jobs delegated, ${done(/^Doing job /)} done, takeover in ${takeover} ms`)
    return Exit.ok
  } catch (err) {
    say(`demo failed: ${(err as Error).message}`)
    return signal.aborted ? Exit.interrupted : Exit.refused
  } finally {
    waiting.clear()
    // The other candidates go first (they withdraw: nobody takes over), then the boss, then the
    // dev server: stopping them all at once let a candidate be elected during the clean-up.
    const order = [actors.filter((a) => a !== boss && a !== devServer), boss === null ? [] : [boss], devServer === null ? [] : [devServer]]
    for (const group of order) await stopAll(group.filter((a) => a.child.exitCode === null && a.child.signalCode === null))
    if (zookeeper !== undefined && prefix !== undefined) await removePrefix(zookeeper, prefix)
    say('cleaned up')
  }
}

/** Stops `actors` (SIGTERM, SIGKILL after 5 s) and waits until they have exited. */
async function stopAll(actors: readonly Actor[]): Promise<void> {
  for (const a of actors) a.stop()
  const timer = setTimeout(() => actors.forEach((a) => a.stop('SIGKILL')), 5000)
  await Promise.all(actors.map((a) => a.exited))
  clearTimeout(timer)
}

/** Removes what the demo's cluster left on a real ensemble (its ephemeral nodes went with the processes). */
async function removePrefix(hosts: string, prefix: string): Promise<void> {
  const zk = await ZooKeeper.connect(hosts, { connectTimeout: 5000 }).catch(() => null)
  if (zk === null) return
  try {
    await deleteSubtree(zk, prefix).catch(() => undefined)
  } finally {
    await zk.close()
  }
}

export const demo: Command = {
  summary: "the seed's boss/worker walkthrough: a dev server (or --zookeeper), a boss, two workers, jobs, a takeover",
  usage: '[--zookeeper host:port[,host:port…]] [--jobs 4]',
  options: {
    zookeeper: { type: 'string' },
    jobs: { type: 'string' },
  },
  inShell: false,
  async run(ctx) {
    const jobs = intOption(ctx, 'jobs', 4)
    if (jobs < 1) throw new UsageError('--jobs must be at least 1')
    return runDemo(ctx.out, ctx.values.zookeeper as string | undefined, jobs, ctx.signal)
  },
}
