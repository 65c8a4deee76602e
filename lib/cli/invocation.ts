import { parseArgs } from 'node:util'
import { ZkError } from '../zk-wire/index.js'
import { type Command, type CommandContext, Exit, type OptionValues, UsageError } from './command.js'
import { commands } from './commands.js'
import { Interrupted } from './connect.js'
import type { Output } from './output.js'

/** Options every command takes, before or after its name. */
export const GLOBAL_OPTIONS = {
  server: { type: 'string' },
  json: { type: 'boolean' },
  auth: { type: 'string', multiple: true },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const

/** Errors that mean no usable session, rather than a refused operation. */
const UNREACHABLE = new Set(['CONNECTIONLOSS', 'OPERATIONTIMEOUT', 'SESSIONEXPIRED', 'SESSIONMOVED', 'AUTHFAILED', 'CLOSED'])

/** A parsed command line. */
export interface Invocation {
  /** The command's name as typed; undefined when there is none (`zkcloud`, `zkcloud --json`). */
  name: string | undefined
  command: Command | undefined
  args: string[]
  values: OptionValues
}

/** Where the command name is: the first word that is neither an option nor a global option's value. */
export function commandIndex(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') return i + 1 < argv.length ? i + 1 : -1
    if (a.startsWith('--')) {
      const name = a.slice(2)
      const spec = (GLOBAL_OPTIONS as Record<string, { type: string }>)[name]
      if (spec?.type === 'string') i++
      continue
    }
    if (a.startsWith('-') && a.length > 1) continue
    return i
  }
  return -1
}

/** `parseArgs`'s messages, said the way the usage lines show options. */
function usageProblem(err: Error & { code?: string }): string {
  const m = err.message
  let found: RegExpExecArray | null
  if ((found = /^Option '(?:(-\w), )?(--[\w-]+) <value>' argument missing/.exec(m))) return `${found[1] ?? found[2]} needs a value`
  if ((found = /^Option '(?:(-\w), )?(--[\w-]+)' does not take an argument/.exec(m))) return `${found[1] ?? found[2]} takes no value`
  if ((found = /^Unknown option '([^']+)'/.exec(m))) return `unknown option ${found[1]}`
  return m
}

/** The `<name>` placeholders of a usage line, in order. */
function placeholders(usage: string): string[] {
  return [...usage.matchAll(/<([^>]+)>/g)].map((m) => m[1]!)
}

/**
 * Parses `argv` (no node or script path): the command, its options and
 * arguments, global options anywhere. Throws a {@link UsageError} naming the
 * problem: an unknown command or option, a missing value, a missing or extra
 * argument.
 */
export function parseInvocation(argv: readonly string[]): Invocation {
  const at = commandIndex(argv)
  const name = at === -1 ? undefined : argv[at]!
  const command = name === undefined ? undefined : commands.get(name)
  if (name !== undefined && command === undefined && name !== 'help' && name !== 'shell') throw new UsageError(`unknown command "${name}" (try: zkcloud help)`)
  const rest = at === -1 ? [...argv] : [...argv.slice(0, at), ...argv.slice(at + 1)]
  let parsed: { values: OptionValues; positionals: string[] }
  try {
    parsed = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...command?.options }, strict: true, allowPositionals: true }) as typeof parsed
  } catch (err) {
    throw new UsageError(usageProblem(err as Error))
  }
  const args = parsed.positionals
  if (command !== undefined && !parsed.values.help) {
    const [min, max] = command.args ?? [0, 0]
    if (args.length < min) throw new UsageError(`missing <${placeholders(command.usage)[args.length] ?? 'argument'}>`)
    if (args.length > max) throw new UsageError(`unexpected argument "${args[max]}"`)
  }
  return { name, command, args, values: parsed.values }
}

/** Reports what stopped a command, in one line, and returns its exit status. */
export function report(out: Output, name: string | undefined, command: Command | undefined, err: unknown): Exit {
  if (err instanceof Interrupted) return Exit.interrupted
  if (err instanceof UsageError) {
    const usage = command === undefined ? undefined : `zkcloud ${name} ${command.usage}`
    if (out.json) out.error(err.message, usage === undefined ? {} : { usage })
    else out.error(`${name === undefined ? '' : `${name}: `}${err.message}${usage === undefined ? '' : ` (usage: ${usage})`}`)
    return Exit.usage
  }
  if (err instanceof ZkError) {
    out.error(out.json ? err.name : `${err.name}: ${err.message}`, { code: err.code, message: err.message, ...(err.path === undefined ? {} : { path: err.path }) })
    return UNREACHABLE.has(err.name) ? Exit.unreachable : Exit.refused
  }
  out.error(`${name ?? 'zkcloud'}: ${(err as Error).message}`)
  return Exit.refused
}

/** Runs a parsed command; every failure is reported and becomes its exit status. */
export async function invoke(inv: Invocation, ctx: Omit<CommandContext, 'args' | 'values'>): Promise<Exit> {
  try {
    return await inv.command!.run({ ...ctx, args: inv.args, values: inv.values })
  } catch (err) {
    return report(ctx.out, inv.name, inv.command, err)
  }
}
