import type { Writable } from 'node:stream'
import { parseArgs } from 'node:util'
import { ZkError, ZooKeeper } from '../zk-wire/index.js'
import { type Command, type CommandContext, Exit, UsageError, intOption } from './command.js'
import { commands } from './commands.js'
import { Output } from './output.js'

const GLOBAL_OPTIONS = {
  server: { type: 'string' },
  json: { type: 'boolean' },
  auth: { type: 'string', multiple: true },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

/** Errors that mean no usable session, rather than a refused operation. */
const UNREACHABLE = new Set(['CONNECTIONLOSS', 'OPERATIONTIMEOUT', 'SESSIONEXPIRED', 'AUTHFAILED', 'CLOSED'])
/** How long an interrupted command may take to finish before `zkcloud` gives up on it. */
const GRACE_MS = 2000

function helpText(): string {
  return [
    'zkcloud — ZooKeeper from the shell',
    '',
    'usage: zkcloud [global options] <command> [options] [arguments]',
    '',
    'commands:',
    ...[...commands].map(([name, c]) => `  ${name} ${c.usage}\n      ${c.summary}`),
    '',
    'global options:',
    '  --server <hosts>     host:port[,host:port…][/chroot] (default: $ZK_HOSTS, else 127.0.0.1:2181)',
    '  --json               output one JSON document per line (errors too, on stderr)',
    '  --auth <s:cred>      add credentials, e.g. digest:alice:secret (repeatable)',
    '  --timeout <ms>       how long to wait for a server (default 5000)',
    '',
    'exit status: 0 done; 1 refused by the server (NONODE, NODEEXISTS, NOAUTH, BADVERSION, …);',
    '             2 bad command line; 3 no server, connection lost, session expired or auth failed',
    '',
  ].join('\n')
}

/** Where `runCli` writes and what stops it; the process's own by default. */
export interface CliIO {
  stdout: Writable
  stderr: Writable
  /** Aborts long-running commands (watch, dev-server). Default: SIGINT or SIGTERM. */
  signal?: AbortSignal
}

/** Runs `zkcloud` with `argv` (no node or script path) and resolves to the exit status. */
export async function runCli(argv: string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const first = parseArgs({ args: argv, options: GLOBAL_OPTIONS, strict: false, allowPositionals: true })
  const out = new Output(first.values.json === true, io.stdout, io.stderr)
  const name = first.positionals[0]
  if (name === undefined || name === 'help' || first.values.help) {
    const topic = name === 'help' ? first.positionals[1] : name
    const command = topic === undefined ? undefined : commands.get(topic)
    io.stdout.write(command ? `usage: zkcloud ${topic} ${command.usage}\n      ${command.summary}\n` : helpText())
    return name === undefined && !first.values.help ? Exit.usage : Exit.ok
  }
  const command = commands.get(name)
  if (command === undefined) {
    out.error(`unknown command "${name}" (try: zkcloud help)`)
    return Exit.usage
  }
  let client: Promise<ZooKeeper> | null = null
  const interrupt = new AbortController()
  const onSignal = (): void => interrupt.abort()
  if (io.signal) io.signal.addEventListener('abort', onSignal)
  else for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, onSignal)
  try {
    const parsed = parse(command, argv)
    const ctx: CommandContext = {
      args: parsed.positionals.slice(1),
      values: parsed.values,
      out,
      signal: interrupt.signal,
      connect: () => (client ??= connect(parsed.values)),
    }
    return await finishOrGiveUp(command.run(ctx), interrupt.signal)
  } catch (err) {
    return report(out, name, command, err)
  } finally {
    io.signal?.removeEventListener('abort', onSignal)
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.off(s, onSignal)
    if (client !== null) await (client as Promise<ZooKeeper>).then((zk) => zk.close(), () => undefined)
  }
}

function parse(command: Command, argv: string[]): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...command.options }, strict: true, allowPositionals: true })
    return { values: values as Record<string, string | boolean | undefined>, positionals }
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

async function connect(values: CommandContext['values']): Promise<ZooKeeper> {
  const server = (values.server as string | undefined) ?? process.env.ZK_HOSTS ?? '127.0.0.1:2181'
  const timeout = intOption({ values }, 'timeout', 5000)
  const auth = ((values.auth as unknown as string[] | undefined) ?? []).map((a): [string, string] => {
    const colon = a.indexOf(':')
    if (colon <= 0) throw new UsageError(`--auth needs scheme:credentials, got "${a}"`)
    return [a.slice(0, colon), a.slice(colon + 1)]
  })
  try {
    return await ZooKeeper.connect(server, { sessionTimeout: 10_000, connectTimeout: timeout, requestTimeout: timeout, auth })
  } catch (err) {
    if (err instanceof ZkError && err.name === 'CONNECTIONLOSS') throw new ZkError(err.code, { op: 'connect', message: `cannot reach ${server} within ${timeout} ms` })
    throw err
  }
}

/** The command's status; if interrupted and it does not finish within the grace period, 130 as shells report SIGINT. */
async function finishOrGiveUp(run: Promise<Exit>, signal: AbortSignal): Promise<number> {
  let timer: NodeJS.Timeout | undefined
  const gaveUp = new Promise<number>((resolve) => {
    signal.addEventListener('abort', () => (timer = setTimeout(() => resolve(130), GRACE_MS)), { once: true })
  })
  try {
    return await Promise.race([run, gaveUp])
  } finally {
    clearTimeout(timer)
  }
}

function report(out: Output, name: string, command: Command, err: unknown): number {
  if (err instanceof UsageError) {
    out.error(`${name}: ${err.message}`, { usage: `zkcloud ${name} ${command.usage}` })
    if (!out.json) out.error(`usage: zkcloud ${name} ${command.usage}`)
    return Exit.usage
  }
  if (err instanceof ZkError) {
    out.error(out.json ? err.name : `${err.name}: ${err.message}`, { code: err.code, message: err.message, path: err.path })
    return UNREACHABLE.has(err.name) ? Exit.unreachable : Exit.refused
  }
  out.error(`${name}: ${(err as Error).message}`)
  return Exit.refused
}
