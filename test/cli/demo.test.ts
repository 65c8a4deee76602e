import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { requireZooKeeper } from '../support/zookeeper.js'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { waitFor } from '../support/wait.js'
import { cli, startCli } from './run-cli.js'

const test = suite('zkcloud demo: the seed walkthrough as separate processes')

/** Checks what a newcomer reads: a boss, two workers, every job done once, a takeover, more jobs, a clean-up. */
function assertWalkthrough(text: string, jobs: number): void {
  const all = text.split('\n')
  // The story up to the demo's summary; what the clean-up prints after it is not part of it.
  const lines = all.slice(0, all.findIndex((l) => /│ done: /.test(l)) + 1)
  const bosses = lines.filter((l) => /│ I'm the boss!/.test(l))
  assert.is(bosses.length, 2, `the first boss and its successor:\n${text}`)
  const stopping = lines.findIndex((l) => /stopping the boss/.test(l))
  assert.ok(lines.indexOf(bosses[0]!) < stopping && lines.indexOf(bosses[1]!) > stopping, `one boss before the stop, the next after it:\n${text}`)
  assert.is(lines.filter((l) => /│ Worker waiting for task/.test(l)).length, 2)
  for (let i = 1; i <= 2 * jobs; i++) {
    const done = lines.filter((l) => new RegExp(`│ Doing job job-${i}$`).test(l))
    assert.is(done.length, 1, `job-${i} done exactly once:\n${text}`)
  }
  const takeover = /took over (\d+) ms after the boss was stopped/.exec(text)
  assert.ok(takeover, text)
  const [firstBoss, secondBoss] = bosses.map((l) => /(node-\d)/.exec(l)![1])
  assert.is.not(firstBoss, secondBoss)
  assert.ok(lines.some((l) => l.includes(`${secondBoss}`) && /│ Doing job /.test(l)), 'the new boss also works, as in the seed')
  assert.match(text, new RegExp(`done: ${2 * jobs} jobs delegated, ${2 * jobs} done`))
  assert.match(text, /cleaned up\n?$/)
}

test('on the embedded dev server, with nothing else running', async () => {
  const run = await cli(['demo', '--jobs', '3'])
  assert.is(run.code, 0, run.text + run.stderr)
  assertWalkthrough(run.text, 3)
})

test('against a real ZooKeeper with --zookeeper, leaving nothing behind', async () => {
  const server = await requireZooKeeper()
  if (!server) return
  const run = await cli(['demo', '--jobs', '2', '--zookeeper', server.connectString])
  assert.is(run.code, 0, run.text + run.stderr)
  assertWalkthrough(run.text, 2)
  const prefix = /cluster prefix (\/zkcloud-demo-[0-9a-f]+)/.exec(run.text)![1]!
  const zk = await ZooKeeper.connect(server.connectString)
  try {
    assert.is(await zk.exists(prefix), null, 'the demo removed its cluster prefix')
  } finally {
    await zk.close()
  }
})

/** Pids of the demo's persistent boss.js processes (no job argument), the first started first. */
function persistentActors(demoPid: number): number[] {
  const ps = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(demoPid)], { encoding: 'utf8' })
  const started = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19])
  return ps
    .split('\n')
    .map((l) => /^\s*(\d+)\s+\S+\s+\S*boss\.js\s*$/.exec(l))
    .filter((m) => m !== null)
    .map((m) => Number(m![1]))
    .sort((a, b) => started(a) - started(b))
}

test('a step that fails (interrupted while the jobs are pending) ends the demo: it cleans up and exits', async () => {
  const demo = startCli(['demo', '--jobs', '1'])
  let stopped: number[] = []
  try {
    await demo.line(/sending 1 jobs/, 30_000)
    // Stall the workers (node-1, started first, is the boss): the job is delegated but never done, so the demo waits for it.
    stopped = persistentActors(demo.child.pid!).slice(1)
    assert.is(stopped.length, 2)
    for (const pid of stopped) process.kill(pid, 'SIGSTOP')
    await demo.line(/│ Delegating job job-1 /, 30_000)
    // The requestor has exited: the demo now waits for the job to be done.
    await waitFor('the requestor to exit', () => !execFileSync('ps', ['-o', 'args=', '--ppid', String(demo.child.pid)], { encoding: 'utf8' }).includes('job-1'))
    demo.child.kill('SIGINT')
    await demo.line(/demo failed: interrupted/)
    for (const pid of stopped.splice(0)) process.kill(pid, 'SIGCONT')
    const exited = await Promise.race([demo.exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000).unref())])
    assert.ok(exited !== null, `the demo is still running 15 s after its step failed:\n${demo.output()}`)
    assert.is(exited.code, 130, exited.text + exited.stderr)
    assert.match(exited.text, /cleaned up\n$/)
  } finally {
    for (const pid of stopped) process.kill(pid, 'SIGCONT')
    demo.child.kill('SIGKILL')
  }
})

test('a bad option is a usage error', async () => {
  const run = await cli(['demo', '--jobs', 'many'])
  assert.is(run.code, 2)
  assert.match(run.stderr, /--jobs needs an integer/)
})

test.run()
