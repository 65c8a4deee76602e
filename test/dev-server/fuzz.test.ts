import { type Socket, connect } from 'node:net'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { type DevServer, startDevServer } from '../../lib/dev-server/index.js'
import { type CreateMode, type Op, ZooKeeper, op } from '../../lib/zk-wire/index.js'
import { JuteWriter } from '../../lib/zk-wire/jute.js'
import { OpCode, writeConnectRequest } from '../../lib/zk-wire/operations.js'
import { writeACLs } from '../../lib/zk-wire/records.js'
import { OPEN_ACL_UNSAFE } from '../../lib/zk-wire/acl.js'
import { fourLetterWord } from '../support/four-letter.js'
import { rng } from '../support/rng.js'
import { waitFor } from '../support/wait.js'

const test = suite<{ server: DevServer; sockets: Set<Socket>; clients: ZooKeeper[] }>('dev server under random input (fuzz)')

test.before.each(async (ctx) => {
  ctx.server = await startDevServer({ port: 0, tickTime: 200, containerCheckInterval: 100 })
  ctx.sockets = new Set()
  ctx.clients = []
})
test.after.each(async (ctx) => {
  for (const s of ctx.sockets) s.destroy()
  await Promise.all(ctx.clients.map((c) => c.close()))
  await ctx.server.close()
})

const OPCODES = [...Object.values(OpCode), 13, 20, 999, -1000, 0x7fffffff]
const PATHS = ['/', '/a', '/a/b', '/zookeeper', '/zookeeper/quota', '', 'a', '/a/', '/\u0000', '/é', null]

/** Random bytes, sometimes shaped like what a ZooKeeper reader expects (small lengths, known strings). */
function body(next: () => number): Buffer {
  const w = new JuteWriter()
  const parts = Math.floor(next() * 8)
  for (let i = 0; i < parts; i++) {
    const k = next()
    if (k < 0.3) w.string(PATHS[Math.floor(next() * PATHS.length)]!)
    else if (k < 0.5) w.int(Math.floor(next() * 12) - 2)
    else if (k < 0.6) w.bool(next() < 0.5)
    else if (k < 0.7) w.long(BigInt(Math.floor(next() * 1e6)) - 1000n)
    else if (k < 0.8) writeACLs(w, next() < 0.5 ? OPEN_ACL_UNSAFE : [{ perms: Math.floor(next() * 64), id: { scheme: ['world', 'auth', 'digest', 'ip', 'x'][Math.floor(next() * 5)]!, id: 'anyone' } }])
    else w.buffer(Buffer.from(Array.from({ length: Math.floor(next() * 20) }, () => Math.floor(next() * 256))))
  }
  return w.take()
}

/** `bytes` behind a correct length prefix. */
function frame(bytes: Buffer): Buffer {
  const len = Buffer.alloc(4)
  len.writeInt32BE(bytes.length)
  return Buffer.concat([len, bytes])
}

function encode(fill: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter()
  fill(w)
  return w.take()
}

const HANDSHAKE = frame(encode((w) => writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0n, timeout: 2000, sessionId: 0n, password: Buffer.alloc(16), readOnly: false })))

/** Sends `bytes` in random slices and waits until the server closes the socket or `ms` pass. */
async function spray(ctx: { server: DevServer; sockets: Set<Socket> }, bytes: Buffer, next: () => number, ms = 300): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port: ctx.server.port })
  ctx.sockets.add(socket)
  socket.on('error', () => undefined)
  socket.on('data', () => undefined)
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  for (let pos = 0; pos < bytes.length && !socket.destroyed; ) {
    const n = 1 + Math.floor(next() * 200)
    socket.write(bytes.subarray(pos, pos + n))
    pos += n
  }
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    socket.once('close', () => (clearTimeout(timer), resolve()))
  })
  socket.destroy()
  ctx.sockets.delete(socket)
}

/** The server still answers four-letter words and serves a new client, and holds no connections but the clients' (and the four-letter one). */
async function stillServing(ctx: { server: DevServer; clients: ZooKeeper[] }): Promise<void> {
  assert.is(await fourLetterWord('127.0.0.1', ctx.server.port, 'ruok'), 'imok')
  const zk = await ZooKeeper.connect(ctx.server.connectString, { sessionTimeout: 4000 })
  ctx.clients.push(zk)
  const name = `/alive-${Math.random().toString(36).slice(2)}`
  assert.is(await zk.create(name, 'x', { mode: 'ephemeral' }), name)
  assert.is((await zk.getData(name)).data.toString(), 'x')
  const expected = `Connections: ${ctx.clients.filter((c) => c.state === 'connected').length + 1}`
  await waitFor('connections from the fuzzing to be gone', async () => (await fourLetterWord('127.0.0.1', ctx.server.port, 'srvr')).includes(`${expected}\n`))
}

test('random bytes on fresh connections', async (ctx) => {
  const next = rng(11)
  await Promise.all(
    Array.from({ length: 60 }, async () => {
      const bytes = Buffer.from(Array.from({ length: Math.floor(next() * 300) }, () => Math.floor(next() * 256)))
      if (bytes.length >= 4 && next() < 0.5) bytes.writeInt32BE(Math.floor(next() * 64), 0)
      await spray(ctx, bytes, next)
    }),
  )
  await stillServing(ctx)
})

