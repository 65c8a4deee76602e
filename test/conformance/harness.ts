import { type PersistentWatch, type Watcher, ZooKeeper, type ZooKeeperOptions, ZkError } from '../../lib/zk-wire/index.js'
import type { Stat } from '../../lib/zk-wire/records.js'
import { ClientPool } from '../support/clients.js'
import { TcpProxy } from '../support/proxy.js'
import { chroot } from '../support/zookeeper.js'
import { DIFFERENCES } from './differences.js'

/** A sequence of operations whose observable results must be equal on both servers. */
export interface Scenario {
  name: string
  run(t: Recorder): Promise<void>
}

export function scenario(name: string, run: (t: Recorder) => Promise<void>): Scenario {
  return { name, run }
}

type Entry = [label: string, value: unknown]

/**
 * What a scenario sees, in order: results and error names of its calls, and
 * the watch events each client received, collected at `settle` points (a
 * round trip on every client, after which every event caused so far has
 * arrived, on either server). Clients live in a fresh chroot per run.
 */
export class Recorder {
  readonly entries: Entry[] = []
  private readonly pool: ClientPool
  private readonly names = new Map<bigint, string>()
  private readonly clients = new Map<string, ZooKeeper>()
  private readonly streams = new Map<string, string[]>()
  private readonly persistent = new Map<string, PersistentWatch>()
  private readonly proxies: TcpProxy[] = []

  constructor(
    readonly connectString: string,
    readonly root: string,
  ) {
    this.pool = new ClientPool(connectString)
  }

  /** A client in the scenario's chroot (or, with `absolute`, at the server's root: read-only use). */
  async client(name: string, options: ZooKeeperOptions & { absolute?: boolean } = {}): Promise<ZooKeeper> {
    const { absolute = false, ...rest } = options
    const zk = await this.pool.connect({ ...rest, root: absolute ? '' : this.root })
    this.clients.set(name, zk)
    this.names.set(zk.sessionId, name)
    return zk
  }

  /** Names a session that no client of the harness holds (a raw one), so stats show the name. */
  nameSession(id: bigint, name: string): void {
    this.names.set(id, name)
  }

  /** Records a value as it is. */
  note(label: string, value: unknown): void {
    this.entries.push([label, value])
  }

  /** Records what `call` resolves to (or what `show` makes of it), or its error's name (with per-operation results for multi). */
  async do<T>(label: string, call: Promise<T>, show: (value: T) => unknown = (v) => v): Promise<T | undefined> {
    try {
      const value = await call
      this.note(label, show(value))
      return value
    } catch (err) {
      if (!(err instanceof ZkError)) throw err
      const failure: Record<string, unknown> = { error: err.name }
      if (err.results) failure.results = err.results.map((r) => (r.type === 'error' ? r.error.name : r))
      this.note(label, failure)
      return undefined
    }
  }

  /** A one-shot watcher whose events go to `stream`. */
  watcher(stream: string): Watcher {
    return (e) => this.pending(stream).push(`${e.type} ${e.path ?? e.state}`)
  }

  /** Records the events of a persistent watch under `stream`. */
  async watch(stream: string, watch: Promise<PersistentWatch>): Promise<PersistentWatch | undefined> {
    const w = await this.do(`addWatch ${stream}`, watch, () => 'ok')
    if (w !== undefined) this.persistent.set(stream, w)
    return w
  }

  /**
   * A client whose connection goes through a {@link TcpProxy}, so the
   * scenario can cut it and let it reconnect (and re-set its watches).
   */
  async proxiedClient(name: string, options: ZooKeeperOptions = {}): Promise<{ zk: ZooKeeper; proxy: TcpProxy }> {
    const colon = this.connectString.lastIndexOf(':')
    const proxy = await TcpProxy.start(this.connectString.slice(0, colon), Number(this.connectString.slice(colon + 1)))
    this.proxies.push(proxy)
    const zk = this.pool.track(await ZooKeeper.connect(proxy.address + this.root, { sessionTimeout: 10_000, ...options }))
    this.clients.set(name, zk)
    this.names.set(zk.sessionId, name)
    return { zk, proxy }
  }

  private pending(stream: string): string[] {
    let list = this.streams.get(stream)
    if (list === undefined) this.streams.set(stream, (list = []))
    return list
  }

