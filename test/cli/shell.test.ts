import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { type DevServer, startDevServer } from '../../lib/dev-server/index.js'
import { ZooKeeper, digestId } from '../../lib/zk-wire/index.js'
import { makeTempDir, removeTempDir } from '../support/cleanup.js'
import { TcpProxy } from '../support/proxy.js'
import { CLI, cli } from './run-cli.js'
import { Tmux } from './tmux.js'

/**
 * `zkcloud shell` as a user types into it, under a real pseudo-terminal
 * (tmux): completion, history, watches, addauth, progress, Ctrl-C, and what
 * it says when the connection drops, comes back or the session expires.
 */
const test = suite<{ server: DevServer; proxy: TcpProxy; zk: ZooKeeper; dir: string }>('zkcloud shell')

test.before(async (ctx) => {
  // Sessions of at most 2 s (20 ticks of 100 ms), so an expiry takes little waiting.
  ctx.server = await startDevServer({ port: 0, tickTime: 100 })
  ctx.proxy = await TcpProxy.start('127.0.0.1', ctx.server.port)
  ctx.zk = await ZooKeeper.connect(ctx.server.connectString)
  ctx.dir = makeTempDir('cli-shell')
})
test.after(async (ctx) => {
  await ctx.zk?.close()
  await ctx.proxy?.close()
  await ctx.server?.close()
  if (ctx.dir) removeTempDir(ctx.dir)
})

/** The prompt, as the line the cursor sits on. */
const PROMPT = /zkcloud 127\.0\.0\.1:\d+>$/

test('a session at a terminal: completion, history, watches, addauth, progress, drops and expiry', async ({ proxy, zk, dir }) => {
  const history = join(dir, 'history')
  const shell = await Tmux.start([process.execPath, CLI, '--server', `127.0.0.1:${proxy.port}`], { ZKCLOUD_HISTORY: history })
  try {
    await shell.waitFor(/connected to 127\.0\.0\.1:\d+ \(session 0x[0-9a-f]+\); help lists the commands/)
    await shell.waitFor(PROMPT)
    await shell.line('create /alpha hello')
    await shell.waitFor(/^\/alpha$/m)

    // Tab completes znode paths and commands.
    await shell.type('get /al')
    await shell.press('Tab')
    await shell.waitFor(/> get \/alpha$/)
    await shell.press('Enter')
    await shell.waitFor(/^hello$/m)
    await shell.type('getAc')
    await shell.press('Tab')
    await shell.waitFor(/> getAcl$/)
    await shell.line('/alpha')
    await shell.waitFor(/^world:anyone:cdrwa$/m)

    // Up recalls the last command.
    await shell.press('Up')
    await shell.waitFor(/> getAcl \/alpha$/)
    await shell.press('Enter')
    await shell.waitFor(/world:anyone:cdrwa\n(.*\n)*world:anyone:cdrwa/)

    // A one-shot watch returns at once and reports its event above the prompt.
    await shell.line('get -w /alpha')
    await shell.waitFor(/get -w \/alpha\nhello\n/)
    await zk.setData('/alpha', 'changed')
    await shell.waitFor(/^WATCHER:: NodeDataChanged \/alpha$/m)

    // addauth applies to this session.
    await shell.line('addauth digest bob:pw')
    await shell.line('create /bob secret auth::cdrwa')
    // Typed ahead, `whoami` would be echoed before `/bob` and its answer printed after the prompt.
    await shell.waitFor(/^\/bob$/m)
    await shell.line('whoami')
    await shell.waitFor(/^digest:bob$/m)
    await shell.line('getAcl /bob')
    await shell.waitFor(new RegExp(`^digest:${digestId('bob', 'pw').replace(/[+/=]/g, '\\$&')}:cdrwa$`, 'm'))

    // Usage errors and refusals are one line; the shell goes on.
    await shell.line('get')
    await shell.waitFor(/^zkcloud: get: missing <path> \(usage: zkcloud get \[-s\] \[-w\] <path>\)$/m)
    await shell.line('get /nope')
    await shell.waitFor(/^zkcloud: NONODE: no node \(getData \/nope\)$/m)

    // Ctrl-C at the prompt clears the line and keeps the shell.
    await shell.type('ls /never')
    await shell.press('C-c')
    await shell.waitFor(/ls \/never\^C\n/)

    // Progress on the terminal while a bulk delete runs (slowed down by the proxy), then a summary.
    await Promise.all(Array.from({ length: 2000 }, (_, i) => zk.create(`/alpha/n${i}`)))
    proxy.delay(15)
    await shell.line('rm -r -b 10 /alpha')
    await shell.waitFor(/deleting \/alpha: [\d,]+ of 2,001 \(\d+%\), [\d,]+\/s, ETA \d+s/)
    proxy.delay(0)
    await shell.waitFor(/^zkcloud: deleted 2,001 nodes in [\d.]+ s \([\d,]+\/s\)$/m, 30_000)

    // The connection drops and comes back: same session.
    await shell.line('create -e /mine x')
    proxy.cut()
    await shell.waitFor(/^-- disconnected from 127\.0\.0\.1:\d+; reconnecting/m)
    await shell.waitFor(/^-- reconnected to 127\.0\.0\.1:\d+ \(session 0x/m)
    // It stays away longer than the session timeout: the session expires, the shell starts a new one.
    proxy.refuse()
    proxy.cut()
    await new Promise((r) => setTimeout(r, 3000))
    proxy.accept()
    await shell.waitFor(/^-- session 0x[0-9a-f]+ expired: its ephemeral nodes and watches are gone; starting a new session$/m)
    await shell.waitFor(/^-- connected to 127\.0\.0\.1:\d+ \(new session 0x[0-9a-f]+\)$/m)
    assert.is(await zk.exists('/mine'), null, 'the ephemeral went with the expired session')
    await shell.line('whoami')
    const after = (await shell.waitFor(/\(new session [^\n]*\n[^\n]*whoami\n.*\n.*\n.*>$/)).split('(new session ')[1]!
    assert.equal(after.split('\n').slice(2, 4).sort(), ['digest:bob', 'ip:127.0.0.1'], 'the new session has the credentials added with addauth')

    await shell.line('quit')
    await shell.waitFor(/^exit status 0$/m)
    const typed = readFileSync(history, 'utf8')
    assert.match(typed, /^create \/alpha hello\nget \/alpha\ngetAcl \/alpha\n/)
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- screen ---\n${await shell.screen()}`)
  } finally {
    await shell.kill()
  }
})

test('a script on stdin: one command per line, no prompt, the last status', async ({ server }) => {
  const r = await cli(['--server', server.connectString, 'shell'], { input: 'create /script x\nget /script\n# a comment\nls -R /script\nget /missing\n' })
  assert.is(r.text, '/script\nx\n/script\n')
  assert.match(r.stderr, /^zkcloud: NONODE/m)
  assert.is(r.code, 1, 'the status of the last command')
  const ok = await cli(['--server', server.connectString], { input: 'rm /script\n' })
  assert.equal([ok.code, ok.text, ok.stderr], [0, '', ''], 'zkcloud alone is the shell')
})

test.run()
