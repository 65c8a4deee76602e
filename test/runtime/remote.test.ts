import { once } from 'node:events'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Kind } from '../../lib/runtime/codec.js'
import { isDown, isExit, Node, NodeId, ProcessId, type DownMessage } from '../../lib/runtime/index.js'
import { collector, newCookie, RawPeer, sleep, until, withNodes, within } from './support.js'

const secret = newCookie()
const test = suite('processes across nodes (one OS process)')

interface Request {
  readonly reply: ProcessId
  readonly body: unknown
}

function startEcho(node: Node): ProcessId {
  return node.spawn(async self => {
    for (;;) {
      const { reply, body } = await self.receive<Request>()
      self.send(reply, body)
    }
  })
}

test('a pid received in a message can be replied to, monitored and linked', () =>
  withNodes([{}, {}], async ({ node: a }, { node: b }) => {
    const out = collector(a)
    const watcherOut = collector(b)
    const watcher = b.spawn(async self => {
      const { pid } = await self.receive<{ pid: ProcessId }>()
      assert.instance(pid, ProcessId)
      self.monitor(pid)
      self.send(pid, { from: self.pid })
      const down = await self.receive(isDown)
      self.send(watcherOut.pid, { reason: down.reason, pid: down.pid.equals(pid) })
    })
    a.spawn(async self => {
      self.send(watcher, { pid: self.pid })
      const { from } = await self.receive<{ from: ProcessId }>()
      self.send(out.pid, { nodeOfReply: from.node.equals(b.id) })
    })
    assert.equal(await out.next(), { nodeOfReply: true })
    assert.equal(await watcherOut.next(), { reason: 'normal', pid: true })
  }))

test('selective receive across nodes leaves the other remote messages in order', () =>
  withNodes([{}, {}], async ({ node: a }, { node: b }) => {
    const out = collector(a)
    const picky = a.spawn(async self => {
      const ack = await self.receive(m => (m as { type?: string }).type === 'ack')
      self.send(out.pid, ack)
      for (let i = 0; i < 3; i++) self.send(out.pid, await self.receive())
    })
    b.spawn(self => {
      for (const message of ['one', 'two', { type: 'ack' }, 'three']) self.send(picky, message)
    })
    assert.equal(await out.next(), { type: 'ack' })
    assert.equal([await out.next(), await out.next(), await out.next()], ['one', 'two', 'three'])
  }))

test('nsendRemote reaches a registered process; an unknown name is dropped', () =>
  withNodes([{}, {}], async ({ node: a }, { node: b }) => {
    b.register('echo', startEcho(b))
    const out = collector(a)
    a.nsendRemote(b.id, 'echo', { reply: out.pid, body: 'first' })
    a.nsendRemote(b.id, 'nobody', { reply: out.pid, body: 'lost' })
    a.nsendRemote(b.id, 'echo', { reply: out.pid, body: 'second' })
    assert.equal([await out.next(), await out.next()], ['first', 'second'])
    a.nsendRemote(a.id, 'local-name', 'to nobody')
  }))

test('remote monitors hear a kill from another node and the reason of an error', () =>
  withNodes([{}, {}], async ({ node: a }, { node: b }) => {
    const victim = b.spawn(self => self.receive().then(() => undefined))
    const crasher = b.spawn(async self => {
      await self.receive()
      throw new RangeError('crashed remotely')
    })
    const killed = new Promise<DownMessage>(resolve => a.monitor(victim, resolve))
    const crashed = new Promise<DownMessage>(resolve => a.monitor(crasher, resolve))
    await sleep(20)
    a.kill(victim)
    a.send(crasher, 'go')
    assert.is((await within(killed, 2000, 'kill down')).reason, 'killed')
    const reason = (await within(crashed, 2000, 'crash down')).reason
    assert.instance(reason, Error)
    assert.is((reason as Error).name, 'RangeError')
    assert.is((reason as Error).message, 'crashed remotely')
  }))

test('monitoring or linking an unknown remote pid gives noproc', () =>
  withNodes([{}, {}], async ({ node: a }, { node: b }) => {
    const ghost = new ProcessId(b.id, 999)
    const down = await within(new Promise<DownMessage>(resolve => a.monitor(ghost, resolve)), 2000, 'noproc down')
    assert.is(down.reason, 'noproc')
    const linker = a.spawn(async self => {
      self.link(ghost)
      await self.receive()
    })
    assert.is(await within(a.exited(linker), 2000, 'linker exit'), 'noproc')
  }))

