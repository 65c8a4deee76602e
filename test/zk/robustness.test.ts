import { type Server, type Socket, createServer } from 'node:net'
import * as assert from 'uvu/assert'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { ClientPool } from '../support/clients.js'
import { fourLetterWord } from '../support/four-letter.js'
import { TcpProxy } from '../support/proxy.js'
import { rejection } from '../support/rejection.js'
import { waitFor } from '../support/wait.js'
import { zkSuite } from '../support/zookeeper.js'

const test = await zkSuite<{ pool: ClientPool }>('connections that go wrong, credentials, bounded queues (issue 11)')

test.before.each((ctx) => {
  ctx.pool = new ClientPool(ctx.zk.connectString)
})
test.after.each(async (ctx) => {
  await ctx.pool.closeAll()
})

/** A server that answers the first bytes of every connection with `answer` and then keeps the socket open. */
async function fakeServer(answer: Buffer): Promise<{ address: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    connections++
    sockets.add(socket)
    socket.on('error', () => undefined)
    socket.on('close', () => sockets.delete(socket))
    socket.once('data', () => socket.write(answer))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  return {
    address: `127.0.0.1:${port}`,
    connections: () => connections,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise((r) => server.close(r))
    },
  }
}

function replyHeader(err: number): Buffer {
  const header = Buffer.alloc(16)
  header.writeInt32BE(err, 12)
  return header
}

function hostPort(connectString: string): [string, number] {
  const [host, port] = connectString.split(',')[0]!.split(':')
  return [host!, Number(port)]
}

function frame(body: Buffer): Buffer {
  const len = Buffer.alloc(4)
  len.writeInt32BE(body.length)
  return Buffer.concat([len, body])
}

