import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { suite } from 'uvu'
import { type DevServer, startDevServer } from '../../lib/dev-server/index.js'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { trackPid, untrackPid } from '../support/cleanup.js'

const root = fileURLToPath(new URL('../../..', import.meta.url))
/** The executable the package ships (its `bin`), as npm runs it. */
export const CLI = join(root, (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: { zkcloud: string } }).bin.zkcloud)

/** What a finished `zkcloud` run left behind. */
export interface CliResult {
  code: number | null
  stdout: Buffer
  stderr: string
  /** stdout as text. */
  text: string
}

/** A running `zkcloud`, for the commands that run until interrupted. */
export interface CliProcess {
  child: ChildProcess
  /** Resolves with the first stdout line matching `pattern`. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>
  /** Resolves with the first stderr line matching `pattern`. */
  errorLine(pattern: RegExp, timeoutMs?: number): Promise<string>
  /** Writes `text` and a newline to its stdin (started with `keepStdin`). */
  type(text: string): void
  /** Everything written to stdout so far. */
  output(): string
  exited: Promise<CliResult>
}

/** Starts `zkcloud args…` with `env` added to this process's environment (ZK_HOSTS removed unless given). */
export function startCli(args: string[], options: { env?: Record<string, string>; input?: Buffer | string; keepStdin?: boolean } = {}): CliProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env }
  if (options.env?.ZK_HOSTS === undefined) delete env.ZK_HOSTS
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
  if (child.pid !== undefined) trackPid(child.pid)
  const out: Buffer[] = []
  const err: Buffer[] = []
  const waiters: Array<() => void> = []
  child.stdout!.on('data', (b: Buffer) => {
    out.push(b)
    for (const w of waiters.splice(0)) w()
  })
  child.stderr!.on('data', (b: Buffer) => {
    err.push(b)
    for (const w of waiters.splice(0)) w()
  })
  if (options.keepStdin === true) child.stdin!.write(options.input ?? '')
  else child.stdin!.end(options.input)
  const output = (): string => Buffer.concat(out).toString('utf8')
  const errors = (): string => Buffer.concat(err).toString('utf8')
  const exited = new Promise<CliResult>((resolve) =>
    child.on('close', (code) => {
      if (child.pid !== undefined) untrackPid(child.pid)
      const stdout = Buffer.concat(out)
      resolve({ code, stdout, text: stdout.toString('utf8'), stderr: Buffer.concat(err).toString('utf8') })
    }),
  )
  const lineOf = async (text: () => string, pattern: RegExp, timeoutMs = 10_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = text().split('\n').find((l) => pattern.test(l))
      if (found !== undefined) return found
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no line matching ${pattern} in:\n${output()}\n${errors()}`)
      await new Promise<void>((resolve) => {
        waiters.push(resolve)
        setTimeout(resolve, 100)
      })
    }
  }
  const line = (pattern: RegExp, timeoutMs?: number): Promise<string> => lineOf(output, pattern, timeoutMs)
  const errorLine = (pattern: RegExp, timeoutMs?: number): Promise<string> => lineOf(errors, pattern, timeoutMs)
  const type = (text: string): void => void child.stdin!.write(`${text}\n`)
  return { child, line, errorLine, type, output, exited }
}

/** Runs `zkcloud args…` to completion. */
export function cli(args: string[], options?: { env?: Record<string, string>; input?: Buffer | string }): Promise<CliResult> {
  return startCli(args, options).exited
}

/** What each test of a {@link cliSuite} gets. */
export interface CliContext {
  /** A fresh dev server. */
  server: DevServer
  /** A client on it. */
  zk: ZooKeeper
  /** CLI processes the test started: killed after it. */
  running: CliProcess[]
  /** `--server <its address>`. */
  at: string[]
}

/** A suite whose every test gets a fresh dev server and a client on it; the CLI processes it started are killed after it. */
export function cliSuite(name: string) {
  const test = suite<CliContext>(name)
  test.before.each(async (ctx) => {
    ctx.server = await startDevServer({ port: 0 })
    ctx.zk = await ZooKeeper.connect(ctx.server.connectString)
    ctx.running = []
    ctx.at = ['--server', ctx.server.connectString]
  })
  test.after.each(async (ctx) => {
    for (const p of ctx.running) p.child.kill('SIGKILL')
    await Promise.all(ctx.running.map((p) => p.exited))
    await ctx.zk.close()
    await ctx.server.close()
  })
  return test
}

/** The JSON documents of `--json` output, one per line. */
export const jsonLines = (text: string): unknown[] => text.trim().split('\n').map((l) => JSON.parse(l))
