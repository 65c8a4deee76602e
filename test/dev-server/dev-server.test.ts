import { writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { type DevServer, type DevServerOptions, startDevServer } from '../../lib/dev-server/index.js'
import { FrameDecoder } from '../../lib/zk-wire/framing.js'
import { JuteWriter } from '../../lib/zk-wire/jute.js'
import { OPEN_ACL_UNSAFE, ZooKeeper, digestACL } from '../../lib/zk-wire/index.js'
import { OpCode, writeConnectRequest } from '../../lib/zk-wire/operations.js'
import { writeACLs } from '../../lib/zk-wire/records.js'
import { makeTempDir, removeTempDir } from '../support/cleanup.js'
import { fourLetterWord } from '../support/four-letter.js'
import { freePort } from '../support/ports.js'
import { RawSession } from '../support/raw-session.js'
import { rejection } from '../support/rejection.js'
import { sleep, waitFor } from '../support/wait.js'

/** Servers and clients of one test, all closed afterwards even when it fails. */
class Fixture {
  readonly servers: DevServer[] = []
  readonly clients: ZooKeeper[] = []
  readonly raws: RawSession[] = []
  readonly dirs: string[] = []

  async server(options: DevServerOptions = {}): Promise<DevServer> {
    const s = await startDevServer({ port: 0, ...options })
    this.servers.push(s)
    return s
  }

  async client(connectString: string, options: Parameters<typeof ZooKeeper.connect>[1] = {}): Promise<ZooKeeper> {
    const zk = await ZooKeeper.connect(connectString, { sessionTimeout: 10_000, ...options })
    this.clients.push(zk)
    return zk
  }

  async raw(address: string, options?: Parameters<typeof RawSession.open>[1]): Promise<RawSession> {
    const r = await RawSession.open(address, options)
    this.raws.push(r)
    return r
  }

  dir(): string {
    const d = makeTempDir('dev-server')
    this.dirs.push(d)
    return d
  }

  async close(): Promise<void> {
    for (const r of this.raws) r.close()
    await Promise.all(this.clients.map((c) => c.close()))
    await Promise.all(this.servers.map((s) => s.close()))
    for (const d of this.dirs) removeTempDir(d)
  }
}

const test = suite<{ f: Fixture }>('dev server')
test.before.each((ctx) => {
  ctx.f = new Fixture()
})
test.after.each(async (ctx) => {
  await ctx.f.close()
})

const createReq = (path: string, flags = 0) => (w: JuteWriter) => {
  w.string(path).buffer(null)
  writeACLs(w, OPEN_ACL_UNSAFE)
  w.int(flags)
}

test('starts on a free port, tells where, and closes once however often close() is called', async ({ f }) => {
  const s = await f.server()
  assert.ok(s.port > 0)
  assert.is(s.address, '127.0.0.1')
  assert.is(s.connectString, `127.0.0.1:${s.port}`)
  const zk = await f.client(s.connectString)
  assert.is(await zk.create('/x'), '/x')
  await Promise.all([s.close(), s.close()])
  await s[Symbol.asyncDispose]()
  assert.is((await rejection(fourLetterWord('127.0.0.1', s.port, 'ruok'))).message.includes('ECONNREFUSED'), true)
})

test('the package exports it as zkcloud/dev-server', async () => {
  const { startDevServer: exported } = await import('zkcloud/dev-server')
  const s = await exported({ port: 0 })
  try {
    assert.is(await fourLetterWord('127.0.0.1', s.port, 'ruok'), 'imok')
  } finally {
    await s.close()
  }
})

test('every write takes the next zxid, failed ones included, and so do new and closed sessions', async ({ f }) => {
  const s = await f.server()
  const raw = await f.raw(s.connectString)
  const zxids: bigint[] = []
  for (const [xid, type, body] of [
    [1, OpCode.create, createReq('/a')],
    [2, OpCode.create, createReq('/a')],
    [3, OpCode.exists, (w: JuteWriter) => void w.string('/a').bool(false)],
    [4, OpCode.delete, (w: JuteWriter) => void w.string('/nope').int(-1)],
    [5, OpCode.closeSession, () => undefined],
  ] as const) {
    zxids.push((await raw.call(xid, type, body)).at(-1)!.zxid)
  }
  assert.equal(zxids, [2n, 3n, 3n, 4n, 5n], 'session 1, create 2, failed create 3, read sees 3, failed delete 4, close 5')
})

test('sessions expire on a tick boundary after their timeout; re-attaching in time keeps them', async ({ f }) => {
  const s = await f.server({ tickTime: 100 })
  const zk = await f.client(s.connectString)
  const first = await f.raw(s.connectString, { timeout: 300 })
  assert.is(first.handshake!.timeout, 300)
  await first.call(1, OpCode.create, createReq('/kept', 1))
  first.close()
  await sleep(150)
  const again = await f.raw(s.connectString, { timeout: 300, sessionId: first.handshake!.sessionId, password: first.handshake!.password })
  assert.is(again.handshake!.sessionId, first.handshake!.sessionId, 're-attached')
  assert.ok(await zk.exists('/kept'), 'its ephemeral is still there')
  const started = Date.now()
  assert.is(await again.next(3000), null, 'the silent session is closed by the server')
  const elapsed = Date.now() - started
  assert.ok(elapsed >= 280 && elapsed <= 300 + 2 * 100 + 150, `expired after ${elapsed} ms`)
  await waitFor('the ephemeral to go', async () => (await zk.exists('/kept')) === null)
})

test('timeouts are clamped to 2..20 ticks by default, or to the configured bounds', async ({ f }) => {
  const s = await f.server({ tickTime: 100 })
  for (const [asked, granted] of [[1, 200], [1500, 1500], [60_000, 2000]]) {
    assert.is((await f.raw(s.connectString, { timeout: asked })).handshake!.timeout, granted)
  }
  const bounded = await f.server({ tickTime: 100, minSessionTimeout: 500, maxSessionTimeout: 700 })
  assert.is((await f.raw(bounded.connectString, { timeout: 1 })).handshake!.timeout, 500)
  assert.is((await f.raw(bounded.connectString, { timeout: 10_000 })).handshake!.timeout, 700)
})

test('with a data directory, nodes, sessions and the zxid survive a restart', async ({ f }) => {
  const dataDir = f.dir()
  const port = await freePort()
  const first = await f.server({ port, dataDir })
  const zk = await f.client(first.connectString)
  await zk.addAuth('digest', 'alice:secret')
  await zk.create('/app', 'config')
  await zk.create('/app/e', null, { mode: 'ephemeral' })
  await zk.create('/app/s-', null, { mode: 'persistent_sequential' })
  await zk.create('/app/c', null, { mode: 'container' })
  await zk.create('/app/t', null, { mode: 'persistent_with_ttl', ttl: 600_000 })
  await zk.create('/app/locked', 'x', { acl: [digestACL('alice', 'secret')] })
  await zk.create('/app/null', null)
  await zk.setData('/app', 'config2')
  const before = await zk.getChildren('/app', { stat: true })
  const nulls = await zk.exists('/app/null')
  await first.close()
  await waitFor('the client to notice', () => zk.state === 'disconnected')
  const second = await f.server({ port, dataDir })
  await zk.whenConnected(10_000)
  assert.equal(await zk.getChildren('/app', { stat: true }), before, 'same children and stat')
  assert.is((await zk.getData('/app')).data.toString(), 'config2')
  assert.is((await zk.exists('/app/e'))!.ephemeralOwner, zk.sessionId, 'the session and its ephemeral survived')
  assert.equal(await zk.exists('/app/null'), nulls)
  assert.is((await zk.getData('/app/locked')).data.toString(), 'x', 'ACL kept, auth re-sent on reconnect')
  const { stat } = await zk.create2('/app/after')
  assert.ok(stat.czxid > before.stat.pzxid, 'zxids continue from where they were')
  assert.is(await zk.create('/app/s-', null, { mode: 'persistent_sequential' }), '/app/s-0000000007')
  await zk.delete('/app/after')
  await second.close()
  const third = await f.server({ port, dataDir })
  await zk.whenConnected(10_000)
  assert.is(await zk.exists('/app/after'), null, 'the last change before close was written too')
  await zk.delete('/app/c')
  await third.close()
})

test('a damaged snapshot stops the server from starting, with a clear message', async ({ f }) => {
  const dataDir = f.dir()
  writeFileSync(join(dataDir, 'snapshot.zkds'), 'not a snapshot')
  const err = await rejection(startDevServer({ port: 0, dataDir }))
  assert.match(err.message, /cannot load .*snapshot\.zkds: not a zkcloud dev-server snapshot/)
})

test('four-letter words: ruok, srvr and mntr figures, isro, cons, and the whitelist answer for the others', async ({ f }) => {
  const s = await f.server()
  const zk = await f.client(s.connectString)
  await zk.create('/a')
  await zk.create('/e', null, { mode: 'ephemeral' })
  await zk.exists('/a', { watch: () => undefined })
  const four = (w: string): Promise<string> => fourLetterWord('127.0.0.1', s.port, w)
  assert.is(await four('ruok'), 'imok')
  assert.is(await four('isro'), 'rw')
  const srvr = await four('srvr')
  assert.match(srvr, /^Zookeeper version: 3\.8\.0-zkcloud-dev-server/)
  assert.match(srvr, /^Mode: standalone$/m)
  assert.match(srvr, /^Zxid: 0x3$/m)
  assert.match(srvr, /^Node count: 7$/m, 'root (counted twice, as ZooKeeper does), 3 system nodes, /a, /e')
  assert.match(srvr, /^Connections: 2$/m, 'the client and this one')
  const mntr = await four('mntr')
  for (const line of ['zk_server_state\tstandalone', 'zk_znode_count\t7', 'zk_ephemerals_count\t1', 'zk_watch_count\t1', 'zk_global_sessions\t1']) {
    assert.ok(mntr.includes(`${line}\n`), `mntr has ${line}`)
  }
  assert.match(await four('cons'), new RegExp(`^ /127\\.0\\.0\\.1:\\d+\\[1\\]\\(queued=0,recved=\\d+,sent=\\d+,sid=0x${zk.sessionId.toString(16)},lop=EXIS,`, 'm'))
  assert.is(await four('wchc'), `0x${zk.sessionId.toString(16)}\n\t/a\n\n`, 'the exists watch, by session')
  assert.is(await four('wchp'), `/a\n\t0x${zk.sessionId.toString(16)}\n\n`, 'the exists watch, by path')
  assert.is(await four('dirs'), 'dirs is not executed because it is not in the whitelist.\n')
})

test('a client that does not read its replies is served no further until it does; others are served meanwhile', async ({ f }) => {
  const s = await f.server()
  const zk = await f.client(s.connectString)
  await zk.create('/big', Buffer.alloc(900_000, 0x61))
  const requests = 200
  const w = new JuteWriter()
  let mark = w.beginFrame()
  writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0n, timeout: 10_000, sessionId: 0n, password: Buffer.alloc(16), readOnly: false })
  w.endFrame(mark)
  for (let xid = 1; xid <= requests; xid++) {
    mark = w.beginFrame()
    w.int(xid).int(OpCode.getData).string('/big').bool(false)
    w.endFrame(mark)
  }
  const rssBefore = process.memoryUsage().rss
  const hoarder = connect({ host: '127.0.0.1', port: s.port })
  try {
    await new Promise((resolve) => hoarder.once('connect', resolve))
    hoarder.write(w.take())
    await sleep(500)
    assert.is((await zk.exists('/big'))!.dataLength, 900_000, 'another client is served')
    const grew = process.memoryUsage().rss - rssBefore
    assert.ok(grew < 100e6, `the server held back: ${Math.round(grew / 1e6)} MB buffered, not ${(requests * 0.9).toFixed(0)} MB`)
    const xids: number[] = []
    const decoder = new FrameDecoder(1 << 21)
    await new Promise<void>((resolve) => {
      hoarder.on('data', (chunk: Buffer) =>
        decoder.push(chunk, (frame) => {
          if (frame.length > 40) xids.push(frame.readInt32BE(0))
          if (xids.length === requests) resolve()
        }),
      )
    })
    assert.equal(xids, Array.from({ length: requests }, (_, i) => i + 1), 'every reply arrives, in order, once the client reads')
  } finally {
    hoarder.destroy()
  }
})

test('garbage on one connection closes that connection only', async ({ f }) => {
  const s = await f.server()
  const zk = await f.client(s.connectString)
  const victim = await f.raw(s.connectString)
  victim.sendBytes(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]))
  assert.is(await victim.next(2000), null, 'closed')
  assert.is(await zk.create('/still'), '/still')
  assert.is(await fourLetterWord('127.0.0.1', s.port, 'ruok'), 'imok')
})

test.run()
