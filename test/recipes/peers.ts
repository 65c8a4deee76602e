import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** test/recipes/fixtures in the source tree, found from wherever this module was compiled to. */
function findFixtures(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url))
  for (;;) {
    const candidate = join(dir, 'test', 'recipes', 'fixtures')
    if (existsSync(join(candidate, 'CuratorDriver.java'))) return candidate
    const up = dirname(dir)
    if (up === dir) throw new Error('test/recipes/fixtures not found above ' + fileURLToPath(import.meta.url))
    dir = up
  }
}

const fixtures = findFixtures()
const JARS = ['curator-recipes', 'curator-framework', 'curator-client', 'zookeeper', 'zookeeper-jute', 'guava', 'slf4j-api', 'slf4j-nop']
const CLASSPATH = JARS.map((j) => `/usr/share/java/${j}.jar`).join(':')
const PYTHON = '/usr/bin/python3'

/** Why Curator cannot run here, or null if it can (Debian's jars and a JDK). */
export function curatorMissing(): string | null {
  for (const jar of JARS) if (!existsSync(`/usr/share/java/${jar}.jar`)) return `/usr/share/java/${jar}.jar is missing (apt-get install libcurator-recipes-java)`
  if (spawnSync('javac', ['-version']).status !== 0) return 'javac is missing (a JDK is needed to compile the Curator driver)'
  return null
}

/** Why kazoo cannot run here, or null if it can. */
export function kazooMissing(): string | null {
  return spawnSync(PYTHON, ['-c', 'import kazoo']).status === 0 ? null : `${PYTHON} cannot import kazoo (apt-get install python3-kazoo)`
}

/** Compiles CuratorDriver.java once per source version; returns the class directory. */
function compiledCurator(): string {
  const source = join(fixtures, 'CuratorDriver.java')
  const hash = createHash('sha256').update(readFileSync(source)).update(CLASSPATH).digest('hex').slice(0, 16)
  const dir = join(tmpdir(), `zkcloud-curator-driver-${hash}`)
  if (existsSync(join(dir, 'CuratorDriver.class'))) return dir
  const building = `${dir}.${process.pid}`
  mkdirSync(building, { recursive: true })
  const javac = spawnSync('javac', ['-nowarn', '-cp', CLASSPATH, '-d', building, source], { encoding: 'utf8' })
  if (javac.status !== 0) {
    rmSync(building, { recursive: true, force: true })
    throw new Error(`javac CuratorDriver.java failed:\n${javac.stderr}`)
  }
  try {
    renameSync(building, dir)
  } catch {
    rmSync(building, { recursive: true, force: true }) // another process won the race
  }
  return dir
}

/**
 * A Curator or kazoo process driven over stdin/stdout (see the drivers in
 * fixtures/): `call` sends a command and resolves with its reply; `events`
 * are the asynchronous lines (`event <handle> …`) received so far.
 */
export class Peer {
  readonly events: string[] = []
  readonly #replies = new Map<string, Array<(line: string) => void>>()
  readonly #eventWaiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = []
  readonly #stderr: string[] = []
  #exited = false

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stderr!.on('data', (chunk: Buffer) => this.#stderr.push(chunk.toString()))
    child.on('exit', () => {
      this.#exited = true
      for (const waiters of this.#replies.values()) for (const w of waiters) w(`err - ${name} exited: ${this.#stderr.join('').slice(-2000)}`)
      this.#replies.clear()
    })
    createInterface({ input: child.stdout! }).on('line', (line) => this.#line(line))
  }

  /** Starts Curator's driver against `connectString` (JVM start: ~1 s). */
  static curator(connectString: string): Promise<Peer> {
    const classes = compiledCurator()
    return Peer.#start('curator', 'java', ['-Xss512k', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', `${classes}:${CLASSPATH}`, 'CuratorDriver', connectString])
  }

  /** Starts kazoo's driver against `connectString`. */
  static kazoo(connectString: string): Promise<Peer> {
    return Peer.#start('kazoo', PYTHON, ['-u', join(fixtures, 'kazoo_driver.py'), connectString])
  }

  static async #start(name: string, command: string, args: string[]): Promise<Peer> {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const peer = new Peer(name, child)
    const ready = await peer.#waitLine('-', 30_000)
    if (ready !== 'ready') throw new Error(`${name} did not start: ${ready}`)
    return peer
  }

  #line(line: string): void {
    if (line === 'ready') return this.#resolve('-', line)
    const [kind, handle] = line.split(' ')
    if (kind === 'event') {
      this.events.push(line)
      for (const w of [...this.#eventWaiters]) {
        if (w.match(line)) {
          this.#eventWaiters.splice(this.#eventWaiters.indexOf(w), 1)
          w.resolve(line)
        }
      }
      return
    }
    if (handle !== undefined) this.#resolve(handle, line)
  }

  #resolve(handle: string, line: string): void {
    const waiters = this.#replies.get(handle)
    const next = waiters?.shift()
    if (next) next(line)
  }

  #waitLine(handle: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no reply for ${handle} within ${timeoutMs} ms; stderr: ${this.#stderr.join('').slice(-2000)}`)), timeoutMs)
      const list = this.#replies.get(handle) ?? []
      list.push((line) => {
        clearTimeout(timer)
        resolve(line)
      })
      this.#replies.set(handle, list)
    })
  }

  /** Sends `<handle> <command>` and resolves with the reply after `ok <handle> ` (rejects on `err`). */
  async call(handle: string, command: string, timeoutMs = 30_000): Promise<string> {
    if (this.#exited) throw new Error(`${this.name} has exited`)
    const reply = this.#waitLine(handle, timeoutMs)
    this.child.stdin!.write(`${handle} ${command}\n`)
    const line = await reply
    if (line.startsWith('err ')) throw new Error(`${this.name} ${handle} ${command}: ${line}`)
    return line.slice(`ok ${handle} `.length)
  }

  /** Sends a command without waiting for its reply (for `run`-style commands that block the handle). */
  send(handle: string, command: string): void {
    this.child.stdin!.write(`${handle} ${command}\n`)
  }

  /** The next `event` line matching `pattern` (including ones already received and not yet taken). */
  event(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    const seen = this.events.findIndex((line) => pattern.test(line))
    if (seen >= 0) return Promise.resolve(this.events.splice(seen, 1)[0]!)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no event ${pattern} within ${timeoutMs} ms (got ${this.events.join(' | ')})`)), timeoutMs)
      this.#eventWaiters.push({
        match: (line) => pattern.test(line),
        resolve: (line) => {
          clearTimeout(timer)
          this.events.splice(this.events.indexOf(line), 1)
          resolve(line)
        },
      })
    })
  }

  /** Asks the driver to quit, and kills it if it has not within a few seconds. */
  async stop(): Promise<void> {
    if (this.#exited) return
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.child.stdin!.end('quit\n')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }

  /** Kills the process at once (its ZooKeeper session then expires on the server's clock). */
  kill(): void {
    this.child.kill('SIGKILL')
  }
}
