import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { isDown, isExit, Node, NodeId, ProcessExitError, ProcessId, type DownMessage, type ExitMessage, type ExitReason } from '../../lib/runtime/index.js'
import { collector, sleep, until, withNodes, within } from './support.js'

const test = suite('processes on one node')

test('a process receives its messages in order and ends normally', () =>
  withNodes([{}], async ({ node }) => {
    const seen: unknown[] = []
    const pid = node.spawn(async self => {
      for (let i = 0; i < 3; i++) seen.push(await self.receive())
    })
    const exited = node.exited(pid)
    for (const message of ['a', { b: 1 }, null]) node.send(pid, message)
    assert.is(await within(exited, 2000, 'exit'), 'normal')
    assert.equal(seen, ['a', { b: 1 }, null])
    assert.not.ok(node.isAlive(pid))
  }))

test('selective receive takes the first match and leaves the rest in order', () =>
  withNodes([{}], async ({ node }) => {
    const out = collector(node)
    const pid = node.spawn(async self => {
      const ack = await self.receive((m): m is { type: 'ack' } => (m as { type?: string }).type === 'ack')
      self.send(out.pid, ack)
      for (let i = 0; i < 3; i++) self.send(out.pid, await self.receive())
    })
    for (const message of [{ type: 'job', n: 1 }, { type: 'job', n: 2 }, { type: 'ack' }, { type: 'job', n: 3 }]) node.send(pid, message)
    assert.equal(await out.next(), { type: 'ack' })
    assert.equal([await out.next(), await out.next(), await out.next()], [1, 2, 3].map(n => ({ type: 'job', n })))
  }))

test('a waiting selective receive skips non-matching arrivals', () =>
  withNodes([{}], async ({ node }) => {
    const out = collector(node)
    const pid = node.spawn(async self => {
      self.send(out.pid, await self.receive(m => m === 'wanted'))
      self.send(out.pid, await self.receive())
    })
    await sleep(10)
    node.send(pid, 'early')
    node.send(pid, 'wanted')
    assert.equal([await out.next(), await out.next()], ['wanted', 'early'])
  }))

test('receive with a timeout resolves to undefined; 0 only looks at the mailbox', () =>
  withNodes([{}], async ({ node }) => {
    const out = collector(node)
    node.spawn(async self => {
      self.send(out.pid, { first: await self.receive({ timeout: 30 }) ?? 'timeout' })
      self.send(out.pid, { second: await self.receive(() => true, { timeout: 0 }) ?? 'empty' })
      self.send(self.pid, 'mine')
      self.send(out.pid, { third: await self.receive({ timeout: 0 }) })
    })
    assert.equal(await out.next(), { first: 'timeout' })
    assert.equal(await out.next(), { second: 'empty' })
    assert.equal(await out.next(), { third: 'mine' })
  }))

test('a thrown error is the exit reason; so is a thrown string', () =>
  withNodes([{}], async ({ node }) => {
    const failing = node.spawn(async () => {
      throw new TypeError('bad input')
    })
    const reason = await node.exited(failing)
    assert.instance(reason, TypeError)
    assert.is((reason as Error).message, 'bad input')
    assert.is(await node.exited(node.spawn(() => {
      throw 'just a string'
    })), 'just a string')
  }))

test('kill ends a process: receive rejects, the signal aborts, monitors hear the reason', () =>
  withNodes([{}], async ({ node }) => {
    let caught: unknown
    let aborted: unknown
    const pid = node.spawn(async self => {
      self.signal.addEventListener('abort', () => (aborted = self.signal.reason))
      try {
        await self.receive()
      } catch (error) {
        caught = error
      }
    })
    await sleep(5)
    const exited = node.exited(pid)
    node.kill(pid)
    assert.is(await exited, 'killed')
    await until(() => caught !== undefined, 1000, 'receive rejected')
    assert.instance(caught, ProcessExitError)
    assert.is((caught as ProcessExitError).reason, 'killed')
    assert.is(aborted, 'killed')
    const other = node.spawn(self => self.receive().then(() => undefined))
    const otherExit = node.exited(other)
    node.kill(other, 'replaced')
    assert.is(await otherExit, 'replaced')
  }))

test('monitoring a dead or unknown pid gives an immediate noproc down', () =>
  withNodes([{}], async ({ node }) => {
    const dead = node.spawn(() => undefined)
    await node.exited(dead)
    const out = collector(node)
    const watcher = node.spawn(async self => {
      const ref = self.monitor(dead)
      const down = await self.receive(isDown)
      self.send(out.pid, { same: down.ref === ref, reason: down.reason, pid: down.pid.equals(dead) })
    })
    assert.equal(await out.next(), { same: true, reason: 'noproc', pid: true })
    const viaCallback = await within(new Promise<DownMessage>(resolve => node.monitor(watcher, resolve)), 1000, 'down')
    assert.is(viaCallback.reason, 'noproc')
  }))

