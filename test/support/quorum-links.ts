import { TcpProxy } from './proxy.js'
import type { ServerPorts } from './zk-config.js'

/** The two proxies one server dials to reach another: its quorum (peer) port and its election port. */
interface Link {
  readonly peer: TcpProxy
  readonly election: TcpProxy
}

const key = (from: number, to: number): string => `${from}->${to}`

/**
 * Election connections start with `[version i64][sid i64][length i32][host:port…]`: the
 * address the dialing server announces. A server with the higher id drops a connection
 * from a lower one and dials back to that announced address — around the proxy. Announcing
 * a wildcard host instead makes it dial the address in its own zoo.cfg: the proxy.
 */
export function hideElectionAddress(head: Buffer): Buffer | null {
  if (head.length < 8) return null
  if (head.readBigInt64BE(0) >= 0n) return head // the old protocol: the id alone
  if (head.length < 20) return null
  const length = head.readInt32BE(16)
  if (head.length < 20 + length) return null
  const addresses = head.subarray(20, 20 + length).toString('utf8')
  const hidden = Buffer.from(addresses.split('|').map(address => `0.0.0.0:${address.slice(address.lastIndexOf(':') + 1)}`).join('|'), 'utf8')
  const out = Buffer.alloc(20 + hidden.length)
  head.copy(out, 0, 0, 16)
  out.writeInt32BE(hidden.length, 16)
  hidden.copy(out, 20)
  return Buffer.concat([out, head.subarray(20 + length)])
}

/**
 * Proxies on every server-to-server link of an ensemble: for each ordered pair of
 * servers (from, to), one in front of `to`'s quorum port and one in front of its
 * election port, dialed by `from` only. Stalling them cuts servers apart silently,
 * in both directions, while their client ports stay reachable.
 */
export class QuorumLinks {
  readonly #links: Map<string, Link>

  private constructor(links: Map<string, Link>) {
    this.#links = links
  }

  /** Starts the proxies for `members` (their real ports). */
  static async start(members: readonly ServerPorts[]): Promise<QuorumLinks> {
    const links = new Map<string, Link>()
    try {
      for (const from of members) {
        for (const to of members) {
          if (from.id === to.id) continue
          links.set(key(from.id, to.id), {
            peer: await TcpProxy.start('127.0.0.1', to.peerPort),
            election: await TcpProxy.start('127.0.0.1', to.electionPort, { rewriteHead: hideElectionAddress }),
          })
        }
      }
    } catch (error) {
      await Promise.all([...links.values()].flatMap(link => [link.peer.close(), link.election.close()]))
      throw error
    }
    return new QuorumLinks(links)
  }

  /** `members` as server `self` must see them: every other server behind the proxies it dials. */
  view(self: number, members: readonly ServerPorts[]): ServerPorts[] {
    return members.map(member => {
      if (member.id === self) return member
      const link = this.#link(self, member.id)
      return { ...member, peerPort: link.peer.port, electionPort: link.election.port }
    })
  }

  /** Every proxy between servers `a` and `b`, both directions. */
  between(a: number, b: number): TcpProxy[] {
    return [this.#link(a, b), this.#link(b, a)].flatMap(link => [link.peer, link.election])
  }

  /**
   * The proxy server `from` dials to reach the quorum (peer) port of server `to`: a follower's
   * connection to its leader goes through `peer(follower, leader)`, the leader's packets
   * (proposals, commits, pings) in its `'down'` direction.
   */
  peer(from: number, to: number): TcpProxy {
    return this.#link(from, to).peer
  }

  /** Silently stalls every link between server `id` and the others (bytes are held, sockets stay open). */
  isolate(id: number): void {
    for (const [name, link] of this.#links) {
      const [from, to] = name.split('->').map(Number)
      if (from === id || to === id) {
        link.peer.stall()
        link.election.stall()
      }
    }
  }

  /** Resumes every link (held bytes are delivered, in order). */
  heal(): void {
    for (const link of this.#links.values()) {
      link.peer.resume()
      link.election.resume()
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#links.values()].flatMap(link => [link.peer.close(), link.election.close()]))
  }

  #link(from: number, to: number): Link {
    const link = this.#links.get(key(from, to))
    if (link === undefined) throw new Error(`no link from server ${from} to server ${to}`)
    return link
  }
}
