import type { ParseArgsConfig } from 'node:util'
import type { ZooKeeper } from '../zk-wire/index.js'
import type { Output } from './output.js'

/** Exit statuses of `zkcloud`. */
export const Exit = {
  ok: 0,
  /** The server refused the operation: NONODE, NODEEXISTS, NOAUTH, BADVERSION, NOTEMPTY, … */
  refused: 1,
  /** Bad command line: unknown command or option, missing or extra argument, bad value. */
  usage: 2,
  /** No server reachable, connection lost, session expired or authentication failed. */
  unreachable: 3,
  /** Stopped by SIGINT (Ctrl-C), as shells report it. */
  interrupted: 130,
} as const
export type Exit = (typeof Exit)[keyof typeof Exit]

/** A mistake on the command line; reported in one line with the command's usage, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Option values as `parseArgs` gives them (global options included). */
export type OptionValues = Record<string, string | boolean | string[] | undefined>

/** What `zkcloud shell` offers the commands it runs. */
export interface ShellHooks {
  /** Prints a line above the prompt (events that arrive while the user types). */
  notice(line: string): void
  /** Adds credentials to the shell's session, and to every session it starts after an expiry. */
  addAuth(scheme: string, credentials: string): Promise<void>
}

/** What a command gets to work with. */
export interface CommandContext {
  /** Arguments after the command name, options removed. */
  args: string[]
  values: OptionValues
  out: Output
  /** Connects to `--server` (once; later calls return the same client), with `--auth` credentials. */
  connect(): Promise<ZooKeeper>
  /** Aborted on SIGINT/SIGTERM, or when stdout is closed (EPIPE): long-running commands stop and clean up. */
  signal: AbortSignal
  /** Set inside `zkcloud shell`: commands that would wait for a watch return at once and report it later. */
  shell: ShellHooks | null
}

/**
 * One `zkcloud` subcommand. Add a command by adding an entry to the table in
 * `commands.ts`; `cli.ts` parses its options and arguments and runs it.
 */
export interface Command {
  /** One line for `zkcloud help`. */
  summary: string
  /** What follows the command name, e.g. `[-e] [-s] <path> [data]`. */
  usage: string
  /** Its options, in `node:util` `parseArgs` form. */
  options?: NonNullable<ParseArgsConfig['options']>
  /** How many arguments it takes: at least `[0]`, at most `[1]` (default: none). */
  args?: readonly [number, number]
  /** False for commands that make no sense inside `zkcloud shell` (dev-server, demo, shell). */
  inShell?: boolean
  /** Does the work; resolves to the exit status. */
  run(ctx: CommandContext): Promise<Exit>
}

/** The `index`-th argument, or a UsageError naming it. */
export function arg(ctx: Pick<CommandContext, 'args'>, index: number, name: string): string {
  const value = ctx.args[index]
  if (value === undefined) throw new UsageError(`missing <${name}>`)
  return value
}

/**
 * An integer option, or `fallback` when absent; a UsageError naming the option
 * as the usage line shows it (`-v`, `--timeout`) when it is not an integer.
 */
export function intOption(ctx: Pick<CommandContext, 'values'>, name: string, fallback: number, shown = `--${name}`, min = Number.MIN_SAFE_INTEGER): number {
  const raw = ctx.values[name]
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isSafeInteger(n)) throw new UsageError(`${shown} needs an integer, got "${String(raw)}"`)
  if (n < min) throw new UsageError(`${shown} must be at least ${min}, got ${n}`)
  return n
}

/** A string option, or undefined. */
export function stringOption(ctx: Pick<CommandContext, 'values'>, name: string): string | undefined {
  const raw = ctx.values[name]
  return typeof raw === 'string' ? raw : undefined
}
