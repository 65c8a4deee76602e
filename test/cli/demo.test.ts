import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { requireZooKeeper } from '../support/zookeeper.js'
import { cli } from './run-cli.js'

const test = suite('zkcloud demo: the seed walkthrough as separate processes')

/** Checks what a newcomer reads: a boss, two workers, every job done once, a takeover, more jobs. */
function assertWalkthrough(text: string, jobs: number): void {
  const lines = text.split('\n')
  const bosses = lines.filter((l) => /│ I'm the boss!/.test(l))
  assert.is(bosses.length, 2, `the first boss and its successor:\n${text}`)
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

test('a bad option is a usage error', async () => {
  const run = await cli(['demo', '--jobs', 'many'])
  assert.is(run.code, 2)
  assert.match(run.stderr, /--jobs needs an integer/)
})

test.run()