test('demonitor stops the monitor and flushes a down already delivered', () =>
  withNodes([{}], async ({ node }) => {
    const out = collector(node)
    const target = node.spawn(self => self.receive().then(() => undefined))
    node.spawn(async self => {
      const ref = self.monitor(target)
      self.send(target, 'go')
      await sleep(20)
      self.demonitor(ref)
      self.send(out.pid, { downs: (await self.receive(isDown, { timeout: 20 })) === undefined ? 0 : 1 })
    })
    assert.equal(await out.next(), { downs: 0 })
    let fired = false
    const ref = node.monitor(node.spawn(self => self.receive().then(() => undefined)), () => (fired = true))
    node.demonitor(ref)
    await sleep(10)
    assert.not.ok(fired)
  }))

test('an abnormal exit kills linked processes, a normal one does not', () =>
  withNodes([{}], async ({ node }) => {
    const waitForever = (self: { receive(): Promise<unknown> }) => self.receive().then(() => undefined)
    const a = node.spawn(waitForever)
    const b = node.spawn(async self => {
      self.link(a)
      await self.receive()
    })
    await sleep(5)
    const bExit = node.exited(b)
    node.kill(a, 'crash')
    assert.is(await within(bExit, 1000, 'linked exit'), 'crash')

    const c = node.spawn(async self => {
      await self.receive()
    })
    const d = node.spawn(async self => {
      self.link(c)
      await self.receive()
    })
    await sleep(5)
    node.send(c, 'finish')
    assert.is(await node.exited(c), 'normal')
    await sleep(10)
    assert.ok(node.isAlive(d))
  }))

test('trapExit turns exit signals into messages, for normal exits too', () =>
  withNodes([{}], async ({ node }) => {
    const out = collector(node)
    const child = node.spawn(self => self.receive().then(() => undefined))
    node.spawn(
      async self => {
        self.link(child)
        for (;;) {
          const exit = await self.receive(isExit)
          self.send(out.pid, { pid: exit.pid.equals(child), reason: exit.reason })
        }
      },
      { trapExit: true },
    )
    await sleep(5)
    node.kill(child, 'crash')
    assert.equal(await out.next(), { pid: true, reason: 'crash' })

    node.spawn(async self => {
      self.trapExit = true
      const worker = self.spawn(() => undefined, { link: true })
      const exit = await self.receive<ExitMessage>(isExit)
      self.send(out.pid, { spawnLinked: exit.pid.equals(worker), reason: exit.reason })
    })
    assert.equal(await out.next(), { spawnLinked: true, reason: 'normal' })
  }))

test('linking to a dead pid is a noproc exit signal', () =>
  withNodes([{}], async ({ node }) => {
    const dead = node.spawn(() => undefined)
    await node.exited(dead)
    const linker = node.spawn(async self => {
      self.link(dead)
      await self.receive()
    })
    assert.is(await within(node.exited(linker), 1000, 'linker exit'), 'noproc')
  }))

test('unlink stops exit propagation', () =>
  withNodes([{}], async ({ node }) => {
    const a = node.spawn(self => self.receive().then(() => undefined))
    const b = node.spawn(async self => {
      self.link(a)
      self.unlink(a)
      await self.receive()
    })
    await sleep(5)
    node.kill(a, 'crash')
    await sleep(10)
    assert.ok(node.isAlive(b))
  }))

test('the registry names live local processes and emits events', () =>
  withNodes([{}], async ({ node }) => {
    const events: string[] = []
    node.on('register', (name, pid) => events.push(`+${name}:${pid.id}`))
    node.on('unregister', (name, pid) => events.push(`-${name}:${pid.id}`))
    const out = collector(node)
    const worker = node.spawn(async self => {
      for (;;) self.send(out.pid, await self.receive())
    })
    node.register('worker', worker)
    node.register('alias', worker)
    assert.ok(node.whereis('worker')?.equals(worker))
    assert.equal(node.registered().sort(), ['alias', 'worker'])
    node.nsend('worker', 'by name')
    node.nsend('nobody', 'dropped')
    assert.is(await out.next(), 'by name')
    assert.throws(() => node.register('worker', out.pid), /already registered/)
    assert.ok(node.unregister('alias'))
    assert.not.ok(node.unregister('alias'))
    node.kill(worker)
    assert.is(node.whereis('worker'), null)
    assert.throws(() => node.register('late', worker), /not a live process/)
    assert.equal(events, [`+worker:${worker.id}`, `+alias:${worker.id}`, `-alias:${worker.id}`, `-worker:${worker.id}`])
  }))

