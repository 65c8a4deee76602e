import { CREATOR_ALL_ACL, op } from '../../../lib/zk-wire/index.js'
import { type Scenario, scenario } from '../harness.js'

export const multiScenarios: Scenario[] = [
  scenario('multi applies everything under one zxid and reports each result', async (t) => {
    const a = await t.client('a')
    await t.do('create /v', a.create('/v', 'v0'))
    await t.do(
      'multi',
      a.multi([
        op.create('/a', 'A'),
        op.create('/a/s-', null, { mode: 'persistent_sequential' }),
        op.create('/a/c', null, { mode: 'container' }),
        op.create('/a/t', null, { mode: 'persistent_with_ttl', ttl: 600_000 }),
        op.setData('/v', 'v1', 0),
        op.check('/v', 1),
        op.setData('/a', 'A2'),
        op.delete('/a/s-0000000000'),
        op.create('/a/s-', null, { mode: 'ephemeral_sequential' }),
      ]),
    )
    await t.do('stat /a', a.exists('/a'))
    await t.do('children /a', a.getChildren('/a', { stat: true }))
    await t.do('empty multi', a.multi([]))
  }),

  scenario('a failing operation aborts the multi: OK before it, its error, RUNTIMEINCONSISTENCY after', async (t) => {
    const a = await t.client('a')
    await t.do('create /v', a.create('/v'))
    await t.do('bad version', a.multi([op.create('/x'), op.setData('/v', 'changed'), op.check('/v', 7), op.delete('/v')]))
    await t.do('nothing happened: /x', a.exists('/x'))
    await t.do('nothing happened: /v', a.exists('/v'))
    await t.do('missing node first', a.multi([op.delete('/nope'), op.create('/y')]))
    await t.do('node exists last', a.multi([op.create('/y'), op.create('/y')]))
    await t.do('not empty', a.multi([op.create('/v/c'), op.delete('/v')]))
    await t.do('ephemeral parent', a.multi([op.create('/e', null, { mode: 'ephemeral' }), op.create('/e/c')]))
    await t.do('invalid acl', a.multi([op.create('/z', null, { acl: CREATOR_ALL_ACL })]))
    await t.do('nothing happened: children', a.getChildren('/'))
  }),

  scenario('later operations of a multi see the earlier ones', async (t) => {
    const a = await t.client('a')
    await t.do(
      'build and tear down in one multi',
      a.multi([op.create('/m', 'x'), op.create('/m/c'), op.setData('/m', 'y', 0), op.check('/m', 1), op.delete('/m/c', 0), op.delete('/m', 1), op.create('/m')]),
    )
    await t.do('stat /m', a.exists('/m'))
    await t.do('sequential numbers within one multi', a.multi([op.create('/m/s-', null, { mode: 'persistent_sequential' }), op.create('/m/s-', null, { mode: 'persistent_sequential' })]))
  }),

  scenario('multiRead answers each read on its own', async (t) => {
    const a = await t.client('a')
    await t.do('create /a', a.create('/a', 'A'))
    await t.do('create /a/b', a.create('/a/b'))
    await t.do('create /secret', a.create('/secret', 's', { acl: [{ perms: 0, id: { scheme: 'world', id: 'anyone' } }] }))
    await t.do('multiRead', a.multiRead([op.getData('/a'), op.getChildren('/a'), op.getData('/nope'), op.getChildren('/secret'), op.getData('/a/b')]))
    await t.do('empty multiRead', a.multiRead([]))
  }),
]
