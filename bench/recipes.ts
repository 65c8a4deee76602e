/**
 * The recipes next to their peers, on one 3-server ensemble, in one run:
 *
 * - Lock hand-off: two clients pass one lock back and forth; each hand-off is
 *   timed from the holder's release() call until the waiter's acquire returns.
 *   Next to it the floor — one quorum write reaching a watcher (a client
 *   deletes a node another client watches, until the watch fires) — and the
 *   same hand-off with Curator's InterProcessMutex and kazoo's Lock.
 * - Uncontended acquire + release per second, for the three.
 * - TreeCache: priming a 10,000-znode tree (start() until 'initialized') and
 *   change-to-event latency (setData until the cache reports the update),
 *   next to Curator's CuratorCache (its events reach us over a pipe).
 *
 * Every client talks to the same server (a follower when there is one), so
 * placement does not bias the ratios.
 *
 *   npm run build && flock /work/locks/bench.lock node dist/bench/recipes.js
 *   (ROUNDS=300 OPS=2000 NODES=10000 CHANGES=300)
 */
import { Lock, TreeCache, type Hold } from '../lib/recipes/index.js'
import { ZooKeeper, op } from '../lib/zk-wire/index.js'
import { Peer } from '../test/recipes/peers.js'
import { benchServers, envInt, percentile, table } from './support.js'

const ROUNDS = envInt('ROUNDS', 300)
const OPS = envInt('OPS', 2000)
const NODES = envInt('NODES', 10_000)
const CHANGES = envInt('CHANGES', 300)

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b)

async function floor(a: ZooKeeper, b: ZooKeeper, path: string): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < ROUNDS + 20; i++) {
    await a.create(path, 'x')
    const fired = new Promise<number>((resolve) => void b.getData(path, { watch: () => resolve(performance.now()) }))
    await b.sync(path)
    const t0 = performance.now()
    await a.delete(path)
    const t1 = await fired
    if (i >= 20) out.push(t1 - t0)
  }
  return out
}

async function handoff(a: ZooKeeper, b: ZooKeeper, path: string): Promise<number[]> {
  const locks = [new Lock(a, path), new Lock(b, path)]
  const out: number[] = []
  let hold: Hold = await locks[0]!.acquire()
  for (let i = 0; i < ROUNDS + 20; i++) {
    const waiter = locks[(i + 1) % 2]!
    const next = waiter.acquire()
    while ((await a.getChildren(path)).length < 2) await new Promise((r) => setTimeout(r, 0))
    const t0 = performance.now()
    const released = hold.release()
    hold = await next
    if (i >= 20) out.push(performance.now() - t0)
    await released
  }
  await hold.release()
  await Promise.all(locks.map((l) => l.close()))
  return out
}

async function uncontended(zk: ZooKeeper, path: string): Promise<number> {
  const lock = new Lock(zk, path)
  for (let i = 0; i < 200; i++) await (await lock.acquire()).release()
  const t0 = performance.now()
  for (let i = 0; i < OPS; i++) await (await lock.acquire()).release()
  const rate = OPS / ((performance.now() - t0) / 1000)
  await lock.close()
  return rate
}

async function prime(zk: ZooKeeper, root: string): Promise<string[]> {
  await zk.mkdirp(root)
  const paths: string[] = []
  const dirs = Math.ceil(NODES / 100)
  const ops = []
  for (let d = 0; d < dirs; d++) ops.push(op.create(`${root}/d${d}`, `dir ${d}`))
  await zk.multi(ops)
  for (let d = 0; d < dirs; d++) {
    const batch = []
    for (let n = 0; n < 99 && paths.length + dirs < NODES; n++) {
      const p = `${root}/d${d}/n${n}`
      paths.push(p)
      batch.push(op.create(p, `value ${n}`))
    }
    if (batch.length > 0) await zk.multi(batch)
  }
  return paths
}

async function zkcloudCache(zk: ZooKeeper, writer: ZooKeeper, root: string, paths: string[]): Promise<{ primeMs: number; latencies: number[] }> {
  const cache = new TreeCache(zk, root)
  const t0 = performance.now()
  await cache.start()
  const primeMs = performance.now() - t0
  if (cache.size < NODES) throw new Error(`the cache holds ${cache.size} nodes, not ${NODES}`)
  const latencies: number[] = []
  for (let i = 0; i < CHANGES; i++) {
    const path = paths[(i * 37) % paths.length]!
    const seen = new Promise<number>((resolve) => {
      const on = (e: { type: string; node?: { path: string } }): void => {
        if (e.type === 'updated' && e.node?.path === path) {
          cache.off('event', on)
          resolve(performance.now())
        }
      }
      cache.on('event', on)
    })
    const start = performance.now()
    await writer.setData(path, `change ${i}`)
    latencies.push((await seen) - start)
  }
  await cache.close()
  return { primeMs, latencies }
}

