import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import * as assert from 'uvu/assert'
import { sleep, waitFor } from '../support/wait.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { ClusterPool, collector } from './support.js'

const FIXTURE = fileURLToPath(new URL('./fixtures/paused-leader.js', import.meta.url))
const T = 3000

interface Act {
  readonly type: string
  readonly via?: string
  readonly reason?: string
  readonly token?: number
  readonly at: number
}

const test = await zkSuite<{ pool: ClusterPool; prefix: string; child: ChildProcess | null }>('a paused leader')
test.before.each(ctx => {
  ctx.prefix = chroot('paused leader')
  ctx.pool = new ClusterPool({ zookeeper: ctx.zk.connectString, prefix: ctx.prefix, sessionTimeout: T })
  ctx.child = null
})
test.after.each(async ctx => {
  if (ctx.child !== null && ctx.child.exitCode === null && ctx.child.signalCode === null) {
    ctx.child.kill('SIGCONT')
    ctx.child.kill('SIGKILL')
    await once(ctx.child, 'exit')
  }
  await ctx.pool.stopAll()
})

for (const via of ['runtime', 'ipc'] as const) {
  const what = via === 'runtime' ? 'through the runtime (receive, send)' : 'outside it, checking leadership.valid()'
  test(`a leader frozen (SIGSTOP) past its lease never acts again when it wakes: ${what}`, async ctx => {
    const resource = await ctx.pool.start()
    const got = collector(resource.cluster.node)
    await resource.cluster.register('resource', got.pid)

    const child = fork(FIXTURE, [JSON.stringify({ options: { zookeeper: ctx.zk.connectString, prefix: ctx.prefix, sessionTimeout: T, tickTime: 500 }, name: 'g', via })], { stdio: 'inherit' })
    ctx.child = child
    const reports: Act[] = []
    child.on('message', message => reports.push(message as Act))
    await waitFor('the child to lead', () => reports.some(r => r.type === 'elected'), { timeoutMs: 15_000 })
    await waitFor('it to act', () => (via === 'ipc' ? reports.some(r => r.type === 'act') : got.received.length > 0), { timeoutMs: 5000 })

    const successor = await ctx.pool.start()
    let startedAt = 0
    await successor.cluster.registerCandidate('g', async self => {
      startedAt = Date.now()
      await self.receive()
    })
    child.kill('SIGSTOP')
    await waitFor('the successor to start', () => startedAt > 0, { timeoutMs: 5 * T })
    await sleep(200)
    child.kill('SIGCONT')
    await waitFor('the old leader to step down', () => reports.some(r => r.type === 'stepDown'), { timeoutMs: 3 * T })
    await sleep(500)

    const late = [...reports.filter(r => r.type === 'act'), ...(got.received as Act[])].filter(act => act.at >= startedAt)
    const acts = via === 'ipc' ? reports.filter(r => r.type === 'act').length : got.received.length
    assert.ok(acts > 0)
    assert.equal(late, [], `the old leader acted after its successor started at ${startedAt}`)
    assert.ok(['suspect', 'expired'].includes(reports.find(r => r.type === 'stepDown')!.reason!))
  })
}

test.run()
