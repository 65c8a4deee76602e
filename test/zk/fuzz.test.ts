import { createServer, type Server, type Socket } from 'node:net'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ProtocolError, ZkError } from '../../lib/zk-wire/errors.js'
import { FrameDecoder } from '../../lib/zk-wire/framing.js'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { JuteReader, JuteWriter } from '../../lib/zk-wire/jute.js'
import { type Operation, multiOps, ops, readConnectResponse, readReplyHeader, readWatcherEvent } from '../../lib/zk-wire/operations.js'
import { writeStat } from '../../lib/zk-wire/records.js'
import { rng } from '../support/rng.js'

const test = suite('decoder robustness (fuzz)')

function randomBytes(next: () => number, max: number): Buffer {
  const n = Math.floor(next() * max)
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256)
  // bias towards plausible small lengths so decoders get past their first field
  if (n >= 4 && next() < 0.5) b.writeInt32BE(Math.floor(next() * 8) - 1, 0)
  return b
}

const readers: Array<[string, (r: JuteReader) => unknown]> = [
  ...Object.values(ops).map((o: Operation<any, any>) => [o.name, (r: JuteReader) => o.read(r)] as [string, (r: JuteReader) => unknown]),
  ['multi', (r) => multiOps.multi.read(r)],
  ['ConnectResponse', readConnectResponse],
  ['ReplyHeader', readReplyHeader],
  ['WatcherEvent', readWatcherEvent],
]

test('random bytes into every reply reader: a value or a ProtocolError, nothing else', () => {
  const next = rng(1)
  for (let i = 0; i < 20_000; i++) {
    const [name, read] = readers[i % readers.length]!
    const bytes = randomBytes(next, 120)
    try {
      read(new JuteReader(bytes))
    } catch (err) {
      if (!(err instanceof ProtocolError)) assert.unreachable(`${name} threw ${String(err)} on ${bytes.toString('hex')}`)
    }
  }
})

test('every truncation of valid replies throws ProtocolError', () => {
  const w = new JuteWriter()
  w.buffer(Buffer.from('some data'))
  writeStat(w, { czxid: 1n, mzxid: 2n, ctime: 3, mtime: 4, version: 5, cversion: 6, aversion: 7, ephemeralOwner: 8n, dataLength: 9, numChildren: 0, pzxid: 10n })
  const getData = w.take()
  for (let n = 0; n < getData.length; n++) {
    assert.throws(() => ops.getData.read(new JuteReader(getData.subarray(0, n))), (e: unknown) => e instanceof ProtocolError)
  }
  const children = new JuteWriter().vector(['a', 'bb', 'ccc'], (x, s) => x.string(s)).take()
  for (let n = 0; n < children.length; n++) {
    assert.throws(() => ops.getChildren.read(new JuteReader(children.subarray(0, n))), (e: unknown) => e instanceof ProtocolError)
  }
})

test('random streams into the frame decoder: frames or ProtocolError, and nothing oversize gets through', () => {
  const next = rng(2)
  for (let i = 0; i < 2_000; i++) {
    const d = new FrameDecoder(256)
    const stream = randomBytes(next, 600)
    try {
      let pos = 0
      while (pos < stream.length) {
        const n = 1 + Math.floor(next() * 50)
        d.push(stream.subarray(pos, pos + n), (f) => assert.ok(f.length <= 256))
        pos += n
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) assert.unreachable(`decoder threw ${String(err)}`)
    }
  }
})

// ---- a misbehaving server: the client must reject and move on, never crash or hang ----

function connectResponse(): Buffer {
  const w = new JuteWriter()
  const m = w.beginFrame()
  w.int(0).int(4000).long(0x42n).buffer(Buffer.alloc(16, 1)).bool(false)
  w.endFrame(m)
  return w.take()
}