async function curatorCache(curator: Peer, writer: ZooKeeper, root: string, paths: string[]): Promise<{ primeMs: number; latencies: number[] }> {
  const t0 = performance.now()
  await curator.call('cc', `cache ${root}`)
  await curator.event(/^event cc initialized$/, 120_000)
  const primeMs = performance.now() - t0
  curator.events.length = 0
  const latencies: number[] = []
  for (let i = 0; i < CHANGES; i++) {
    const path = paths[(i * 37) % paths.length]!
    const start = performance.now()
    await writer.setData(path, `curator ${i}`)
    await curator.event(new RegExp(`^event cc changed ${path} curator ${i}$`))
    latencies.push(performance.now() - start)
  }
  await curator.call('cc', 'close')
  curator.events.length = 0
  return { primeMs, latencies }
}

async function main(): Promise<void> {
  const servers = await benchServers(3)
  const ensemble = servers.ensemble
  let target = servers.connectString.split(',')[0]!
  if (ensemble) {
    for (const s of ensemble.servers) if ((await s.mode()) === 'follower') target = s.address
  }
  const a = await ZooKeeper.connect(target)
  const b = await ZooKeeper.connect(target)
  const [curator, kazoo] = await Promise.all([Peer.curator(target), Peer.kazoo(target)])
  try {
    console.log(`ensemble: ${servers.connectString}; every client on ${target}; ROUNDS=${ROUNDS} OPS=${OPS} NODES=${NODES} CHANGES=${CHANGES}`)
    const floorMs = sorted(await floor(a, b, '/bench-floor'))
    const oursMs = sorted(await handoff(a, b, '/bench-lock'))
    const curatorMs = sorted((await curator.call('-', `handoff-mutex /bench-curator ${ROUNDS + 20}`, 300_000)).split(' ').map((n) => Number(n) / 1e6).slice(20))
    const kazooMs = sorted((await kazoo.call('-', `handoff-lock /bench-kazoo ${ROUNDS + 20}`, 300_000)).split(' ').map((n) => Number(n) / 1e6).slice(20))
    const f50 = percentile(floorMs, 50)
    const row = (name: string, xs: number[]): Array<string | number> => [name, percentile(xs, 50), percentile(xs, 99), `${(percentile(xs, 50) / f50).toFixed(2)}x`]
    console.log('\nLock hand-off (release() until the next holder runs), ms')
    table(['', 'p50', 'p99', 'p50 / floor'], [row('floor: a write reaching a watcher', floorMs), row('zkcloud Lock', oursMs), row('Curator InterProcessMutex', curatorMs), row('kazoo Lock', kazooMs)])

    const ours = await uncontended(a, '/bench-uncontended')
    const cur = Number(await curator.call('-', `bench-mutex /bench-curator-u ${OPS}`, 300_000))
    const kaz = Number(await kazoo.call('-', `bench-lock /bench-kazoo-u ${OPS}`, 300_000))
    console.log('\nUncontended acquire + release per second')
    table(['', 'per second', 'zkcloud / it'], [['zkcloud Lock', ours, '1.00x'], ['Curator InterProcessMutex', cur, `${(ours / cur).toFixed(2)}x`], ['kazoo Lock', kaz, `${(ours / kaz).toFixed(2)}x`]])

    const paths = await prime(a, '/bench-tree')
    const mine = await zkcloudCache(a, b, '/bench-tree', paths)
    const theirs = await curatorCache(curator, b, '/bench-tree', paths)
    const m = sorted(mine.latencies)
    const t = sorted(theirs.latencies)
    console.log(`\nTreeCache on ${NODES.toLocaleString('en-US')} znodes`)
    table(['', 'prime, ms', 'change→event p50, ms', 'p99, ms'], [
      ['zkcloud TreeCache (one recursive watch)', mine.primeMs, percentile(m, 50), percentile(m, 99)],
      ['Curator CuratorCache', theirs.primeMs, percentile(t, 50), percentile(t, 99)],
      ['zkcloud / Curator', `${(mine.primeMs / theirs.primeMs).toFixed(2)}x`, `${(percentile(m, 50) / percentile(t, 50)).toFixed(2)}x`, `${(percentile(m, 99) / percentile(t, 99)).toFixed(2)}x`],
    ])
  } finally {
    await Promise.all([curator.stop(), kazoo.stop()])
    await Promise.all([a.close(), b.close()])
    await servers.stop()
  }
}

await main()
