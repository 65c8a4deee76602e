import { Code, ZkError } from './errors.js'
import { validatePath } from './paths.js'

/** One server address from a connect string. */
export interface HostAddress {
  host: string
  port: number
}

/** A parsed connect string: `host[:port],host[:port]…[/chroot]`. */
export interface ConnectString {
  hosts: HostAddress[]
  /** The chroot without a trailing slash, or `''`. */
  chroot: string
}

const DEFAULT_PORT = 2181

/** Parses a connect string; IPv6 hosts are written in brackets (`[::1]:2181`). */
export function parseConnectString(input: string): ConnectString {
  if (typeof input !== 'string' || input.trim() === '') {
    throw new ZkError(Code.BADARGUMENTS, { op: 'connect', message: 'empty connect string' })
  }
  const slash = input.indexOf('/')
  const hostPart = slash === -1 ? input : input.slice(0, slash)
  let chroot = slash === -1 ? '' : input.slice(slash)
  if (chroot === '/') chroot = ''
  if (chroot !== '') validatePath(chroot, 'connect')
  const hosts = hostPart
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseHost)
  if (hosts.length === 0) throw new ZkError(Code.BADARGUMENTS, { op: 'connect', message: `no hosts in connect string "${input}"` })
  return { hosts, chroot }
}

function parseHost(s: string): HostAddress {
  let host: string
  let port: string | undefined
  if (s.startsWith('[')) {
    const end = s.indexOf(']')
    if (end === -1) throw new ZkError(Code.BADARGUMENTS, { op: 'connect', message: `unterminated IPv6 address "${s}"` })
    host = s.slice(1, end)
    port = s[end + 1] === ':' ? s.slice(end + 2) : undefined
  } else {
    const colon = s.lastIndexOf(':')
    host = colon === -1 ? s : s.slice(0, colon)
    port = colon === -1 ? undefined : s.slice(colon + 1)
  }
  const n = port === undefined ? DEFAULT_PORT : Number(port)
  if (host === '' || !Number.isInteger(n) || n <= 0 || n > 65535) {
    throw new ZkError(Code.BADARGUMENTS, { op: 'connect', message: `bad host "${s}"` })
  }
  return { host, port: n }
}

/**
 * Cycles through the servers of a (shuffled) host list, as the Java client's
 * `StaticHostProvider` does, and says how long to wait before the next
 * attempt: nothing while untried hosts remain, then an exponential backoff
 * with jitter once a whole round has failed, so a dead ensemble is never
 * hammered in a busy loop. The backoff grows gently (x1.5 from 10 ms to
 * 500 ms) so a client finds the ensemble soon after a leader election, which
 * takes a few hundred milliseconds.
 */
export class HostList {
  private readonly hosts: HostAddress[]
  private index = -1
  private failedRounds = 0
  private triedThisRound = 0

  constructor(
    hosts: readonly HostAddress[],
    shuffle: boolean,
    private readonly random: () => number = Math.random,
    private readonly backoff = { minMs: 10, maxMs: 500, factor: 1.5 },
  ) {
    this.hosts = [...hosts]
    if (shuffle) {
      for (let i = this.hosts.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1))
        ;[this.hosts[i], this.hosts[j]] = [this.hosts[j]!, this.hosts[i]!]
      }
    }
  }

  get size(): number {
    return this.hosts.length
  }

  /** Every host, in the order they are tried. */
  all(): readonly HostAddress[] {
    return this.hosts
  }

  /** Makes `address` the next host to try (e.g. a read-write server found while read-only). */
  prefer(address: HostAddress): void {
    const i = this.hosts.findIndex((h) => h.host === address.host && h.port === address.port)
    if (i !== -1) this.index = (i - 1 + this.hosts.length) % this.hosts.length
  }

  /** The next host to try and how long to wait before trying it. */
  next(): { address: HostAddress; delayMs: number } {
    this.index = (this.index + 1) % this.hosts.length
    let delayMs = 0
    if (this.triedThisRound >= this.hosts.length) {
      this.failedRounds++
      this.triedThisRound = 0
      const base = Math.min(this.backoff.maxMs, this.backoff.minMs * this.backoff.factor ** (this.failedRounds - 1))
      delayMs = Math.round(base / 2 + (this.random() * base) / 2)
    }
    this.triedThisRound++
    return { address: this.hosts[this.index]!, delayMs }
  }

  /** A connection succeeded: the next failure starts a fresh round without delay. */
  connected(): void {
    this.failedRounds = 0
    this.triedThisRound = 0
  }
}
