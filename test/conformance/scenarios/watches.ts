import { op } from '../../../lib/zk-wire/index.js'
import { waitFor } from '../../support/wait.js'
import { type Scenario, scenario } from '../harness.js'

export const watchScenarios: Scenario[] = [
  scenario('one-shot watches: data, exists on a missing node, children; each fires once', async (t) => {
    const a = await t.client('a')
    const b = await t.client('b')
    await t.do('create /n', a.create('/n', 'x'))
    await t.do('getData watch', a.getData('/n', { watch: t.watcher('a') }))
    await t.do('exists watch on a missing node', a.exists('/later', { watch: t.watcher('a') }))
    await t.do('getChildren watch', a.getChildren('/n', { watch: t.watcher('a') }))
    await t.do('getData watch on a missing node (not set)', a.getData('/nope', { watch: t.watcher('a') }))
    await t.do('b: setData /n', b.setData('/n', 'y'))
    await t.do('b: setData /n again', b.setData('/n', 'z'))
    await t.do('b: create /later', b.create('/later'))
    await t.do('b: create /n/c', b.create('/n/c'))
    await t.do('b: create /nope', b.create('/nope'))
    await t.settle()
    await t.do('all watches again', Promise.all([a.exists('/n', { watch: t.watcher('a') }), a.getChildren('/n', { watch: t.watcher('a') }), a.getData('/n/c', { watch: t.watcher('a') })]))
    await t.do('b: delete /n/c', b.delete('/n/c'))
    await t.settle()
    await t.do('b: delete /n', b.delete('/n'))
  }),

  scenario('a watcher set on a node by several reads hears its deletion once', async (t) => {
    const a = await t.client('a')
    await t.do('create /n', a.create('/n'))
    const w = t.watcher('a')
    await t.do('getData', a.getData('/n', { watch: w }))
    await t.do('getChildren', a.getChildren('/n', { watch: w }))
    await t.do('exists', a.exists('/n', { watch: w }))
    await t.do('delete', a.delete('/n'))
  }),

  scenario('a change’s events reach its own client before its reply', async (t) => {
    const a = await t.client('a')
    await t.do('create /n', a.create('/n', 'a'))
    await t.do('getData watch', a.getData('/n', { watch: t.watcher('a') }))
    await t.do('getChildren watch', a.getChildren('/n', { watch: t.watcher('a') }))
    await t.do('setData', a.setData('/n', 'b'))
    await t.flush()
    await t.do('create a child', a.create('/n/c'))
    await t.flush()
  }),

  scenario('create, delete and multi fire in ZooKeeper’s order: the node, then its parent', async (t) => {
    const a = await t.client('a')
    const b = await t.client('b')
    await t.do('create /p', a.create('/p'))
    await t.watch('a recursive /', a.addWatch('/', 'persistentRecursive'))
    await t.do('children watch /p', a.getChildren('/p', { watch: t.watcher('a') }))
    await t.do('exists watch /p/x', a.exists('/p/x', { watch: t.watcher('a') }))
    await t.do('b: create /p/x', b.create('/p/x'))
    await t.settle()
    await t.do('watch again', Promise.all([a.getChildren('/p', { watch: t.watcher('a') }), a.getData('/p/x', { watch: t.watcher('a') })]))
    await t.do('b: delete /p/x', b.delete('/p/x'))
    await t.settle()
    await t.do('watch again', a.getChildren('/p', { watch: t.watcher('a') }))
    await t.do('b: multi', b.multi([op.create('/p/1'), op.create('/p/2'), op.setData('/p/1', 'x'), op.delete('/p/1'), op.setData('/p', 'y')]))
  }),

  scenario('a persistent watch sees its node and its children list, not grandchildren', async (t) => {
    const a = await t.client('a')
    const b = await t.client('b')
    await t.do('create /p', a.create('/p'))
    await t.watch('a persistent /p', a.addWatch('/p', 'persistent'))
    await t.watch('a persistent /missing', a.addWatch('/missing', 'persistent'))
    await t.do('b: setData /p', b.setData('/p', '1'))
    await t.do('b: create /p/c', b.create('/p/c'))
    await t.do('b: setData /p/c', b.setData('/p/c', 'x'))
    await t.do('b: create /p/c/g', b.create('/p/c/g'))
    await t.do('b: setData /p again', b.setData('/p', '2'))
    await t.do('b: create /missing', b.create('/missing'))
    await t.do('b: delete /missing', b.delete('/missing'))
    await t.do('checkWatches any', a.checkWatches('/p', 'any'))
  }),

  scenario('a recursive watch sees the whole subtree but no children-changed events', async (t) => {
    const a = await t.client('a')
    const b = await t.client('b')
    await t.do('create /r', a.create('/r'))
    await t.watch('a recursive /r', a.addWatch('/r', 'persistentRecursive'))
    await t.do('b: create /r/a', b.create('/r/a'))
    await t.do('b: create /r/a/b', b.create('/r/a/b', 'x'))
    await t.do('b: setData /r/a/b', b.setData('/r/a/b', 'y'))
    await t.do('b: delete /r/a/b', b.delete('/r/a/b'))
    await t.do('b: create /elsewhere', b.create('/elsewhere'))
    await t.do('b: setData /r', b.setData('/r', 'z'))
    await t.do('checkWatches /r data', a.checkWatches('/r', 'data'))
    await t.do('checkWatches /r children', a.checkWatches('/r', 'children'))
    await t.do('checkWatches /r/a (below the watch)', a.checkWatches('/r/a', 'data'))
  }),

  scenario('ZooKeeper 3.8: a one-shot watch on a path turns the connection’s persistent watch there into a one-shot', async (t) => {
    const a = await t.client('a')
    const b = await t.client('b')
    await t.do('create /p', a.create('/p'))
    await t.do('create /q', a.create('/q'))
    await t.watch('a persistent /p', a.addWatch('/p', 'persistent'))
    await t.do('getData watch on /p', a.getData('/p', { watch: t.watcher('a') }))
    await t.watch('a persistent /q', a.addWatch('/q', 'persistent'))
    await t.watch('a recursive /q', a.addWatch('/q', 'persistentRecursive'))
    await t.do('b: setData /p', b.setData('/p', '1'))
    await t.do('b: setData /p again', b.setData('/p', '2'))
    await t.do('b: create /p/c (children table kept the persistent mode)', b.create('/p/c'))
    await t.do('b: create /p/d', b.create('/p/d'))
    await t.do('b: create /q/c (recursive replaced persistent in both tables)', b.create('/q/c'))
  }),

  scenario('checkWatches answers for any connection’s watch on the path; removeWatches only for one’s own', async (t) => {
    const a = await t.client('a')
    const b = await t.client('b')
    await t.do('create /n', a.create('/n'))
    await t.do('a: getData watch', a.getData('/n', { watch: t.watcher('a') }))
    await t.do('b: checkWatches data', b.checkWatches('/n', 'data'))
    await t.do('b: checkWatches children', b.checkWatches('/n', 'children'))
    await t.do('b: checkWatches any', b.checkWatches('/n', 'any'))
    await t.do('b: removeWatches data', b.removeWatches('/n', 'data'))
    await t.do('a: removeWatches children', a.removeWatches('/n', 'children'))
    await t.do('a: removeWatches data', a.removeWatches('/n', 'data'))
    await t.do('a: checkWatches data', a.checkWatches('/n', 'data'))
    await t.do('a: children watch', a.getChildren('/n', { watch: t.watcher('a') }))
    await t.do('a: exists watch', a.exists('/n', { watch: t.watcher('a') }))
    await t.do('a: removeWatches any', a.removeWatches('/n', 'any'))
    await t.do('a: removeWatches any again', a.removeWatches('/n', 'any'))
    await t.do('persistent watch types are unknown to 3.8', a.checkWatches('/n', 'persistent'))
    await t.do('… for removeWatches too', a.removeWatches('/n', 'persistentRecursive'))
    await t.do('b: setData', b.setData('/n', 'x'))
  }),

  scenario('closing one persistent watch keeps the connection’s other watches on the path', async (t) => {
    const a = await t.client('a')
    const b = await t.client('b')
    await t.do('create /p', a.create('/p'))
    const persistent = await t.watch('a persistent /p', a.addWatch('/p', 'persistent'))
    await t.watch('a recursive /p', a.addWatch('/p', 'persistentRecursive'))
    await t.do('getData watch', a.getData('/p', { watch: t.watcher('a') }))
    await t.do('close the persistent watch', persistent!.close())
    await t.do('b: setData /p', b.setData('/p', 'x'))
    await t.do('b: create /p/c', b.create('/p/c'))
  }),

  scenario('watches are set again after a reconnect, and changes made meanwhile fire then', async (t) => {
    const b = await t.client('b')
    await t.do('create /d', b.create('/d', 'x'))
    await t.do('create /c', b.create('/c'))
    await t.do('create /gone', b.create('/gone'))
    const { zk: a, proxy } = await t.proxiedClient('a')
    await t.do('data watch /d', a.getData('/d', { watch: t.watcher('a') }))
    await t.do('child watch /c', a.getChildren('/c', { watch: t.watcher('a') }))
    await t.do('exists watch /later', a.exists('/later', { watch: t.watcher('a') }))
    await t.do('data watch /gone', a.getData('/gone', { watch: t.watcher('a') }))
    await t.do('data watch /quiet', a.exists('/quiet', { watch: t.watcher('a') }))
    await t.watch('a persistent /c', a.addWatch('/c', 'persistent'))
    proxy.refuse()
    proxy.cut()
    await waitFor('a to notice', () => a.state === 'disconnected')
    await t.do('b: setData /d', b.setData('/d', 'y'))
    await t.do('b: create /c/x', b.create('/c/x'))
    await t.do('b: create /later', b.create('/later'))
    await t.do('b: delete /gone', b.delete('/gone'))
    await proxy.accept()
    await a.whenConnected(10_000)
    await t.settle()
    await t.do('b: create /quiet', b.create('/quiet'))
    await t.do('b: create /c/y', b.create('/c/y'))
  }),
]
