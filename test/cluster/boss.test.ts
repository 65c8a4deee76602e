// The seed's walkthrough end to end: `node dist/examples/boss.js` as separate OS processes.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import * as assert from 'uvu/assert'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { waitFor } from '../support/wait.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { ClusterPool } from './support.js'

const BOSS = fileURLToPath(new URL('../../examples/boss.js', import.meta.url))
/** Session timeout of the example processes: a kill -9 is noticed after about this long. */
const SESSION_MS = 3000
/** Jobs sent while workers are killed. */
const JOBS = 120

/** One `boss.js` process and every line it printed. */
class Boss {
  readonly lines: string[] = []
  readonly exited: Promise<number | null>

  constructor(readonly name: string, readonly child: ChildProcess) {
    for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', line => this.lines.push(line))
    this.exited = once(child, 'exit').then(([code]) => code as number | null)
  }

  /** The first line matching `pattern` (waiting up to `timeoutMs`). */
  line(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    return waitFor(`${this.name} to print ${pattern}\n${this.lines.join('\n')}`, () => this.lines.find(line => pattern.test(line)), { timeoutMs })
  }

  count(pattern: RegExp): number {
    return this.lines.filter(line => pattern.test(line)).length
  }
}

interface Ctx {
  env: NodeJS.ProcessEnv
  prefix: string
  running: Boss[]
}

const test = await zkSuite<Ctx>('the boss example, as OS processes')

test.before.each(ctx => {
  ctx.prefix = chroot('boss')
  ctx.env = { ...process.env, ZK_HOSTS: ctx.zk.connectString, ZKCLOUD_PREFIX: ctx.prefix, ZKCLOUD_SESSION_TIMEOUT: String(SESSION_MS), ZKCLOUD_TICK_TIME: '500', DEBUG: '' }
  ctx.running = []
})
test.after.each(async ctx => {
  for (const boss of ctx.running) boss.child.kill('SIGKILL')
  await Promise.all(ctx.running.map(boss => boss.exited))
})

function start(ctx: Ctx, name: string, args: string[] = []): Boss {
  const boss = new Boss(name, spawn(process.execPath, [BOSS, ...args], { env: ctx.env, stdio: ['pipe', 'pipe', 'pipe'] }))
  ctx.running.push(boss)
  return boss
}

