import { createReadStream, createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { type ACL, type CreateOptions, OPEN_ACL_UNSAFE, type Stat, ZkError, type ZooKeeper, op } from '../zk-wire/index.js'
import { Batcher, pathBytes } from './batcher.js'
import { ReadBatcher } from './read-batcher.js'
import { type Command, type CommandContext, Exit, UsageError, arg } from './command.js'
import { type ImportNode, dumpHeader, dumpNode, placedAt, readDump, relativePath } from './dump.js'
import { Progress } from './progress.js'
import { type Visited, walk } from './walk.js'

/** A node as an export or a copy reads it. */
interface ReadNode extends Visited {
  data: Buffer
  acl: ACL[]
  stat: Stat
}

const isZk = (err: unknown, name: string): boolean => err instanceof ZkError && err.name === name

/** Reads data, ACL, stat and children of a node (data and children in multiRead batches). */
function readNode(zk: ZooKeeper): (path: string) => Promise<ReadNode> {
  const reads = new ReadBatcher(zk)
  return async (path) => {
    const [{ data, stat }, { acl }, children] = await Promise.all([reads.data(path), zk.getACL(path), reads.children(path)])
    return { children, data, acl, stat }
  }
}

/** ZooKeeper's own nodes are not part of anyone's data. */
const isSystem = (path: string): boolean => path === '/zookeeper' || path.startsWith('/zookeeper/')

/** How a node of a dump is created. */
function createOptions(node: Pick<ImportNode, 'acl' | 'mode' | 'ttl'>): CreateOptions {
  if (node.mode === 'container') return { acl: node.acl, mode: 'container' }
  if (node.mode === 'ttl') return { acl: node.acl, mode: 'persistent_with_ttl', ttl: node.ttl! }
  return { acl: node.acl, mode: 'persistent' }
}

/** Bytes a create of `node` at `path` takes in a multi request. */
function createBytes(path: string, node: Pick<ImportNode, 'data' | 'acl'>): number {
  const acl = node.acl.reduce((n, e) => n + 12 + Buffer.byteLength(e.id.scheme) + Buffer.byteLength(e.id.id), 4)
  return 9 + pathBytes(path) + 4 + node.data.length + acl + 12
}

interface Placed {
  path: string
  node: Pick<ImportNode, 'data' | 'acl' | 'mode' | 'ttl'>
  /** Whether nodes will be created below it. */
  parent: boolean
}

const isOpen = (acl: readonly ACL[]): boolean => acl.length === 1 && acl[0]!.id.scheme === 'world' && acl[0]!.id.id === 'anyone' && acl[0]!.perms === OPEN_ACL_UNSAFE[0]!.perms

/**
 * Creates nodes (parents first) in multi batches. A batch refused because a
 * node exists is redone one by one: with `overwrite` an existing node gets the
 * data and ACL, without it the import stops there (NODEEXISTS). A parent whose
 * ACL might not let this session create its children is created open and gets
 * its ACL once everything is created.
 */
class Creator {
  private readonly batcher: Batcher<Placed>
  private readonly deferred: Array<{ path: string; acl: ACL[] }> = []

  constructor(
    private readonly zk: ZooKeeper,
    private readonly overwrite: boolean,
    private readonly progress: Progress,
  ) {
    this.batcher = new Batcher(zk, {
      ops: (p) => [op.create(p.path, p.node.data, this.createOptions(p))],
      size: (p) => createBytes(p.path, p.node),
      maxItems: 1000,
      applied: (n) => progress.add(n),
    })
  }

  private createOptions(p: Placed): CreateOptions {
    const options = createOptions(p.node)
    return p.parent && !isOpen(p.node.acl) ? { ...options, acl: OPEN_ACL_UNSAFE } : options
  }

  async add(placed: Placed): Promise<void> {
    if (placed.parent && !isOpen(placed.node.acl)) this.deferred.push({ path: placed.path, acl: placed.node.acl })
    await this.redo(await this.batcher.add(placed))
  }

  /** Sends the rest, then sets the ACLs held back; after an interruption, only waits for what is in flight (and still sets those ACLs). */
  async finish(interrupted: boolean): Promise<void> {
    if (interrupted) await this.batcher.drain()
    else await this.redo(await this.batcher.flush())
    const pending: Array<Promise<unknown>> = []
    for (const { path, acl } of this.deferred) {
      const set = this.zk.setACL(path, acl).catch((err: unknown) => (interrupted && isZk(err, 'NONODE') ? undefined : Promise.reject(err)))
      set.catch(() => undefined)
      pending.push(set)
      if (pending.length >= 256) await pending.shift()
    }
    await Promise.all(pending)
  }

  /** Creates the items of refused batches one by one, in order, pipelined. */
  private async redo(refused: readonly Placed[]): Promise<void> {
    const pending: Array<Promise<void>> = []
    for (const placed of refused) {
      const { path, node } = placed
      const done = this.zk.create(path, node.data, this.createOptions(placed)).then(
        () => this.progress.add(),
        async (err: unknown) => {
          if (!isZk(err, 'NODEEXISTS') || !this.overwrite) throw err
          await Promise.all([this.zk.setData(path, node.data), ...(placed.parent && !isOpen(node.acl) ? [] : [this.zk.setACL(path, node.acl)])])
          this.progress.add()
        },
      )
      done.catch(() => undefined)
      pending.push(done)
      if (pending.length >= 256) await pending.shift()
    }
    await Promise.all(pending)
  }
}

/** Refuses to start when `dest` exists, unless overwriting. */
async function checkDestination(zk: ZooKeeper, dest: string, overwrite: boolean): Promise<void> {
  if (!overwrite && (await zk.exists(dest)) !== null) {
    throw new UsageError(`${dest} exists: name a new path, or add --overwrite to write over existing nodes`)
  }
}

/** Where the dump goes: a file (waiting for it to drain) or stdout. */
function dumpSink(ctx: CommandContext, file: string | undefined): { write(line: string): Promise<void>; close(): Promise<void> } {
  if (file === undefined) return { write: async (line) => ctx.out.line(line), close: async () => undefined }
  const stream = createWriteStream(file, { flags: 'wx' })
  const opened = once(stream, 'open').catch((err: Error) => Promise.reject(new UsageError(`cannot write ${file}: ${err.message}`)))
  return {
    async write(line) {
      await opened
      if (!stream.write(`${line}\n`)) await once(stream, 'drain')
    },
    async close() {
      await opened
      stream.end()
      await once(stream, 'finish')
    },
  }
}

export const exportCommand: Command = {
  summary: 'write a subtree as a dump (JSON lines: a header, then path, data, ACL and mode per node, parents first) to stdout or -o file',
  usage: '[-o file] <path>',
  options: { output: { type: 'string', short: 'o' } },
  args: [1, 1],
  async run(ctx) {
    const root = arg(ctx, 0, 'path')
    const file = ctx.values.output as string | undefined
    if (file === undefined && ctx.shell !== null) throw new UsageError('in the shell, export needs -o file')
    const zk = await ctx.connect()
    const sink = dumpSink(ctx, file)
    const progress = new Progress(ctx.out, `exporting ${root}`, await zk.getAllChildrenNumber(root).then((n) => n + 1, () => null))
    let skipped = 0
    try {
      await sink.write(JSON.stringify(dumpHeader(root)))
      for await (const step of walk(root, readNode(zk), { signal: ctx.signal, prune: isSystem })) {
        if (step.kind !== 'enter') continue
        if (step.node === null) {
          if (step.problem === 'NOAUTH') skipped++
          continue
        }
        await sink.write(JSON.stringify(dumpNode(relativePath(root, step.path), step.node.data, step.node.acl, step.node.stat)))
        progress.add()
      }
      await sink.close()
    } finally {
      progress.stop()
    }
    if (skipped > 0) ctx.out.note(`skipped ${skipped} node(s) this session may not read (NOAUTH), and what is below them`)
    if (ctx.signal.aborted && !ctx.out.closed) {
      ctx.out.note(`interrupted: the dump holds ${progress.summary('nodes')} and is incomplete`)
      return Exit.interrupted
    }
    if (file !== undefined) {
      if (ctx.out.json) ctx.out.value({ path: root, exported: progress.count, file, ...(skipped > 0 && { skipped }) })
      else if (ctx.out.stderrIsTerminal) ctx.out.note(`exported ${progress.summary('nodes')} to ${file}`)
    }
    return Exit.ok
  },
}

/** Every line of a file, or of stdin for `-`. */
async function readLines(source: string, stdin: Readable): Promise<string[]> {
  const input = source === '-' ? stdin : createReadStream(source)
  const opened = source === '-' ? Promise.resolve() : once(input, 'open').then(() => undefined)
  await opened.catch((err: Error) => Promise.reject(new UsageError(`cannot read ${source}: ${err.message}`)))
  const lines: string[] = []
  for await (const line of createInterface({ input, crlfDelay: Infinity })) lines.push(line)
  return lines
}

export const importCommand: Command = {
  summary: 'create the nodes of a dump (file, or - for stdin) under path, in batches; --overwrite writes over nodes that exist',
  usage: '[--overwrite] <file|-> <path>',
  options: { overwrite: { type: 'boolean' } },
  args: [2, 2],
  async run(ctx) {
    const source = arg(ctx, 0, 'file|-')
    const dest = arg(ctx, 1, 'path')
    if (source === '-' && ctx.shell !== null) throw new UsageError('in the shell, import reads a file, not stdin')
    const { nodes } = readDump(await readLines(source, process.stdin))
    const parents = new Set(nodes.map((n) => (n.path === '/' ? '' : n.path.slice(0, n.path.lastIndexOf('/')) || '/')))
    const overwrite = ctx.values.overwrite === true
    const zk = await ctx.connect()
    await checkDestination(zk, dest, overwrite)
    const progress = new Progress(ctx.out, `importing into ${dest}`, nodes.length)
    const creator = new Creator(zk, overwrite, progress)
    let ephemeral = 0
    try {
      for (const node of nodes) {
        if (ctx.signal.aborted) break
        if (node.mode === 'ephemeral') {
          ephemeral++
          continue
        }
        await creator.add({ path: placedAt(dest, node.path), node, parent: parents.has(node.path) })
      }
      await creator.finish(ctx.signal.aborted)
    } catch (err) {
      progress.stop()
      ctx.out.note(`imported ${progress.summary('nodes')} before this error:`)
      throw err
    }
    progress.stop()
    if (ephemeral > 0) ctx.out.note(`skipped ${ephemeral} ephemeral node(s): they belong to the sessions that made them`)
    if (ctx.out.json) ctx.out.value({ path: dest, imported: progress.count, ...(ephemeral > 0 && { skipped: ephemeral }), ...(ctx.signal.aborted && { interrupted: true }) })
    if (ctx.signal.aborted) {
      ctx.out.note(`interrupted: imported ${progress.summary('nodes')} of ${nodes.length.toLocaleString('en-US')}`)
      return Exit.interrupted
    }
    if (ctx.out.stderrIsTerminal) ctx.out.note(`imported ${progress.summary('nodes')}`)
    return Exit.ok
  },
}

export const cp: Command = {
  summary: 'copy a node (data and ACL) to a new path; -r with everything below it, in batches; --overwrite writes over nodes that exist',
  usage: '[-r] [--overwrite] <from> <to>',
  options: { recursive: { type: 'boolean', short: 'r' }, overwrite: { type: 'boolean' } },
  args: [2, 2],
  async run(ctx) {
    const from = arg(ctx, 0, 'from')
    const to = arg(ctx, 1, 'to')
    const recursive = ctx.values.recursive === true
    if (recursive && (from === '/' || to === from || to.startsWith(`${from}/`))) throw new UsageError(`cannot copy ${from} into itself (${to})`)
    const overwrite = ctx.values.overwrite === true
    const zk = await ctx.connect()
    await checkDestination(zk, to, overwrite)
    const total = recursive ? await zk.getAllChildrenNumber(from).then((n) => n + 1, () => null) : 1
    const progress = new Progress(ctx.out, `copying ${from} to ${to}`, total)
    const creator = new Creator(zk, overwrite, progress)
    const read = readNode(zk)
    let ephemeral = 0
    try {
      const steps = recursive ? walk(from, read, { signal: ctx.signal, prune: isSystem }) : walk(from, async (p) => ({ ...(await read(p)), children: [] }))
      for await (const step of steps) {
        if (step.kind !== 'enter' || step.node === null) continue
        if (step.node.stat.ephemeralOwner !== 0n) {
          ephemeral++
          continue
        }
        const node = { data: step.node.data, acl: step.node.acl, mode: 'persistent' as const }
        await creator.add({ path: placedAt(to, relativePath(from, step.path)), node, parent: step.node.children.length > 0 })
      }
      await creator.finish(ctx.signal.aborted)
    } catch (err) {
      progress.stop()
      if (progress.count > 0) ctx.out.note(`copied ${progress.summary('nodes')} before this error:`)
      throw err
    }
    progress.stop()
    if (ephemeral > 0) ctx.out.note(`skipped ${ephemeral} ephemeral node(s): they belong to the sessions that made them`)
    if (ctx.out.json) ctx.out.value({ from, to, copied: progress.count, ...(ephemeral > 0 && { skipped: ephemeral }), ...(ctx.signal.aborted && { interrupted: true }) })
    if (ctx.signal.aborted) {
      ctx.out.note(`interrupted: copied ${progress.summary('nodes')}`)
      return Exit.interrupted
    }
    if (ctx.out.stderrIsTerminal && recursive) ctx.out.note(`copied ${progress.summary('nodes')}`)
    return Exit.ok
  },
}
