import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import type { GlobalFunction, Leadership, StepDownReason } from '../../lib/cluster/index.js'
import { createCandidate } from '../../lib/cluster/election.js'
import { makeLog } from '../../lib/cluster/log.js'
import { sortCandidates } from '../../lib/cluster/paths.js'
import { Code, OPEN_ACL_UNSAFE, ZkError, ZooKeeper } from '../../lib/zk-wire/index.js'
import { ProcessId } from '../../lib/runtime/index.js'
import { fourLetterWord } from '../support/four-letter.js'
import { TcpProxy } from '../support/proxy.js'
import { sleep, waitFor } from '../support/wait.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { ClusterPool, collector, count, type Collector, type TestCluster, onEnsemble } from './support.js'

interface Ctx {
  connectString: string
  pool: ClusterPool
  prefix: string
}

/** A global function that reports its start to `got` and then waits for any message. */
function reporting(got: Collector): GlobalFunction {
  return async (self, leadership) => {
    self.send(got.pid, { pid: self.pid.key, token: leadership.token })
    await self.receive()
  }
}

/** Which sessions hold a watch on each path, from every server's `wchp`. */
async function watchesByPath(connectString: string): Promise<Map<string, Set<bigint>>> {
  const byPath = new Map<string, Set<bigint>>()
  for (const address of connectString.split('/')[0]!.split(',')) {
    const [host, port] = address.split(':')
    let path = ''
    for (const line of (await fourLetterWord(host!, Number(port), 'wchp')).split('\n')) {
      if (line.startsWith('/')) path = line.trim()
      else if (line.trim().startsWith('0x')) {
        let sessions = byPath.get(path)
        if (sessions === undefined) byPath.set(path, (sessions = new Set()))
        sessions.add(BigInt(line.trim()))
      }
    }
  }
  return byPath
}