/** Sends jobs through requestor processes, a few at a time; each must report it sent its job. */
async function submit(ctx: Ctx, jobs: string[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += 5) {
    const batch = jobs.slice(i, i + 5).map(job => start(ctx, `requestor ${job}`, [job]))
    for (const requestor of batch) {
      assert.is(await requestor.exited, 0, requestor.lines.join('\n'))
      assert.match(requestor.lines.join('\n'), /^Sent job [\w-]+ to the boss pid:\/\//m)
    }
  }
}

/** Waits until every job was done, and checks each was done exactly once. */
async function allDone(workers: Boss[], jobs: string[]): Promise<void> {
  const done = (job: string): number => workers.reduce((sum, w) => sum + w.count(new RegExp(`^Doing job ${job}$`)), 0)
  await waitFor(`every job done\n${workers.map(w => `${w.name}:\n${w.lines.join('\n')}`).join('\n')}`, () => jobs.every(job => done(job) >= 1), { timeoutMs: 15_000 })
  for (const job of jobs) assert.is(done(job), 1, `${job} done exactly once`)
}

const jobs = (from: number): string[] => Array.from({ length: 10 }, (_, i) => `job-${from + i}`)

test('one boss, two workers; the boss stops (Enter), then is killed (kill -9): jobs are always done exactly once', async ctx => {
  const zk = await ZooKeeper.connect(ctx.zk.connectString)
  try {
    const first = start(ctx, 'first')
    await first.line(/^I'm the boss! \(fencing token \d+\)$/)
    await first.line(/^I don't do any work! Start a worker\.$/)
    const workers = [start(ctx, 'second'), start(ctx, 'third')]
    for (const worker of workers) await worker.line(/^Worker waiting for task\.\.\.$/)
    await waitFor('both workers in ZooKeeper', async () => (await zk.getChildren(`${ctx.prefix}/services/worker`).catch(() => [])).length === 2)

    await submit(ctx, jobs(1))
    await allDone(workers, jobs(1))
    assert.is(first.count(/^Delegating job job-\d+ to pid:\/\//), 10)
    for (const worker of workers) assert.is(worker.count(/^Doing job /), 5, 'round robin')

    first.child.stdin!.write('\n')
    assert.is(await first.exited, 0)
    const boss = await waitFor('a new boss', () => workers.find(w => w.count(/^I'm the boss!/) === 1), { timeoutMs: 10_000 })
    await boss.line(/^I've got 2 workers right now\.$/)
    await submit(ctx, jobs(11))
    await allDone(workers, jobs(11))
    assert.is(boss.count(/^Delegating job /), 10, 'the new boss delegates')
    assert.ok(boss.count(/^Doing job job-(1[1-9]|20)$/) > 0, 'and works')

    const last = workers.find(w => w !== boss)!
    const killedAt = Date.now()
    boss.child.kill('SIGKILL')
    await boss.exited
    await last.line(/^I'm the boss!/, 5 * SESSION_MS)
    assert.ok(Date.now() - killedAt < 5 * SESSION_MS)
    await last.line(/^I've got 1 workers right now\.$/)
    await submit(ctx, jobs(21))
    await allDone([last], jobs(21))

    last.child.kill('SIGTERM')
    assert.is(await last.exited, 0)
    assert.ok(last.lines.includes('No more work for me!'))
    assert.equal(await zk.getChildren(`${ctx.prefix}/nodes`), [], 'every node has left')
  } finally {
    await zk.close()
  }
})

test('a job with no boss running fails clearly', async ctx => {
  const requestor = start(ctx, 'requestor', ['lonely', 'job'])
  assert.is(await requestor.exited, 1)
  assert.ok(requestor.lines.includes('No boss is running.'))
})

test('a boss without workers says so and keeps the job until a worker comes; SIGINT stops it cleanly', async ctx => {
  const only = start(ctx, 'only')
  await only.line(/^I'm the boss!/)
  await submit(ctx, ['job-0'])
  await only.line(/^Where is my workforce\?! Job job-0 waits for a worker\.$/)
  const worker = start(ctx, 'worker')
  await worker.line(/^Doing job job-0$/, 10_000)
  await only.line(/^Finished job job-0$/)
  only.child.kill('SIGINT')
  assert.is(await only.exited, 0)
})

test('workers killed (kill -9) while jobs flow: every acknowledged job is finished exactly once', async ctx => {
  const pool = new ClusterPool({ zookeeper: ctx.zk.connectString, prefix: ctx.prefix, sessionTimeout: SESSION_MS })
  try {
    const boss = start(ctx, 'boss')
    await boss.line(/^I'm the boss!/)
    const workers = [start(ctx, 'w1'), start(ctx, 'w2'), start(ctx, 'w3')]
    for (const worker of workers) await worker.line(/^Worker waiting for task\.\.\.$/)
    const { cluster } = await pool.start()
    await waitFor('three workers', async () => {
      cluster.clearCache()
      return (await cluster.getCapable('worker')).length === 3
    })
    const bossPid = (await cluster.whereisGlobal('boss'))!
    const acknowledged: string[] = []
    const kills: Boss[] = []
    const requestor = cluster.node.spawn(async self => {
      for (let i = 0; i < JOBS; i++) {
        const job = `job-${i}`
        self.send(bossPid, { job, from: self.pid })
        if ((await self.receive(m => (m as { taken?: unknown }).taken === job, { timeout: 5000 })) !== undefined) acknowledged.push(job)
        if (i === Math.floor(JOBS / 3) || i === Math.floor((2 * JOBS) / 3)) {
          const victim = workers[kills.length]!
          victim.child.kill('SIGKILL')
          kills.push(victim)
          if (kills.length === 1) workers.push(start(ctx, 'w4'))
        }
        await new Promise(resolve => setTimeout(resolve, 10))
      }
    })
    await cluster.node.exited(requestor)
    assert.is(acknowledged.length, JOBS, 'the boss took every job')
    const finished = (job: string): number => boss.count(new RegExp(`^Finished job ${job}$`))
    await waitFor(`every job finished\n${boss.lines.join('\n')}`, () => acknowledged.every(job => finished(job) >= 1), { timeoutMs: 20_000 })
    const done = (job: string): number => workers.reduce((sum, w) => sum + w.count(new RegExp(`^Doing job ${job}$`)), 0)
    for (const job of acknowledged) {
      assert.is(finished(job), 1, `${job} finished exactly once`)
      assert.ok(done(job) >= 1, `${job} done`)
    }
    const twice = acknowledged.filter(job => done(job) > 1)
    assert.ok(twice.length <= kills.length, `done twice only when its worker died doing it: ${twice.join(', ')}`)
  } finally {
    await pool.stopAll()
  }
})

test.run()
