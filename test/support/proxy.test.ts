import { randomBytes } from 'node:crypto'
import { connect, createServer, type Socket } from 'node:net'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { TcpProxy } from './proxy.js'
import { rejection } from './rejection.js'
import { sleep, waitFor } from './wait.js'

interface TestServer {
  port: number
  close(): Promise<void>
}

/** A loopback server that hands each connection to `serve`; close() also drops the connections. */
async function testServer(serve: (socket: Socket) => void): Promise<TestServer> {
  const sockets = new Set<Socket>()
  const server = createServer({ allowHalfOpen: true }, socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    serve(socket)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise(resolve => server.close(resolve))
    },
  }
}

/** A client socket that collects what it receives and remembers how it ended. */
class Client {
  received = Buffer.alloc(0)
  ended = false
  closed = false
  error?: Error
  constructor(readonly socket: Socket) {
    socket.on('data', chunk => { this.received = Buffer.concat([this.received, chunk]) })
    socket.on('end', () => { this.ended = true })
    socket.on('error', err => { this.error = err })
    socket.on('close', () => { this.closed = true })
  }
  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => resolve(new Client(socket)))
      socket.once('error', reject)
    })
  }
  receiveLength(n: number): Promise<Buffer> {
    return waitFor(`${n} bytes (have ${this.received.length})`, () => this.received.length >= n && this.received, { timeoutMs: 5000, intervalMs: 5 })
  }
}

const test = suite('tcp proxy')
let echo: TestServer
/** Writes back exactly what it reads, and ends when the client does. */
const echoServer = () => testServer(socket => socket.pipe(socket))
let proxy: TcpProxy
const clients: Client[] = []
const open = async (port = proxy.port) => {
  const client = await Client.open(port)
  clients.push(client)
  return client
}

test.before.each(async () => {
  echo = await echoServer()
  proxy = await TcpProxy.start('127.0.0.1', echo.port)
})
test.after.each(async () => {
  for (const c of clients.splice(0)) c.socket.destroy()
  await proxy.close()
  await echo.close()
})

test('forwards bytes exactly and in order, and the end of the stream', async () => {
  assert.is(proxy.address, `127.0.0.1:${proxy.port}`)
  const client = await open()
  const data = randomBytes(1 << 20)
  for (let i = 0; i < data.length; i += 7919) client.socket.write(data.subarray(i, i + 7919))
  client.socket.end()
  assert.ok((await client.receiveLength(data.length)).equals(data))
  await waitFor('the end to come back', () => client.ended)
  await waitFor('the connection to be forgotten', () => proxy.connections === 0)
})

test('counts connections', async () => {
  await open()
  await open()
  await waitFor('two connections', () => proxy.connections === 2)
})

test('cut() destroys current connections and still accepts new ones', async () => {
  const first = await open()
  await waitFor('a connection', () => proxy.connections === 1)
  proxy.cut()
  await waitFor('the client to see the cut', () => first.closed)
  assert.is((first.error as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET')
  assert.is(proxy.connections, 0)
  const second = await open()
  second.socket.write('again')
  assert.is((await second.receiveLength(5)).toString(), 'again')
})

test('refuse() makes new connections fail; accept() lets them in on the same port', async () => {
  const kept = await open()
  proxy.refuse()
  const err = await rejection(Client.open(proxy.port))
  assert.is((err as NodeJS.ErrnoException).code, 'ECONNREFUSED')
  kept.socket.write('still here')
  assert.is((await kept.receiveLength(10)).toString(), 'still here')
  await proxy.accept()
  const late = await open()
  late.socket.write('in')
  assert.is((await late.receiveLength(2)).toString(), 'in')
})

test('stall() holds bytes in both directions; resume() delivers them in order', async () => {
  const client = await open()
  client.socket.write('before ')
  await client.receiveLength(7)
  proxy.stall()
  client.socket.write('during ')
  client.socket.write('the stall')
  await sleep(200)
  assert.is(client.received.toString(), 'before ')
  assert.not.ok(client.closed)
  proxy.resume()
  assert.is((await client.receiveLength(23)).toString(), 'before during the stall')
})

test('a stall also holds the upstream end of the stream', async () => {
  const client = await open()
  proxy.stall()
  client.socket.end('bye')
  await sleep(200)
  assert.not.ok(client.ended)
  proxy.resume()
  assert.is((await client.receiveLength(3)).toString(), 'bye')
  await waitFor('the end', () => client.ended)
})

test('delay(ms) adds latency to every chunk, each way', async () => {
  const client = await open()
  proxy.delay(150)
  const started = Date.now()
  client.socket.write('slow')
  await client.receiveLength(4)
  const roundTrip = Date.now() - started
  assert.ok(roundTrip >= 300, `round trip took ${roundTrip} ms`)
  proxy.delay(0)
  const again = Date.now()
  client.socket.write('fast')
  await client.receiveLength(8)
  assert.ok(Date.now() - again < 150, 'delay(0) did not turn the latency off')
})

test('retarget() sends new connections elsewhere; current ones stay', async () => {
  const other = await testServer(socket => socket.end('other'))
  try {
    const old = await open()
    proxy.retarget('127.0.0.1', other.port)
    const moved = await open()
    assert.is((await moved.receiveLength(5)).toString(), 'other')
    old.socket.write('echo')
    assert.is((await old.receiveLength(4)).toString(), 'echo')
  } finally {
    await other.close()
  }
})

test('a target that refuses resets the client connection', async () => {
  const closed = await echoServer()
  await closed.close()
  proxy.retarget('127.0.0.1', closed.port)
  const client = await open()
  await waitFor('the reset', () => client.closed)
  assert.is((client.error as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET')
})

test('only forwards to loopback addresses', async () => {
  const err = await rejection(TcpProxy.start('192.0.2.1', 2181))
  assert.match(err.message, /loopback addresses only/)
  assert.throws(() => proxy.retarget('example.com', 2181), /loopback addresses only/)
})

test.run()
