import { ZooKeeper } from '../../../lib/zk-wire/index.js'
import { OPEN_ACL_UNSAFE } from '../../../lib/zk-wire/acl.js'
import { OpCode } from '../../../lib/zk-wire/operations.js'
import { writeACLs } from '../../../lib/zk-wire/records.js'
import { RawSession, endSession } from '../../support/raw-session.js'
import { waitFor } from '../../support/wait.js'
import { type Scenario, scenario } from '../harness.js'

export const sessionScenarios: Scenario[] = [
  scenario('timeouts are clamped between 2 and 20 ticks (or the configured bounds)', async (t) => {
    for (const requested of [1, 999, 1000, 4321, 60_000, 10_000_000]) {
      const zk = await t.client(`requested ${requested}`, { sessionTimeout: Math.max(requested, 1), connectTimeout: 10_000 })
      t.note(`negotiated for ${requested}`, zk.negotiatedTimeout)
    }
  }),

  scenario('closing a session deletes its ephemeral nodes at once and tells their watchers', async (t) => {
    const a = await t.client('a')
    const b = await t.client('b')
    await t.do('create /d', b.create('/d'))
    for (const p of ['/e1', '/e2', '/d/e3']) await t.do(`a: ephemeral ${p}`, a.create(p, null, { mode: 'ephemeral' }))
    await t.do('b: watch /e1', b.exists('/e1', { watch: t.watcher('b') }))
    await t.do('b: watch /d/e3', b.getData('/d/e3', { watch: t.watcher('b') }))
    await t.do('b: watch / children', b.getChildren('/', { watch: t.watcher('b') }))
    await t.do('b: watch /d children', b.getChildren('/d', { watch: t.watcher('b') }))
    await a.close()
    await t.settle({ unordered: 'sessionEndOrder' })
    await t.do('stat /d', b.exists('/d'))
    await t.do('children', b.getChildren('/'))
  }),

  scenario('a session expired from outside loses its ephemerals; the client and its watchers hear it', async (t) => {
    // a talks through a proxy that refuses it while the session is ended: were a to re-attach
    // (and re-set its watch) before the server read the closeSession, a's watch would fire on one
    // server and not on the other, depending only on timing.
    const { zk: a, proxy } = await t.proxiedClient('a', { sessionTimeout: 10_000 })
    const b = await t.client('b')
    await t.do('a: ephemeral /e', a.create('/e', null, { mode: 'ephemeral' }))
    await t.do('a: watch /e', a.getData('/e', { watch: t.watcher('a') }))
    await t.do('b: watch /e', b.exists('/e', { watch: t.watcher('b') }))
    proxy.refuse()
    proxy.cut()
    await endSession(t.connectString, a.sessionId, a.sessionPassword)
    await proxy.accept()
    await t.do('a: closed()', a.closed().then((e) => (e instanceof Error ? e.name : e)))
    await t.do('a: state', Promise.resolve(a.state))
    await t.do('b: /e', b.exists('/e'))
    await t.do('a: calls after expiry', a.getData('/e'))
  }),

  scenario('a session re-attached with the wrong password is refused as expired', async (t) => {
    const a = await t.client('a')
    const wrong = Buffer.from(a.sessionPassword)
    wrong[0]! ^= 0xff
    await t.do('re-attach', ZooKeeper.connect(t.connectString + t.root, { sessionId: a.sessionId, sessionPassword: wrong, connectTimeout: 5000 }).then((zk) => zk.close().then(() => 'attached')))
    await t.do('unknown session', ZooKeeper.connect(t.connectString, { sessionId: 0x123n, sessionPassword: Buffer.alloc(16), connectTimeout: 5000 }).then((zk) => zk.close().then(() => 'attached')))
    await waitFor('a to be back', () => a.state === 'connected')
    await t.do('a still works', a.exists('/'), (s) => s !== null)
  }),

  scenario('a session that stops talking expires after its timeout, and its ephemerals go', async (t) => {
    const b = await t.client('b')
    const [host, port] = [t.connectString.slice(0, t.connectString.lastIndexOf(':')), t.connectString.slice(t.connectString.lastIndexOf(':') + 1)]
    const raw = await RawSession.open(`${host}:${port}`, { timeout: 1000 })
    t.nameSession(raw.handshake!.sessionId, 'raw')
    t.note('raw: negotiated timeout', raw.handshake!.timeout)
    const replies = await raw.call(1, OpCode.create, (w) => {
      w.string(`${t.root}/silent`).buffer(null)
      writeACLs(w, OPEN_ACL_UNSAFE)
      w.int(1)
    })
    t.note('raw: create ephemeral', replies.map((r) => r.err))
    await t.do('b: stat', b.exists('/silent'))
    await t.do('b: watch', b.exists('/silent', { watch: t.watcher('b') }))
    const started = Date.now()
    await t.do('raw: closed by the server', raw.next(10_000).then((r) => r === null))
    t.note('raw: closed after the timeout', Date.now() - started >= 900)
    await waitFor('the ephemeral to go', async () => (await b.exists('/silent')) === null)
    raw.close()
  }),
]
