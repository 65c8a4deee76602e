import { homedir, hostname, release, userInfo } from 'node:os'

/** The version the dev server reports: it speaks ZooKeeper 3.8's protocol and semantics. */
export const SERVER_VERSION = '3.8.0-zkcloud-dev-server, built on n/a'

/** Every four-letter word ZooKeeper 3.8 recognises as the first bytes of a connection. */
const KNOWN = new Set(['conf', 'cons', 'crst', 'dirs', 'dump', 'envi', 'gtmk', 'ruok', 'stmk', 'srvr', 'srst', 'stat', 'wchc', 'wchp', 'wchs', 'mntr', 'isro', 'hash'])
/** The words the dev server answers (the rest get the "not in the whitelist" answer). */
export const ANSWERED: ReadonlySet<string> = new Set(['ruok', 'isro', 'srvr', 'stat', 'mntr', 'conf', 'cons', 'envi', 'wchs', 'wchc', 'wchp', 'dump'])

/** One connection as `cons`, `stat` and `dump` show it. */
export interface ConnectionView {
  remote: string
  /** 0n before the handshake. */
  sessionId: bigint
  received: number
  sent: number
  established: number
  lastOp: number | null
  lastCxid: number
  lastZxid: bigint
  lastResponse: number
  timeout: number
}

/** What the answers report, read from the server when a word arrives. */
export interface ServerView {
  zxid: bigint
  packetsReceived: number
  packetsSent: number
  nodes: number
  watches: number
  ephemerals: number
  dataSize: number
  sessions: number
  connections: ConnectionView[]
  /** `wchs`: the data watch table. */
  watchSummary: { watchers: number; paths: number; watches: number }
  /** `wchc`: the data watch table by connection (a connection may list no path). */
  watchesByConnection: Array<{ sessionId: bigint; paths: string[] }>
  /** `wchp`: the data watch table by path. */
  watchesByPath: Array<{ path: string; sessionIds: bigint[] }>
  /** Sessions and when they expire. */
  sessionExpiry: Array<{ id: bigint; expiresAt: number }>
  /** Ephemeral node paths by owning session. */
  ephemeralsBySession: Map<bigint, string[]>
  /** The settings `conf` prints. */
  config: { clientPort: number; secureClientPort: number; dataDir: string | null; tickTime: number; minSessionTimeout: number; maxSessionTimeout: number }
}

/** True when a connection's first four bytes are a four-letter word rather than a frame length. */
export function isFourLetterWord(word: string): boolean {
  return KNOWN.has(word)
}

const hex = (n: bigint | number): string => `0x${n.toString(16)}`

/** Java's `Date.toString()` in UTC: `Tue Dec 01 05:58:22 UTC 2026`. */
function javaDate(ms: number): string {
  const d = new Date(ms)
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()]
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]
  const two = (n: number): string => String(n).padStart(2, '0')
  return `${day} ${month} ${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`
}

/** ZooKeeper's short names of the last operation (`lop=` in `cons`). */
const OP_NAMES: Record<number, string> = {
  1: 'CREA', 2: 'DELE', 3: 'EXIS', 4: 'GETD', 5: 'SETD', 6: 'GETA', 7: 'SETA', 8: 'GETC', 9: 'SYNC', 11: 'PING', 12: 'GETC',
  13: 'CHEC', 14: 'MULT', 15: 'CRE2', 16: 'RECO', 17: 'CHKW', 18: 'REMW', 19: 'CREC', 21: 'CRET', 22: 'MLTR', 101: 'SETW',
  103: 'GETE', 104: 'GETACN', 105: 'SETW', 106: 'ADDW', 107: 'WHOA', [-11]: 'CLOS',
}

/** A connection's `cons` line; `brief` is the form `stat` lists. */
function connectionLine(c: ConnectionView, brief: boolean): string {
  const head = ` /${c.remote}[${c.sessionId === 0n ? 0 : 1}](queued=0,recved=${c.received},sent=${c.sent}`
  if (brief || c.sessionId === 0n) return `${head})`
  const lop = c.lastOp === null ? 'NA' : (OP_NAMES[c.lastOp] ?? 'NA')
  return `${head},sid=${hex(c.sessionId)},lop=${lop},est=${c.established},to=${c.timeout},lcxid=${hex(c.lastCxid >>> 0)},lzxid=${hex(c.lastZxid)},lresp=${c.lastResponse},llat=0,minlat=0,avglat=0,maxlat=0)`
}

/** Groups `items` by `key`, as ZooKeeper's expiry queues print their buckets. */
function buckets<T>(items: readonly T[], key: (t: T) => number): Array<[number, T[]]> {
  const map = new Map<number, T[]>()
  for (const item of items) {
    const k = key(item)
    map.set(k, [...(map.get(k) ?? []), item])
  }
  return [...map].sort(([a], [b]) => a - b)
}

function srvr(v: ServerView): string[] {
  return [
    'Latency min/avg/max: 0/0.0/0',
    `Received: ${v.packetsReceived}`,
    `Sent: ${v.packetsSent}`,
    `Connections: ${v.connections.length}`,
    'Outstanding: 0',
    `Zxid: ${hex(v.zxid)}`,
    'Mode: standalone',
    `Node count: ${v.nodes}`,
  ]
}