const BAD_CONNECT_REPLIES: Array<[string, Buffer]> = [
  ['an empty frame', frame(Buffer.alloc(0))],
  ['a bare reply header (NOTREADONLY)', frame(replyHeader(-119))],
  ['an HTTP answer', Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')],
  ['a truncated connect response', frame(Buffer.from('0000000000002710', 'hex'))],
]

for (const [what, answer] of BAD_CONNECT_REPLIES) {
  test(`a connect reply that is ${what} moves to the next host at once`, async ({ pool, zk: server }) => {
    const fake = await fakeServer(answer)
    try {
      // Two hosts and a 30 s session: an attempt that waits for its connect timer waits 15 s.
      const zk = pool.track(await ZooKeeper.connect(`${fake.address},${server.connectString}`, { shuffle: false, sessionTimeout: 30_000, connectTimeout: 5000 }))
      assert.is(zk.state, 'connected')
      assert.is(fake.connections(), 1, 'the bad host was tried once')
      await zk.getData('/')
    } finally {
      await fake.close()
    }
  })
}

test('close() while the only host answers the handshake with garbage settles at once', async ({ pool }) => {
  const fake = await fakeServer(frame(Buffer.alloc(0)))
  try {
    const zk = pool.track(new ZooKeeper(fake.address, { sessionTimeout: 30_000 }))
    await waitFor('a connection attempt', () => fake.connections() > 0)
    await zk.close()
    assert.is(zk.state, 'closed')
  } finally {
    await fake.close()
  }
})

async function packetsReceived(connectString: string): Promise<number> {
  const srvr = await fourLetterWord(...hostPort(connectString), 'srvr')
  return Number(/^Received: (\d+)$/m.exec(srvr)![1])
}

test('SASL against a server without SASL: AUTHFAILED at once, after a handful of frames', async ({ zk: server }) => {
  const before = await packetsReceived(server.connectString)
  const zk = new ZooKeeper(server.connectString, { sasl: { username: 'alice', password: 'wonderland' }, sessionTimeout: 10_000 })
  try {
    const err = await rejection(zk.whenConnected(5000))
    assert.is(err.name, 'AUTHFAILED', err.message)
    assert.match(err.message, /SASL/)
    assert.is(zk.state, 'authFailed')
  } finally {
    await zk.close()
  }
  const sent = (await packetsReceived(server.connectString)) - before
  assert.ok(sent <= 6, `a handful of frames reached the server (${sent})`)
})

test('credentials added twice are sent once on each reconnect', async ({ pool, zk: server }) => {
  const proxy = await TcpProxy.start(...hostPort(server.connectString))
  try {
    const client = pool.track(await ZooKeeper.connect(proxy.address, { sessionTimeout: 10_000 }))
    for (let i = 0; i < 200; i++) void client.addAuth('digest', 'bob:builder')
    await client.addAuth('digest', 'bob:builder')
    const before = await packetsReceived(server.connectString)
    const states: string[] = []
    client.on('state', (s) => states.push(s))
    proxy.cut()
    await waitFor('a reconnect', () => states.join(' ') === 'disconnected connected')
    await client.getData('/')
    const sent = (await packetsReceived(server.connectString)) - before
    assert.ok(sent <= 8, `the reconnect sent ${sent} frames (one auth packet, not 201)`)
  } finally {
    await proxy.close()
  }
})

test('a persistent watch nobody reads queues a bounded number of events, then marks the gap', async ({ pool }) => {
  const { zk, root } = await pool.rooted('bounded-queue')
  const other = await pool.connect({ root })
  await zk.create('/n', '0')
  const watch = await zk.addWatch('/n', 'persistent', { maxQueued: 10 })
  for (let i = 1; i <= 25; i++) await other.setData('/n', String(i))
  await zk.sync('/n')
  assert.is(watch.pending, 11, 'ten events and one gap marker are queued')
  for (let i = 0; i < 10; i++) assert.equal((await watch.next()).value, { type: 'NodeDataChanged', state: 'connected', path: '/n' })
  assert.equal((await watch.next()).value, { type: 'None', state: 'connected', path: null }, 'the gap marker')
  await other.setData('/n', 'after')
  assert.equal((await watch.next()).value, { type: 'NodeDataChanged', state: 'connected', path: '/n' }, 'events flow again once read')
  await watch.close()
})

test('a process busy for longer than the read timeout keeps its connection when the server answered meanwhile', async ({ pool }) => {
  const zk = await pool.connect({ sessionTimeout: 4000 })
  const readTimeout = (zk.negotiatedTimeout * 2) / 3
  const states: string[] = []
  zk.on('state', (state) => states.push(state))
  const reply = zk.exists('/')
  // The request is on the wire; then this process blocks (a long task, a GC pause) past the
  // read timeout while the reply waits in the socket. The session's timer runs late, before
  // the reply is read: that is not a silent server.
  await new Promise((resolve) => setImmediate(resolve))
  const until = Date.now() + readTimeout + 500
  while (Date.now() < until);
  assert.ok(await reply)
  await zk.exists('/')
  assert.equal(states, [], 'no connection lost')
})

test('a process flooded with replies for seconds keeps every session: pings and timeouts run between the replies', async ({ pool }) => {
  // 40 sessions in this process, 10 large replies each, every reply costing its reader 10 ms:
  // 4 s of work arriving at once, twice the session timeout. Node reads every ready socket
  // before it runs a timer; without the inbox no session pinged for the whole flood.
  const { zk: admin, root } = await pool.rooted('flood-of-replies')
  await Promise.all(Array.from({ length: 1500 }, (_, i) => admin.create(`/member-${String(i).padStart(6, '0')}-of-a-long-enough-name`)))
  const clients = await Promise.all(Array.from({ length: 40 }, () => pool.connect({ root, sessionTimeout: 2000 })))
  const troubles: string[] = []
  for (const [i, zk] of clients.entries()) zk.on('state', (state) => troubles.push(`client ${i}: ${state}`))
  const readers = clients.flatMap((zk) =>
    Array.from({ length: 10 }, async () => {
      const children = await zk.getChildren('/')
      const until = performance.now() + 10
      while (performance.now() < until);
      return children.length
    }),
  )
  const lengths = await Promise.all(readers)
  assert.ok(lengths.every((n) => n === 1500))
  await Promise.all(clients.map((zk) => zk.exists('/')))
  assert.equal(troubles, [], 'no session disconnected or expired')
})

test('a bad maxQueued is refused', async ({ pool }) => {
  const { zk } = await pool.rooted('bad-max-queued')
  assert.is((await rejection(zk.addWatch('/', 'persistent', { maxQueued: 0 }))).name, 'BADARGUMENTS')
})

test.run()
