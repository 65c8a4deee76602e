import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { WatchedEvent } from '../../lib/zk-wire/events.js'
import { JuteWriter } from '../../lib/zk-wire/jute.js'
import { OpCode } from '../../lib/zk-wire/operations.js'
import { SET_WATCHES_MAX_BYTES, WatchRegistry, type WatchSink, setWatchesPackets } from '../../lib/zk-wire/watches.js'

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

test('re-arming only one-shot watches uses SetWatches (3.5+); any persistent watch needs SetWatches2', () => {
  const reg = new WatchRegistry()
  reg.add('data', '/a', () => undefined)
  reg.add('child', '/b', () => undefined)
  const oneShot = setWatchesPackets(reg.toSetWatches('', 7n)!)
  assert.equal(oneShot.map((p) => p.op.type), [OpCode.setWatches])
  assert.equal(oneShot[0]!.req, { relativeZxid: 7n, data: ['/a'], exist: [], child: ['/b'], persistent: [], persistentRecursive: [] })
  reg.addPersistent('/c', true, sink())
  assert.equal(setWatchesPackets(reg.toSetWatches('/root', 7n)!).map((p) => [p.op.type, p.req.persistentRecursive]), [[OpCode.setWatches2, ['/root/c']]])
})

test('SetWatches packets stay below the size limit, keep every path once, and pick their opcode each', () => {
  const reg = new WatchRegistry()
  const paths: string[] = []
  for (let i = 0; i < 12_000; i++) {
    const path = `/watched/${'é'.repeat(20)}-${i}`
    paths.push(path)
    reg.add(i % 3 === 0 ? 'data' : i % 3 === 1 ? 'exist' : 'child', path, () => undefined)
  }
  for (let i = 0; i < 50; i++) reg.addPersistent(`/p-${i}`, false, sink())
  const packets = setWatchesPackets(reg.toSetWatches('', 1n)!)
  assert.ok(packets.length > 1, `split into ${packets.length} packets`)
  const seen: string[] = []
  for (const { op, req } of packets) {
    const w = new JuteWriter()
    op.write(w, req)
    assert.ok(w.length <= SET_WATCHES_MAX_BYTES + 8 + 5 * 4, `a packet of ${w.length} bytes`)
    const persistent = req.persistent.length + req.persistentRecursive.length > 0
    assert.is(op.type, persistent ? OpCode.setWatches2 : OpCode.setWatches)
    seen.push(...req.data, ...req.exist, ...req.child, ...req.persistent)
  }
  assert.is(seen.length, 12_050)
  assert.is(new Set(seen).size, 12_050)
  const sent = new Set(seen)
  assert.ok(paths.every((p) => sent.has(p)))
})

test('a refused re-arm reaches the watchers: one-shot ones hear the removal, persistent ones end with the error', () => {
  const reg = new WatchRegistry()
  const a = recorder()
  reg.add('data', '/a', a.watcher)
  reg.add('exist', '/b', a.watcher)
  reg.add('child', '/a', a.watcher)
  reg.add('data', '/kept', a.watcher)
  let ended: Error | undefined
  reg.addPersistent('/p', false, { push: () => undefined, end: (e) => void (ended = e) })
  const refused = new Error('refused')
  reg.dropRearm('/root', { relativeZxid: 1n, data: ['/root/a'], exist: ['/root/b'], child: ['/root/a'], persistent: ['/root/p'], persistentRecursive: [] }, 'connected', refused)
  assert.equal(a.calls, ['DataWatchRemoved /a', 'DataWatchRemoved /b', 'ChildWatchRemoved /a'])
  assert.is(ended, refused)
  reg.deliver(ev('NodeDataChanged', '/a'))
  reg.deliver(ev('NodeDataChanged', '/kept'))
  assert.equal(a.calls.slice(3), ['NodeDataChanged /kept'], 'the dropped watches are gone, the others stay')
})

test.run()
