import { Layout, sortCandidates } from '../cluster/paths.js'
import { type PersistentWatch, type Stat, ZkError, type ZooKeeper } from '../zk-wire/index.js'
import { type Command, Exit, UsageError } from './command.js'

/** One candidate for a global name, in queue order. */
export interface CandidateStatus {
  /** The pid that runs (or will run) the global process. */
  pid: string
  /** The candidate znode's name. */
  candidate: string
  /** The fencing token the candidate holds or will hold (its sequence number). */
  token: number
  /** The zxid that created the candidate znode, as a decimal string. */
  czxid: string
  /** When the candidate stood (ms since the epoch). */
  since: number
  /** The ZooKeeper session that owns it, in hex. */
  session: string
}

/** What `zkcloud cluster status` reports. */
export interface ClusterStatus {
  prefix: string
  /** Live nodes: the node ids they advertise. */
  nodes: string[]
  /** Each service with the pids registered under it. */
  services: Record<string, string[]>
  /** Each global name: its holder (the first candidate) and the queue behind it. */
  global: Record<string, { holder: CandidateStatus | null; queue: CandidateStatus[] }>
}

const isZk = (err: unknown, name: string): boolean => err instanceof ZkError && err.name === name

/** Children of `path`, none when it is gone. */
async function childrenOrNone(zk: ZooKeeper, path: string): Promise<string[]> {
  return zk.getChildren(path).catch((err: unknown) => (isZk(err, 'NONODE') ? [] : Promise.reject(err)))
}

/** Data and stat of `path`, null when it is gone (a node or process that ended while we read). */
async function readOrNull(zk: ZooKeeper, path: string): Promise<{ text: string; stat: Stat } | null> {
  try {
    const { data, stat } = await zk.getData(path)
    return { text: data.toString('utf8'), stat }
  } catch (err) {
    if (isZk(err, 'NONODE')) return null
    throw err
  }
}

/** Reads the whole picture of one cluster, every read of a level in flight at once. */
export async function readClusterStatus(zk: ZooKeeper, prefix: string): Promise<ClusterStatus> {
  const layout = new Layout(prefix)
  if ((await zk.exists(layout.root)) === null) throw new ZkError(-101, { op: 'cluster status', path: layout.root, message: `no cluster at ${layout.root} (use --prefix)` })
  const [nodeKeys, serviceNames, globalNames] = await Promise.all([layout.nodes, layout.services, layout.global].map((p) => childrenOrNone(zk, p)))
  const nodes = (await Promise.all(nodeKeys!.sort().map((k) => readOrNull(zk, `${layout.nodes}/${k}`)))).flatMap((n) => (n === null ? [] : [n.text]))
  const services: ClusterStatus['services'] = {}
  await Promise.all(
    serviceNames!.sort().map(async (service) => {
      const members = (await childrenOrNone(zk, layout.service(service))).sort()
      const pids = await Promise.all(members.map((m) => readOrNull(zk, `${layout.service(service)}/${m}`)))
      services[service] = pids.flatMap((p) => (p === null ? [] : [p.text]))
    }),
  )
  const global: ClusterStatus['global'] = {}
  await Promise.all(
    globalNames!.sort().map(async (name) => {
      const dir = layout.candidates(name)
      const candidates = sortCandidates(await childrenOrNone(zk, dir))
      const read = await Promise.all(candidates.map((c) => readOrNull(zk, `${dir}/${c.child}`)))
      const queue = candidates.flatMap((c, i): CandidateStatus[] => {
        const r = read[i]
        if (r === null || r === undefined) return []
        return [{ pid: r.text, candidate: c.child, token: c.seq, czxid: r.stat.czxid.toString(), since: Number(r.stat.ctime), session: `0x${r.stat.ephemeralOwner.toString(16)}` }]
      })
      global[name] = { holder: queue[0] ?? null, queue: queue.slice(1) }
    }),
  )
  const sortedServices = Object.fromEntries(Object.entries(services).sort(([a], [b]) => a.localeCompare(b)))
  const sortedGlobal = Object.fromEntries(Object.entries(global).sort(([a], [b]) => a.localeCompare(b)))
  return { prefix: layout.root, nodes, services: sortedServices, global: sortedGlobal }
}

/** The status for people. */
export function formatClusterStatus(s: ClusterStatus, server: string): string[] {
  const lines = [`cluster ${s.prefix} on ${server}`, '', `nodes (${s.nodes.length})`]
  for (const n of s.nodes) lines.push(`  ${n}`)
  const services = Object.entries(s.services)
  lines.push('', `services (${services.length})`)
  for (const [name, pids] of services) {
    lines.push(`  ${name} (${pids.length})`)
    for (const p of pids) lines.push(`    ${p}`)
  }
  const names = Object.entries(s.global)
  lines.push('', `global names (${names.length})`)
  for (const [name, { holder, queue }] of names) {
    if (holder === null) {
      lines.push(`  ${name}: no holder`)
      continue
    }
    lines.push(`  ${name}: held by ${holder.pid}, token ${holder.token}, since ${new Date(holder.since).toISOString()}`)
    queue.forEach((c, i) => lines.push(`    ${i + 1}. ${c.pid}, token ${c.token}`))
  }
  return lines
}

/**
 * Resolves after the next change the watch reports (and a short quiet spell,
 * so a burst of changes redraws once); false when the watch ended (Ctrl-C).
 */
async function nextChange(w: PersistentWatch): Promise<boolean> {
  if ((await w.next()).done) return false
  await new Promise((r) => setTimeout(r, 100))
  while (w.pending > 0) await w.next()
  return true
}

export const clusterCommand: Command = {
  summary: 'cluster status: live nodes, services and their processes, each global name with its holder, fencing token and queue; --watch redraws on change',
  usage: 'status [--prefix /zkcloud] [--watch]',
  options: { prefix: { type: 'string' }, watch: { type: 'boolean', short: 'w' } },
  args: [1, 1],
  async run(ctx) {
    if (ctx.args[0] !== 'status') throw new UsageError(`unknown cluster subcommand "${ctx.args[0]}" (there is: status)`)
    const prefix = (ctx.values.prefix as string | undefined) ?? '/zkcloud'
    try {
      new Layout(prefix)
    } catch (err) {
      throw new UsageError(`--prefix: ${(err as Error).message}`)
    }
    const zk = await ctx.connect()
    const clear = ctx.values.watch && ctx.out.interactive && !ctx.out.json
    // Set before the first read, so no change between a read and the next wait is missed.
    const w = ctx.values.watch ? await zk.addWatch(prefix, 'persistentRecursive') : null
    const stop = (): void => void w?.close()
    ctx.signal.addEventListener('abort', stop, { once: true })
    try {
      for (;;) {
        const status = await readClusterStatus(zk, prefix)
        if (ctx.out.json) ctx.out.value(status)
        else {
          if (clear) ctx.out.bytes(Buffer.from('\x1b[H\x1b[2J'))
          for (const line of formatClusterStatus(status, zk.currentServer ?? '')) ctx.out.line(line)
          if (w !== null && !clear) ctx.out.line('')
        }
        if (w === null || ctx.signal.aborted || !(await nextChange(w))) return Exit.ok
      }
    } finally {
      ctx.signal.removeEventListener('abort', stop)
      await w?.close()
    }
  },
}
