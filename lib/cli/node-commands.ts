import { Code, type CreateMode, type Stat, ZkError } from '../zk-wire/index.js'
import { parseACL } from './acl-text.js'
import { type Command, type CommandContext, Exit, UsageError, arg, intOption } from './command.js'
import { OneShot } from './one-shot.js'
import { listRecursively } from './tree.js'
import { dataField, statFields } from './output.js'

/** The data argument: text as given, or everything on stdin for `-`; none is null. */
async function dataArg(ctx: CommandContext, index: number): Promise<Buffer | null> {
  const value = ctx.args[index]
  if (value === undefined) return null
  if (value !== '-') return Buffer.from(value, 'utf8')
  if (ctx.shell !== null) throw new UsageError('data from stdin (-) is not available in the shell')
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** `-v version`, as zkCli spells it. */
const version = { 'data-version': { type: 'string', short: 'v' } } as const
const dataVersion = (ctx: CommandContext): number => intOption(ctx, 'data-version', -1, '-v', -1)
const watchFlag = { watch: { type: 'boolean', short: 'w' } } as const
const statFlag = { stat: { type: 'boolean', short: 's' } } as const

/** Prints a Stat after a result (human mode), as `-s` asks. */
function printStat(ctx: CommandContext, stat: Stat): void {
  ctx.out.fields(statFields(stat, false))
}

export const ls: Command = {
  summary: 'list the children of a node, sorted; -s with its stat, -w then wait for a child change, -R every path below it',
  usage: '[-s] [-w] [-R] <path>',
  options: { ...statFlag, ...watchFlag, recursive: { type: 'boolean', short: 'R' } },
  args: [1, 1],
  async run(ctx) {
    const path = arg(ctx, 0, 'path')
    if (ctx.values.recursive) {
      if (ctx.values.watch || ctx.values.stat) throw new UsageError('-R cannot be combined with -s or -w')
      return listRecursively(ctx, path)
    }
    const zk = await ctx.connect()
    const oneShot = ctx.values.watch ? new OneShot(ctx) : null
    const { children, stat } = await zk.getChildren(path, { stat: true, ...(oneShot && { watch: oneShot.watcher }) })
    children.sort()
    if (ctx.out.json) ctx.out.value({ path, children, ...(ctx.values.stat && { stat: statFields(stat, true) }) })
    else {
      for (const c of children) ctx.out.line(c)
      if (ctx.values.stat) printStat(ctx, stat)
    }
    return oneShot ? oneShot.finish() : Exit.ok
  },
}

export const get: Command = {
  summary: 'print the data of a node; -s with its stat, -w then wait for it to change (JSON: data, encoding and stat)',
  usage: '[-s] [-w] <path>',
  options: { ...statFlag, ...watchFlag },
  args: [1, 1],
  async run(ctx) {
    const zk = await ctx.connect()
    const path = arg(ctx, 0, 'path')
    const oneShot = ctx.values.watch ? new OneShot(ctx) : null
    const { data, stat } = await zk.getData(path, oneShot ? { watch: oneShot.watcher } : {})
    if (ctx.out.json) {
      ctx.out.value({ path, ...dataField(data), stat: statFields(stat, true) })
    } else {
      ctx.out.bytes(data)
      if ((ctx.out.interactive || ctx.values.stat || ctx.values.watch || ctx.shell !== null) && data.length > 0) ctx.out.line()
      if (ctx.values.stat) printStat(ctx, stat)
    }
    return oneShot ? oneShot.finish() : Exit.ok
  },
}

export const set: Command = {
  summary: 'replace the data of a node (`-` reads it from stdin); -v only if at that version, -s print the new stat',
  usage: '[-s] [-v version] <path> <data|->',
  options: { ...statFlag, ...version },
  args: [2, 2],
  async run(ctx) {
    const path = arg(ctx, 0, 'path')
    const expected = dataVersion(ctx)
    const zk = await ctx.connect()
    const stat = await zk.setData(path, await dataArg(ctx, 1), expected)
    if (ctx.out.json) ctx.out.value({ path, stat: statFields(stat, true) })
    else if (ctx.values.stat) printStat(ctx, stat)
    return Exit.ok
  },
}

function createMode(ctx: CommandContext): { mode: CreateMode; ttl?: number } {
  const { ephemeral, sequential, container } = ctx.values
  const ttl = ctx.values.ttl === undefined ? undefined : intOption(ctx, 'ttl', 0, '-t')
  if (container && (ephemeral || sequential || ttl !== undefined)) throw new UsageError('-c cannot be combined with -e, -s or -t')
  if (ephemeral && ttl !== undefined) throw new UsageError('-e cannot be combined with -t')
  if (ttl !== undefined && ttl <= 0) throw new UsageError('-t needs a positive number of milliseconds')
  if (container) return { mode: 'container' }
  if (ttl !== undefined) return { mode: sequential ? 'persistent_sequential_with_ttl' : 'persistent_with_ttl', ttl }
  if (ephemeral) return { mode: sequential ? 'ephemeral_sequential' : 'ephemeral' }
  return { mode: sequential ? 'persistent_sequential' : 'persistent' }
}

export const create: Command = {
  summary:
    'create a node and print its path: -e ephemeral (lives as long as the session: the command, or the shell), -s sequential, -c container, -t ttl in ms; acl as getAcl prints it (default world:anyone:cdrwa)',
  usage: '[-e] [-s] [-c] [-t ttl] <path> [data|-] [acl]',
  options: {
    ephemeral: { type: 'boolean', short: 'e' },
    sequential: { type: 'boolean', short: 's' },
    container: { type: 'boolean', short: 'c' },
    ttl: { type: 'string', short: 't' },
  },
  args: [1, 3],
  async run(ctx) {
    const options = createMode(ctx)
    const acl = ctx.args[2] === undefined ? undefined : parseACL(ctx.args[2])
    const path = arg(ctx, 0, 'path')
    const zk = await ctx.connect()
    const created = await zk.create2(path, await dataArg(ctx, 1), { ...options, ...(acl && { acl }) })
    if (ctx.out.json) ctx.out.value({ path: created.path, stat: statFields(created.stat, true) })
    else ctx.out.line(created.path)
    return Exit.ok
  },
}

export const stat: Command = {
  summary: 'print the metadata of a node; -w then wait for it to change (or to be created)',
  usage: '[-w] <path>',
  options: watchFlag,
  args: [1, 1],
  async run(ctx) {
    const zk = await ctx.connect()
    const path = arg(ctx, 0, 'path')
    const oneShot = ctx.values.watch ? new OneShot(ctx) : null
    const stat = await zk.exists(path, oneShot ? { watch: oneShot.watcher } : {})
    if (stat === null && oneShot === null) throw new ZkError(Code.NONODE, { op: 'stat', path })
    if (ctx.out.json) ctx.out.value({ path, stat: stat && statFields(stat, true) })
    else if (stat === null) ctx.out.note(`${path} does not exist; waiting for it to be created`)
    else ctx.out.fields(statFields(stat, false))
    return oneShot ? oneShot.finish() : Exit.ok
  },
}

export const sync: Command = {
  summary: 'wait until the server this session uses has caught up with the leader on a path',
  usage: '<path>',
  args: [1, 1],
  async run(ctx) {
    const zk = await ctx.connect()
    const path = arg(ctx, 0, 'path')
    await zk.sync(path)
    if (ctx.out.json) ctx.out.value({ path, synced: true })
    return Exit.ok
  },
}
