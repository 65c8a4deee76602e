import { lookup } from 'node:dns/promises'
import { connect as tcpConnect } from 'node:net'
import { parseConnectString, type HostAddress } from '../zk-wire/hosts.js'
import { Code, ZkError, ZooKeeper, type ZooKeeperOptions } from '../zk-wire/index.js'

/** Raised when Ctrl-C arrives before a session exists. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted'
  constructor() {
    super('interrupted')
  }
}

const label = (h: HostAddress): string => (h.host.includes(':') ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`)

/** Why a host name does not resolve, or null when it does (or is an address). */
async function unresolvable(host: string): Promise<string | null> {
  try {
    await lookup(host)
    return null
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    return `cannot resolve "${host}" (${code})`
  }
}

/** What a plain TCP connection to `h` says: refused, no answer, or accepted. */
function probe(h: HostAddress, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: h.host, port: h.port })
    const done = (why: string): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(why)
    }
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs)
    socket.once('connect', () => done('accepted a TCP connection but completed no ZooKeeper handshake (not a ZooKeeper client port, TLS expected, or the server refused the session)'))
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const reason: Record<string, string> = { ECONNREFUSED: 'connection refused', EHOSTUNREACH: 'host unreachable', ENETUNREACH: 'network unreachable', ETIMEDOUT: 'timed out' }
      done(`${reason[err.code ?? ''] ?? err.message} (${err.code ?? 'error'})`)
    })
  })
}

/** The reasons, host by host, why no session was established. */
async function diagnose(hosts: readonly HostAddress[], timeoutMs: number): Promise<string> {
  const reasons = await Promise.all(hosts.map(async (h) => `${label(h)}: ${(await unresolvable(h.host)) ?? (await probe(h, Math.min(timeoutMs, 2000)))}`))
  return reasons.join('; ')
}

/**
 * Opens the session `zkcloud` works in. Fails at once (CONNECTIONLOSS) when no
 * host name resolves, rejects with {@link Interrupted} as soon as `signal`
 * aborts, and after `timeoutMs` says why each host could not be used
 * (ECONNREFUSED, DNS, no answer, no handshake).
 */
export async function openSession(server: string, options: ZooKeeperOptions & { timeoutMs: number; signal: AbortSignal }): Promise<ZooKeeper> {
  const { timeoutMs, signal, ...zkOptions } = options
  const { hosts } = parseConnectString(server)
  const dns = await Promise.all(hosts.map((h) => unresolvable(h.host)))
  if (dns.every((why) => why !== null)) throw new ZkError(Code.CONNECTIONLOSS, { message: `cannot reach ${server}: ${dns.join('; ')}` })
  if (signal.aborted) throw new Interrupted()
  // Room for multiRead replies of whole batches of children lists (walk.ts).
  const zk = new ZooKeeper(server, { maxBufferSize: 64 * 1024 * 1024, ...zkOptions, connectTimeout: timeoutMs })
  let onAbort: () => void = () => undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Interrupted())
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    await Promise.race([zk.whenConnected(timeoutMs), aborted])
    return zk
  } catch (err) {
    void zk.close()
    if (err instanceof ZkError && (err.name === 'CONNECTIONLOSS' || err.name === 'OPERATIONTIMEOUT')) {
      throw new ZkError(Code.CONNECTIONLOSS, { message: `cannot reach ${server} within ${timeoutMs} ms: ${await diagnose(hosts, timeoutMs)}` })
    }
    throw err
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
