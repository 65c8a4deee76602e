import * as assert from 'uvu/assert'
import type { Test } from 'uvu'
import type { ZooKeeper, ZkState } from '../../lib/zk-wire/index.js'
import { ClientPool } from './clients.js'
import { startEnsemble, type Ensemble, type EnsembleOptions } from './ensemble.js'
import { TcpProxy } from './proxy.js'
import { withLogs } from './with-logs.js'
import { ensembleSuite } from './zookeeper.js'

/** What every test of a proxied-ensemble suite gets. */
export interface ProxiedCtx {
  ensemble: Ensemble
  /** One proxy in front of each server, in server order; clients connect through them. */
  proxies: TcpProxy[]
  /** Clients connected through the proxies, closed after each test. */
  pool: ClientPool
}

/**
 * A suite for fault tests: one real ensemble for the file, a TcpProxy in
 * front of each server, and before each test every server running and every
 * link healthy again. Returns `fault(name, body)` to declare tests: failures
 * carry the server logs, and `ONLY=<text>` runs the matching tests alone.
 */
export function proxiedEnsembleSuite(name: string, options: EnsembleOptions): (name: string, body: (ctx: ProxiedCtx) => Promise<void>) => void {
  const test: Test<ProxiedCtx> = ensembleSuite<ProxiedCtx>(name)
  test.before(async (ctx) => {
    ctx.ensemble = await startEnsemble(options)
    ctx.proxies = await Promise.all(ctx.ensemble.servers.map((s) => TcpProxy.start(s.host, s.clientPort)))
  })
  test.after(async (ctx) => {
    await Promise.all(ctx.proxies?.map((p) => p.close()) ?? [])
    await ctx.ensemble?.stop()
  })
  test.before.each(async (ctx) => {
    for (const p of ctx.proxies) {
      p.resume()
      await p.accept()
    }
    for (const s of ctx.ensemble.servers) if (!s.isRunning) await s.start()
    await ctx.ensemble.waitReady()
    ctx.pool = new ClientPool(ctx.proxies.map((p) => p.address).join(','))
  })
  test.after.each(async (ctx) => {
    await ctx.pool.closeAll()
  })
  queueMicrotask(() => test.run())
  return (testName, body) => {
    if (process.env.ONLY && !testName.includes(process.env.ONLY)) return
    test(testName, (ctx) => withLogs(() => ctx.ensemble.logs(15), () => body(ctx))(ctx))
  }
}

/** The proxy (and server index) a client is attached to now. */
export function attached(ctx: ProxiedCtx, zk: ZooKeeper): { proxy: TcpProxy; index: number } {
  const port = Number(zk.currentServer?.split(':').pop())
  const index = ctx.proxies.findIndex((p) => p.port === port)
  assert.ok(index >= 0, `attached to a proxy (${zk.currentServer})`)
  return { proxy: ctx.proxies[index]!, index }
}

/** Every state the client reports from now on, in order. */
export function recordStates(zk: ZooKeeper): ZkState[] {
  const states: ZkState[] = []
  zk.on('state', (s) => states.push(s))
  return states
}
