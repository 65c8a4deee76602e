import { Code, type CreateMode, type WatchedEvent, type ZooKeeper, ZkError } from '../zk-wire/index.js'
import { type Command, type CommandContext, Exit, UsageError, arg, intOption } from './command.js'
import { dataField, statFields } from './output.js'

/** The data argument: text as given, or everything on stdin for `-`; none is null. */
async function dataArg(ctx: CommandContext, index: number): Promise<Buffer | null> {
  const value = ctx.args[index]
  if (value === undefined) return null
  if (value !== '-') return Buffer.from(value, 'utf8')
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const version = { 'data-version': { type: 'string', short: 'v' } } as const

export const ls: Command = {
  summary: 'list the children of a node, sorted',
  usage: '<path>',
  async run(ctx) {
    const zk = await ctx.connect()
    const children = (await zk.getChildren(arg(ctx, 0, 'path'))).sort()
    if (ctx.out.json) ctx.out.value(children)
    else for (const c of children) ctx.out.line(c)
    return Exit.ok
  },
}

export const get: Command = {
  summary: 'print the data of a node (with --json: data, encoding and stat)',
  usage: '<path>',
  async run(ctx) {
    const zk = await ctx.connect()
    const path = arg(ctx, 0, 'path')
    const { data, stat } = await zk.getData(path)
    if (ctx.out.json) {
      ctx.out.value({ path, ...dataField(data), stat: statFields(stat, true) })
    } else {
      ctx.out.bytes(data)
      if (ctx.out.interactive && data.length > 0) ctx.out.line()
    }
    return Exit.ok
  },
}

export const set: Command = {
  summary: 'replace the data of a node (`-` reads it from stdin); -v only if at that version',
  usage: '[-v version] <path> <data|->',
  options: version,
  async run(ctx) {
    const zk = await ctx.connect()
    const path = arg(ctx, 0, 'path')
    arg(ctx, 1, 'data')
    const stat = await zk.setData(path, await dataArg(ctx, 1), intOption(ctx, 'data-version', -1))
    if (ctx.out.json) ctx.out.value({ path, stat: statFields(stat, true) })
    return Exit.ok
  },
}

function createMode(ctx: CommandContext): { mode: CreateMode; ttl?: number } {
  const { ephemeral, sequential, container } = ctx.values
  const ttl = ctx.values.ttl === undefined ? undefined : intOption(ctx, 'ttl', 0)
  if (container && (ephemeral || sequential || ttl !== undefined)) throw new UsageError('-c cannot be combined with -e, -s or -t')
  if (ephemeral && ttl !== undefined) throw new UsageError('-e cannot be combined with -t')
  if (ttl !== undefined && ttl <= 0) throw new UsageError('-t needs a positive number of milliseconds')
  if (container) return { mode: 'container' }
  if (ttl !== undefined) return { mode: sequential ? 'persistent_sequential_with_ttl' : 'persistent_with_ttl', ttl }
  if (ephemeral) return { mode: sequential ? 'ephemeral_sequential' : 'ephemeral' }
  return { mode: sequential ? 'persistent_sequential' : 'persistent' }
}

export const create: Command = {
  summary: 'create a node and print its path: -e ephemeral (lives while the command runs), -s sequential, -c container, -t ttl in ms',
  usage: '[-e] [-s] [-c] [-t ttl] <path> [data|-]',
  options: {
    ephemeral: { type: 'boolean', short: 'e' },
    sequential: { type: 'boolean', short: 's' },
    container: { type: 'boolean', short: 'c' },
    ttl: { type: 'string', short: 't' },
  },
  async run(ctx) {
    const options = createMode(ctx)
    const zk = await ctx.connect()
    const { path, stat } = await zk.create2(arg(ctx, 0, 'path'), await dataArg(ctx, 1), options)
    if (ctx.out.json) ctx.out.value({ path, stat: statFields(stat, true) })
    else ctx.out.line(path)
    return Exit.ok
  },
}

const childPath = (path: string, child: string): string => (path === '/' ? `/${child}` : `${path}/${child}`)
const unlessGone = (err: Error): void => {
  if (!(err instanceof ZkError && err.name === 'NONODE')) throw err
}

/** Deletes `path` and everything below it, children first; descendants deleted meanwhile by others are fine. */
export async function deleteTree(zk: ZooKeeper, path: string): Promise<void> {
  for (const child of await zk.getChildren(path)) await deleteTree(zk, childPath(path, child)).catch(unlessGone)
  await zk.delete(path)
}

export const rm: Command = {
  summary: 'delete a node; -r with everything below it; -v only if at that version',
  usage: '[-r] [-v version] <path>',
  options: { recursive: { type: 'boolean', short: 'r' }, ...version },
  async run(ctx) {
    const zk = await ctx.connect()
    const path = arg(ctx, 0, 'path')
    if (ctx.values.recursive) {
      if (ctx.values['data-version'] !== undefined) throw new UsageError('-v cannot be combined with -r')
      await deleteTree(zk, path)
    } else {
      await zk.delete(path, intOption(ctx, 'data-version', -1))
    }
    return Exit.ok
  },
}

export const stat: Command = {
  summary: 'print the metadata of a node',
  usage: '<path>',
  async run(ctx) {
    const zk = await ctx.connect()
    const path = arg(ctx, 0, 'path')
    const stat = await zk.exists(path)
    if (stat === null) throw new ZkError(Code.NONODE, { op: 'stat', path })
    if (ctx.out.json) ctx.out.value({ path, stat: statFields(stat, true) })
    else ctx.out.fields(statFields(stat, false))
    return Exit.ok
  },
}

interface TreeNode {
  name: string
  path: string
  children: TreeNode[]
}

async function readTree(zk: ZooKeeper, path: string): Promise<TreeNode> {
  const children = (await zk.getChildren(path)).sort()
  const name = path === '/' ? '/' : path.slice(path.lastIndexOf('/') + 1)
  return { name, path, children: await Promise.all(children.map((c) => readTree(zk, childPath(path, c)))) }
}

function printTree(ctx: CommandContext, node: TreeNode, indent: string): void {
  node.children.forEach((child, i) => {
    const last = i === node.children.length - 1
    ctx.out.line(`${indent}${last ? '└── ' : '├── '}${child.name}`)
    printTree(ctx, child, indent + (last ? '    ' : '│   '))
  })
}

export const tree: Command = {
  summary: 'print a node and everything below it',
  usage: '[path]',
  async run(ctx) {
    const zk = await ctx.connect()
    const root = await readTree(zk, ctx.args[0] ?? '/')
    if (ctx.out.json) {
      ctx.out.value(root)
    } else {
      ctx.out.line(root.path)
      printTree(ctx, root, '')
    }
    return Exit.ok
  },
}

export const watch: Command = {
  summary: 'print the events of a node as they happen (-r: of its whole subtree) until interrupted',
  usage: '[-r] <path>',
  options: { recursive: { type: 'boolean', short: 'r' } },
  async run(ctx) {
    const zk = await ctx.connect()
    const w = await zk.addWatch(arg(ctx, 0, 'path'), ctx.values.recursive ? 'persistentRecursive' : 'persistent')
    let stopped: Promise<void> = Promise.resolve()
    const stop = (): void => void (stopped = w.close())
    ctx.signal.addEventListener('abort', stop)
    const show = (e: WatchedEvent): void => (ctx.out.json ? ctx.out.value({ type: e.type, path: e.path }) : ctx.out.line(`${e.type} ${e.path}`))
    try {
      for await (const event of w) show(event)
    } finally {
      ctx.signal.removeEventListener('abort', stop)
    }
    // The watch ended locally already; the server side goes with the session anyway.
    await stopped.catch(() => undefined)
    return Exit.ok
  },
}
