/** The version the dev server reports: it speaks ZooKeeper 3.8's protocol and semantics. */
export const SERVER_VERSION = '3.8.0-zkcloud-dev-server, built on n/a'

/** Every four-letter word ZooKeeper 3.8 recognises as the first bytes of a connection. */
const KNOWN = new Set(['conf', 'cons', 'crst', 'dirs', 'dump', 'envi', 'gtmk', 'ruok', 'stmk', 'srvr', 'srst', 'stat', 'wchc', 'wchp', 'wchs', 'mntr', 'isro', 'hash'])

/** What the answers report. */
export interface ServerFigures {
  zxid: bigint
  connections: number
  packetsReceived: number
  packetsSent: number
  nodes: number
  watches: number
  ephemerals: number
  dataSize: number
  sessions: number
}

/** True when a connection's first four bytes are a four-letter word rather than a frame length. */
export function isFourLetterWord(word: string): boolean {
  return KNOWN.has(word)
}

/**
 * The answer to a four-letter word. The dev server answers `ruok`, `srvr`,
 * `mntr` and `isro` in ZooKeeper's format; the other words get ZooKeeper's
 * answer for a word left out of `4lw.commands.whitelist`.
 */
export function fourLetterAnswer(word: string, f: ServerFigures): string {
  switch (word) {
    case 'ruok':
      return 'imok'
    case 'isro':
      return 'rw'
    case 'srvr':
      return [
        `Zookeeper version: ${SERVER_VERSION}`,
        'Latency min/avg/max: 0/0.0/0',
        `Received: ${f.packetsReceived}`,
        `Sent: ${f.packetsSent}`,
        `Connections: ${f.connections}`,
        'Outstanding: 0',
        `Zxid: 0x${f.zxid.toString(16)}`,
        'Mode: standalone',
        `Node count: ${f.nodes}`,
        '',
      ].join('\n')
    case 'mntr':
      return Object.entries({
        zk_version: SERVER_VERSION,
        zk_server_state: 'standalone',
        zk_num_alive_connections: f.connections,
        zk_outstanding_requests: 0,
        zk_packets_received: f.packetsReceived,
        zk_packets_sent: f.packetsSent,
        zk_znode_count: f.nodes,
        zk_watch_count: f.watches,
        zk_ephemerals_count: f.ephemerals,
        zk_approximate_data_size: f.dataSize,
        zk_global_sessions: f.sessions,
      })
        .map(([k, v]) => `${k}\t${v}\n`)
        .join('')
    default:
      return `${word} is not executed because it is not in the whitelist.\n`
  }
}
