import type { ParseArgsConfig } from 'node:util'
import type { ZooKeeper } from '../zk-wire/index.js'
import type { Output } from './output.js'

/** Exit statuses of `zkcloud`. */
export const Exit = {
  ok: 0,
  /** The server refused the operation: NONODE, NODEEXISTS, NOAUTH, BADVERSION, NOTEMPTY, … */
  refused: 1,
  /** Bad command line: unknown command or option, missing argument. */
  usage: 2,
  /** No server reachable, connection lost, session expired or authentication failed. */
  unreachable: 3,
} as const
export type Exit = (typeof Exit)[keyof typeof Exit]

/** A mistake on the command line; reported with the command's usage and exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** What a command gets to work with. */
export interface CommandContext {
  /** Arguments after the command name, options removed. */
  args: string[]
  /** Option values (`parseArgs` values), global ones included. */
  values: Record<string, string | boolean | undefined>
  out: Output
  /** Connects to `--server` (once; later calls return the same client), with `--auth` credentials. */
  connect(): Promise<ZooKeeper>
  /** Aborted on SIGINT/SIGTERM: long-running commands stop and clean up. */
  signal: AbortSignal
}

/**
 * One `zkcloud` subcommand. Add a command by adding an entry to the table in
 * `commands.ts`; `main.ts` parses its options and runs it.
 */
export interface Command {
  /** One line for `zkcloud help`. */
  summary: string
  /** What follows the command name, e.g. `[-e] [-s] <path> [data]`. */
  usage: string
  /** Its options, in `node:util` `parseArgs` form. */
  options?: NonNullable<ParseArgsConfig['options']>
  /** Does the work; resolves to the exit status. */
  run(ctx: CommandContext): Promise<Exit>
}

/** The `index`-th argument, or a UsageError naming it. */
export function arg(ctx: CommandContext, index: number, name: string): string {
  const value = ctx.args[index]
  if (value === undefined) throw new UsageError(`missing <${name}>`)
  return value
}

/** An integer option, or `fallback` when absent; a UsageError when not an integer. */
export function intOption(ctx: Pick<CommandContext, 'values'>, name: string, fallback: number): number {
  const raw = ctx.values[name]
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (typeof raw !== 'string' || !Number.isInteger(n)) throw new UsageError(`--${name} needs an integer, got "${String(raw)}"`)
  return n
}