/** The `envi` answer: ZooKeeper's keys where they mean something here (clients read `zookeeper.version=`), Node's for Java's. */
function environment(): string[] {
  const mb = (n: number): string => `${Math.round(n / 1024 / 1024)}MB`
  const memory = process.memoryUsage()
  let user = ''
  try {
    user = userInfo().username
  } catch {
    // no user name in some containers
  }
  return [
    'Environment:',
    `zookeeper.version=${SERVER_VERSION}`,
    `host.name=${hostname()}`,
    `node.version=${process.version}`,
    `node.execPath=${process.execPath}`,
    `os.name=${process.platform === 'linux' ? 'Linux' : process.platform}`,
    `os.arch=${process.arch === 'x64' ? 'amd64' : process.arch}`,
    `os.version=${release()}`,
    `user.name=${user}`,
    `user.home=${homedir()}`,
    `user.dir=${process.cwd()}`,
    `os.memory.free=${mb(memory.heapTotal - memory.heapUsed)}`,
    `os.memory.max=${mb(memory.rss)}`,
    `os.memory.total=${mb(memory.heapTotal)}`,
  ]
}

/**
 * The answer to a four-letter word, in ZooKeeper 3.8's format: `ruok`, `isro`,
 * `srvr`, `stat`, `mntr`, `conf`, `cons`, `envi`, `wchs`, `wchc`, `wchp` and `dump`.
 * Like ZooKeeper's, `wchc` and `wchp` list only the data watch table (getData,
 * exists and addWatch watches), not child watches. A word left
 * out of `whitelist` (or one the dev server does not answer) gets ZooKeeper's
 * answer for a word left out of `4lw.commands.whitelist`.
 */
export function fourLetterAnswer(word: string, v: ServerView, whitelist: ReadonlySet<string> | '*' = '*'): string {
  if (!ANSWERED.has(word) || (whitelist !== '*' && !whitelist.has(word))) return `${word} is not executed because it is not in the whitelist.\n`
  const lines = (l: string[]): string => `${l.join('\n')}\n`
  switch (word) {
    case 'ruok':
      return 'imok'
    case 'isro':
      return 'rw'
    case 'srvr':
      return lines([`Zookeeper version: ${SERVER_VERSION}`, ...srvr(v)])
    case 'stat':
      return lines([`Zookeeper version: ${SERVER_VERSION}`, 'Clients:', ...v.connections.map((c) => connectionLine(c, true)), '', ...srvr(v)])
    case 'cons':
      return lines([...v.connections.map((c) => connectionLine(c, false)), ''])
    case 'envi':
      return lines(environment())
    case 'conf':
      return lines([
        `clientPort=${v.config.clientPort}`,
        `secureClientPort=${v.config.secureClientPort}`,
        `dataDir=${v.config.dataDir ?? '(in memory)'}`,
        `tickTime=${v.config.tickTime}`,
        'maxClientCnxns=0',
        `minSessionTimeout=${v.config.minSessionTimeout}`,
        `maxSessionTimeout=${v.config.maxSessionTimeout}`,
        'clientPortListenBacklog=-1',
        'serverId=0',
      ])
    case 'wchs':
      return lines([`${v.watchSummary.watchers} connections watching ${v.watchSummary.paths} paths`, `Total watches:${v.watchSummary.watches}`])
    case 'wchc':
      return lines([...v.watchesByConnection.flatMap((c) => [hex(c.sessionId), ...c.paths.map((p) => `\t${p}`)]), ''])
    case 'wchp':
      return lines([...v.watchesByPath.flatMap((p) => [p.path, ...p.sessionIds.map((id) => `\t${hex(id)}`)]), ''])
    case 'dump': {
      const sessions = buckets(v.sessionExpiry, (s) => s.expiresAt)
      const owners = [...v.ephemeralsBySession].filter(([, paths]) => paths.length > 0)
      const conns = buckets(v.connections, (c) => (c.sessionId === 0n ? c.established : (v.sessionExpiry.find((s) => s.id === c.sessionId)?.expiresAt ?? c.established)))
      return lines([
        'SessionTracker dump:',
        `Session Sets (${sessions.length})/(${v.sessionExpiry.length}):`,
        ...sessions.flatMap(([at, list]) => [`${list.length} expire at ${javaDate(at)}:`, ...list.map((s) => `\t${hex(s.id)}`)]),
        'ephemeral nodes dump:',
        `Sessions with Ephemerals (${owners.length}):`,
        ...owners.flatMap(([id, paths]) => [`${hex(id)}:`, ...paths.map((p) => `\t${p}`)]),
        'Connections dump:',
        `Connections Sets (${conns.length})/(${v.connections.length}):`,
        ...conns.flatMap(([at, list]) => [`${list.length} expire at ${javaDate(at)}:`, ...list.map((c) => `\tip: /${c.remote} sessionId: ${hex(c.sessionId)}`)]),
      ])
    }
    case 'mntr':
      return Object.entries({
        zk_version: SERVER_VERSION,
        zk_server_state: 'standalone',
        zk_num_alive_connections: v.connections.length,
        zk_outstanding_requests: 0,
        zk_packets_received: v.packetsReceived,
        zk_packets_sent: v.packetsSent,
        zk_znode_count: v.nodes,
        zk_watch_count: v.watches,
        zk_ephemerals_count: v.ephemerals,
        zk_approximate_data_size: v.dataSize,
        zk_global_sessions: v.sessions,
      })
        .map(([k, val]) => `${k}\t${val}\n`)
        .join('')
    default:
      return `${word} is not executed because it is not in the whitelist.\n`
  }
}
