import { readFileSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import * as assert from 'uvu/assert'
import { commands } from '../../lib/cli/commands.js'
import { ZooKeeper, digestACL } from '../../lib/zk-wire/index.js'
import { makeTempDir, removeTempDir } from '../support/cleanup.js'
import { fourLetterWord } from '../support/four-letter.js'
import { makeTlsMaterial } from '../support/tls-material.js'
import { freePort } from '../support/ports.js'
import { waitFor } from '../support/wait.js'
import { cli, cliSuite, jsonLines, startCli } from './run-cli.js'

const test = cliSuite('zkcloud command line')

test('help lists every command; --version prints the package version', async () => {
  const help = await cli(['help'])
  assert.is(help.code, 0)
  for (const c of commands.keys()) assert.match(help.text, new RegExp(`^  ${c} `, 'm'))
  assert.match((await cli(['help', 'create'])).text, /^usage: zkcloud create \[-e\] \[-s\] \[-c\] \[-t ttl\] <path> \[data\|-\] \[acl\]/)
  assert.match((await cli(['get', '--help'])).text, /^usage: zkcloud get \[-s\] \[-w\] <path>/)
  const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version
  assert.equal(await cli(['--version']), { code: 0, stdout: Buffer.from(`zkcloud ${version}\n`), text: `zkcloud ${version}\n`, stderr: '' })
  assert.equal(JSON.parse((await cli(['--json', '--version'])).text), { version })
})

test('every usage error names the problem in one line and exits 2', async ({ at }) => {
  const cases: Array<[string[], RegExp]> = [
    [['frobnicate'], /^zkcloud: unknown command "frobnicate" \(try: zkcloud help\)$/],
    [['--server'], /^zkcloud: --server needs a value$/],
    [[...at, 'ls'], /^zkcloud: ls: missing <path> \(usage: zkcloud ls \[-s\] \[-w\] \[-R\] <path>\)$/],
    [[...at, 'ls', '/', 'extra'], /^zkcloud: ls: unexpected argument "extra" \(usage: zkcloud ls /],
    [[...at, 'ls', '-x', '/'], /^zkcloud: ls: unknown option -x /],
    [[...at, 'get', '--json=yes', '/'], /^zkcloud: get: --json takes no value /],
    [[...at, 'set', '-v', 'x', '/v', 'y'], /^zkcloud: set: -v needs an integer, got "x" /],
    [[...at, 'set', '-v'], /^zkcloud: set: -v needs a value /],
    [[...at, 'rm', '-r', '-v', '1', '/v'], /^zkcloud: rm: -v cannot be combined with -r /],
    [[...at, 'create', '/a', 'x', 'world:anyone:rwz'], /^zkcloud: create: ACL entry "world:anyone:rwz": unknown permission "z"/],
    [[...at, 'create', '/a', 'x', 'nocolons'], /^zkcloud: create: ACL entry "nocolons" is not scheme:id:perms/],
    [[...at, '--timeout', '0', 'ls', '/'], /^zkcloud: ls: --timeout must be at least 1, got 0 /],
    [[...at, 'cluster', 'stats'], /^zkcloud: cluster: unknown cluster subcommand "stats"/],
    [[...at, 'addauth', 'digest', 'a:b'], /^zkcloud: addauth: addauth works inside zkcloud shell; on the command line use --auth/],
  ]
  for (const [args, message] of cases) {
    const r = await cli(args)
    assert.is(r.code, 2, args.join(' '))
    assert.is(r.stderr.split('\n').length, 2, `one line for ${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr.trimEnd(), message)
    assert.is(r.text, '')
  }
  const json = await cli([...at, '--json', 'ls'])
  assert.equal(JSON.parse(json.stderr), { error: 'missing <path>', usage: 'zkcloud ls [-s] [-w] [-R] <path>' })
})

test('a server that cannot be reached says why; Ctrl-C while connecting exits 130 at once', async () => {
  const port = await freePort()
  const refused = await cli(['--server', `127.0.0.1:${port}`, '--timeout', '300', 'ls', '/'])
  assert.is(refused.code, 3)
  assert.match(refused.stderr, new RegExp(`^zkcloud: CONNECTIONLOSS: cannot reach 127\\.0\\.0\\.1:${port} within 300 ms: 127\\.0\\.0\\.1:${port}: connection refused \\(ECONNREFUSED\\)`))
  const started = Date.now()
  const dns = await cli(['--server', 'no-such-host.invalid:2181', '--timeout', '20000', 'ls', '/'])
  assert.is(dns.code, 3)
  assert.match(dns.stderr, /cannot resolve "no-such-host\.invalid" \(ENOTFOUND|EAI_AGAIN\)/)
  assert.ok(Date.now() - started < 10_000, 'a name that does not resolve fails without waiting for --timeout')
  // A listener that accepts and never answers: the client waits for a handshake.
  let onConnection: () => void = () => undefined
  const silent = createServer(() => onConnection())
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
  try {
    const address = `127.0.0.1:${(silent.address() as AddressInfo).port}`
    const mute = await cli(['--server', address, '--timeout', '400', 'ls', '/'])
    assert.is(mute.code, 3)
    assert.match(mute.stderr, /accepted a TCP connection but completed no ZooKeeper handshake/)
    const connecting = new Promise<void>((resolve) => (onConnection = resolve))
    const waiting = startCli(['--server', address, '--timeout', '30000', 'ls', '/'])
    await connecting
    const interrupted = Date.now()
    waiting.child.kill('SIGINT')
    const r = await waiting.exited
    assert.is(r.code, 130)
    assert.ok(Date.now() - interrupted < 1500, `exited ${Date.now() - interrupted} ms after SIGINT`)
    assert.is(r.stderr, '')
  } finally {
    silent.close()
  }
})

test('create, get, set, ls, stat and rm, with human output', async ({ at, zk }) => {
  assert.equal(await cli([...at, 'create', '/app', 'hello']), { code: 0, stdout: Buffer.from('/app\n'), text: '/app\n', stderr: '' })
  assert.is((await cli([...at, 'get', '/app'])).text, 'hello', 'data exactly, no newline when piped')
  assert.is((await cli([...at, 'set', '/app', 'world'])).code, 0)
  assert.is((await zk.getData('/app')).data.toString(), 'world')
  await zk.create('/app/b')
  await zk.create('/app/a')
  assert.is((await cli([...at, 'ls', '/app'])).text, 'a\nb\n', 'sorted')
  const stat = await cli([...at, 'stat', '/app'])
  assert.match(stat.text, /^version\s+1$/m)
  assert.match(stat.text, /^numChildren\s+2$/m)
  assert.match(stat.text, /^czxid\s+0x[0-9a-f]+$/m)
  assert.match(stat.text, /^mtime\s+\d{4}-\d\d-\d\dT/m)
  assert.is((await cli([...at, 'rm', '/app/a'])).code, 0)
  assert.is(await zk.exists('/app/a'), null)
})

test('create modes: sequential, ephemeral (gone when the command ends), container, TTL, and refused mixes', async ({ at, zk }) => {
  await zk.create('/q')
  assert.is((await cli([...at, 'create', '-s', '/q/job-', 'x'])).text, '/q/job-0000000000\n')
  assert.is((await cli([...at, 'create', '-e', '-s', '/q/e-'])).text, '/q/e-0000000001\n')
  assert.is(await zk.exists('/q/e-0000000001'), null, 'the ephemeral went with the command’s session')
  assert.is((await cli([...at, 'create', '-c', '/c'])).code, 0)
  assert.is((await cli([...at, 'create', '-t', '60000', '/t'])).code, 0)
  assert.ok(await zk.exists('/c'))
  assert.ok(await zk.exists('/t'))
  for (const bad of [['-c', '-e'], ['-e', '-t', '100'], ['-t', '0'], ['-t', 'soon']]) {
    const r = await cli([...at, 'create', ...bad, '/bad'])
    assert.is(r.code, 2, bad.join(' '))
    assert.match(r.stderr, /usage: zkcloud create/)
  }
})

test('--json: one document per line for results and for errors', async ({ at, zk }) => {
  const created = JSON.parse((await cli([...at, '--json', 'create', '/j', 'v'])).text)
  assert.is(created.path, '/j')
  assert.is(created.stat.version, 0)
  const got = JSON.parse((await cli([...at, 'get', '--json', '/j'])).text)
  assert.equal([got.data, got.encoding, got.stat.dataLength, typeof got.stat.czxid, typeof got.stat.ctime], ['v', 'utf8', 1, 'string', 'number'])
  await zk.create('/j/k')
  assert.equal(JSON.parse((await cli([...at, '--json', 'ls', '/j'])).text), { path: '/j', children: ['k'] })
  assert.equal(jsonLines((await cli([...at, '--json', 'tree', '/j'])).text), [{ path: '/j', depth: 0 }, { path: '/j/k', depth: 1 }])
  const missing = await cli([...at, '--json', 'get', '/nope'])
  assert.is(missing.code, 1)
  assert.equal(JSON.parse(missing.stderr), { error: 'NONODE', code: -101, message: 'no node (getData /nope)', path: '/nope' })
})

test('binary data: raw bytes on stdout, base64 in JSON; data from stdin with -', async ({ at, zk }) => {
  const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 10])
  assert.is((await cli([...at, 'create', '/bin', '-'], { input: bytes })).code, 0)
  assert.ok((await zk.getData('/bin')).data.equals(bytes))
  assert.ok((await cli([...at, 'get', '/bin'])).stdout.equals(bytes))
  const json = JSON.parse((await cli([...at, '--json', 'get', '/bin'])).text)
  assert.equal([json.encoding, Buffer.from(json.data, 'base64').equals(bytes)], ['base64', true])
  assert.is((await cli([...at, 'set', '/bin', '-'], { input: 'text now' })).code, 0)
  assert.is((await zk.getData('/bin')).data.toString(), 'text now')
})

test('exit status: 1 when the server refuses, 2 for a bad command line, 3 when no server answers', async ({ at, zk }) => {
  await zk.create('/v', 'x')
  const cases: Array<[string[], number, RegExp]> = [
    [['get', '/nope'], 1, /NONODE/],
    [['create', '/v'], 1, /NODEEXISTS/],
    [['set', '-v', '7', '/v', 'y'], 1, /BADVERSION/],
    [['rm', '-v', '3', '/v'], 1, /BADVERSION/],
    [['create', '/missing/child'], 1, /NONODE/],
    [['ls'], 2, /missing <path>/],
    [['ls', '--wat', '/'], 2, /unknown option --wat/],
    [['set', '-v', 'x', '/v', 'y'], 2, /-v needs an integer/],
    [['--auth', 'nocolon', 'ls', '/'], 2, /--auth needs scheme:credentials/],
    [['--timeout', 'soon', 'ls', '/'], 2, /--timeout needs an integer/],
  ]
  for (const [args, code, message] of cases) {
    const r = await cli([...at, ...args])
    assert.is(r.code, code, args.join(' '))
    assert.match(r.stderr, message)
  }
})

test('rm -r deletes a subtree; tree draws one', async ({ at, zk }) => {
  for (const p of ['/t', '/t/a', '/t/a/x', '/t/b']) await zk.create(p)
  assert.is((await cli([...at, 'tree', '/t'])).text, '/t\n├── a\n│   └── x\n└── b\n')
  assert.is((await cli([...at, 'rm', '/t'])).code, 1, 'not empty')
  assert.is((await cli([...at, 'rm', '-r', '/t'])).code, 0)
  assert.is(await zk.exists('/t'), null)
  assert.is((await cli([...at, 'rm', '-r', '/t'])).code, 1, 'gone already')
})

test('--server takes a chroot, ZK_HOSTS is the default, --auth adds credentials', async ({ server, at, zk }) => {
  await zk.create('/root')
  await zk.create('/root/inside')
  assert.is((await cli(['--server', `${server.connectString}/root`, 'ls', '/'])).text, 'inside\n')
  assert.is((await cli(['ls', '/root'], { env: { ZK_HOSTS: server.connectString } })).text, 'inside\n')
  await zk.create('/locked', 'secret', { acl: [digestACL('alice', 'pw')] })
  assert.is((await cli([...at, 'get', '/locked'])).code, 1)
  assert.is((await cli([...at, '--auth', 'digest:alice:pw', 'get', '/locked'])).text, 'secret')
})

test('watch streams events until interrupted, then exits 0; -r covers the subtree', async ({ server, at, zk, running }) => {
  await zk.create('/w')
  const plain = startCli([...at, 'watch', '/w'])
  const deep = startCli([...at, '--json', 'watch', '-r', '/w'])
  running.push(plain, deep)
  // Each persistent watch sits in both of the server's watch tables.
  await waitFor('both watches to be set', async () => /^zk_watch_count\t4$/m.test(await fourLetterWord('127.0.0.1', server.port, 'mntr')))
  await zk.setData('/w', 'x')
  await zk.create('/w/c')
  await zk.setData('/w/c', 'y')
  await plain.line(/^NodeChildrenChanged \/w$/)
  await deep.line(/"NodeDataChanged","path":"\/w\/c"/)
  plain.child.kill('SIGINT')
  deep.child.kill('SIGTERM')
  const [p, d] = await Promise.all([plain.exited, deep.exited])
  assert.equal([p.code, d.code], [0, 0])
  assert.is(p.text, 'NodeDataChanged /w\nNodeChildrenChanged /w\n')
  assert.equal(d.text.trim().split('\n').map((l) => JSON.parse(l)), [
    { type: 'NodeDataChanged', path: '/w' },
    { type: 'NodeCreated', path: '/w/c' },
    { type: 'NodeDataChanged', path: '/w/c' },
  ])
})

test('dev-server runs until interrupted, and keeps its data in --data-dir across restarts', async ({ running }) => {
  const dataDir = makeTempDir('cli-dev-server')
  try {
    const port = String(await freePort())
    const first = startCli(['dev-server', '--port', port, '--data-dir', dataDir, '--tick-time', '500'])
    running.push(first)
    assert.match(await first.line(/listening/), new RegExp(`^dev server listening on 127\\.0\\.0\\.1:${port} \\(snapshot in `))
    const at = ['--server', `127.0.0.1:${port}`]
    assert.is((await cli([...at, 'create', '/kept', 'yes'])).code, 0)
    first.child.kill('SIGTERM')
    assert.is((await first.exited).code, 0)
    const second = startCli(['dev-server', '--json', '--port', port, '--data-dir', dataDir])
    running.push(second)
    assert.equal(JSON.parse(await second.line(/listening/)), { listening: `127.0.0.1:${port}` })
    assert.is((await cli([...at, 'get', '/kept'])).text, 'yes')
    second.child.kill('SIGINT')
    assert.is((await second.exited).code, 0)
    const busy = startCli(['dev-server', '--port', port])
    running.push(busy)
    await busy.line(/listening/)
    const refused = await cli(['dev-server', '--port', port])
    assert.is(refused.code, 1)
    assert.match(refused.stderr, /EADDRINUSE/)
  } finally {
    removeTempDir(dataDir)
  }
})

test('dev-server options: SASL users, the four-letter whitelist, a TLS port; bad values are usage errors', async ({ running }) => {
  const dir = makeTempDir('cli-dev-server-tls')
  try {
    const files = await makeTlsMaterial(dir)
    const server = startCli(['--json', 'dev-server', '--port', '0', '--sasl-user', 'alice:wonderland', '--4lw-whitelist', 'srvr,mntr', '--tls-port', '0', '--tls-cert', files.keyStore, '--tls-key', files.keyStore, '--tls-ca', files.trustStore])
    running.push(server)
    const { listening, tls } = JSON.parse(await server.line(/listening/)) as { listening: string; tls: string }
    const alice = await ZooKeeper.connect(listening, { sasl: { username: 'alice', password: 'wonderland' } })
    assert.ok((await alice.whoAmI()).some((i) => i.authScheme === 'sasl' && i.user === 'alice'))
    await alice.close()
    const secure = await ZooKeeper.connect(tls, { tls: files.client })
    assert.is((await secure.getChildren('/')).includes('zookeeper'), true)
    await secure.close()
    const port = Number(listening.split(':')[1])
    assert.is(await fourLetterWord('127.0.0.1', port, 'ruok'), 'ruok is not executed because it is not in the whitelist.\n')
    assert.match(await fourLetterWord('127.0.0.1', port, 'srvr'), /^Mode: standalone$/m)
  } finally {
    removeTempDir(dir)
  }
  for (const [args, message] of [
    [['--sasl-user', 'alice'], /--sasl-user needs name:password, got "alice"/],
    [['--tls-port', '0'], /--tls-port needs --tls-cert and --tls-key/],
    [['--tls-cert', 'x.pem'], /--tls-cert, --tls-key and --tls-ca go with --tls-port/],
    [['--tls-port', '0', '--tls-cert', '/nonexistent.pem', '--tls-key', '/nonexistent.pem'], /--tls-cert: cannot read \/nonexistent\.pem \(ENOENT\)/],
  ] as Array<[string[], RegExp]>) {
    const r = await cli(['dev-server', '--port', '0', ...args])
    assert.is(r.code, 2, args.join(' '))
    assert.match(r.stderr, message)
  }
})

test.run()
