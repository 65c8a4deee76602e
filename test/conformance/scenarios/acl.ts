import { type ACL, CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, Perms, READ_ACL_UNSAFE, digestACL, op } from '../../../lib/zk-wire/index.js'
import { type Scenario, scenario } from '../harness.js'

const world = (perms: number): ACL => ({ perms, id: { scheme: 'world', id: 'anyone' } })
const ip = (range: string, perms: number = Perms.ALL): ACL => ({ perms, id: { scheme: 'ip', id: range } })

export const aclScenarios: Scenario[] = [
  scenario('digest identities: CREATOR_ALL_ACL needs one, strangers get NOAUTH, non-admins see redacted hashes', async (t) => {
    const a = await t.client('a')
    const b = await t.client('b')
    await t.do('CREATOR_ALL_ACL without auth', a.create('/creator', null, { acl: CREATOR_ALL_ACL }))
    await t.do('a: addAuth alice', a.addAuth('digest', 'alice:secret'))
    await t.do('CREATOR_ALL_ACL with auth', a.create('/creator', 'mine', { acl: CREATOR_ALL_ACL }))
    await t.do('getACL as owner', a.getACL('/creator'))
    await t.do('creator + world read', a.create('/shared', 's', { acl: [...CREATOR_ALL_ACL, world(Perms.READ)] }))
    await t.do('b: getData', b.getData('/creator'))
    await t.do('b: getACL (no READ, no ADMIN)', b.getACL('/creator'))
    await t.do('b: getACL (READ only: hashes redacted)', b.getACL('/shared'))
    await t.do('b: exists needs no permission', b.exists('/creator'))
    await t.do('b: setData', b.setData('/shared', 'w'))
    await t.do('b: addAuth alice', b.addAuth('digest', 'alice:secret'))
    await t.do('b: getData as alice', b.getData('/creator'))
    await t.do('b: getACL as alice', b.getACL('/shared'))
    await t.do('b: addAuth with no colon', b.addAuth('digest', 'justaname'))
    await t.do('b: digest id for it', b.create('/odd', null, { acl: CREATOR_ALL_ACL }))
    await t.do('b: getACL /odd', b.getACL('/odd'))
  }),

  scenario('auth expands to every digest identity of the connection, in ZooKeeper’s order', async (t) => {
    const a = await t.client('a')
    for (const user of ['zed', 'alice', 'bob', 'carol', 'dave', 'eve', 'x', 'yy']) await a.addAuth('digest', `${user}:pw`)
    await a.addAuth('digest', 'bob:pw')
    await a.addAuth('ip', 'ignored')
    await t.do('create', a.create('/n', null, { acl: CREATOR_ALL_ACL }))
    await t.do('getACL', a.getACL('/n'))
    await t.do('auth plus an explicit duplicate', a.create('/m', null, { acl: [...CREATOR_ALL_ACL, digestACL('bob', 'pw')] }))
    await t.do('getACL', a.getACL('/m'))
  }),

  scenario('ACL lists are checked: schemes, id formats, duplicates, odd permission bits', async (t) => {
    const a = await t.client('a')
    const invalid: Array<[string, ACL[]]> = [
      ['empty', []],
      ['unknown scheme', [{ perms: 31, id: { scheme: 'foo', id: 'x' } }]],
      ['world but not anyone', [{ perms: 31, id: { scheme: 'world', id: 'someone' } }]],
      ['digest without colon', [{ perms: 31, id: { scheme: 'digest', id: 'nocolon' } }]],
      ['digest with two colons', [{ perms: 31, id: { scheme: 'digest', id: 'a::b' } }]],
      ['bad ip', [ip('notanip')]],
      ['ip prefix too long', [ip('10.0.0.0/33')]],
      ['ip with five parts', [ip('1.2.3.4.5')]],
    ]
    for (const [label, acl] of invalid) await t.do(label, a.create('/x', null, { acl }))
    const valid: Array<[string, ACL[]]> = [
      ['digest with a trailing colon', [{ perms: 31, id: { scheme: 'digest', id: 'a:b:' } }]],
      ['ip range', [ip('10.0.0.0/8')]],
      ['ip with a plus sign', [ip('+127.0.0.1')]],
      ['no permissions', [world(0)]],
      ['unknown permission bits', [world(99)]],
      ['duplicates', [...OPEN_ACL_UNSAFE, ...OPEN_ACL_UNSAFE, world(1), world(1)]],
    ]
    for (const [i, [label, acl]] of valid.entries()) {
      await t.do(label, a.create(`/v${i}`, null, { acl }))
      await t.do(`${label}: stat`, a.exists(`/v${i}`))
    }
    await t.do('setACL invalid', a.setACL('/v5', [{ perms: 31, id: { scheme: 'foo', id: 'x' } }]))
    await t.do('setACL', a.setACL('/v5', READ_ACL_UNSAFE, 0))
    await t.do('setACL stale aversion', a.setACL('/v5', OPEN_ACL_UNSAFE, 0))
    await t.do('setACL without ADMIN', a.setACL('/v5', OPEN_ACL_UNSAFE))
    await t.do('getACL /v5', a.getACL('/v5'))
  }),

  scenario('ip ACLs match the client address', async (t) => {
    const a = await t.client('a')
    await t.do('loopback', a.create('/mine', 'm', { acl: [ip('127.0.0.1')] }))
    await t.do('loopback /8', a.create('/net', 'n', { acl: [ip('127.0.0.0/8', Perms.READ)] }))
    await t.do('elsewhere', a.create('/theirs', 't', { acl: [ip('10.0.0.0/8')] }))
    await t.do('read /mine', a.getData('/mine'))
    await t.do('read /net', a.getData('/net'))
    await t.do('write /net', a.setData('/net', 'w'))
    await t.do('read /theirs', a.getData('/theirs'))
    await t.do('getACL /mine', a.getACL('/mine'))
  }),

  scenario('which permission each operation needs, and which error wins', async (t) => {
    const a = await t.client('a')
    await t.do('no-create parent', a.create('/p', null, { acl: [world(Perms.ALL & ~Perms.CREATE & ~Perms.DELETE)] }))
    await t.do('create under it', a.create('/p/c'))
    await t.do('delete a missing child under it (NOAUTH before NONODE)', a.delete('/p/nope'))
    await t.do('read-only node', a.create('/r', 'r', { acl: READ_ACL_UNSAFE }))
    await t.do('child of read-only node', a.create('/r/c'))
    await t.do('setData read-only', a.setData('/r', 'w'))
    await t.do('check in multi needs READ', a.multi([op.check('/r', 0)]))
    await t.do('no-read node', a.create('/w', 'w', { acl: [world(Perms.WRITE | Perms.DELETE)] }))
    await t.do('check without READ', a.multi([op.check('/w', 0)]))
    await t.do('getData without READ', a.getData('/w'))
    await t.do('getChildren without READ', a.getChildren('/w'))
    await t.do('getAllChildrenNumber without READ', a.getAllChildrenNumber('/w'))
    await t.do('setData without READ', a.setData('/w', 'x'))
    await t.do('exists without READ', a.exists('/w'))
    await t.do('getACL with neither READ nor ADMIN', a.getACL('/w'))
    await t.do('delete it (DELETE is on the parent)', a.delete('/w'))
  }),

  scenario('an unknown auth scheme fails the session', async (t) => {
    const a = await t.client('a')
    await t.do('addAuth nope', a.addAuth('nope', 'x'))
    await t.do('state', Promise.resolve(a.state))
    await t.do('closed()', a.closed().then((e) => (e instanceof Error ? e.name : e)))
  }),
]
