import type { Readable, Writable } from 'node:stream'
import type { ZooKeeper } from '../zk-wire/index.js'
import { Exit, type OptionValues, UsageError, intOption } from './command.js'
import { commands } from './commands.js'
import { openSession } from './connect.js'
import { type Invocation, commandIndex, invoke, parseInvocation, report } from './invocation.js'
import { Output } from './output.js'
import { runShell } from './shell.js'
import { packageVersion } from './version.js'

/** How long an interrupted command may take to finish before `zkcloud` gives up on it. */
const GRACE_MS = 2000

function helpText(): string {
  return [
    'zkcloud — ZooKeeper from the shell',
    '',
    'usage: zkcloud [global options] <command> [options] [arguments]',
    '       zkcloud [global options] [shell]     an interactive session (history, Tab completes commands and paths)',
    '',
    'commands:',
    ...[...commands].map(([name, c]) => `  ${name} ${c.usage}\n      ${c.summary}`),
    '',
    'global options:',
    '  --server <hosts>     host:port[,host:port…][/chroot] (default: $ZK_HOSTS, else 127.0.0.1:2181)',
    '  --json               one JSON document per result, one per line for streams (errors too, on stderr)',
    '  --auth <s:cred>      add credentials, e.g. digest:alice:secret (repeatable)',
    '  --timeout <ms>       how long to wait for a server (default 5000)',
    '  --version            print the version',
    '',
    'exit status: 0 done; 1 refused by the server (NONODE, NODEEXISTS, NOAUTH, BADVERSION, …);',
    '             2 bad command line; 3 no server, connection lost, session expired or auth failed;',
    '             130 interrupted (Ctrl-C)',
    '',
  ].join('\n')
}

/** Where `runCli` reads and writes and what stops it; the process's own by default. */
export interface CliIO {
  stdout: Writable
  stderr: Writable
  stdin?: Readable
  /** Aborts running commands. Default: SIGINT or SIGTERM (a second SIGINT exits at once). */
  signal?: AbortSignal
}

/** The connect string, timeout and credentials of the global options. */
export interface Target {
  server: string
  timeoutMs: number
  auth: Array<[string, string]>
}

/** Reads `--server`, `--timeout` and `--auth`. */
export function targetOf(values: OptionValues): Target {
  const server = (values.server as string | undefined) ?? process.env.ZK_HOSTS ?? '127.0.0.1:2181'
  const timeoutMs = intOption({ values }, 'timeout', 5000, '--timeout', 1)
  const auth = ((values.auth as string[] | undefined) ?? []).map((a): [string, string] => {
    const colon = a.indexOf(':')
    if (colon <= 0) throw new UsageError(`--auth needs scheme:credentials, got "${a}"`)
    return [a.slice(0, colon), a.slice(colon + 1)]
  })
  return { server, timeoutMs, auth }
}

/** Runs `zkcloud` with `argv` (no node or script path) and resolves to the exit status. */
export async function runCli(argv: string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }): Promise<number> {
  const interrupt = new AbortController()
  let readerGone = false
  const json = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length).includes('--json')
  const out = new Output(json, io.stdout, io.stderr, () => {
    readerGone = true
    interrupt.abort()
  })
  let inv: Invocation
  try {
    inv = parseInvocation(argv)
  } catch (err) {
    const name = commandName(argv)
    return report(out, name, name === undefined ? undefined : commands.get(name), err)
  }
  if (inv.values.version) {
    if (out.json) out.value({ version: packageVersion() })
    else out.line(`zkcloud ${packageVersion()}`)
    return Exit.ok
  }
  if (inv.name === 'help' || inv.values.help) {
    const topic = inv.name === 'help' ? inv.args[0] : inv.name
    const command = topic === undefined ? undefined : commands.get(topic)
    if (topic !== undefined && command === undefined && topic !== 'shell') return report(out, 'help', undefined, new UsageError(`unknown command "${topic}"`))
    out.line(command ? `usage: zkcloud ${topic} ${command.usage}\n      ${command.summary}` : helpText().trimEnd())
    return Exit.ok
  }
  let target: Target
  try {
    target = targetOf(inv.values)
  } catch (err) {
    return report(out, inv.name, inv.command, err)
  }
  const stopSignals = listenForSignals(io.signal, interrupt)
  let client: Promise<ZooKeeper> | null = null
  try {
    if (inv.command === undefined) {
      if (inv.args.length > 0) return report(out, 'shell', undefined, new UsageError(`unexpected argument "${inv.args[0]}"`))
      return await runShell({ target, out, json: out.json, stdin: io.stdin ?? process.stdin, stdout: io.stdout, stderr: io.stderr, signal: interrupt.signal })
    }
    const connect = (): Promise<ZooKeeper> =>
      (client ??= openSession(target.server, { sessionTimeout: 10_000, requestTimeout: target.timeoutMs, auth: target.auth, timeoutMs: target.timeoutMs, signal: interrupt.signal }))
    const status = await finishOrGiveUp(invoke(inv, { out, connect, signal: interrupt.signal, shell: null }), interrupt.signal)
    return readerGone ? Exit.ok : status
  } finally {
    stopSignals()
    if (client !== null) await (client as Promise<ZooKeeper>).then((zk) => zk.close(), () => undefined)
  }
}

/** The command named in `argv`, for error messages when parsing failed. */
function commandName(argv: readonly string[]): string | undefined {
  const name = argv[commandIndex(argv)]
  return name !== undefined && commands.has(name) ? name : undefined
}

/** SIGINT/SIGTERM (or `signal`) abort the command; a second SIGINT exits at once. Returns the cleanup. */
function listenForSignals(signal: AbortSignal | undefined, interrupt: AbortController): () => void {
  if (signal !== undefined) {
    const onAbort = (): void => interrupt.abort()
    signal.addEventListener('abort', onAbort)
    return () => signal.removeEventListener('abort', onAbort)
  }
  const onSignal = (): void => {
    if (interrupt.signal.aborted) process.exit(Exit.interrupted)
    interrupt.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** The command's status; if interrupted and it does not finish within the grace period, 130. */
async function finishOrGiveUp(run: Promise<Exit>, signal: AbortSignal): Promise<number> {
  let timer: NodeJS.Timeout | undefined
  const gaveUp = new Promise<number>((resolve) => {
    signal.addEventListener('abort', () => (timer = setTimeout(() => resolve(Exit.interrupted), GRACE_MS)), { once: true })
  })
  try {
    return await Promise.race([run, gaveUp])
  } finally {
    clearTimeout(timer)
  }
}