test('links work across nodes, both ways, and unlink stops them', () =>
  withNodes([{}, {}], async ({ node: a }, { node: b }) => {
    const remote = b.spawn(self => self.receive().then(() => undefined))
    const local = a.spawn(async self => {
      self.link(remote)
      await self.receive()
    })
    await sleep(20)
    const localExit = a.exited(local)
    b.kill(remote, 'crash')
    assert.is(await within(localExit, 2000, 'linked exit'), 'crash')

    const out = collector(b)
    const trapper = b.spawn(
      async self => {
        const exit = await self.receive(isExit)
        self.send(out.pid, { reason: exit.reason, node: exit.pid.node.equals(a.id) })
      },
      { trapExit: true },
    )
    const linker = a.spawn(async self => {
      self.link(trapper)
      await self.receive()
    })
    await sleep(20)
    a.kill(linker, 'bye')
    assert.equal(await out.next(), { reason: 'bye', node: true })

    const survivor = b.spawn(self => self.receive().then(() => undefined))
    const unlinker = a.spawn(async self => {
      self.link(survivor)
      await sleep(10)
      self.unlink(survivor)
      await self.receive()
    })
    await sleep(40)
    a.kill(unlinker, 'crash')
    await sleep(40)
    assert.ok(b.isAlive(survivor))
  }))

test('stopping a node: remote monitors hear shutdown, later sends are dropped', () =>
  withNodes([{}, {}], async ({ node: a }, { node: b }) => {
    const target = b.spawn(self => self.receive().then(() => undefined))
    const down = new Promise<DownMessage>(resolve => a.monitor(target, resolve))
    const nodedown = once(a, 'nodedown')
    await sleep(20)
    await b.stop()
    assert.is((await within(down, 2000, 'shutdown down')).reason, 'shutdown')
    await within(nodedown, 2000, 'nodedown')
    assert.is(a.send(target, 'to a stopped node'), true)
    const late = await within(new Promise<DownMessage>(resolve => a.monitor(target, resolve)), 3000, 'down after stop')
    assert.is(late.reason, 'disconnect')
  }))

test('a broken connection is a disconnect down for every monitored process there', () =>
  withNodes([{}], async ({ node }) => {
    const raw = await RawPeer.listen()
    try {
      const downs: DownMessage[] = []
      const out = collector(node)
      const linked = node.spawn(async self => {
        self.link(new ProcessId(raw.id, 3))
        await self.receive()
      })
      for (const id of [1, 2]) node.monitor(new ProcessId(raw.id, id), down => downs.push(down))
      node.spawn(async self => {
        self.monitor(new ProcessId(raw.id, 4))
        self.send(out.pid, (await self.receive(isDown)).reason)
      })
      const peer = await raw.next()
      await until(() => peer.frames.length >= 4, 2000, 'link and monitor frames')
      assert.equal(peer.frames.map(frame => (frame as unknown[])[0]).sort(), [Kind.MONITOR, Kind.MONITOR, Kind.MONITOR, Kind.LINK].sort())
      const nodedown = once(node, 'nodedown')
      const linkedExit = node.exited(linked)
      peer.destroy()
      assert.equal((await within(nodedown, 2000, 'nodedown')).map(String), [raw.id.toString(), 'disconnect'])
      assert.equal(downs.map(down => [down.pid.id, down.reason]).sort(), [[1, 'disconnect'], [2, 'disconnect']])
      assert.is(await out.next(), 'disconnect')
      assert.is(await within(linkedExit, 1000, 'linked exit'), 'disconnect')
    } finally {
      raw.server.close()
    }
  }))

test('the next send after a failure reconnects', () =>
  withNodes([{}], async ({ node }) => {
    const raw = await RawPeer.listen()
    try {
      const target = new ProcessId(raw.id, 5)
      node.send(target, 'first')
      const first = await raw.next()
      assert.equal(await first.nextFrame(), [Kind.SEND, 5, 'first'])
      const nodedown = once(node, 'nodedown')
      first.destroy()
      await within(nodedown, 2000, 'nodedown')
      node.send(target, 'second')
      const second = await raw.next()
      assert.equal(await second.nextFrame(), [Kind.SEND, 5, 'second'])
      second.destroy()
    } finally {
      raw.server.close()
    }
  }))