function electionCases(test: Test<Ctx>): void {
  test.before.each(ctx => {
    ctx.prefix = chroot(ctx.__test__)
    ctx.pool = new ClusterPool({ zookeeper: ctx.connectString, prefix: ctx.prefix })
  })
  test.after.each(async ctx => {
    await ctx.pool.stopAll()
  })

  /** Starts `n` candidates for `name`, in order, each reporting to a collector on an observer node. */
  async function standInOrder(pool: ClusterPool, name: string, n: number): Promise<{ got: Collector; candidates: TestCluster[]; observer: TestCluster }> {
    const observer = await pool.start()
    const got = collector(observer.cluster.node)
    const candidates = await pool.startMany(n)
    for (const candidate of candidates) await candidate.cluster.registerCandidate(name, reporting(got))
    return { got, candidates, observer }
  }

  test('candidates are elected in the order they stood; tokens increase with every holder', async ({ pool }) => {
    const { got, candidates } = await standInOrder(pool, 'order', 4)
    const tokens: number[] = []
    for (const candidate of candidates) {
      const started = (await got.next()) as { pid: string; token: number }
      const leadership = candidate.cluster.leadership('order')
      assert.ok(leadership, `${candidate.cluster.id} leads`)
      assert.is(started.pid, leadership.pid.key)
      assert.is(started.token, leadership.token)
      tokens.push(leadership.token)
      candidate.cluster.node.send(leadership.pid, 'done')
    }
    assert.equal([...tokens].sort((a, b) => a - b), tokens)
    assert.is(new Set(tokens).size, 4)
    await sleep(200)
    assert.is(got.received.length, 4)
  })

  test('every candidate is told the same holder, and whereisGlobal agrees', async ({ pool }) => {
    const observer = await pool.start()
    const candidates = await pool.startMany(3)
    const answers: ProcessId[] = []
    for (const { cluster } of candidates) answers.push(await cluster.registerCandidate('same', async self => void (await self.receive())))
    const holder = candidates[0]!.cluster.leadership('same')!.pid
    for (const answer of answers) assert.ok(answer.equals(holder))
    assert.ok((await observer.cluster.whereisGlobal('same'))?.equals(holder))
  })

  test('each candidate watches only its predecessor (and its own znode): one event per handover', async ({ pool, connectString, prefix }) => {
    const { got, candidates } = await standInOrder(pool, 'herd', 5)
    await got.next()
    const dir = `${prefix}/global/herd`
    const sessions = candidates.map(c => c.cluster.zk.sessionId)
    const children = sortCandidates(await candidates[0]!.cluster.zk.getChildren(dir)).map(c => c.child)
    assert.is(children.length, 5)
    const watches = await watchesByPath(connectString)
    assert.not.ok(watches.has(dir), 'nobody watches the directory')
    for (let i = 0; i < 5; i++) {
      const watchers = [...(watches.get(`${dir}/${children[i]}`) ?? [])]
      const expected = [sessions[i]!, ...(i + 1 < 5 ? [sessions[i + 1]!] : [])]
      assert.equal(watchers.sort(), expected.sort(), `watchers of candidate ${i}`)
    }
    const heard = (): number => candidates.reduce((sum, c) => sum + count(c.traces, /heard NodeDeleted/), 0)
    candidates[0]!.cluster.node.send(candidates[0]!.cluster.leadership('herd')!.pid, 'done')
    await got.next()
    await sleep(200)
    assert.is(heard(), 1, 'only the successor heard of it')
    assert.is(count(candidates[1]!.traces, /heard NodeDeleted/), 1)
  })

  test('a candidate that dies in the middle of the queue: its successor moves up, nobody else is elected', async ({ pool }) => {
    const { got, candidates } = await standInOrder(pool, 'middle', 4)
    const [leader, second, third, fourth] = candidates as [TestCluster, TestCluster, TestCluster, TestCluster]
    await got.next()
    const secondChild = standing(second)
    await third.cluster.stop()
    await waitFor('the fourth to watch the second', () => fourth.traces.some(line => line.endsWith(`watches ${secondChild}`)))
    await sleep(200)
    assert.is(got.received.length, 1, 'no election')
    assert.ok(leader.cluster.leadership('middle'))
    leader.cluster.node.send(leader.cluster.leadership('middle')!.pid, 'done')
    assert.is(((await got.next()) as { pid: string }).pid, second.cluster.leadership('middle')?.pid.key)
    second.cluster.node.send(second.cluster.leadership('middle')!.pid, 'done')
    assert.is(((await got.next()) as { pid: string }).pid, fourth.cluster.leadership('middle')?.pid.key)
  })

  test('a global process that throws hands over like one that returns; stepDown says why', async ({ pool }) => {
    const observer = await pool.start()
    const got = collector(observer.cluster.node)
    const candidates = await pool.startMany(2)
    const reasons: StepDownReason[] = []
    candidates[0]!.cluster.on('stepDown', (_, reason) => reasons.push(reason))
    await candidates[0]!.cluster.registerCandidate('throws', async self => {
      self.send(got.pid, 'first')
      await self.receive()
      throw new Error('boom')
    })
    await candidates[1]!.cluster.registerCandidate('throws', async self => {
      self.send(got.pid, 'second')
      await self.receive()
    })
    assert.is(await got.next(), 'first')
    candidates[0]!.cluster.node.send(candidates[0]!.cluster.leadership('throws')!.pid, 'go')
    assert.is(await got.next(), 'second')
    assert.equal(reasons, ['exit'])
  })

  test("stopping the leader's cluster hands over at once; stepDown fires before the session closes", async ({ pool }) => {
    const { got, candidates } = await standInOrder(pool, 'stop', 2)
    await got.next()
    const events: string[] = []
    candidates[0]!.cluster.on('stepDown', (leadership, reason) => events.push(`${leadership.name} ${reason} ${candidates[0]!.cluster.zk.state}`))
    await candidates[0]!.cluster.stop()
    assert.equal(events, ['stop stop connected'])
    assert.is(((await got.next(3000)) as { pid: string }).pid, candidates[1]!.cluster.leadership('stop')?.pid.key)
  })

  test('replacing the function of a waiting candidate: the new one runs when it is elected', async ({ pool }) => {
    const { got, candidates } = await standInOrder(pool, 'replace', 2)
    await got.next()
    await candidates[1]!.cluster.registerCandidate('replace', async self => {
      self.send(got.pid, 'replaced')
      await self.receive()
    })
    candidates[0]!.cluster.node.send(candidates[0]!.cluster.leadership('replace')!.pid, 'done')
    assert.is(await got.next(), 'replaced')
  })

  test('messages sent to a waiting candidate wait in its mailbox until its function runs', async ({ pool, prefix }) => {
    const { got, candidates } = await standInOrder(pool, 'queued', 1)
    await got.next()
    const next = (await pool.startMany(1))[0]!
    await next.cluster.registerCandidate('queued', async self => void self.send(got.pid, await self.receive()))
    const { data } = await next.cluster.zk.getData(`${prefix}/global/queued/${standing(next)}`)
    next.cluster.node.send(ProcessId.decode(data), 'sent early')
    const leader = candidates[0]!.cluster
    leader.node.send(leader.leadership('queued')!.pid, 'done')
    assert.is(await got.next(), 'sent early')
  })

  test('whereisGlobal: cached, evicted when the holder goes, and when the first candidate comes', async ({ pool }) => {
    const [asker, first, second] = await pool.startMany(3)
    assert.is(await asker!.cluster.whereisGlobal('cached'), null)
    const holder = await first!.cluster.registerCandidate('cached', async self => void (await self.receive()))
    const announced = first!.cluster.leadership('cached')!.path
    await waitFor('the holder to announce itself', async () => (await first!.cluster.zk.exists(announced))?.version === 1)
    await waitFor('the first candidate', async () => (await asker!.cluster.whereisGlobal('cached'))?.equals(holder))
    await second!.cluster.registerCandidate('cached', async self => void (await self.receive()))
    for (let i = 0; i < 10; i++) assert.ok((await asker!.cluster.whereisGlobal('cached'))?.equals(holder))
    assert.is(count(asker!.traces, /^cache miss: global cached$/), 2, 'a later candidate does not evict the holder')
    first!.cluster.node.send(holder, 'done')
    const next = await waitFor('the next holder', async () => {
      const pid = await asker!.cluster.whereisGlobal('cached')
      return pid !== null && !pid.equals(holder) && pid
    })
    assert.ok(next.node.equals(second!.cluster.id))
  })

  test('the successor of the holder takes over without reading the candidates again', async ({ pool }) => {
    const { got, candidates } = await standInOrder(pool, 'direct', 3)
    await got.next()
    const [leader, second, third] = candidates as [TestCluster, TestCluster, TestCluster]
    leader.cluster.node.send(leader.cluster.leadership('direct')!.pid, 'done')
    await got.next()
    assert.is(count(second.traces, /the holder before .* is gone/), 1)
    // The third was two places back when it last read; the new holder's announcement told it it is next.
    await waitFor('the announcement', () => count(third.traces, /heard NodeDataChanged/) === 1)
    await waitFor('the third to read again', () => count(third.traces, /watches /) === 2)
    await third.cluster.zk.delete(`${second.cluster.leadership('direct')!.path}`)
    await got.next()
    assert.is(count(third.traces, /the holder before .* is gone/), 1)
    assert.ok(third.cluster.leadership('direct'))
  })

  test("a waiting candidate's znode deleted by someone else: it notices and stands again", async ({ pool, prefix }) => {
    const { got, candidates } = await standInOrder(pool, 'rejoin', 2)
    await got.next()
    const waiting = candidates[1]!
    const child = standing(waiting)
    await candidates[0]!.cluster.zk.delete(`${prefix}/global/rejoin/${child}`)
    await waitFor('it to stand again', () => count(waiting.traces, /standing as /) === 2)
    assert.is((await waiting.cluster.zk.getChildren(`${prefix}/global/rejoin`)).length, 2)
    candidates[0]!.cluster.node.send(candidates[0]!.cluster.leadership('rejoin')!.pid, 'done')
    assert.is(((await got.next()) as { pid: string }).pid, waiting.cluster.leadership('rejoin')?.pid.key)
  })

  test('a candidate znode deleted by someone else: the leader steps down and stands again', async ({ pool }) => {
    const { got, candidates } = await standInOrder(pool, 'deleted', 2)
    await got.next()
    const leader = candidates[0]!.cluster
    const reasons: StepDownReason[] = []
    leader.on('stepDown', (_, reason) => reasons.push(reason))
    await candidates[1]!.cluster.zk.delete(leader.leadership('deleted')!.path)
    assert.is(((await got.next()) as { pid: string }).pid, candidates[1]!.cluster.leadership('deleted')?.pid.key)
    await waitFor('the step-down', () => reasons.length === 1)
    assert.equal(reasons, ['deleted'])
    await waitFor('the old leader to stand again', () => count(candidates[0]!.traces, /standing as /) === 2)
    candidates[1]!.cluster.node.send(candidates[1]!.cluster.leadership('deleted')!.pid, 'done')
    assert.is(((await got.next()) as { pid: string }).pid, leader.leadership('deleted')?.pid.key)
  })
}

