import type { Debug, Formatters } from 'debug'
import setup from 'debug/src/common.js'
import { builtin } from './builtin.js'

/** A `debug`-style logger: printf-like format and arguments. */
export type Logger = ((format: string, ...args: unknown[]) => void) & { enabled: boolean }

const noop: Logger = Object.assign(() => undefined, { enabled: false })

/** `DEBUG_COLORS=no`, `DEBUG_DEPTH=10`, `DEBUG_HIDE_DATE=1`…, as `debug` reads them. */
function inspectOptions(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const options: Record<string, unknown> = {}
  for (const key of Object.keys(env)) {
    if (!/^debug_/i.test(key)) continue
    const prop = key.slice(6).toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
    const value = env[key]!
    options[prop] = /^(yes|on|true|enabled)$/i.test(value) ? true : /^(no|off|false|disabled)$/i.test(value) ? false : value === 'null' ? null : Number(value)
  }
  return options
}

type Instance = { namespace: string; useColors: boolean; color: number; diff: number; inspectOpts: Record<string, unknown> }

/**
 * `debug`'s core (`debug/src/common.js`: namespaces and `-exclusions`, formatters,
 * colours, `+Nms`) with the Node back end of `debug/src/node.js`, written here so
 * that it reaches `node:tty` and `node:util` through {@link builtin}. `debug`'s own
 * Node entry `require`s them, which an ESM bundle (esbuild's) cannot run.
 */
function createDebug(): Debug {
  const inspectOpts = inspectOptions(process.env)
  const { formatWithOptions, inspect } = builtin('node:util')
  const debug: Debug = setup({
    colors: [6, 2, 3, 4, 5, 1],
    inspectOpts,
    useColors: () => ('colors' in inspectOpts ? Boolean(inspectOpts.colors) : builtin('node:tty').isatty(process.stderr.fd)),
    init(instance: Instance) {
      instance.inspectOpts = { ...inspectOpts }
    },
    load: () => process.env.DEBUG,
    save(namespaces: string | undefined) {
      if (namespaces) process.env.DEBUG = namespaces
      else delete process.env.DEBUG
    },
    log: (...args: unknown[]) => process.stderr.write(formatWithOptions(inspectOpts, ...args) + '\n'),
    formatArgs(this: Instance, args: unknown[]) {
      const name = this.namespace
      if (this.useColors) {
        const code = `\u001B[3${this.color < 8 ? this.color : `8;5;${this.color}`}`
        const prefix = `  ${code};1m${name} \u001B[0m`
        args[0] = prefix + String(args[0]).split('\n').join(`\n${prefix}`)
        args.push(`${code}m+${debug.humanize(this.diff)}\u001B[0m`)
      } else {
        args[0] = `${inspectOpts.hideDate ? '' : `${new Date().toISOString()} `}${name} ${String(args[0])}`
      }
    },
  })
  const formatters: Formatters = debug.formatters
  formatters.o = function (this: Instance, v: unknown) {
    this.inspectOpts.colors = this.useColors
    return inspect(v, this.inspectOpts)
      .split('\n')
      .map((line) => line.trim())
      .join(' ')
  }
  formatters.O = function (this: Instance, v: unknown) {
    this.inspectOpts.colors = this.useColors
    return inspect(v, this.inspectOpts)
  }
  return debug
}

let shared: Debug | undefined

/**
 * A logger in the `debug` namespace `ns` (`zkcloud:wire`, `zkcloud:runtime`…).
 * `DEBUG` is read when the logger is made (at start-up): without it this is a
 * no-op and nothing of `debug` runs, which keeps `import('zkcloud/zk')` fast.
 * Works the same in ESM, CommonJS and bundles.
 */
export function logger(ns: string): Logger {
  if (!process.env.DEBUG) return noop
  shared ??= createDebug()
  return shared(ns) as Logger
}
