import { mkdirSync, writeFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { makeTempDir, removeTempDir } from './cleanup.js'
import { freePort } from './ports.js'
import { QuorumLinks } from './quorum-links.js'
import { makeTlsMaterial, type TlsMaterial } from './tls-material.js'
import { MAIN_CLASS, serverConfig, type ServerPorts } from './zk-config.js'
import { findZooKeeperInstall, type ZkInstall } from './zk-install.js'
import { ZkServer } from './zk-server.js'
import { waitFor } from './wait.js'

/** Options of `startEnsemble`. */
export interface EnsembleOptions {
  /** Number of servers: 1 runs standalone, 3 a quorum. Default 1. */
  size?: 1 | 3
  /** Default 500 ms, so elections and session expiry are fast. */
  tickTime?: number
  minSessionTimeout?: number
  maxSessionTimeout?: number
  /** More zoo.cfg lines; they override the kit's defaults. */
  extraConfig?: Record<string, string>
  /** More JVM flags (e.g. `-Dzookeeper.foo=bar`), after the kit's own. */
  jvmFlags?: string[]
  /** Also serve TLS on a `secureClientPort` (Netty), with a throwaway CA. */
  tls?: true
  /** Enable SASL DIGEST-MD5 authentication for these users (name → password). */
  sasl?: { users: Record<string, string> }
  /** Let servers that lose the quorum keep serving reads (`readonlymode.enabled`). */
  readOnly?: true
  /** How long to wait for the ensemble to serve. Default 30 s. */
  readyTimeoutMs?: number
  /**
   * Put a TcpProxy on every server-to-server link (quorum and election ports, not client
   * ports), so `ensemble.links` can cut servers apart silently. Size 3 only.
   */
  proxyQuorumLinks?: true
  /** zoo.cfg `syncLimit`: how many ticks a follower may lag or be silent. Default 5. */
  syncLimit?: number
}

/**
 * Real ZooKeeper server processes on free loopback ports, with temp data dirs.
 * Always `stop()` it (in an `after` hook); the kit also kills it when the process exits.
 */
export class Ensemble {
  /** The servers, in id order (ids start at 1). */
  readonly servers: ZkServer[]
  /** `127.0.0.1:p1,127.0.0.1:p2,…` (plain client ports). */
  readonly connectString: string
  /** The same for the secure client ports (TLS ensembles only). */
  readonly secureConnectString?: string
  /** Client-side PEM material: the CA that signed the servers' certificate, a client cert and key. */
  readonly tlsMaterial?: TlsMaterial
  /** The proxies on the server-to-server links (with `proxyQuorumLinks`). */
  readonly links?: QuorumLinks
  #dir: string

  constructor(dir: string, servers: ZkServer[], tlsMaterial?: TlsMaterial, links?: QuorumLinks) {
    this.#dir = dir
    this.servers = servers
    if (links) this.links = links
    this.connectString = servers.map(s => s.address).join(',')
    if (tlsMaterial) {
      this.tlsMaterial = tlsMaterial
      this.secureConnectString = servers.map(s => `${s.host}:${s.secureClientPort}`).join(',')
    }
  }

  /**
   * Wait until the running, unstalled servers form a working ensemble: a standalone server
   * serves, or one of them leads and every other one follows. Throws with the log tails.
   */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    try {
      await waitFor('the ensemble to serve', async () => {
        const live = this.servers.filter(s => s.isRunning && !s.isStalled)
        const modes = await Promise.all(live.map(s => s.mode()))
        if (this.servers.length === 1) return modes[0] === 'standalone'
        return modes.filter(m => m === 'leader').length === 1
          && modes.every(m => m === 'leader' || m === 'follower')
      }, { timeoutMs })
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${this.logs()}`)
    }
  }

  /** The server that currently reports `Mode: leader` (or `standalone`), if any. */
  async leader(): Promise<ZkServer | null> {
    const modes = await Promise.all(this.servers.map(s => s.mode()))
    const i = modes.findIndex(m => m === 'leader' || m === 'standalone')
    return i < 0 ? null : this.servers[i]!
  }

  /** Log tails of every server, for printing when a test fails. */
  logs(lines = 60): string {
    return this.servers.map(s => s.logs(lines)).join('\n')
  }

  /** Kill every server (SIGKILL), close the link proxies and remove the temp dirs. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map(s => s.kill()))
    await this.links?.close()
    removeTempDir(this.#dir)
  }
}

/**
 * Start a ZooKeeper ensemble from the locally installed ZooKeeper (Debian's package or
 * `ZOOKEEPER_HOME`) and resolve once it serves. Throws if none is installed or it does
 * not come up within `readyTimeoutMs` (the error carries the server logs).
 */
export async function startEnsemble(opts: EnsembleOptions = {}): Promise<Ensemble> {
  const install = findZooKeeperInstall()
  if (!install) {
    throw new Error('No local ZooKeeper to start: install Debian\'s zookeeper package and a JRE, or set ZOOKEEPER_HOME and JAVA_HOME')
  }
  const dir = makeTempDir('ensemble')
  let ensemble: Ensemble | undefined
  try {
    ensemble = await createEnsemble(dir, install, opts)
    await Promise.all(ensemble.servers.map(s => s.start(opts.readyTimeoutMs)))
    await ensemble.waitReady(opts.readyTimeoutMs)
    return ensemble
  } catch (err) {
    await ensemble?.stop()
    removeTempDir(dir)
    throw err
  }
}

/** Pick the ports, write every server's files into `dir` and make the (stopped) servers. */
async function createEnsemble(dir: string, install: ZkInstall, opts: EnsembleOptions): Promise<Ensemble> {
  const ports: ServerPorts[] = []
  for (let id = 1; id <= (opts.size ?? 1); id++) {
    ports.push({
      id,
      clientPort: await freePort(),
      peerPort: await freePort(),
      electionPort: await freePort(),
      ...(opts.tls && { secureClientPort: await freePort() }),
    })
  }
  if (opts.proxyQuorumLinks && ports.length < 2) throw new Error('proxyQuorumLinks needs an ensemble of 3 servers')
  const tls = opts.tls && await makeTlsMaterial(mkdir(join(dir, 'tls')))
  const links = opts.proxyQuorumLinks ? await QuorumLinks.start(ports) : undefined
  const servers = ports.map(self => {
    const serverDir = mkdir(join(dir, `server-${self.id}`))
    const confDir = mkdir(join(serverDir, 'conf'))
    const dataDir = mkdir(join(serverDir, 'data'))
    writeFileSync(join(dataDir, 'myid'), `${self.id}\n`)
    const { files, jvmArgs } = serverConfig({
      self, members: links?.view(self.id, ports) ?? ports, dataDir, confDir,
      tickTime: opts.tickTime ?? 500,
      syncLimit: opts.syncLimit ?? 5,
      minSessionTimeout: opts.minSessionTimeout,
      maxSessionTimeout: opts.maxSessionTimeout,
      extraConfig: opts.extraConfig ?? {},
      jvmFlags: opts.jvmFlags ?? [],
      tls,
      sasl: opts.sasl,
      readOnly: opts.readOnly ?? false,
    })
    for (const [name, content] of Object.entries(files)) writeFileSync(join(confDir, name), content)
    return new ZkServer({
      id: self.id,
      clientPort: self.clientPort,
      secureClientPort: self.secureClientPort,
      java: install.java,
      args: [...jvmArgs, '-cp', [confDir, ...install.classPath].join(delimiter), MAIN_CLASS, join(confDir, 'zoo.cfg')],
      dir: serverDir,
      logFile: join(serverDir, 'server.log'),
      tls: tls?.client,
    })
  })
  return new Ensemble(dir, servers, tls?.client, links)
}

function mkdir(path: string): string {
  mkdirSync(path, { recursive: true })
  return path
}