/** The candidate child name a cluster stood with, from its trace. */
function standing(candidate: TestCluster): string {
  const line = [...candidate.traces].reverse().find(l => /standing as /.test(l))
  return line?.split('standing as ')[1] ?? ''
}

const single = await zkSuite<Ctx>('elections on a single server')
single.before(ctx => {
  ctx.connectString = ctx.zk.connectString
})
electionCases(single as unknown as Test<Ctx>)

/** `zk`, except that its first `create2` fails with CONNECTIONLOSS: after being applied, or without reaching the server. */
function losingFirstCreate(zk: ZooKeeper, applied: boolean): { client: ZooKeeper; creates: () => number } {
  let creates = 0
  const client = new Proxy(zk, {
    get(target, prop) {
      if (prop === 'create2') {
        return async (...args: Parameters<ZooKeeper['create2']>) => {
          if (creates++ > 0) return target.create2(...args)
          if (applied) await target.create2(...args)
          throw new ZkError(Code.CONNECTIONLOSS, { op: 'create2' })
        }
      }
      const value = Reflect.get(target, prop, target) as unknown
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    },
  })
  return { client, creates: () => creates }
}

single('a create whose reply was lost is found again, never made twice', async ({ connectString }) => {
  const root = chroot('lost reply')
  const zk = await ZooKeeper.connect(connectString)
  const log = makeLog({ logError: () => undefined })
  try {
    await zk.create(root)
    await zk.create(`${root}/g`)
    const lostReply = losingFirstCreate(zk, true)
    const made = await createCandidate(lostReply.client, `${root}/g`, Buffer.from('pid'), OPEN_ACL_UNSAFE, log)
    assert.is(lostReply.creates(), 1, 'the create was not sent again')
    assert.equal(await zk.getChildren(`${root}/g`), [made.child])
    assert.is(made.sessionId, zk.sessionId)
    const lostRequest = losingFirstCreate(zk, false)
    const second = await createCandidate(lostRequest.client, `${root}/g`, Buffer.from('pid'), OPEN_ACL_UNSAFE, log)
    assert.is(lostRequest.creates(), 2, 'a create that never arrived is sent again')
    assert.is((await zk.getChildren(`${root}/g`)).length, 2)
    assert.ok(second.seq > made.seq)
  } finally {
    await zk.close()
  }
})
single('leadership.valid() and its signal: true while held; once stepped down, false, the signal aborted with why, and the guarded self.send drops', async ({ connectString }) => {
  const pool = new ClusterPool({ zookeeper: connectString, prefix: chroot('valid') })
  try {
    const [leader, other] = await pool.startMany(2)
    const got = collector(other!.cluster.node)
    let seen: { leadership: Leadership; send: (message: unknown) => boolean } | null = null
    await leader!.cluster.registerCandidate('g', async (self, leadership) => {
      seen = { leadership, send: message => self.send(got.pid, message) }
      await self.receive()
    })
    const { leadership, send } = await waitFor('the function to run', () => seen ?? undefined)
    assert.ok(leadership.valid())
    assert.not.ok(leadership.signal.aborted)
    assert.ok(send('while held'))
    assert.is(await got.next(), 'while held')
    await other!.cluster.zk.delete(leadership.path)
    await waitFor('the step-down', () => leadership.signal.aborted)
    assert.not.ok(leadership.valid())
    const reason = leadership.signal.reason as Error & { reason: string }
    assert.is(reason.name, 'LeadershipLostError')
    assert.is(reason.reason, 'deleted')
    assert.not.ok(send('after'), 'dropped')
    await sleep(100)
    assert.equal(got.received, ['while held'])
  } finally {
    await pool.stopAll()
  }
})

