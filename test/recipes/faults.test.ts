// Recipes under faults on a real 3-server ensemble with a TcpProxy in front of each server:
// connection loss during acquire, a create whose reply is lost, the leader server killed.
import * as assert from 'uvu/assert'
import { LeaderLatch, Lock, Semaphore } from '../../lib/recipes/index.js'
import { ZkError, type ZooKeeper } from '../../lib/zk-wire/index.js'
import { attached, proxiedEnsembleSuite } from '../support/proxied-ensemble.js'
import { sleep } from '../support/wait.js'
import { childrenOf, settlesWithin, waitFor } from './support.js'

const fault = proxiedEnsembleSuite('recipes under faults', { size: 3, tickTime: 500 })

/**
 * The client, except that its first `create2` under `dir` loses its reply: the
 * server applies it, the caller gets CONNECTIONLOSS (what a connection cut
 * between request and reply looks like).
 */
function losingFirstReply(zk: ZooKeeper, dir: string): ZooKeeper {
  let lost = false
  return new Proxy(zk, {
    get(target, prop, receiver) {
      if (prop === 'create2') {
        return async (path: string, ...rest: unknown[]) => {
          const result = await (target.create2 as (...a: unknown[]) => Promise<unknown>)(path, ...rest)
          if (!lost && path.startsWith(dir + '/')) {
            lost = true
            throw new ZkError(-4, { op: 'create2', path, message: 'reply lost (simulated)' })
          }
          return result
        }
      }
      const value = Reflect.get(target, prop, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

fault('a lock candidate whose create reply was lost is found again by its protected name: no orphan, no second candidate', async ({ pool }) => {
  const zk = await pool.connect()
  await zk.mkdirp('/lost-reply')
  const lock = new Lock(losingFirstReply(zk, '/lost-reply'), '/lost-reply')
  const hold = await lock.acquire({ timeout: 5000 })
  assert.equal((await childrenOf(zk, '/lost-reply')).length, 1, 'exactly one candidate')
  assert.is(hold.path, `/lost-reply/${(await childrenOf(zk, '/lost-reply'))[0]}`)
  await hold.release()
  assert.equal(await childrenOf(zk, '/lost-reply'), [])
  const sem = new Semaphore(losingFirstReply(zk, '/sem/leases'), '/sem', 1)
  const lease = await sem.acquire({ timeout: 5000 })
  assert.equal((await childrenOf(zk, '/sem/leases')).length, 1)
  await lease.release()
  assert.equal(await childrenOf(zk, '/sem/leases'), [])
  const latch = new LeaderLatch(losingFirstReply(zk, '/latch'), '/latch')
  await latch.start()
  await latch.await({ timeout: 5000 })
  assert.equal((await childrenOf(zk, '/latch')).length, 1)
  await latch.close()
  assert.equal(await childrenOf(zk, '/latch'), [])
})

fault('a waiter whose connection is cut keeps its place: it gets the lock when the holder releases, and only then', async (ctx) => {
  const holderZk = await ctx.pool.connect()
  const waiterZk = await ctx.pool.connect()
  const holder = await new Lock(holderZk, '/cut').acquire()
  const waiter = new Lock(waiterZk, '/cut')
  const pending = waiter.acquire({ timeout: 20_000 })
  await waitFor('queued', async () => (await childrenOf(holderZk, '/cut')).length === 2)
  for (let i = 0; i < 3; i++) {
    attached(ctx, waiterZk).proxy.cut()
    await sleep(150)
  }
  assert.not.ok(await settlesWithin(pending, 500), 'no grant while the holder holds')
  assert.is((await childrenOf(holderZk, '/cut')).length, 2, 'no second candidate')
  await holder.release()
  const hold = await pending
  assert.ok(hold.token > 0n)
  await hold.release()
})

fault('lockers keep going through link cuts and a leader kill: every one gets its turns, never two at once', async (ctx) => {
  const clients = await Promise.all([0, 1, 2, 3].map(() => ctx.pool.connect({ sessionTimeout: 8000 })))
  let inside = 0
  let most = 0
  let turns = 0
  let running = true
  const chaos = (async () => {
    let step = 0
    while (running) {
      await sleep(120)
      step++
      if (step === 5) {
        const leader = await ctx.ensemble.leader()
        await leader?.kill()
        await sleep(500)
        await leader?.start()
      } else {
        ctx.proxies[step % ctx.proxies.length]!.cut()
      }
    }
  })()
  try {
    await Promise.all(clients.map(async (zk) => {
      const lock = new Lock(zk, '/chaos')
      for (let i = 0; i < 8; i++) {
        for (;;) {
          try {
            await lock.run(async (hold) => {
              inside++
              most = Math.max(most, inside)
              await sleep(10)
              inside--
              if (hold.signal.aborted) throw hold.signal.reason
            }, { timeout: 30_000 })
            turns++
            break
          } catch (error) {
            if (!(error instanceof ZkError) && !(error instanceof Error && error.name === 'RecipeError')) throw error
          }
        }
      }
      await lock.close()
    }))
  } finally {
    running = false
    await chaos
  }
  assert.is(turns, 32)
  assert.is(most, 1)
  await ctx.ensemble.waitReady()
  const check = await ctx.pool.connect()
  assert.equal(await childrenOf(check, '/chaos'), [], 'no candidate left behind')
})
