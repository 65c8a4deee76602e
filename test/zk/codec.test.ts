import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ProtocolError } from '../../lib/zk-wire/errors.js'
import { FrameDecoder } from '../../lib/zk-wire/framing.js'
import { JuteReader, JuteWriter } from '../../lib/zk-wire/jute.js'
import { ops, multiOps, readConnectResponse, readReplyHeader, writeConnectRequest, type SubOp } from '../../lib/zk-wire/operations.js'
import { readStat, writeStat, type Stat } from '../../lib/zk-wire/records.js'

const test = suite('jute codec and framing')

const stat: Stat = {
  czxid: 0x100000002n,
  mzxid: 3n,
  ctime: 1_700_000_000_000,
  mtime: 1_700_000_000_001,
  version: 2,
  cversion: -1,
  aversion: 0,
  ephemeralOwner: 0x7fffffffffffffffn,
  dataLength: 5,
  numChildren: 0,
  pzxid: -1n,
}

function frames(bytes: Buffer, chunking: number[] | 'bytewise', max = 1 << 20): Buffer[] {
  const out: Buffer[] = []
  const d = new FrameDecoder(max)
  const sizes = chunking === 'bytewise' ? Array(bytes.length).fill(1) : chunking
  let pos = 0
  for (const n of sizes) {
    d.push(bytes.subarray(pos, pos + n), (f) => out.push(Buffer.from(f)))
    pos += n
  }
  if (pos < bytes.length) d.push(bytes.subarray(pos), (f) => out.push(Buffer.from(f)))
  return out
}

test('ints, longs, booleans, strings and buffers round-trip', () => {
  const w = new JuteWriter(8)
  w.int(-5).long(-(2n ** 63n)).long(2n ** 63n - 1n).bool(true).bool(false).string('héllo ✓').string('').string(null).buffer(Buffer.from([1, 2])).buffer(null).buffer(Buffer.alloc(0))
  const r = new JuteReader(w.take())
  assert.is(r.int(), -5)
  assert.is(r.long(), -(2n ** 63n))
  assert.is(r.long(), 2n ** 63n - 1n)
  assert.is(r.bool(), true)
  assert.is(r.bool(), false)
  assert.is(r.string(), 'héllo ✓')
  assert.is(r.string(), '')
  assert.is(r.string(), null)
  assert.equal([...r.buffer()!], [1, 2])
  assert.is(r.buffer(), null)
  assert.is(r.buffer()!.length, 0)
  assert.is(r.remaining, 0)
})

test('null and empty stay distinct on the wire (-1 vs 0 length)', () => {
  assert.equal([...new JuteWriter().string(null).take()], [0xff, 0xff, 0xff, 0xff])
  assert.equal([...new JuteWriter().string('').take()], [0, 0, 0, 0])
  assert.equal([...new JuteWriter().buffer(null).take()], [0xff, 0xff, 0xff, 0xff])
})

test('Stat round-trips and takes 68 bytes', () => {
  const w = new JuteWriter()
  writeStat(w, stat)
  const bytes = w.take()
  assert.is(bytes.length, 68)
  assert.equal(readStat(new JuteReader(bytes)), stat)
})

test('a truncated record throws ProtocolError, never RangeError', () => {
  const w = new JuteWriter()
  writeStat(w, stat)
  const bytes = w.take()
  for (let n = 0; n < bytes.length; n++) {
    assert.throws(() => readStat(new JuteReader(bytes.subarray(0, n))), (e: unknown) => e instanceof ProtocolError, `cut at ${n}`)
  }
})

test('impossible lengths throw ProtocolError', () => {
  const bad = (bytes: number[], read: (r: JuteReader) => unknown): void =>
    assert.throws(() => read(new JuteReader(Buffer.from(bytes))), (e: unknown) => e instanceof ProtocolError)
  bad([0xff, 0xff, 0xff, 0xfe], (r) => r.string())
  bad([0x7f, 0xff, 0xff, 0xff, 1, 2], (r) => r.buffer())
  bad([0, 0, 0, 9, 1, 2], (r) => r.string())
  bad([0x10, 0, 0, 0], (r) => r.vector((x) => x.int(), 4))
  bad([2], (r) => r.bool())
  bad([0xff, 0xff, 0xff, 0xff], (r) => r.ustring())
})

test('the writer grows past its initial size and frames back-patch their length', () => {
  const w = new JuteWriter(4)
  const mark = w.beginFrame()
  w.buffer(Buffer.alloc(100_000, 7))
  w.endFrame(mark)
  const bytes = w.take()
  assert.is(bytes.readInt32BE(0), 100_004)
  assert.is(bytes.length, 100_008)
})