test('a process knows its pid and node and can spawn', () =>
  withNodes([{}], async ({ node }) => {
    const out = collector(node)
    const parent = node.spawn(async self => {
      const child = self.spawn(async inner => {
        self.send(out.pid, { sameNode: inner.node === node, childPid: inner.pid.equals(child) })
      })
      self.send(out.pid, { parent: self.pid.id, node: self.node.id.equals(node.id) })
      await self.receive()
    })
    assert.equal(await out.next(), { parent: parent.id, node: true })
    assert.equal(await out.next(), { sameNode: true, childPid: true })
  }))

test('misuse is refused: undefined messages, concurrent receives, throwing matchers', () =>
  withNodes([{}], async ({ node }) => {
    const out = collector(node)
    const breaks = (message: unknown): boolean => (message as { x: { y: boolean } }).x.y
    assert.throws(() => node.send(out.pid, undefined), TypeError)
    node.spawn(async self => {
      const first = self.receive()
      self.send(out.pid, await self.receive().catch((error: Error) => error.message))
      self.send(self.pid, 'unblock')
      await first
      self.send(self.pid, 'queued')
      self.send(out.pid, await self.receive(breaks).catch((error: Error) => `queued: ${error.message}`))
      self.send(out.pid, await self.receive({ timeout: 0 }))
    })
    assert.match(String(await out.next()), 'already waiting')
    assert.match(String(await out.next()), /^queued: Cannot read properties/)
    assert.is(await out.next(), 'queued')
    const waiting = node.spawn(async self => {
      self.send(out.pid, await self.receive(breaks, { timeout: 1000 }).catch((error: Error) => `arrived: ${error.message}`))
    })
    await sleep(5)
    node.send(waiting, 42)
    assert.match(String(await out.next()), /^arrived: Cannot read properties/)
  }))

test('a killed process can no longer send, spawn or monitor', () =>
  withNodes([{}], async ({ node }) => {
    const out = collector(node)
    let spawnError: unknown
    const pid = node.spawn(async self => {
      await self.receive().catch(() => undefined)
      self.send(out.pid, 'from the dead')
      self.monitor(out.pid)
      try {
        self.spawn(() => undefined)
      } catch (error) {
        spawnError = error
      }
    })
    await sleep(5)
    const spawned: ProcessId[] = []
    node.on('spawn', spawnedPid => spawned.push(spawnedPid))
    node.kill(pid, 'gone')
    await until(() => spawnError !== undefined, 1000, 'spawn to throw')
    assert.instance(spawnError, ProcessExitError)
    assert.is((spawnError as ProcessExitError).reason, 'gone')
    assert.equal(spawned, [])
    await sleep(20)
    assert.equal(out.messages, [])
  }))

test('a receive left pending by a killed process rejects without an unhandled rejection', () =>
  withNodes([{}], async ({ node }) => {
    const pid = node.spawn(async self => {
      void self.receive()
      await sleep(30)
      void self.receive()
    })
    await sleep(5)
    node.kill(pid)
    await sleep(50)
    assert.not.ok(node.isAlive(pid))
  }))

test('exit and spawn events, say through logTrace', async () => {
  const lines: string[] = []
  const node = await Node.start({ logTrace: line => lines.push(line) })
  try {
    const exits: [string, ExitReason][] = []
    const spawned: ProcessId[] = []
    node.on('spawn', pid => spawned.push(pid))
    node.on('exit', (pid, reason) => exits.push([pid.toString(), reason]))
    const pid = node.spawn(self => self.say('hello'))
    await node.exited(pid)
    assert.equal(lines, [`${pid}: hello`])
    assert.ok(spawned[0]?.equals(pid))
    assert.equal(exits, [[pid.toString(), 'normal']])
  } finally {
    await node.stop()
  }
})

test('stop ends every process with shutdown, is idempotent, and refuses new spawns', async () => {
  const node = await Node.start({})
  const pid = node.spawn(self => self.receive().then(() => undefined))
  const exited = node.exited(pid)
  const stopping = node.stop()
  assert.is(node.stop(), stopping)
  assert.is(node.state, 'stopping')
  await stopping
  assert.is(await exited, 'shutdown')
  assert.is(node.state, 'stopped')
  assert.throws(() => node.spawn(() => undefined), /stopped/)
  const remote = new ProcessId(new NodeId('127.0.0.1', 1, 1), 1)
  assert.is(await within(node.exited(remote), 1000, 'down after stop'), 'disconnect')
  assert.is(node.send(remote, 'dropped'), true)
})

test('await using stops the node at the end of the scope', async () => {
  let pid: ProcessId
  let exited: Promise<ExitReason>
  {
    await using node = await Node.start({})
    pid = node.spawn(self => self.receive().then(() => undefined))
    exited = node.exited(pid)
  }
  assert.is(await exited, 'shutdown')
})

test.run()
