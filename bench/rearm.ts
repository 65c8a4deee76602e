/**
 * The client at scale (part of bench/scale.ts): one client holds ONE_SHOT
 * one-shot watches (a data watch each, on paths long enough that together
 * they are well above the server's 1 MiB `jute.maxbuffer`) and PERSISTENT
 * persistent watches. The server it is attached to is killed; while it is
 * away, another client changes every watched path. Measured: from the kill
 * until the client is attached again, and from then until every one-shot
 * watch has fired (the server replays what changed since the client's last
 * zxid when the SetWatches frames arrive); then every persistent path is
 * changed once more, until every persistent watch has heard it. Checked:
 * each one-shot watch fired exactly once, each persistent watch heard the
 * change made after the re-attach, none is lost.
 */
import { ZooKeeper, type PersistentWatch } from '../lib/zk-wire/index.js'
import type { Ensemble } from '../test/support/ensemble.js'

const ONE_SHOT = 10_000
const PERSISTENT = 1_000
/** Long names: 10,000 paths of ~150 bytes make ~1.5 MB of SetWatches. */
const PAD = 'x'.repeat(120)

/** What one re-arm run found. */
export interface RearmResult {
  oneShot: number
  persistent: number
  setWatchesBytes: number
  reattachMs: number
  oneShotFiredMs: number
  persistentMs: number
  firedTwice: number
  lost: number
  persistentLost: number
}

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn))
}

function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs
  return new Promise(resolve => {
    const poll = (): void => {
      if (check()) return resolve(true)
      if (performance.now() > deadline) return resolve(false)
      setTimeout(poll, 1)
    }
    poll()
  })
}

/** Runs the re-arm measurement on `ensemble` (one server is killed and started again). */
export async function rearm(ensemble: Ensemble): Promise<RearmResult> {
  const root = `/rearm-${process.pid}`
  // The client on a follower (killing the leader would add an election to the figure), the writer on the other one.
  const leader = (await ensemble.leader())!.address
  let client = await ZooKeeper.connect(ensemble.connectString, { sessionTimeout: 30_000 })
  for (let i = 0; i < 20 && client.currentServer === leader; i++) {
    await client.close()
    client = await ZooKeeper.connect(ensemble.connectString, { sessionTimeout: 30_000 })
  }
  const other = ensemble.servers.find(s => s.address !== leader && s.address !== client.currentServer)!
  const writer = await ZooKeeper.connect(other.address)
  try {
    await writer.create(root)
    await writer.create(`${root}/o`)
    await writer.create(`${root}/p`)
    const oneShot = Array.from({ length: ONE_SHOT }, (_, i) => `${root}/o/${PAD}-${i}`)
    const persistent = Array.from({ length: PERSISTENT }, (_, i) => `${root}/p/${PAD}-${i}`)
    await inBatches([...oneShot, ...persistent], 500, path => writer.create(path, '0'))
    const fired = new Map<string, number>()
    await inBatches(oneShot, 500, path => client.getData(path, { watch: () => fired.set(path, (fired.get(path) ?? 0) + 1) }))
    const heard = new Set<string>()
    const watches: PersistentWatch[] = []
    await inBatches(persistent, 200, async path => watches.push(await client.addWatch(path, 'persistent')))
    let phase: 'away' | 'back' = 'away'
    const readers = watches.map(async watch => {
      for await (const event of watch) if (phase === 'back' && event.type === 'NodeDataChanged') heard.add(event.path!)
    })

    // Kill the client's server; change every watched path while the client looks for another.
    const server = ensemble.servers.find(s => s.address === client.currentServer)!
    const reattached = new Promise<number>(resolve => {
      const onState = (state: string): void => {
        if (state !== 'connected') return
        client.off('state', onState)
        resolve(performance.now())
      }
      client.on('state', onState)
    })
    const killedAt = performance.now()
    await server.kill()
    await inBatches([...oneShot, ...persistent], 500, path => writer.setData(path, '1'))
    const backAt = await reattached
    const allFired = await until(() => fired.size === ONE_SHOT, 120_000)
    const firedAt = performance.now()
    // Persistent watches do not replay what changed while away: change each once more.
    phase = 'back'
    const t0 = performance.now()
    await inBatches(persistent, 500, path => writer.setData(path, '2'))
    await until(() => heard.size === PERSISTENT, 60_000)
    const persistentMs = performance.now() - t0
    await new Promise(resolve => setTimeout(resolve, 500))
    for (const watch of watches) await watch.close()
    await Promise.allSettled(readers)
    await server.start()
    await ensemble.waitReady()
    return {
      oneShot: ONE_SHOT,
      persistent: PERSISTENT,
      setWatchesBytes: [...oneShot, ...persistent].reduce((sum, p) => sum + Buffer.byteLength(p), 0),
      reattachMs: backAt - killedAt,
      oneShotFiredMs: allFired ? firedAt - backAt : NaN,
      persistentMs,
      firedTwice: [...fired.values()].filter(n => n > 1).length,
      lost: ONE_SHOT - fired.size,
      persistentLost: PERSISTENT - heard.size,
    }
  } finally {
    await client.close()
    await writer.close()
  }
}