  /**
   * Makes a round trip on every live client, then records the events each
   * stream got since the last settle. With `unordered`, naming the
   * difference that makes their order differ, a stream's events are compared
   * as a set.
   */
  async settle(options: { unordered?: keyof typeof DIFFERENCES } = {}): Promise<void> {
    await Promise.all([...this.clients.values()].filter((zk) => zk.state === 'connected').map((zk) => zk.exists('/').catch(() => null)))
    await this.flush(options)
  }

  /** Records the events received so far, without a round trip (to see what arrived before a reply). */
  async flush(options: { unordered?: keyof typeof DIFFERENCES } = {}): Promise<void> {
    for (const [stream, w] of this.persistent) {
      while (w.pending > 0) {
        const { value } = await w.next()
        this.pending(stream).push(`${value!.type} ${value!.path}`)
      }
    }
    for (const [stream, events] of [...this.streams].sort(([a], [b]) => a.localeCompare(b))) {
      if (events.length === 0) continue
      const list = options.unordered ? [...events].sort() : events
      this.note(`events ${stream}`, list.join(' | '))
      events.length = 0
    }
  }

  async close(): Promise<void> {
    await this.pool.closeAll()
    await Promise.all(this.proxies.map((p) => p.close()))
  }

  /** The entries in comparable form: see {@link normalize}. */
  normalized(): Entry[] {
    return normalize(this.entries, this.names)
  }
}

function isStat(v: unknown): v is Stat {
  return typeof v === 'object' && v !== null && 'czxid' in v && 'pzxid' in v && 'ephemeralOwner' in v
}

function collectZxids(v: unknown, into: Set<bigint>): void {
  if (isStat(v)) {
    for (const z of [v.czxid, v.mzxid, v.pzxid]) into.add(z)
  } else if (Array.isArray(v)) {
    for (const x of v) collectZxids(x, into)
  } else if (typeof v === 'object' && v !== null && !Buffer.isBuffer(v)) {
    for (const x of Object.values(v)) collectZxids(x, into)
  }
}

/**
 * Keeps what is deterministic and equal on both servers: zxids become their
 * rank among the zxids the scenario saw (servers number differently, and a
 * shared server sees other writers), times are dropped, session ids become
 * client names, data becomes text, and lists of names are sorted
 * ({@link DIFFERENCES.childOrder}).
 */
export function normalize(entries: readonly Entry[], names: ReadonlyMap<bigint, string>): Entry[] {
  const zxids = new Set<bigint>()
  for (const [, v] of entries) collectZxids(v, zxids)
  const rank = new Map([...zxids].filter((z) => z !== 0n).sort((a, b) => (a < b ? -1 : 1)).map((z, i) => [z, `z${i + 1}`]))
  const zx = (z: bigint): string => rank.get(z) ?? '0'
  const session = (id: bigint): string => (id === 0n ? '0' : names.get(id) ?? `unknown session`)
  const walk = (v: unknown): unknown => {
    if (isStat(v)) {
      const { czxid, mzxid, pzxid, ctime: _c, mtime: _m, ephemeralOwner, ...rest } = v
      return { ...rest, czxid: zx(czxid), mzxid: zx(mzxid), pzxid: zx(pzxid), ephemeralOwner: session(ephemeralOwner) }
    }
    if (Buffer.isBuffer(v)) return v.toString('utf8')
    if (typeof v === 'bigint') return session(v)
    if (Array.isArray(v)) {
      const items = v.map(walk)
      return items.every((x) => typeof x === 'string') ? [...(items as string[])].sort() : items
    }
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
    return v
  }
  return entries.map(([label, v]) => [label, walk(v)])
}

/** Runs a scenario against one server in a fresh chroot and returns its normalised record. */
export async function record(s: Scenario, connectString: string): Promise<Entry[]> {
  const root = chroot(`conf-${s.name}`)
  const admin = await ZooKeeper.connect(connectString)
  try {
    await admin.create(root)
  } finally {
    await admin.close()
  }
  const t = new Recorder(connectString, root)
  try {
    await s.run(t)
    await t.settle()
  } finally {
    await t.close()
  }
  return t.normalized()
}