test('frames are cut the same whether bytes arrive at once, byte by byte or in odd chunks', () => {
  const w = new JuteWriter()
  const bodies = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(70_000, 3), Buffer.from('last')]
  for (const b of bodies) {
    const m = w.beginFrame()
    w.buffer(b)
    w.endFrame(m)
  }
  const stream = w.take()
  const expected = bodies.map((b) => new JuteWriter().buffer(b).take())
  assert.equal(frames(stream, [stream.length]), expected)
  assert.equal(frames(stream, 'bytewise'), expected)
  assert.equal(frames(stream, [3, 5, 1, 2, 40_000, 7, 1]), expected)
})

test('a frame longer than maxBufferSize is refused from its header alone', () => {
  const d = new FrameDecoder(1024)
  const header = Buffer.alloc(4)
  header.writeInt32BE(1025)
  assert.throws(() => d.push(header, () => assert.unreachable()), /1025 outside 0\.\.1024/)
  const negative = Buffer.from([0x80, 0, 0, 0])
  assert.throws(() => new FrameDecoder(1024).push(negative, () => assert.unreachable()), (e: unknown) => e instanceof ProtocolError)
})

test('a split length prefix is reassembled', () => {
  const got: Buffer[] = []
  const d = new FrameDecoder(100)
  d.push(Buffer.from([0, 0]), (f) => got.push(f))
  d.push(Buffer.from([0, 2, 9]), (f) => got.push(f))
  assert.is(d.buffered, 5)
  d.push(Buffer.from([8, 0, 0]), (f) => got.push(Buffer.from(f)))
  assert.equal(got, [Buffer.from([9, 8])])
  assert.is(d.buffered, 2)
})

test('ConnectRequest matches the bytes of the protocol (kazoo/Java layout)', () => {
  const w = new JuteWriter()
  writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 5n, timeout: 10_000, sessionId: 0x1234n, password: Buffer.alloc(16, 0xaa), readOnly: true })
  const hex = w.take().toString('hex')
  assert.is(hex, '00000000' + '0000000000000005' + '00002710' + '0000000000001234' + '00000010' + 'aa'.repeat(16) + '01')
})

test('ConnectResponse without the read-only byte (old servers) reads as read-write', () => {
  const w = new JuteWriter()
  w.int(0).int(4000).long(77n).buffer(Buffer.alloc(16, 1))
  const resp = readConnectResponse(new JuteReader(w.take()))
  assert.is(resp.timeout, 4000)
  assert.is(resp.sessionId, 77n)
  assert.is(resp.readOnly, false)
})

test('getData request and reply layout', () => {
  const w = new JuteWriter()
  w.int(7).int(ops.getData.type)
  ops.getData.write(w, { path: '/a', watch: true })
  assert.is(w.take().toString('hex'), '00000007' + '00000004' + '00000002' + '2f61' + '01')
  const reply = new JuteWriter()
  reply.int(7).long(9n).int(0).buffer(Buffer.from('xy'))
  writeStat(reply, stat)
  const r = new JuteReader(reply.take())
  assert.equal(readReplyHeader(r), { xid: 7, zxid: 9n, err: 0 })
  const body = ops.getData.read(r)
  assert.is(body.data!.toString(), 'xy')
  assert.equal(body.stat, stat)
})

test('multi request ends with a done header and results decode per type', () => {
  const subs: SubOp[] = [
    { type: 'create', req: { path: '/a', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 0 } },
    { type: 'check', req: { path: '/a', version: 3 } },
  ]
  const w = new JuteWriter()
  multiOps.multi.write(w, subs)
  const bytes = w.take()
  assert.is(bytes.subarray(bytes.length - 9).toString('hex'), 'ffffffff' + '01' + 'ffffffff')
  const reply = new JuteWriter()
  reply.int(15).bool(false).int(0).string('/a')
  writeStat(reply, stat)
  reply.int(-1).bool(false).int(-103).int(-103)
  reply.int(-1).bool(true).int(-1)
  assert.equal(multiOps.multi.read(new JuteReader(reply.take())), [
    { type: 'create', path: '/a', stat },
    { type: 'error', err: -103 },
  ])
})

test('an unknown multi result type is a ProtocolError', () => {
  const reply = new JuteWriter().int(99).bool(false).int(0).take()
  assert.throws(() => multiOps.multi.read(new JuteReader(reply)), (e: unknown) => e instanceof ProtocolError)
})

test.run()
