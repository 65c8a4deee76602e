import { deleteSubtree } from './bulk-delete.js'
import { type Command, type CommandContext, Exit, UsageError, arg, intOption } from './command.js'
import { Progress } from './progress.js'

const version = { 'data-version': { type: 'string', short: 'v' } } as const

/** Deletes one node, as `delete` and `rm` without `-r` do. */
async function deleteOne(ctx: CommandContext): Promise<Exit> {
  const path = arg(ctx, 0, 'path')
  const expected = intOption(ctx, 'data-version', -1, '-v', -1)
  const zk = await ctx.connect()
  await zk.delete(path, expected)
  if (ctx.out.json) ctx.out.value({ path, deleted: 1 })
  return Exit.ok
}

/**
 * Deletes a subtree in batches, with progress on a terminal; Ctrl-C stops it
 * cleanly and says how far it got (exit 130).
 */
async function deleteAll(ctx: CommandContext, path: string): Promise<Exit> {
  if (path === '/' || path === '/zookeeper' || path.startsWith('/zookeeper/')) throw new UsageError(`refusing to delete ${path} and everything below it: name the subtree to delete`)
  const batch = intOption(ctx, 'batch', 1000, '-b', 1)
  const zk = await ctx.connect()
  const total = await zk.getAllChildrenNumber(path).then(
    (n) => n + 1,
    () => null,
  )
  const progress = new Progress(ctx.out, `deleting ${path}`, total)
  try {
    const { deleted, interrupted } = await deleteSubtree(zk, path, { signal: ctx.signal, batch, progress })
    progress.stop()
    if (ctx.out.json) ctx.out.value({ path, deleted, ...(interrupted && { interrupted }) })
    if (interrupted) {
      if (!ctx.out.json) ctx.out.note(`interrupted: deleted ${progress.summary('nodes')}; ${path} is still there${total === null ? '' : ` with about ${Math.max(0, total - deleted - 1).toLocaleString('en-US')} nodes below it`}`)
      return Exit.interrupted
    }
    if (ctx.out.stderrIsTerminal) ctx.out.note(`deleted ${progress.summary('nodes')}`)
    return Exit.ok
  } catch (err) {
    progress.stop()
    if (progress.count > 0) ctx.out.note(`deleted ${progress.summary('nodes')} before this error:`)
    throw err
  }
}

export const rm: Command = {
  summary: 'delete a node; -r with everything below it (batched, progress on a terminal, Ctrl-C stops cleanly); -v only if at that version',
  usage: '[-r] [-b batch] [-v version] <path>',
  options: { recursive: { type: 'boolean', short: 'r' }, batch: { type: 'string', short: 'b' }, ...version },
  args: [1, 1],
  async run(ctx) {
    if (!ctx.values.recursive) {
      if (ctx.values.batch !== undefined) throw new UsageError('-b goes with -r')
      return deleteOne(ctx)
    }
    if (ctx.values['data-version'] !== undefined) throw new UsageError('-v cannot be combined with -r')
    return deleteAll(ctx, arg(ctx, 0, 'path'))
  },
}

export const deleteCommand: Command = {
  summary: "delete a node without children (zkCli's delete); -v only if at that version",
  usage: '[-v version] <path>',
  options: version,
  args: [1, 1],
  run: deleteOne,
}

export const deleteall: Command = {
  summary: "delete a node and everything below it (zkCli's deleteall; same as rm -r); -b deletes per multi (default 1000)",
  usage: '[-b batch] <path>',
  options: { batch: { type: 'string', short: 'b' } },
  args: [1, 1],
  run: (ctx) => deleteAll(ctx, arg(ctx, 0, 'path')),
}
