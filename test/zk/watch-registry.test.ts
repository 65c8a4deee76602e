import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { WatchedEvent } from '../../lib/zk-wire/events.js'
import { WatchRegistry, type WatchSink } from '../../lib/zk-wire/watches.js'

const test = suite('watch registry (Java client delivery rules)')

const ev = (type: WatchedEvent['type'], path: string): WatchedEvent => ({ type, state: 'connected', path })

function recorder(): { calls: string[]; watcher: (e: WatchedEvent) => void } {
  const calls: string[] = []
  return { calls, watcher: (e) => calls.push(`${e.type} ${e.path}`) }
}

function sink(): WatchSink & { events: string[]; ended: boolean } {
  const s = {
    events: [] as string[],
    ended: false,
    push: (e: WatchedEvent) => s.events.push(`${e.type} ${e.path}`),
    end: () => void (s.ended = true),
  }
  return s
}

test('a data change fires data and exist watches once, then they are gone', () => {
  const reg = new WatchRegistry()
  const a = recorder()
  reg.add('data', '/n', a.watcher)
  reg.add('exist', '/n', a.watcher)
  reg.deliver(ev('NodeDataChanged', '/n'))
  reg.deliver(ev('NodeDataChanged', '/n'))
  assert.equal(a.calls, ['NodeDataChanged /n'])
})

test('a child change fires only child watches', () => {
  const reg = new WatchRegistry()
  const data = recorder()
  const child = recorder()
  reg.add('data', '/n', data.watcher)
  reg.add('child', '/n', child.watcher)
  reg.deliver(ev('NodeChildrenChanged', '/n'))
  assert.equal(data.calls, [])
  assert.equal(child.calls, ['NodeChildrenChanged /n'])
})

test('deletion fires data, exist and child watches, each watcher once', () => {
  const reg = new WatchRegistry()
  const a = recorder()
  const b = recorder()
  reg.add('data', '/n', a.watcher)
  reg.add('child', '/n', a.watcher)
  reg.add('child', '/n', b.watcher)
  assert.is(reg.deliver(ev('NodeDeleted', '/n')), 2)
  assert.equal(a.calls, ['NodeDeleted /n'])
  assert.equal(b.calls, ['NodeDeleted /n'])
})

test('persistent watches see every event on their node; recursive ones all but child changes below', () => {
  const reg = new WatchRegistry()
  const p = sink()
  const r = sink()
  reg.addPersistent('/a', false, p)
  reg.addPersistent('/a', true, r)
  reg.deliver(ev('NodeChildrenChanged', '/a'))
  reg.deliver(ev('NodeCreated', '/a/b/c'))
  reg.deliver(ev('NodeDataChanged', '/a'))
  reg.deliver(ev('NodeDataChanged', '/ab'))
  assert.equal(p.events, ['NodeChildrenChanged /a', 'NodeDataChanged /a'])
  assert.equal(r.events, ['NodeCreated /a/b/c', 'NodeDataChanged /a'])
})

test('a recursive watch on / sees the whole tree', () => {
  const reg = new WatchRegistry()
  const r = sink()
  reg.addPersistent('/', true, r)
  reg.deliver(ev('NodeDeleted', '/x/y'))
  assert.equal(r.events, ['NodeDeleted /x/y'])
})

test('expiry tells each one-shot watcher once and ends persistent watches', () => {
  const reg = new WatchRegistry()
  const a = recorder()
  const s = sink()
  reg.add('data', '/1', a.watcher)
  reg.add('child', '/2', a.watcher)
  reg.addPersistent('/3', true, s)
  reg.expire({ type: 'None', state: 'expired', path: null }, new Error('expired'))
  assert.equal(a.calls, ['None null'])
  assert.ok(s.ended)
  assert.is(reg.toSetWatches('', 0n), null)
})

test('SetWatches lists every kind in server paths', () => {
  const reg = new WatchRegistry()
  const a = recorder()
  reg.add('data', '/d', a.watcher)
  reg.add('exist', '/e', a.watcher)
  reg.add('child', '/c', a.watcher)
  reg.addPersistent('/p', false, sink())
  reg.addPersistent('/', true, sink())
  assert.equal(reg.toSetWatches('/root', 42n), {
    relativeZxid: 42n,
    data: ['/root/d'],
    exist: ['/root/e'],
    child: ['/root/c'],
    persistent: ['/root/p'],
    persistentRecursive: ['/root'],
  })
})

test('removing one-shot watches notifies with *WatchRemoved events', () => {
  const reg = new WatchRegistry()
  const a = recorder()
  reg.add('data', '/n', a.watcher)
  reg.add('child', '/n', a.watcher)
  assert.is(reg.removeOneShot('/n', 'children'), 1)
  assert.equal(a.calls, ['ChildWatchRemoved /n'])
  assert.is(reg.removeOneShot('/n', 'any'), 1)
  assert.equal(a.calls, ['ChildWatchRemoved /n', 'DataWatchRemoved /n'])
})

test('a watcher that throws does not stop the others', async () => {
  const reg = new WatchRegistry()
  const b = recorder()
  const uncaught: unknown[] = []
  const onUncaught = (e: unknown): void => void uncaught.push(e)
  process.on('uncaughtException', onUncaught)
  try {
    reg.add('data', '/n', () => {
      throw new Error('boom')
    })
    reg.add('data', '/n', b.watcher)
    reg.deliver(ev('NodeDataChanged', '/n'))
    await new Promise((r) => setImmediate(r))
  } finally {
    process.off('uncaughtException', onUncaught)
  }
  assert.equal(b.calls, ['NodeDataChanged /n'])
  assert.is((uncaught[0] as Error).message, 'boom')
})

test.run()
