import { waitFor } from '../../support/wait.js'
import { type Scenario, scenario } from '../harness.js'

export const nodeScenarios: Scenario[] = [
  scenario('create, read, update and delete, with versions and stats', async (t) => {
    const a = await t.client('a')
    await t.do('create /n', a.create('/n', 'one'))
    await t.do('getData /n', a.getData('/n'))
    await t.do('setData v0', a.setData('/n', 'two', 0))
    await t.do('setData stale v0', a.setData('/n', 'three', 0))
    await t.do('setData any', a.setData('/n', 'three'))
    await t.do('delete stale v0', a.delete('/n', 0))
    await t.do('exists /n', a.exists('/n'))
    await t.do('delete v2', a.delete('/n', 2))
    await t.do('exists gone', a.exists('/n'))
    await t.do('getData gone', a.getData('/n'))
    await t.do('setData gone', a.setData('/n', 'x'))
    await t.do('delete gone', a.delete('/n'))
  }),

  scenario('sequential names count the parent cversion, which counts creations and deletions', async (t) => {
    const a = await t.client('a')
    await t.do('create /q', a.create('/q'))
    await t.do('create /q/x', a.create('/q/x'))
    await t.do('create /q/y', a.create('/q/y'))
    await t.do('delete /q/x', a.delete('/q/x'))
    await t.do('stat /q after a delete', a.exists('/q'))
    await t.do('persistent sequential', a.create('/q/item-', 'p', { mode: 'persistent_sequential' }))
    await t.do('ephemeral sequential', a.create('/q/item-', 'e', { mode: 'ephemeral_sequential' }))
    await t.do('sequential with no prefix', a.create('/q/', null, { mode: 'persistent_sequential' }))
    await t.do('delete /q/y', a.delete('/q/y'))
    await t.do('after the delete', a.create2('/q/item-', null, { mode: 'persistent_sequential' }))
    await t.do('stat /q', a.exists('/q'))
    await t.do('children /q', a.getChildren('/q', { stat: true }))
  }),

  scenario('error codes, and which one wins when several apply', async (t) => {
    const a = await t.client('a')
    await t.do('create under a missing parent', a.create('/missing/child'))
    await t.do('create /p', a.create('/p'))
    await t.do('create /p again', a.create('/p'))
    await t.do('create /p/c', a.create('/p/c', 'c'))
    await t.do('delete a parent', a.delete('/p'))
    await t.do('delete a parent with a stale version', a.delete('/p', 5))
    await t.do('create ephemeral /e', a.create('/e', null, { mode: 'ephemeral' }))
    await t.do('child of an ephemeral', a.create('/e/c'))
    await t.do('sequential child of an ephemeral', a.create('/e/s-', null, { mode: 'persistent_sequential' }))
    await t.do('ephemeral child of an ephemeral', a.create('/e/c', null, { mode: 'ephemeral' }))
    await t.do('existing child of an ephemeral wins NODEEXISTS', a.create('/e'))
    await t.do('create the root', a.create('/'))
    await t.do('getChildren of a missing node', a.getChildren('/nope'))
    await t.do('getAllChildrenNumber of a missing node', a.getAllChildrenNumber('/nope'))
    await t.do('getACL of a missing node', a.getACL('/nope'))
    await t.do('setACL of a missing node', a.setACL('/nope', [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]))
  }),

  scenario('null and empty data stay distinct in dataLength and both read as empty', async (t) => {
    const a = await t.client('a')
    await t.do('create null', a.create2('/null', null))
    await t.do('create empty', a.create2('/empty', Buffer.alloc(0)))
    await t.do('getData null', a.getData('/null'))
    await t.do('getData empty', a.getData('/empty'))
    await t.do('setData to null', a.setData('/empty', null))
    await t.do('big value', a.create2('/big', Buffer.alloc(500_000, 0x61)), (r) => r.stat)
    await t.do('big value back', a.getData('/big'), (r) => r.data.length)
  }),

  scenario('ephemeral nodes: owner, getEphemerals by string prefix, gone when the session closes', async (t) => {
    const a = await t.client('a')
    const b = await t.client('b')
    await t.do('create /d', a.create('/d'))
    await t.do('a: ephemeral /e1', a.create2('/e1', null, { mode: 'ephemeral' }))
    await t.do('a: ephemeral /d/e2', a.create2('/d/e2', 'x', { mode: 'ephemeral' }))
    await t.do('a: ephemeral /dx', a.create('/dx', null, { mode: 'ephemeral' }))
    await t.do('b: ephemeral /b1', b.create('/b1', null, { mode: 'ephemeral' }))
    await t.do('a: getEphemerals', a.getEphemerals())
    await t.do('a: getEphemerals /d (a string prefix)', a.getEphemerals('/d'))
    await t.do('a: getEphemerals /d/', a.getEphemerals('/d/e'))
    await t.do('b: getEphemerals', b.getEphemerals())
    await t.do('stat /d/e2', a.exists('/d/e2'))
    await t.do('stat /d', a.exists('/d'))
    await a.close()
    await t.do('after a closes: /e1', b.exists('/e1'))
    await t.do('after a closes: /d/e2', b.exists('/d/e2'))
    await t.do('after a closes: /d', b.exists('/d'))
    await t.do('b keeps its own', b.exists('/b1'))
  }),

  scenario('getChildren with a stat and getAllChildrenNumber count descendants', async (t) => {
    const a = await t.client('a')
    await t.do('create /p', a.create('/p'))
    for (const c of ['x', 'y', 'z']) await t.do(`create /p/${c}`, a.create(`/p/${c}`))
    await t.do('create /p/x/deep', a.create('/p/x/deep'))
    await t.do('create /p/x/deep/er', a.create('/p/x/deep/er'))
    await t.do('children', a.getChildren('/p'))
    await t.do('children with stat', a.getChildren('/p', { stat: true }))
    await t.do('all children of /p', a.getAllChildrenNumber('/p'))
    await t.do('all children of /p/x', a.getAllChildrenNumber('/p/x'))
    await t.do('all children of a leaf', a.getAllChildrenNumber('/p/y'))
    await t.do('sync', a.sync('/p'))
    await t.do('sync of a missing path', a.sync('/nowhere'))
  }),

  scenario('containers and TTL nodes: stats show no owner, and they may have children', async (t) => {
    const a = await t.client('a')
    await t.do('create container', a.create2('/c', 'c', { mode: 'container' }))
    await t.do('create ttl', a.create2('/t', 't', { mode: 'persistent_with_ttl', ttl: 600_000 }))
    await t.do('create sequential ttl', a.create2('/t-', null, { mode: 'persistent_sequential_with_ttl', ttl: 600_000 }))
    await t.do('child of the container', a.create('/c/x'))
    await t.do('ephemeral child of the ttl node', a.create('/t/e', null, { mode: 'ephemeral' }))
    await t.do('stat container', a.exists('/c'))
    await t.do('stat ttl', a.exists('/t'))
  }),

  scenario('the reaper deletes emptied containers and expired TTL nodes, and nothing else', async (t) => {
    const a = await t.client('a')
    await t.do('container that had a child', a.create('/used', null, { mode: 'container' }))
    await t.do('its child', a.create('/used/x'))
    await t.do('container never used', a.create('/unused', null, { mode: 'container' }))
    await t.do('container still in use', a.create('/busy', null, { mode: 'container' }))
    await t.do('its child', a.create('/busy/x'))
    await t.do('short ttl', a.create('/ttl', null, { mode: 'persistent_with_ttl', ttl: 200 }))
    await t.do('short ttl with a child', a.create('/ttl-parent', null, { mode: 'persistent_with_ttl', ttl: 200 }))
    await t.do('its child', a.create('/ttl-parent/x'))
    await t.do('long ttl', a.create('/ttl-long', null, { mode: 'persistent_with_ttl', ttl: 600_000 }))
    // One stream per node: which of them the reaper deletes first depends on timing.
    await a.exists('/used', { watch: t.watcher('used') })
    await a.exists('/ttl', { watch: t.watcher('ttl') })
    await a.getChildren('/ttl-parent', { watch: t.watcher('ttl-parent') })
    await t.do('delete the only child', a.delete('/used/x'))
    await waitFor('the reaper', async () => (await a.exists('/used')) === null && (await a.exists('/ttl')) === null, { timeoutMs: 15_000, intervalMs: 100 })
    await new Promise((r) => setTimeout(r, 1200))
    await t.do('remaining', a.getChildren('/'))
  }),

  scenario('system nodes look as on a fresh server and cannot be deleted', async (t) => {
    const z = await t.client('z', { absolute: true })
    await t.do('/zookeeper children', z.getChildren('/zookeeper', { stat: true }))
    await t.do('/zookeeper/config', z.getData('/zookeeper/config'))
    await t.do('/zookeeper/config acl', z.getACL('/zookeeper/config'))
    await t.do('/zookeeper/quota', z.getData('/zookeeper/quota'))
    await t.do('/zookeeper acl', z.getACL('/zookeeper'))
    await t.do('delete /zookeeper', z.delete('/zookeeper'))
    await t.do('delete /zookeeper/quota', z.delete('/zookeeper/quota'))
    await t.do('delete /zookeeper/config', z.delete('/zookeeper/config'))
    await t.do('delete /', z.delete('/'))
    await t.do('write /zookeeper/config (read-only ACL)', z.setData('/zookeeper/config', 'x'))
  }),
]
