import * as assert from 'uvu/assert'
import type { DevServer } from '../../lib/dev-server/index.js'
import { digestId } from '../../lib/zk-wire/index.js'
import { fourLetterWord } from '../support/four-letter.js'
import { TcpProxy } from '../support/proxy.js'
import { waitFor } from '../support/wait.js'
import { cli, cliSuite, jsonLines, startCli } from './run-cli.js'

/** zkCli's everyday commands, as zkcloud offers them, on the dev server. */
const test = cliSuite('zkcloud: the zkCli commands')

/** Waits until the dev server holds `n` watches (so the command waiting on one has set it). */
const watches = (server: DevServer, n: number): Promise<unknown> =>
  waitFor(`${n} watches`, async () => new RegExp(`^zk_watch_count\\t${n}$`, 'm').test(await fourLetterWord('127.0.0.1', server.port, 'mntr')))

test('get -w, ls -w and stat -w print, wait for the one event, print it and exit 0', async ({ server, zk, at, running }) => {
  await zk.create('/w', 'first')
  const get = startCli([...at, 'get', '-w', '/w'])
  const ls = startCli([...at, '--json', 'ls', '-w', '/w'])
  const stat = startCli([...at, 'stat', '-w', '/later'])
  running.push(get, ls, stat)
  await watches(server, 3)
  await zk.setData('/w', 'second')
  await zk.create('/w/child')
  await zk.create('/later')
  const [g, l, s] = await Promise.all([get.exited, ls.exited, stat.exited])
  assert.equal([g.code, l.code, s.code], [0, 0, 0])
  assert.is(g.text, 'first\nNodeDataChanged /w\n')
  assert.equal(jsonLines(l.text), [{ path: '/w', children: [] }, { type: 'NodeChildrenChanged', path: '/w' }])
  assert.is(s.text, 'NodeCreated /later\n')
  assert.match(s.stderr, /\/later does not exist; waiting for it to be created/)
  const interrupted = startCli([...at, 'get', '-w', '/w'])
  running.push(interrupted)
  await watches(server, 1)
  interrupted.child.kill('SIGINT')
  assert.is((await interrupted.exited).code, 130, 'Ctrl-C before the event: 130')
})

test('get -s, ls -s, set -s print the stat after the result', async ({ zk, at }) => {
  await zk.create('/s', 'data')
  const got = (await cli([...at, 'get', '-s', '/s'])).text.split('\n')
  assert.is(got[0], 'data')
  assert.match(got[1]!, /^czxid\s+0x[0-9a-f]+$/)
  assert.match((await cli([...at, 'ls', '-s', '/'])).text, /^s\nzookeeper\nczxid\s+0x0\n/)
  assert.match((await cli([...at, 'set', '-s', '/s', 'more'])).text, /^version\s+1$/m)
  assert.is((await cli([...at, 'set', '/s', 'quiet'])).text, '', 'without -s, set prints nothing')
})

test('getAcl, setAcl (-v, -R), create with an ACL, whoami, and --auth', async ({ zk, at }) => {
  const alice = `digest:${digestId('alice', 'pw')}:cdrwa`
  assert.is((await cli([...at, 'create', '/acl', 'x', `${alice},world:anyone:r`])).code, 0)
  assert.is((await cli([...at, 'getAcl', '/acl'])).text, 'digest:alice:x:cdrwa\nworld:anyone:r\n', 'digest hashes are hidden from callers without ADMIN, as ZooKeeper hides them')
  assert.is((await cli([...at, 'set', '/acl', 'y'])).code, 1, 'world may only read')
  const asAlice = [...at, '--auth', 'digest:alice:pw']
  assert.is((await cli([...asAlice, 'set', '/acl', 'y'])).code, 0)
  assert.is((await cli([...asAlice, 'getAcl', '/acl'])).text, `${alice}\nworld:anyone:r\n`)
  assert.equal(JSON.parse((await cli([...asAlice, '--json', 'getAcl', '/acl'])).text).acl, [
    { scheme: 'digest', id: digestId('alice', 'pw'), perms: 'cdrwa' },
    { scheme: 'world', id: 'anyone', perms: 'r' },
  ])
  assert.is((await cli([...asAlice, 'setAcl', '-v', '5', '/acl', 'world:anyone:cdrwa'])).code, 1, 'BADVERSION')
  assert.match((await cli([...asAlice, 'setAcl', '-s', '-v', '0', '/acl', 'world:anyone:cdrwa'])).text, /^aversion\s+1$/m)
  assert.is((await zk.getACL('/acl')).stat.aversion, 1)
  for (const p of ['/r', '/r/a', '/r/a/b', '/r/c']) await zk.create(p)
  assert.equal(JSON.parse((await cli([...at, '--json', 'setAcl', '-R', '/r', 'world:anyone:cdr'])).text), { path: '/r', updated: 4 })
  for (const p of ['/r', '/r/a', '/r/a/b', '/r/c']) assert.is((await zk.getACL(p)).acl[0]!.perms, 1 | 4 | 8, p)
  assert.is((await cli([...at, 'whoami'])).text, 'ip:127.0.0.1\n')
  assert.equal(JSON.parse((await cli([...asAlice, '--json', 'whoami'])).text), {
    identities: [
      { scheme: 'ip', user: '127.0.0.1' },
      { scheme: 'digest', user: 'alice' },
    ],
  })
})