async function withServer(onConnection: (s: Socket, requestFrames: Buffer[]) => void, body: (address: string) => Promise<void>): Promise<void> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((s) => {
    sockets.add(s)
    s.on('error', () => undefined)
    const frames: Buffer[] = []
    const d = new FrameDecoder(1 << 20)
    s.on('data', (chunk) => {
      try {
        d.push(chunk, (f) => frames.push(Buffer.from(f)))
      } catch {
        s.destroy()
      }
    })
    onConnection(s, frames)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  try {
    await body(`127.0.0.1:${port}`)
  } finally {
    for (const s of sockets) s.destroy()
    await new Promise((r) => server.close(r))
  }
}

/** Waits for the handshake and the first request, then sends `reply`. */
function afterFirstRequest(s: Socket, frames: Buffer[], reply: () => Buffer): void {
  s.write(connectResponse())
  const timer = setInterval(() => {
    if (frames.length >= 2) {
      clearInterval(timer)
      s.write(reply())
    }
  }, 5)
  s.on('close', () => clearInterval(timer))
}

function replyWith(xid: number | 'echo', body: Buffer, frames?: Buffer[]): Buffer {
  const w = new JuteWriter()
  const m = w.beginFrame()
  const realXid = xid === 'echo' ? frames![1]!.readInt32BE(0) : xid
  w.int(realXid).long(1n).int(0)
  const out = Buffer.concat([w.take(), body])
  out.writeInt32BE(out.length - 4, m)
  return out
}

const garbageReplies: Array<[string, (frames: Buffer[]) => Buffer]> = [
  ['an oversize frame header', () => Buffer.from([0x7f, 0xff, 0xff, 0xff])],
  ['a negative frame length', () => Buffer.from([0xff, 0xff, 0xff, 0xfe, 1, 2])],
  ['a reply to an xid nobody asked for', () => replyWith(999, Buffer.alloc(0))],
  ['a truncated body', (f) => replyWith('echo', Buffer.from([0, 0, 0, 5, 1]), f)],
  ['a body with an impossible length', (f) => replyWith('echo', Buffer.from([0x7f, 0, 0, 0, 1, 2, 3]), f)],
  ['a notification with a truncated path', () => replyWith(-1, Buffer.from([0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 9, 0x2f]))],
]

for (const [what, makeReply] of garbageReplies) {
  test(`a server sending ${what} gets the call rejected with CONNECTIONLOSS (a ProtocolError cause) and the connection closed`, async () => {
    let connections = 0
    await withServer(
      (s, frames) => {
        connections++
        afterFirstRequest(s, frames, () => makeReply(frames))
      },
      async (address) => {
        const zk = await ZooKeeper.connect(address, { sessionTimeout: 4000, requestTimeout: 300 })
        try {
          const err = await zk.getData('/x').then(
            () => assert.unreachable('getData resolved on garbage'),
            (e: unknown) => e,
          )
          assert.instance(err, ZkError)
          assert.ok(['CONNECTIONLOSS', 'OPERATIONTIMEOUT'].includes((err as ZkError).name), (err as ZkError).name)
          if ((err as ZkError).name === 'CONNECTIONLOSS') assert.instance((err as ZkError).cause, ProtocolError)
          await waitFor(() => connections >= 2, 'the client reconnects after dropping the bad connection')
        } finally {
          await zk.close()
        }
      },
    )
  })
}

test('random garbage instead of a handshake reply: connect fails cleanly within its timeout', async () => {
  const next = rng(3)
  for (let i = 0; i < 10; i++) {
    await withServer(
      (s) => s.end(randomBytes(next, 64)),
      async (address) => {
        const err = await ZooKeeper.connect(address, { sessionTimeout: 4000, connectTimeout: 300 }).then(
          (zk) => zk.close().then(() => null),
          (e: unknown) => e,
        )
        if (err !== null) assert.instance(err, ZkError)
      },
    )
  }
})

async function waitFor(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) assert.unreachable(`timed out waiting: ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

test.run()