test('an unreachable node: disconnect downs, nodedown, and a logged reason', () =>
  withNodes([{}], async ({ node, errors }) => {
    const raw = await RawPeer.listen()
    raw.server.close()
    await once(raw.server, 'close')
    const down = await within(new Promise<DownMessage>(resolve => node.monitor(new ProcessId(raw.id, 1), resolve)), 3000, 'down')
    assert.is(down.reason, 'disconnect')
    assert.ok(errors.some(line => line.includes('ECONNREFUSED')), errors.join('\n'))
  }))

test('ordering under load: every sender’s messages arrive in order', () =>
  withNodes([{}, {}], async ({ node: a }, { node: b }) => {
    const SENDERS = 4
    const COUNT = 25_000
    const out = collector(b)
    const receiver = b.spawn(async self => {
      const next = new Array<number>(SENDERS).fill(0)
      for (let received = 0; received < SENDERS * COUNT; received++) {
        const { s, n } = await self.receive<{ s: number; n: number }>()
        if (n !== next[s]) {
          self.send(out.pid, `sender ${s}: expected ${next[s]}, got ${n}`)
          return
        }
        next[s] = n + 1
      }
      self.send(out.pid, 'in order')
    })
    for (let s = 0; s < SENDERS; s++) {
      a.spawn(async self => {
        for (let n = 0; n < COUNT; n++) {
          if (!self.send(receiver, { s, n, pad: 'x'.repeat(n % 64) })) await self.drain(receiver)
          if (n % 1000 === 0) await sleep(0)
        }
      })
    }
    assert.is(await out.next(30_000), 'in order')
  }))

test('simultaneous first sends in both directions share one connection', async () => {
  for (let round = 0; round < 10; round++) {
    await withNodes([{ cookie: secret }, { cookie: secret }], async ({ node: a, errors: aErrors }, { node: b, errors: bErrors }) => {
      const outA = collector(a)
      const outB = collector(b)
      const ups = { a: 0, b: 0 }
      a.on('nodeup', () => ups.a++)
      b.on('nodeup', () => ups.b++)
      await sleep(0)
      for (let i = 0; i < 100; i++) {
        a.send(outB.pid, i)
        b.send(outA.pid, i)
      }
      const fromA = await Promise.all(Array.from({ length: 100 }, () => outB.next()))
      const fromB = await Promise.all(Array.from({ length: 100 }, () => outA.next()))
      assert.equal(fromA, Array.from({ length: 100 }, (_, i) => i))
      assert.equal(fromB, Array.from({ length: 100 }, (_, i) => i))
      assert.equal(ups, { a: 1, b: 1 })
      assert.is(a.peers().length, 1)
      assert.is(b.peers().length, 1)
      assert.equal([aErrors, bErrors], [[], []])
    })
  }
})

test('a node restarted at the same address is a new incarnation: old pids reach nothing', async () => {
  const a = await Node.start({})
  let b = await Node.start({})
  try {
    const port = b.id.port
    const oldEcho = startEcho(b)
    const out = collector(a)
    a.send(oldEcho, { reply: out.pid, body: 'before' })
    assert.is(await out.next(), 'before')
    await b.stop()
    b = await Node.start({ port })
    const newEcho = startEcho(b)
    assert.is(newEcho.id, oldEcho.id)
    assert.not.ok(newEcho.node.equals(oldEcho.node))
    a.send(oldEcho, { reply: out.pid, body: 'to the old run' })
    const down = await within(new Promise<DownMessage>(resolve => a.monitor(oldEcho, resolve)), 3000, 'down of the old pid')
    assert.is(down.reason, 'noproc')
    a.send(newEcho, { reply: out.pid, body: 'after' })
    assert.is(await out.next(), 'after')
    assert.is(out.messages.length, 0)
    const local = new ProcessId(new NodeId(a.id.host, a.id.port, a.id.incarnation === 1 ? 2 : 1), 1)
    assert.is((await within(new Promise<DownMessage>(resolve => a.monitor(local, resolve)), 1000, 'stale local')).reason, 'noproc')
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
})

test.run()
