import * as assert from 'uvu/assert'
import { Cluster } from '../../lib/cluster/index.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { cli, startCli } from './run-cli.js'

/** `zkcloud cluster status` on a live cluster of three nodes on ZooKeeper 3.8. */
const test = await zkSuite('zkcloud cluster status')

const silent = { logTrace: () => undefined, logError: () => undefined }

test('nodes, services with their processes, each global name with holder, token and queue; --watch redraws', async ({ zk }) => {
  const prefix = chroot('cluster-status')
  const nodes: Cluster[] = []
  try {
    for (let i = 0; i < 3; i++) nodes.push(await Cluster.start({ zookeeper: zk.connectString, prefix, ...silent }))
    const [a, b] = nodes as [Cluster, Cluster, Cluster]
    const workers = [a, b].map((n) => n.node.spawn(async (self) => void (await self.receive())))
    await a.register('worker', workers[0]!)
    await b.register('worker', workers[1]!)
    // Candidates stand in order a, b, c: a holds the name, b and c queue behind it.
    const holders = []
    for (const n of nodes) holders.push(await n.registerCandidate('boss', async (self) => void (await self.receive())))
    const status = JSON.parse((await cli(['--server', zk.connectString, '--json', 'cluster', 'status', '--prefix', prefix])).text)
    assert.equal(status.prefix, prefix)
    assert.equal([...status.nodes].sort(), nodes.map((n) => n.node.id.toString()).sort())
    assert.equal([...status.services.worker].sort(), workers.map((w) => w.toString()).sort())
    const boss = status.global.boss
    assert.is(boss.holder.pid, holders[0]!.toString())
    assert.is(boss.queue.length, 2)
    assert.ok(boss.holder.token < boss.queue[0].token && boss.queue[0].token < boss.queue[1].token, 'tokens grow along the queue')
    assert.equal([boss.holder.session, ...boss.queue.map((q: { session: string }) => q.session)], nodes.map((n) => `0x${n.zk.sessionId.toString(16)}`))

    const human = (await cli(['--server', zk.connectString, 'cluster', 'status', '--prefix', prefix])).text
    assert.match(human, new RegExp(`^cluster ${prefix} on `))
    assert.match(human, /^nodes \(3\)$/m)
    assert.match(human, /^  worker \(2\)$/m)
    assert.match(human, new RegExp(`^  boss: held by ${holders[0]!.toString().replace(/[.]/g, '\\.')}, token ${boss.holder.token}, since `, 'm'))
    assert.match(human, /^    1\. pid:\/\/.*, token \d+\n    2\. pid:\/\/.*, token \d+$/m)

    const watching = startCli(['--server', zk.connectString, '--json', 'cluster', 'status', '--prefix', prefix, '--watch'])
    await watching.line(/"boss"/)
    await a.stop()
    nodes.shift()
    // The next document shows b holding the name, c behind it, and a's node gone.
    const successor = (boss.queue[0].pid as string).replace(/[.]/g, '\\.')
    const next = await watching.line(new RegExp(`"holder":\\{"pid":"${successor}"[^}]*\\},"queue":\\[\\{[^\\]]*\\}\\]`), 15_000)
    assert.is(JSON.parse(next).nodes.length, 2)
    watching.child.kill('SIGINT')
    assert.is((await watching.exited).code, 0)
    const missing = await cli(['--server', zk.connectString, 'cluster', 'status', '--prefix', `${prefix}-none`])
    assert.is(missing.code, 1)
    assert.match(missing.stderr, /no cluster at .*-none \(use --prefix\)/)
  } finally {
    await Promise.all(nodes.map((n) => n.stop()))
  }
})

test.run()