test('sync, getEphemerals, getAllChildrenNumber, config, removewatches', async ({ zk, at }) => {
  for (const p of ['/n', '/n/a', '/n/a/b', '/n/c']) await zk.create(p)
  assert.equal(await cli([...at, 'sync', '/n']), { code: 0, stdout: Buffer.alloc(0), text: '', stderr: '' })
  assert.equal(JSON.parse((await cli([...at, '--json', 'sync', '/n'])).text), { path: '/n', synced: true })
  assert.is((await cli([...at, 'getAllChildrenNumber', '/n'])).text, '3\n')
  assert.equal(JSON.parse((await cli([...at, '--json', 'getAllChildrenNumber', '/n'])).text), { path: '/n', count: 3 })
  assert.equal(JSON.parse((await cli([...at, '--json', 'getEphemerals'])).text), { paths: [] }, 'a new session owns none')
  assert.is((await cli([...at, 'config'])).code, 0)
  assert.equal(JSON.parse((await cli([...at, '--json', 'getConfig'])).text), { config: {} }, 'a standalone server without reconfig has an empty config')
  const none = await cli([...at, 'removewatches', '/n'])
  assert.is(none.code, 1)
  assert.match(none.stderr, /NOWATCHER/)
})

test('removewatches -l in the shell: the watch goes here, also when no server can be asked', async ({ server, zk, running }) => {
  await zk.create('/n', 'x')
  const proxy = await TcpProxy.start('127.0.0.1', server.port)
  try {
    const shell = startCli(['--server', proxy.address], { keepStdin: true })
    running.push(shell)
    shell.type('get -w /n')
    shell.type('ls -w /n')
    await watches(server, 2)
    shell.type('removewatches -d -l /n')
    await shell.errorLine(/^WATCHER:: DataWatchRemoved \/n$/)
    await watches(server, 1)
    proxy.refuse()
    proxy.cut()
    await shell.errorLine(/^-- disconnected from/)
    const started = Date.now()
    shell.type('removewatches -c -l /n')
    await shell.errorLine(/^WATCHER:: ChildWatchRemoved \/n$/)
    assert.ok(Date.now() - started < 2000, `no wait for a server (${Date.now() - started} ms)`)
    shell.type('removewatches -l /n')
    await shell.errorLine(/^zkcloud: NOWATCHER/)
    await proxy.accept()
    await shell.errorLine(/^-- reconnected to/, 15_000)
    await zk.setData('/n', 'y')
    await zk.create('/n/c')
    shell.type('ls /n')
    await shell.line(/^c$/)
    shell.child.stdin!.end()
    const r = await shell.exited
    assert.is(r.code, 0, r.stderr)
    assert.not.match(r.stderr, /NodeDataChanged|NodeChildrenChanged/, 'neither watch fired')
  } finally {
    await proxy.close()
  }
})

test('--json: every command prints one document per result', async ({ zk, at }) => {
  await zk.create('/j', 'v')
  const one = async (args: string[]): Promise<Record<string, unknown>> => {
    const r = await cli([...at, '--json', ...args])
    assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    const docs = jsonLines(r.text)
    assert.is(docs.length, 1, args.join(' '))
    return docs[0] as Record<string, unknown>
  }
  assert.equal(Object.keys(await one(['create', '/j/a', 'x'])), ['path', 'stat'])
  assert.equal(Object.keys(await one(['get', '/j'])), ['path', 'data', 'encoding', 'stat'])
  assert.equal(Object.keys(await one(['set', '/j', 'w'])), ['path', 'stat'])
  assert.equal(Object.keys(await one(['stat', '/j'])), ['path', 'stat'])
  assert.equal(await one(['ls', '/j']), { path: '/j', children: ['a'] })
  assert.equal(await one(['rm', '/j/a']), { path: '/j/a', deleted: 1 })
  await zk.create('/j/b')
  await zk.create('/j/b/c')
  assert.equal(await one(['cp', '-r', '/j', '/k']), { from: '/j', to: '/k', copied: 3 })
  assert.equal(await one(['rm', '-r', '/k']), { path: '/k', deleted: 3 })
  assert.equal(await one(['deleteall', '/j/b']), { path: '/j/b', deleted: 2 })
  assert.equal(await one(['delete', '/j']), { path: '/j', deleted: 1 })
})

test('watch says so on stderr when the connection comes back, and prints no None event', async ({ server, zk, running }) => {
  await zk.create('/rw')
  const proxy = await TcpProxy.start('127.0.0.1', server.port)
  try {
    const plain = startCli(['--server', `127.0.0.1:${proxy.port}`, 'watch', '/rw'])
    const json = startCli(['--server', `127.0.0.1:${proxy.port}`, '--json', 'watch', '/rw'])
    running.push(plain, json)
    await watches(server, 4)
    proxy.cut()
    await json.line(/"reconnected":true/, 15_000)
    // Both watches are set again on the new connections.
    await watches(server, 4)
    await zk.setData('/rw', 'again')
    await plain.line(/^NodeDataChanged \/rw$/, 15_000)
    plain.child.kill('SIGINT')
    json.child.kill('SIGINT')
    const [p, j] = await Promise.all([plain.exited, json.exited])
    assert.not.match(p.text, /None|null/)
    assert.match(p.stderr, /zkcloud: connection lost; reconnecting/)
    assert.match(p.stderr, /zkcloud: reconnected: changes made while the connection was down are not replayed/)
    assert.ok(jsonLines(j.text).some((e) => (e as { reconnected?: boolean }).reconnected === true))
  } finally {
    await proxy.close()
  }
})

test.run()
