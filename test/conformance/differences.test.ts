import * as assert from 'uvu/assert'
import { type DevServer, startDevServer } from '../../lib/dev-server/index.js'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { OpCode } from '../../lib/zk-wire/operations.js'
import { fourLetterWord } from '../support/four-letter.js'
import { RawSession } from '../support/raw-session.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { startMatchingDevServer } from './dev-target.js'
import { DIFFERENCES } from './differences.js'

/** Each testable difference of `differences.ts`, shown on both servers: it is there, and it is only that. */
const test = await zkSuite<{ dev: DevServer }>('conformance: the differences the dev server has on purpose')

test.before(async (ctx) => {
  ctx.dev = await startMatchingDevServer()
})
test.after(async (ctx) => {
  await ctx.dev?.close()
})

const addressOf = (connectString: string): [string, number] => {
  const first = connectString.split(',')[0]!
  return [first.slice(0, first.lastIndexOf(':')), Number(first.slice(first.lastIndexOf(':') + 1))]
}

test(`childOrder: ${DIFFERENCES.childOrder}`, async ({ zk, dev }) => {
  const lists: string[][] = []
  for (const server of [zk.connectString, dev.connectString]) {
    const root = chroot('order')
    const client = await ZooKeeper.connect(server)
    try {
      await client.create(root)
      for (const name of ['b', 'a', 'zz', 'c10', 'c9']) await client.create(`${root}/${name}`)
      lists.push(await client.getChildren(root))
    } finally {
      await client.close()
    }
  }
  const [real, ours] = lists as [string[], string[]]
  assert.equal(ours, ['b', 'a', 'zz', 'c10', 'c9'], 'creation order')
  assert.equal([...real].sort(), [...ours].sort(), 'the same names')
})

test(`standaloneCheck: ${DIFFERENCES.standaloneCheck}`, async ({ zk, dev }) => {
  const answers: unknown[] = []
  for (const server of [zk.connectString, dev.connectString]) {
    const s = await RawSession.open(server.split(',')[0]!)
    try {
      s.send(1, OpCode.check, (w) => w.string('/').int(-1))
      answers.push(await s.next(1500).then((r) => r?.err, () => 'no reply'))
      answers.push((await s.call(2, OpCode.exists, (w) => w.string('/').bool(false)))[0]!.err)
    } finally {
      s.close()
    }
  }
  assert.equal(answers, ['no reply', 0, 0, 0], 'ZooKeeper never answers, the dev server says OK; both go on serving')
})

test(`createSessionRequest: ${DIFFERENCES.createSessionRequest}`, async ({ zk, dev }) => {
  const answers: unknown[] = []
  for (const server of [zk.connectString, dev.connectString]) {
    const s = await RawSession.open(server.split(',')[0]!)
    try {
      s.send(1, OpCode.createSession, (w) => w.int(30_000).long(0n).int(10_000).long(0n).buffer(Buffer.alloc(16)))
      const reply = await s.next(2000)
      answers.push(reply?.xid === 1 ? reply.err : 'a handshake frame', await s.next(500).then((r) => (r === null ? 'closed' : 'open'), () => 'open'))
    } finally {
      s.close()
    }
  }
  assert.equal(answers, ['a handshake frame', 'open', -6, 'closed'])
})

test(`fourLetterWords: ${DIFFERENCES.fourLetterWords}`, async ({ zk, dev }) => {
  const [host, port] = addressOf(zk.connectString)
  assert.match(await fourLetterWord(host, port, 'dirs'), /^datadir_size: \d+$/m, 'ZooKeeper (whitelist *) answers dirs')
  assert.is(await fourLetterWord('127.0.0.1', dev.port, 'dirs'), 'dirs is not executed because it is not in the whitelist.\n')
  assert.match(await fourLetterWord('127.0.0.1', dev.port, 'stat'), /^Clients:$/m, 'the dev server answers stat by default')
  const strict = await startDevServer({ port: 0, fourLetterWords: ['srvr'] })
  try {
    assert.match(await fourLetterWord('127.0.0.1', strict.port, 'srvr'), /^Mode: standalone$/m)
    assert.is(await fourLetterWord('127.0.0.1', strict.port, 'ruok'), 'ruok is not executed because it is not in the whitelist.\n', "ZooKeeper's default list: srvr only")
  } finally {
    await strict.close()
  }
})

test.run()