single('a leader whose watch on its own znode could not be set again (connection lost) still notices when someone deletes it', async ({ connectString }) => {
  const [host, port] = connectString.split(',')[0]!.split(':')
  const proxy = await TcpProxy.start(host!, Number(port))
  const prefix = chroot('own watch')
  const pool = new ClusterPool({ zookeeper: connectString, prefix })
  const observer = await ZooKeeper.connect(connectString)
  try {
    const { cluster } = await pool.start({ zookeeper: proxy.address })
    const reasons: StepDownReason[] = []
    cluster.on('stepDown', (_, reason) => reasons.push(reason))
    await cluster.registerCandidate('g', async self => void (await self.receive()))
    const path = (await waitFor('the leadership', () => cluster.leadership('g') ?? undefined)).path
    await waitFor('the holder to announce itself', async () => (await observer.exists(path))!.version === 1)
    await sleep(200)
    // When the next change of the znode reaches the leader, hold every byte: the leader's new watch request never arrives.
    let heard = false
    await cluster.zk.getData(path, {
      watch: () => {
        proxy.stall()
        heard = true
      },
    })
    await observer.setData(path, Buffer.from('changed'))
    await waitFor('the change to reach the leader', () => heard)
    proxy.cut()
    proxy.resume()
    await waitFor('the leader to reconnect', () => cluster.zk.state === 'connected')
    assert.ok(cluster.leadership('g'), 'a lost connection costs no leadership')
    await observer.delete(path)
    await waitFor('the leader to step down', () => reasons.length > 0, { timeoutMs: 5000 })
    assert.equal(reasons, ['deleted'])
  } finally {
    await observer.close()
    await pool.stopAll()
    await proxy.close()
  }
})

single("a change to the holder's znode that is not its deletion (someone's setData) does not make its successor lead", async ({ connectString }) => {
  const pool = new ClusterPool({ zookeeper: connectString, prefix: chroot('not deleted') })
  try {
    const [holder, successor] = await pool.startMany(2)
    await holder!.cluster.registerCandidate('g', async self => void (await self.receive()))
    await successor!.cluster.registerCandidate('g', async self => void (await self.receive()))
    const path = holder!.cluster.leadership('g')!.path
    await waitFor('the holder to announce itself', async () => (await successor!.cluster.zk.exists(path))!.version === 1)
    await sleep(200)
    const heard = count(successor!.traces, /heard NodeDataChanged/)
    await successor!.cluster.zk.setData(path, Buffer.from('not a deletion'))
    await waitFor('the successor to hear it', () => count(successor!.traces, /heard NodeDataChanged/) === heard + 1)
    await sleep(300)
    assert.is(successor!.cluster.leadership('g'), null, 'one leader')
    assert.ok(holder!.cluster.leadership('g'))
  } finally {
    await pool.stopAll()
  }
})

single.run()

onEnsemble<Ctx>('elections on a 3-server ensemble', electionCases)