test('random requests of every type after a valid handshake', async (ctx) => {
  const next = rng(12)
  for (let round = 0; round < 40; round++) {
    const frames = [HANDSHAKE]
    for (let i = 0; i < 50; i++) {
      const header = encode((w) => w.int(Math.floor(next() * 20) - 10).int(OPCODES[Math.floor(next() * OPCODES.length)]!))
      frames.push(frame(Buffer.concat([header, body(next)])))
    }
    await spray(ctx, Buffer.concat(frames), next, 100)
  }
  await stillServing(ctx)
})

test('valid requests with bytes flipped, cut short or padded', async (ctx) => {
  const next = rng(13)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!
  const valid: Array<(w: JuteWriter) => void> = [
    (w) => w.int(1).int(OpCode.create).string('/a').buffer(Buffer.from('x')).vector(OPEN_ACL_UNSAFE, (x, a) => x.int(a.perms).string(a.id.scheme).string(a.id.id)).int(3),
    (w) => w.int(2).int(OpCode.multi).int(OpCode.create).bool(false).int(-1).string('/m').buffer(null).int(1).int(31).string('world').string('anyone').int(0).int(-1).bool(true).int(-1),
    (w) => w.int(3).int(OpCode.setWatches2).long(0n).int(1).string('/a').int(0).int(0).int(1).string('/').int(0),
    (w) => w.int(-4).int(OpCode.auth).int(0).string('digest').buffer(Buffer.from('u:p')),
    (w) => w.int(4).int(OpCode.getData).string('/zookeeper').bool(true),
  ]
  for (let round = 0; round < 60; round++) {
    const frames = [HANDSHAKE]
    for (let i = 0; i < 30; i++) {
      const bytes = encode(pick(valid))
      const k = next()
      if (k < 0.4) bytes[8 + Math.floor(next() * (bytes.length - 8))] ^= 1 << Math.floor(next() * 8)
      frames.push(frame(k < 0.4 ? bytes : k < 0.7 ? bytes.subarray(0, Math.floor(next() * bytes.length)) : Buffer.concat([bytes, Buffer.alloc(Math.floor(next() * 9), 0xff)])))
    }
    await spray(ctx, Buffer.concat(frames), next, 100)
  }
  await stillServing(ctx)
})

test('random operations from many clients at once keep the tree consistent', async (ctx) => {
  const next = rng(14)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!
  const paths = ['/a', '/a/b', '/a/c', '/b', '/b/x', '/b/x/y', '/c']
  const modes: CreateMode[] = ['persistent', 'ephemeral', 'persistent_sequential', 'ephemeral_sequential', 'container', 'persistent_with_ttl']
  const createOp = (): Op => {
    const mode = pick(modes)
    return op.create(mode.includes('sequential') ? `${pick(paths)}/s-` : pick(paths), 'x', mode === 'persistent_with_ttl' ? { mode, ttl: 50 } : { mode })
  }
  const create = (zk: ZooKeeper, o: Op): Promise<unknown> => (o.type === 'create' ? zk.create(o.path, o.data, o.options) : Promise.resolve())
  const clients = await Promise.all(Array.from({ length: 8 }, () => ZooKeeper.connect(ctx.server.connectString, { sessionTimeout: 4000 })))
  ctx.clients.push(...clients)
  const noop = (): void => undefined
  await Promise.all(
    clients.map(async (zk, i) => {
      const calls: Promise<unknown>[] = []
      for (let step = 0; step < 400; step++) {
        const p = pick(paths)
        const k = Math.floor(next() * 12)
        const call: Promise<unknown> =
          k === 0 ? create(zk, createOp())
          : k === 1 ? zk.delete(p, pick([-1, 0, 1]))
          : k === 2 ? zk.setData(p, 'y', pick([-1, 0, 1]))
          : k === 3 ? zk.getData(p, { watch: noop })
          : k === 4 ? zk.exists(p, { watch: noop })
          : k === 5 ? zk.getChildren(p, { watch: noop, stat: true })
          : k === 6 ? zk.multi(Array.from({ length: 1 + Math.floor(next() * 4) }, () => pick([createOp, () => op.delete(pick(paths)), () => op.setData(pick(paths), 'z'), () => op.check(pick(paths), 0)])()))
          : k === 7 ? zk.multiRead([op.getData(p), op.getChildren(p)])
          : k === 8 ? zk.addWatch(p, pick(['persistent', 'persistentRecursive'] as const)).then((w) => (next() < 0.5 ? w.close() : undefined))
          : k === 9 ? zk.removeWatches(p, pick(['data', 'children', 'any'] as const))
          : k === 10 ? zk.getEphemerals(p)
          : zk.getAllChildrenNumber(p)
        calls.push(call.catch(noop))
        if (step % 50 === 49) await Promise.all(calls.splice(0))
      }
      await Promise.all(calls)
      if (i % 2 === 0) await zk.close()
    }),
  )
  const checker = await ZooKeeper.connect(ctx.server.connectString, { sessionTimeout: 4000 })
  ctx.clients.push(checker)
  const live = new Set(clients.filter((c) => c.state === 'connected').map((c) => c.sessionId))
  const walk = async (path: string): Promise<number> => {
    const { children, stat } = await checker.getChildren(path, { stat: true })
    assert.is(stat.numChildren, children.length, `numChildren of ${path}`)
    if (stat.ephemeralOwner !== 0n) assert.ok(live.has(stat.ephemeralOwner), `${path} belongs to a live session`)
    let count = 0
    for (const c of children) count += 1 + (await walk(path === '/' ? `/${c}` : `${path}/${c}`))
    return count
  }
  assert.is(await checker.getAllChildrenNumber('/'), await walk('/'), 'getAllChildrenNumber agrees with a walk of the tree')
  await stillServing(ctx)
})

test.run()
