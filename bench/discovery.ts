/**
 * Discovery on a 3-server ensemble:
 *
 * - cached lookups: awaited `getCapable` calls answered from the cache, per
 *   second, next to what an uncached lookup costs (one `getChildren` with the
 *   plain client, the peer);
 * - invalidation: a `register` (or `unregister`) on node A until node B's
 *   cached list is evicted (its watch fired, so B no longer answers the stale
 *   list), next to the plain client doing the same thing (one client creates
 *   or deletes a child, another's child watch fires; on the same two servers
 *   as A and B), measured in the same run.
 *
 *   npm run build && node dist/bench/discovery.js      (LOOKUPS=2000000 ROUNDS=200)
 */
import { Cluster, type ClusterOptions } from '../lib/cluster/index.js'
import { ZooKeeper } from '../lib/zk-wire/index.js'
import type { ProcessId } from '../lib/runtime/index.js'
import { benchServers, envInt, fmt, median, percentile, table } from './support.js'

const LOOKUPS = envInt('LOOKUPS', 2_000_000)
const ROUNDS = envInt('ROUNDS', 200)
const REPEATS = 3

async function cachedLookups(cluster: Cluster): Promise<number> {
  await cluster.getCapable('svc')
  const t0 = performance.now()
  for (let i = 0; i < LOOKUPS; i++) await cluster.getCapable('svc')
  return LOOKUPS / ((performance.now() - t0) / 1000)
}

async function uncachedLookups(zk: ZooKeeper, path: string): Promise<number> {
  let count = 0
  const t0 = performance.now()
  while (performance.now() - t0 < 2000) {
    await zk.getChildren(path)
    count++
  }
  return count / ((performance.now() - t0) / 1000)
}

/** A register on A (an unregister every other round) until B's cache entry for the service is evicted. */
async function invalidation(a: Cluster, b: Cluster, member: ProcessId, round: number, evicted: { next: (() => void) | null }): Promise<number> {
  await b.getCapable('inv')
  const gone = new Promise<number>(resolve => (evicted.next = () => resolve(performance.now())))
  const t0 = performance.now()
  if (round % 2 === 0) await a.register('inv', member)
  else await a.unregister('inv', member)
  return (await gone) - t0
}

/** The plain client: one creates (deletes, every other round) a child, the other's child watch fires. */
async function rawWatch(writer: ZooKeeper, reader: ZooKeeper, dir: string, round: number): Promise<number> {
  const fired = new Promise<number>(resolve => void reader.getChildren(dir, { watch: () => resolve(performance.now()) }))
  await reader.sync(dir)
  const t0 = performance.now()
  if (round % 2 === 0) await writer.create(`${dir}/member`, 'x', { mode: 'ephemeral' })
  else await writer.delete(`${dir}/member`)
  return (await fired) - t0
}

async function main(): Promise<void> {
  const servers = await benchServers(3)
  const prefix = `/bench-discovery-${process.pid}`
  const evicted: { next: (() => void) | null } = { next: null }
  const options: ClusterOptions = { zookeeper: servers.connectString, prefix, logError: () => undefined }
  const a = await Cluster.start(options)
  const b = await Cluster.start({
    ...options,
    logTrace: line => {
      if (line.startsWith('cache evict: service inv ') && evicted.next !== null) {
        const next = evicted.next
        evicted.next = null
        next()
      }
    },
  })
  // The peer's clients sit on the same servers as A and B, so both measure the same path through the ensemble.
  const writer = await ZooKeeper.connect(a.zk.currentServer ?? servers.connectString)
  const reader = await ZooKeeper.connect(b.zk.currentServer ?? servers.connectString)
  try {
    for (let i = 0; i < 10; i++) await a.register('svc', a.node.spawn(async self => void (await self.receive())))
    const cached: number[] = []
    const uncached: number[] = []
    for (let i = 0; i < REPEATS; i++) {
      cached.push(await cachedLookups(b))
      uncached.push(await uncachedLookups(reader, `${prefix}/services/svc`))
    }
    const rawDir = `${prefix}-raw`
    await writer.create(rawDir)
    const member = a.node.spawn(async self => void (await self.receive()))
    const ours: number[] = []
    const raw: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      ours.push(await invalidation(a, b, member, round, evicted))
      raw.push(await rawWatch(writer, reader, rawDir, round))
    }
    ours.sort((x, y) => x - y)
    raw.sort((x, y) => x - y)

    console.log(`\nLookups of a service with 10 members, 3-server ensemble (median of ${REPEATS} runs; ${LOOKUPS.toLocaleString('en-US')} cached lookups per run)\n`)
    table(['lookup', 'per second', 'ratio'], [
      ['cached getCapable (awaited)', fmt(median(cached)), `${(median(cached) / median(uncached)).toFixed(0)}x`],
      ['peer: getChildren with the plain client', fmt(median(uncached)), '1x'],
    ])
    console.log(`\nInvalidation, ${ROUNDS} rounds of each, interleaved (half register, half unregister): the write until the other node's entry is evicted (ms)\n`)
    table(['invalidation', 'p50', 'p90', 'p99', 'p50 ratio', 'p99 ratio'], [
      ['register on A → B evicts', fmt(percentile(ours, 50)), fmt(percentile(ours, 90)), fmt(percentile(ours, 99)), `${(percentile(ours, 50) / percentile(raw, 50)).toFixed(2)}x`, `${(percentile(ours, 99) / percentile(raw, 99)).toFixed(2)}x`],
      ['peer: create → child watch fires (plain client)', fmt(percentile(raw, 50)), fmt(percentile(raw, 90)), fmt(percentile(raw, 99)), '1.00x', '1.00x'],
    ])
  } finally {
    await a.stop()
    await b.stop()
    await writer.close()
    await reader.close()
    await servers.stop()
  }
}

await main()
