/**
 * The leader lease's syncs at scale: only the holder and the two candidates
 * right behind it renew every interval; candidates further back send none
 * until they move up, so N candidates for one name cost O(1) syncs, not N per
 * interval — and a candidate that finds itself first without fresh evidence
 * asks for a sync and leads.
 */
import * as assert from 'uvu/assert'
import type { GlobalFunction } from '../../lib/cluster/index.js'
import { countRequests, type RequestCounter } from '../support/request-counter.js'
import { sleep, waitFor } from '../support/wait.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { ClusterPool, collector, type TestCluster } from './support.js'

const test = await zkSuite('lease pacing')
const NAME = 'paced'
// The shared server ticks every 500 ms: a sync every 250 ms while hot.
const OPTIONS = { tickTime: 500, sessionTimeout: 4000 }

let pool: ClusterPool
test.before.each(ctx => {
  pool = new ClusterPool({ zookeeper: ctx.zk.connectString, prefix: chroot(ctx.__test__), ...OPTIONS })
})
test.after.each(async () => {
  await pool.stopAll()
})

/** Starts `n` nodes, each standing for NAME in turn; the function reports its start to an observer. */
async function queue(n: number): Promise<{ nodes: Array<TestCluster & { syncs: RequestCounter }>; started: () => unknown[] }> {
  const observer = await pool.start()
  const got = collector(observer.cluster.node)
  const fn: GlobalFunction = async self => {
    self.send(got.pid, self.pid.node.key)
    await self.receive()
  }
  const nodes = []
  for (let i = 0; i < n; i++) {
    const node = await pool.start()
    const syncs = countRequests(node.cluster.zk)
    await node.cluster.registerCandidate(NAME, fn)
    nodes.push({ ...node, syncs })
  }
  return { nodes, started: () => got.received }
}

const syncsOf = (counter: RequestCounter): number => counter.byMethod.get('sync') ?? 0

test('only the holder and the next two in line renew; those further back send no syncs', async () => {
  const { nodes } = await queue(5)
  await waitFor('the queue to settle', () => nodes[0]!.cluster.leadership(NAME) !== null)
  await sleep(300)
  for (const node of nodes) node.syncs.reset()
  await sleep(1500)
  const counts = nodes.map(node => syncsOf(node.syncs))
  assert.ok(counts[0]! >= 3, `the holder keeps renewing (${counts})`)
  assert.ok(counts[1]! >= 3, `the next in line keeps renewing (${counts})`)
  assert.ok(counts[2]! >= 3, `the second in line keeps renewing (${counts})`)
  assert.equal(counts.slice(3), [0, 0], `candidates further back send none (${counts})`)
})

test('each handover makes the next candidate hot; one that finds itself first cold asks for a sync and leads', async () => {
  const { nodes, started } = await queue(5)
  await waitFor('the first holder', () => started().length === 1)
  // The holder stops: the next in line (hot) takes over; the third (hot as second in line) moves up.
  // The fourth moves up to second in line without being told (nothing it watches changed): cold.
  await nodes[0]!.cluster.stop()
  await waitFor('the second holder', () => started().length === 2)
  assert.is(started()[1], nodes[1]!.cluster.id.key)
  await sleep(300)
  nodes[2]!.syncs.reset()
  nodes[3]!.syncs.reset()
  await sleep(600)
  assert.ok(syncsOf(nodes[2]!.syncs) >= 1, 'the new next in line renews')
  // Holder and next in line go at once: the fourth finds itself first with no fresh evidence.
  assert.is(syncsOf(nodes[3]!.syncs), 0, 'the fourth is cold')
  // Long enough for the evidence it had while standing to run out (lease length 4000 − 750 − 200 ms).
  await sleep(3100)
  assert.is(syncsOf(nodes[3]!.syncs), 0, 'still cold')
  await Promise.all([nodes[1]!.cluster.stop(), nodes[2]!.cluster.stop()])
  await waitFor('the fourth to lead', () => started().length === 3, { timeoutMs: 5000 })
  assert.is(started()[2], nodes[3]!.cluster.id.key)
  assert.ok(syncsOf(nodes[3]!.syncs) >= 1, 'it led on a sync of its own')
})

test.run()
